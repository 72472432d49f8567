import type { AddressRecord } from "../kubefwd/reservations.ts";
import type { ProfileCounters, TransitionEvent } from "../supervisor/types.ts";

/** Bumped when the persisted shape changes incompatibly; older files are migrated or moved aside. */
export const STATE_VERSION = 1;

/** Most events kept per profile in the state file. */
export const MAX_PERSISTED_EVENTS = 200;

/** A kubefwd child the daemon owns; used to kill orphans after a daemon crash. */
export interface OwnedChild {
  /** The process the daemon spawned (sudo when privileged through sudo); also its process-group id. */
  pid: number;
  /** /proc/<pid>/cmdline joined with NUL at spawn time, to verify identity before killing. */
  cmdline: string;
  /** Spawn time (ISO 8601), kept for diagnosis. */
  startedAt: string;
  /** Spawned through sudo: the daemon may not signal its process group, and kills the root kubefwd with `sudo kill`. */
  viaSudo: boolean;
  /** Addresses the child announced: their hosts lines are cleaned after an unclean exit. */
  announcedIps: string[];
}

/** What the daemon remembers about one profile across restarts. */
export interface PersistedProfile {
  /** The CLI's enable/disable choice; absent = the config decides. */
  enabledOverride?: boolean;
  /** Restarts, failures and total uptime, kept across daemon restarts. */
  counters: ProfileCounters;
  /** Last {@link MAX_PERSISTED_EVENTS} transitions, oldest first. */
  events: TransitionEvent[];
  /** Stable `baseUnreservedIP` for the profile's `-z` file. */
  baseIp?: string;
  /** The address each forward last had: reserved for it in the next kubefwd's `-z` file. */
  addresses?: AddressRecord[];
  /** The child running for this profile, if any; a daemon that finds one at startup kills it as an orphan. */
  child?: OwnedChild;
}

/** The whole state file. */
export interface PersistedState {
  /** {@link STATE_VERSION} of the file's shape. */
  version: typeof STATE_VERSION;
  /** Per profile, by name. */
  profiles: Record<string, PersistedProfile>;
}

/** A fresh, empty state. */
export function emptyState(): PersistedState {
  return { version: STATE_VERSION, profiles: {} };
}
