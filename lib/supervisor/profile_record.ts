/**
 * A profile's persisted slice (counters, events, the owned child, remembered addresses) behind named operations. Every operation
 * saves through the injected `persist`, so no caller can change a counter and forget to save it.
 */
import { addressOfForward, type AddressRecord, rememberAddress } from "../kubefwd/reservations.ts";
import type { ForwardAnnouncement } from "../kubefwd/types.ts";
import { MAX_PERSISTED_EVENTS, type OwnedChild, type PersistedProfile } from "../state/types.ts";
import type { ProfileCounters, TransitionEvent } from "./types.ts";

/** A fresh persisted profile: no counters, no events, no override. */
export function newPersistedProfile(): PersistedProfile {
  return { counters: { restarts: 0, failures: 0, totalUptimeMs: 0 }, events: [] };
}

/** The one writer of a {@link PersistedProfile}; the Supervisor creates one per profile. */
export class ProfileRecord {
  readonly #data: PersistedProfile;
  readonly #persist: () => void;
  readonly #mask: (text: string) => string;

  /**
   * Wraps the profile's slice of the daemon state, filling in missing counters and events; `persist` saves
   * it. `mask` hides secrets and kubeconfig paths (the log's masker) in everything recorded as text.
   */
  constructor(data: PersistedProfile, persist: () => void, mask: (text: string) => string = (t) => t) {
    data.counters ??= { restarts: 0, failures: 0, totalUptimeMs: 0 };
    data.events ??= [];
    this.#data = data;
    this.#persist = persist;
    this.#mask = mask;
  }

  /**
   * `text` with secrets (tokens, bearer credentials) and kubeconfig paths masked: kubefwd's raw error text
   * must not reach `status` or the state file unmasked.
   */
  mask(text: string): string {
    return this.#mask(text);
  }

  /** The CLI's enable/disable choice; undefined when the config decides. */
  get enabledOverride(): boolean | undefined {
    return this.#data.enabledOverride;
  }

  /** The profile's stable `baseUnreservedIP`, assigned by the Supervisor. */
  get baseIp(): string | undefined {
    return this.#data.baseIp;
  }

  /** The address each forward last had, for the next kubefwd's reservations. */
  get addresses(): readonly AddressRecord[] {
    return this.#data.addresses ?? [];
  }

  /** Restarts, failures and total uptime so far. */
  get counters(): Readonly<ProfileCounters> {
    return this.#data.counters;
  }

  /** The newest transitions, oldest first. */
  get events(): readonly TransitionEvent[] {
    return this.#data.events;
  }

  /** The kubefwd this daemon owns right now, if any. */
  get child(): Readonly<OwnedChild> | undefined {
    return this.#data.child;
  }

  /** Persists the CLI's enable/disable choice. */
  setEnabledOverride(enabled: boolean): void {
    this.#data.enabledOverride = enabled;
    this.#persist();
  }

  /** Forgets the CLI's enable/disable choice: the config decides again. */
  clearEnabledOverride(): void {
    if (this.#data.enabledOverride === undefined) return;
    delete this.#data.enabledOverride;
    this.#persist();
  }

  /** Assigns the profile's address range. */
  setBaseIp(ip: string): void {
    this.#data.baseIp = ip;
    this.#persist();
  }

  /**
   * A kubefwd announced a forward on an address: the next kubefwd is asked for the same one
   * (docs/kubefwd-compatibility.md#stable-addresses). Lines it cannot attribute to a namespace are ignored.
   */
  rememberForward(forward: ForwardAnnouncement, namespaces: readonly string[], now: number): void {
    const address = addressOfForward(forward, namespaces);
    if (address === undefined) return;
    const next = rememberAddress(this.addresses, address, now);
    if (next === undefined) return;
    this.#data.addresses = next;
    this.#persist();
  }

  /** A planned restart of a running child (user, config change, dead forward). */
  countRestart(): void {
    this.#data.counters.restarts++;
    this.#persist();
  }

  /** A start that failed or a child that ended on its own. */
  countFailure(): void {
    this.#data.counters.failures++;
    this.#persist();
  }

  /** Adds a finished child's lifetime to the total uptime. */
  addUptime(ms: number): void {
    this.#data.counters.totalUptimeMs += Math.max(0, ms);
    this.#persist();
  }

  /**
   * Appends a transition, keeping the newest {@link MAX_PERSISTED_EVENTS}. Its `reason`, `detail` and `cause`
   * are masked in place, so the event the caller passes on carries no secret either.
   */
  recordEvent(event: TransitionEvent): void {
    event.reason = this.#mask(event.reason);
    if (event.detail !== undefined) event.detail = this.#mask(event.detail);
    if (event.cause !== undefined) event.cause = this.#mask(event.cause);
    const events = this.#data.events;
    events.push(event);
    if (events.length > MAX_PERSISTED_EVENTS) events.splice(0, events.length - MAX_PERSISTED_EVENTS);
    this.#persist();
  }

  /** Remembers a spawned child, so a daemon that dies can have its orphan killed at the next start. */
  childSpawned(child: Omit<OwnedChild, "announcedIps">): void {
    this.#data.child = { ...child, announcedIps: [] };
    this.#persist();
  }

  /** An address the current child announced: its hosts lines are cleaned if the child is orphaned. */
  childAnnounced(ip: string): void {
    const child = this.#data.child;
    if (!child || child.announcedIps.includes(ip)) return;
    child.announcedIps.push(ip);
    this.#persist();
  }

  /** The child with this pid has ended and its leftovers are cleaned. */
  childGone(pid: number | undefined): void {
    if (this.#data.child === undefined || this.#data.child.pid !== pid) return;
    delete this.#data.child;
    this.#persist();
  }
}
