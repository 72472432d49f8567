/**
 * What the Supervisor is built from and what its verbs return: the daemon builds these with the real
 * implementations, tests with the fakes of lib/testing/.
 */
import type { Clock } from "../clock.ts";
import type { KubefwdSettings } from "../config/types.ts";
import type { Prober } from "../health/probe.ts";
import type { MaskedEnabled } from "../ipc/protocol.ts";
import type { ApiProbeFactory } from "../kube/api_check.ts";
import type { ServiceLister } from "../kubefwd/exclude.ts";
import type { HostsFile } from "../kubefwd/hosts.ts";
import type { KubefwdVersion } from "../kubefwd/types.ts";
import type { LogSink } from "../log/types.ts";
import type { PersistedState } from "../state/types.ts";
import type { LaunchFiles } from "./launch_plan.ts";
import type { killOrphans } from "./process_control.ts";
import type { RunnerDeps, RunnerTuning } from "./runner_deps.ts";
import type { Spawner } from "./spawner.ts";

/** What the Supervisor is built from; fakes in tests, real implementations in lib/daemon. */
export interface SupervisorDeps {
  /** Starts the kubefwd children. */
  spawner: Spawner;
  /** All timing goes through it, so tests run on a fake clock. */
  clock: Clock;
  /** Receives the daemon's log lines and the children's output. */
  log: LogSink;
  /** Connects to the forwards in the health probes. */
  prober: Prober;
  /** Checks each profile's API server with its own credentials; undefined: not checked. */
  apiProbes?: ApiProbeFactory;
  /** Lists a namespace's services, for `exclude_services`. */
  serviceLister: ServiceLister;
  /** The hosts file for the given settings (its path and privilege path). */
  hostsFile: (settings: KubefwdSettings) => HostsFile;
  /** Default: `kubefwd version quiet` through detectKubefwdVersion. */
  detectVersion?: (path: string) => Promise<KubefwdVersion>;
  /** The daemon runs as root: with `privilege = "auto"` kubefwd runs without sudo. */
  isRoot: boolean;
  /** Generated `-z` files go to `<stateDir>/fwdconf/`. */
  stateDir: string;
  /** Mutated in place: counters, events, enabledOverride, baseIp, child. */
  state: PersistedState;
  /** Called after every mutation of `state`; the daemon debounces the atomic write. */
  persist: () => void;
  /**
   * Writes `state` now and rejects when it cannot (read-only or full disk): `enable`/`disable` wait for it
   * so they can say whether the choice survives a restart. Default: `persist()` and resolve.
   */
  saveNow?: () => Promise<void>;
  /** Backoff jitter, in [0, 1) (default: Math.random); injected so tests are exact. */
  random?: () => number;
  /** Base environment of children (default: the daemon's). */
  env?: Record<string, string>;
  /** HOME given to children (default: env.HOME, else /root for root). */
  home?: string;
  /** Hosts-file reader for the probes' "still has its hosts line" check; the daemon passes Deno.readTextFile. */
  readHosts?: (path: string) => Promise<string>;
  /** File fingerprint for change detection (default: mtime + size via Deno.stat). */
  fingerprint?: (path: string) => Promise<string>;
  /** Stop escalation overrides (tests; sudo kill). */
  stopOptions?: RunnerDeps["stopOptions"];
  /** The file system as launch planning sees it (default: the real one). */
  launchFiles?: LaunchFiles;
  /** Kills the children a previous daemon left behind (default: killOrphans of process_control.ts). */
  killOrphans?: typeof killOrphans;
  /** Overrides of the runners' timings and caps; tests shorten them. */
  tuning?: Partial<RunnerTuning>;
  /**
   * Masks secrets and kubeconfig paths in recorded text (lastError, events), like the log does; the daemon
   * passes its log's masker. Default: maskSecrets with the configured kubeconfigs and `home`.
   */
  mask?: (text: string) => string;
}

/** What a reconcile did, by profile name. */
export interface ReconcileResult {
  /** Profiles new in the config. */
  added: string[];
  /** Profiles no longer in the config; they stop and their persisted state goes. */
  removed: string[];
  /** Profiles whose spec, kubefwd settings or `enabled` changed. */
  changed: string[];
  /** Profiles left untouched. */
  unchanged: string[];
  /** Config `enabled` changes that a CLI override hides; absent when there are none. */
  masked?: MaskedEnabled[];
  /** Profiles left alone because they would overlap one running outside the config; absent when none. */
  refused?: { profile: string; message: string }[];
}

/** One profile's outcome of a verb (the protocol's ProfileActionResult). */
export interface ActionResult {
  /** The profile the verb acted on. */
  profile: string;
  /** What happened to it, as the CLI prints it. */
  outcome: string;
}
