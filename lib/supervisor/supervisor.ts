/**
 * The Supervisor: the one owner of mutable runtime state. It keeps one ProfileRunner per configured profile,
 * applies config reloads as a diff (added start, removed stop, changed restart, unchanged untouched), routes
 * the user verbs, assigns each profile its own stable IP range, caches kubefwd version detection, staggers
 * child starts (/etc/hosts has no cross-process locking), and stops everything on shutdown. Daemon handlers
 * call only these methods.
 */
import type { Clock, TimerHandle } from "../clock.ts";
import { didYouMean, suggest } from "../config/did_you_mean.ts";
import type { KubefwdSettings, ProfileSpec, ResolvedConfig } from "../config/types.ts";
import { UserError } from "../errors.ts";
import type { Prober } from "../health/probe.ts";
import type { ApiProbeFactory } from "../kube/api_check.ts";
import type { ServiceLister } from "../kubefwd/exclude.ts";
import type { HostsFile } from "../kubefwd/hosts.ts";
import type { KubefwdVersion } from "../kubefwd/types.ts";
import { detectKubefwdVersion } from "../kubefwd/version.ts";
import { maskSecrets } from "../log/mask.ts";
import type { LogSink } from "../log/types.ts";
import type { MaskedEnabled } from "../ipc/protocol.ts";
import type { PersistedState } from "../state/types.ts";
import { isRecord } from "../util/is_record.ts";
import { Mutex } from "../util/async.ts";
import {
  maskedEnabled,
  overlapRefusal,
  type ReloadRefusal,
  reloadRefusals,
  resetOutcome,
} from "./enabled_choice.ts";
import { allocateBaseIp, isUsableBaseIp, ownedIps } from "./ip_alloc.ts";
import { type LaunchFiles, realLaunchFiles } from "./launch_plan.ts";
import { type ActionOutcome, describeOutcome } from "./outcome.ts";
import { killOrphans, type OrphanReport } from "./process_control.ts";
import { newPersistedProfile, ProfileRecord } from "./profile_record.ts";
import { ProfileRunner } from "./profile_runner.ts";
import type { Spawner } from "./spawner.ts";
import { DEFAULT_TUNING, type RunnerDeps, type RunnerTuning } from "./runner_deps.ts";
import type { ProfileStatus, TransitionEvent } from "./types.ts";

/** Second sweep of a removed profile's addresses, after concurrent kubefwd hosts writes have settled. */
const RETIRED_SWEEP_SETTLE_MS = 3000;

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

/** mtime + size of a file, or "missing": cheap change detection for kubeconfig and the kubefwd binary. */
export async function statFingerprint(path: string): Promise<string> {
  try {
    const st = await Deno.stat(path);
    return `${st.mtime?.getTime() ?? 0}:${st.size}`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "missing";
    throw e;
  }
}

/** JSON with sorted keys, so two specs compare equal whatever their key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      isRecord(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  );
}

/** Spec equality ignoring `enabled` (handled separately: it starts/stops rather than restarts). */
function sameSpec(a: ProfileSpec, b: ProfileSpec): boolean {
  return stableJson({ ...a, enabled: null }) === stableJson({ ...b, enabled: null });
}

/** Owns all ProfileRunners. See the module comment. */
export class Supervisor {
  readonly #deps: SupervisorDeps;
  readonly #runners = new Map<string, ProfileRunner>();
  /** Addresses of profiles removed from the config: no line of them may stay in the hosts file. */
  readonly #retiredIps = new Set<string>();
  #retiredSweepTimer: TimerHandle | undefined;
  /** Runners of profiles removed from the config, still stopping. */
  readonly #retiring = new Map<string, Promise<void>>();
  readonly #listeners = new Set<(e: TransitionEvent) => void>();
  readonly #versions = new Map<string, { fingerprint: string; version: Promise<KubefwdVersion> }>();
  readonly #tuning: RunnerTuning;
  /** One child start at a time: the next waits until the previous released (timer, exit, or stop). */
  readonly #startGate = new Mutex();
  #settings: KubefwdSettings | undefined;
  #shuttingDown: Promise<void> | undefined;
  /** Each configured profile's current base address. */
  readonly #bases = new Map<string, string>();
  /**
   * Every base address this daemon ever assigned, removed and re-added profiles included: the hosts lines
   * it may remove (a retiring child of a re-added name still cleans its old range).
   */
  readonly #everBases = new Set<string>();

  /** An idle Supervisor: no profiles until the first reconcile. */
  constructor(deps: SupervisorDeps) {
    this.#deps = deps;
    this.#tuning = { ...DEFAULT_TUNING, ...deps.tuning };
    deps.state.profiles ??= {};
    // Events an older daemon recorded unmasked are masked once, before `status` can show them.
    for (const profile of Object.values(deps.state.profiles)) {
      for (const event of profile.events ?? []) {
        event.reason = this.#mask(event.reason);
        if (event.detail !== undefined) event.detail = this.#mask(event.detail);
      }
    }
  }

  /** The masker of recorded text (see {@link SupervisorDeps.mask}). */
  #mask = (text: string): string => {
    if (this.#deps.mask) return this.#deps.mask(text);
    const kubeconfigs = [...this.#runners.values()].map((r) => r.spec.kubeconfig);
    return maskSecrets(text, { home: this.#deps.home ?? this.#deps.env?.HOME, kubeconfigs });
  };

  /** Whether `name` is a configured profile. */
  hasProfile(name: string): boolean {
    return this.#runners.has(name);
  }

  /** Subscribes to every state transition; returns the unsubscribe function. */
  onEvent(listener: (e: TransitionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Applies a (re)loaded config: new profiles start if enabled, removed ones stop (and their persisted state
   * goes), changed ones (spec or kubefwd settings, deep-compared) restart if they were running, backing off
   * or failed — a changed config re-arms a permanent failure — and unchanged ones are not touched. A change
   * of only `enabled` starts or stops. Returns at once; the stops and starts proceed in the background.
   */
  reconcile(config: ResolvedConfig): ReconcileResult {
    this.#assertRunning();
    const settings = config.kubefwd;
    const settingsChanged = this.#settings !== undefined &&
      stableJson(this.#settings) !== stableJson(settings);
    this.#settings = settings;
    const result: ReconcileResult = { added: [], removed: [], changed: [], unchanged: [] };
    const wanted = new Set(config.profiles.map((p) => p.name));

    for (const [name, runner] of this.#runners) {
      if (wanted.has(name)) continue;
      result.removed.push(name);
      this.#runners.delete(name);
      const done = runner.dispose("removed from the config").then(() => {
        this.#retiring.delete(name);
        for (const ip of runner.ipsEverAnnounced) this.#retiredIps.add(ip);
        this.#scheduleRetiredSweep();
        if (!this.#runners.has(name)) {
          delete this.#deps.state.profiles[name];
          this.#deps.persist();
        }
      }).catch((e) => this.#log("error", `stopping removed profile ${name}: ${(e as Error).message}`));
      this.#retiring.set(name, done);
    }
    for (const name of Object.keys(this.#deps.state.profiles)) {
      if (!wanted.has(name) && !this.#retiring.has(name)) delete this.#deps.state.profiles[name];
    }
    this.#assignBaseIps(config.profiles);
    const refusals = this.#reloadRefusals(config.profiles);
    for (const [profile, { message }] of refusals) (result.refused ??= []).push({ profile, message });

    for (const spec of config.profiles) {
      const existing = this.#runners.get(spec.name);
      if (!existing) {
        const runner = this.#createRunner(spec, settings);
        result.added.push(spec.name);
        if (runner.enabled && !refusals.has(spec.name)) {
          const retiring = this.#retiring.get(spec.name);
          const start = () =>
            runner.start("profile loaded from the config").catch((e) =>
              this.#log("error", `starting ${spec.name}: ${(e as Error).message}`)
            );
          if (retiring) void retiring.then(start);
          else void start();
        }
        continue;
      }
      if (refusals.has(spec.name)) {
        result.unchanged.push(spec.name);
        continue;
      }
      const wasEnabled = existing.enabled;
      const specChanged = settingsChanged || !sameSpec(existing.spec, spec);
      const override = this.#record(spec.name).enabledOverride;
      const nowEnabled = override ?? spec.enabled;
      const masked = maskedEnabled(spec.name, existing.spec.enabled, spec.enabled, override);
      if (masked) (result.masked ??= []).push(masked);
      const enabledChanged = wasEnabled !== nowEnabled;
      if (!specChanged && !enabledChanged && existing.spec.enabled === spec.enabled) {
        result.unchanged.push(spec.name);
        continue;
      }
      if (!specChanged && !enabledChanged) {
        // Only the config's `enabled` changed, and the CLI override hides it: nothing to do but remember.
        existing.update(spec, settings, { specChanged: false, enabledChanged: false }).catch((e) =>
          this.#log("error", `applying the new config of ${spec.name}: ${(e as Error).message}`)
        );
        result.unchanged.push(spec.name);
        continue;
      }
      result.changed.push(spec.name);
      existing.update(spec, settings, { specChanged, enabledChanged }).catch((e) =>
        this.#log("error", `applying the new config of ${spec.name}: ${(e as Error).message}`)
      );
    }
    this.#deps.persist();
    return result;
  }

  /**
   * Kills the kubefwd children a previous daemon left behind (kill -9, crash, power loss) and removes their
   * hosts lines, by address only: kubefwd moves a hostname to its newest line, so a short name may now
   * belong to another profile's live line. Runs before the first reconcile.
   */
  async recoverOrphans(settings: KubefwdSettings): Promise<void> {
    const orphans = Object.entries(this.#deps.state.profiles).filter(([, p]) => p.child);
    if (orphans.length === 0) return;
    const kill = this.#deps.killOrphans ?? killOrphans;
    for (const [name, profile] of orphans) {
      const hosts = this.#guardedHosts(settings, () => [profile.baseIp], `profile ${name}'s`);
      const child = profile.child!;
      let report: OrphanReport[];
      try {
        report = await kill([child], { termWaitMs: settings.stopTimeoutMs });
      } catch (e) {
        this.#log(
          "error",
          `could not stop the kubefwd (pid ${child.pid}) profile ${name} left: ${(e as Error).message}`,
        );
        continue;
      }
      this.#log(
        "warn",
        `previous daemon left kubefwd of profile ${name} (pid ${child.pid}): ${JSON.stringify(report)}`,
      );
      if (report.some((r) => r.outcome === "kill_failed")) {
        // Still running: its hosts lines are live and it stays recorded for the next daemon start.
        this.#log(
          "error",
          `kubefwd pid ${child.pid} of profile ${name} could not be stopped; its hosts lines stay and it stays ` +
            "recorded (stop it by hand: sudo kill)",
        );
        continue;
      }
      if (child.announcedIps.length > 0) {
        try {
          const removed = await hosts.removeEntries(child.announcedIps);
          this.#log("info", `removed ${removed} stale hosts entries of profile ${name}`);
        } catch (e) {
          this.#log("error", `could not clean hosts entries of profile ${name}: ${(e as Error).message}`);
        }
      }
      this.#record(name).childGone(child.pid);
    }
  }

  /**
   * Starts profiles now (all when `names` is empty), resetting their attempt counter: a failed or
   * backing-off profile starts at once, a disabled one starts transiently (not persisted; `enable` persists)
   * unless it would forward a namespace a running or enabled profile forwards (UserError `conflict`).
   */
  async start(names: string[]): Promise<ActionResult[]> {
    return await this.#forEach(
      names,
      (r) => r.start("start requested"),
      (runners) => this.#refuseOverlaps("start", runners.filter((r) => !r.enabled && !r.active)),
    );
  }

  /** Stops profiles (all when empty) until the next start, enable, reload change or daemon restart. */
  async stop(names: string[]): Promise<ActionResult[]> {
    return await this.#forEach(names, (r) => r.stop("stop requested"));
  }

  /** Restarts profiles' children (all when empty); stopped ones just start. */
  async restart(names: string[]): Promise<ActionResult[]> {
    return await this.#forEach(names, (r) => r.restart("restart requested"));
  }

  /**
   * Persists the CLI's enable/disable choice (it overrides the config until changed again or `reset`);
   * enabling starts the profile, disabling stops it into `disabled`. Enabling a profile that would forward a
   * namespace a running or enabled profile forwards is refused (UserError `conflict`), as validate does.
   */
  async setEnabled(names: string[], enabled: boolean): Promise<ActionResult[]> {
    this.#assertRunning();
    if (names.length === 0) {
      throw new UserError("usage", `${enabled ? "enable" : "disable"} needs at least one profile name`);
    }
    const runners = this.#select(names);
    if (enabled) this.#refuseOverlaps("enable", runners.filter((r) => !r.enabled && !r.active));
    for (const r of runners) this.#record(r.name).setEnabledOverride(enabled);
    const saveNow = this.#deps.saveNow ?? (() => Promise.resolve(this.#deps.persist()));
    const notPersisted = await saveNow().then(
      () => "",
      (e) =>
        ` — NOT persisted (${
          e instanceof Error ? e.message : String(e)
        }): the choice holds only until the daemon stops`,
    );
    return await Promise.all(runners.map(async (r) => {
      if (enabled) {
        const outcome = await r.start("enabled");
        return {
          profile: r.name,
          outcome:
            (outcome.kind === "already" ? `enabled (${describeOutcome(outcome)})` : "enabled and started") +
            notPersisted,
        };
      }
      const outcome = await r.stop("disabled");
      return {
        profile: r.name,
        outcome: (outcome.kind === "stopped" ? "disabled and stopped" : "disabled") + notPersisted,
      };
    }));
  }

  /**
   * Drops the CLI's enable/disable override of profiles: the config's `enabled` decides again, and a profile
   * whose effective `enabled` flips starts or stops into `disabled` to match.
   */
  async resetEnabled(names: string[]): Promise<ActionResult[]> {
    this.#assertRunning();
    if (names.length === 0) throw new UserError("usage", "reset needs at least one profile name");
    const runners = this.#select(names);
    this.#refuseOverlaps("reset", runners.filter((r) => r.spec.enabled && !r.enabled && !r.active));
    return await Promise.all(runners.map(async (r) => {
      const record = this.#record(r.name);
      const override = record.enabledOverride;
      record.clearEnabledOverride();
      if (override !== undefined && override !== r.spec.enabled && this.#settings !== undefined) {
        await r.update(r.spec, this.#settings, { specChanged: false, enabledChanged: true });
      }
      return { profile: r.name, outcome: resetOutcome(override, r.spec.enabled) };
    }));
  }

  /** Status of the named profiles (all, in config order, when empty); `details` adds recent events. */
  status(names: string[] = [], opts: { details?: boolean } = {}): ProfileStatus[] {
    return this.#select(names).map((r) => r.status(opts.details ?? false));
  }

  /** The machine woke up after `sleptMs` asleep: every running profile re-verifies its forwards now. */
  wake(sleptMs: number): void {
    for (const runner of this.#runners.values()) runner.wake(sleptMs);
  }

  /**
   * Stops every child in parallel with the full escalation and waits until all are gone (hosts leftovers
   * cleaned), clearing every timer. Idempotent; afterwards the verbs refuse to act.
   */
  shutdown(): Promise<void> {
    this.#shuttingDown ??= (async () => {
      const runners = [...this.#runners.values()];
      await Promise.all([
        ...runners.map((r) =>
          r.dispose("daemon shutting down").catch((e) =>
            this.#log("error", `stopping ${r.name}: ${(e as Error).message}`)
          )
        ),
        ...this.#retiring.values(),
      ]);
      if (this.#retiredSweepTimer !== undefined) this.#deps.clock.clearTimeout(this.#retiredSweepTimer);
      this.#retiredSweepTimer = undefined;
      await this.#sweepHosts([...this.#retiredIps, ...runners.flatMap((r) => r.ipsEverAnnounced)]);
      this.#deps.persist();
    })();
    return this.#shuttingDown;
  }

  // -------------------------------------------------------------------------------------------------------

  /**
   * With every child gone, no line of our profiles' addresses may stay in the hosts file. kubefwd children
   * that exit at the same moment rewrite the file concurrently without a lock (docs/kubefwd-compatibility.md#multiple-instances),
   * so one child's cleanup can bring back lines another child had just removed: sweep once more, by address.
   */
  async #sweepHosts(ips: string[]): Promise<void> {
    if (ips.length === 0 || this.#settings === undefined) return;
    try {
      const hosts = this.#guardedHosts(this.#settings, () => this.#everBases, "the daemon's");
      const removed = await hosts.removeEntries(ips);
      if (removed > 0) {
        this.#log(
          "warn",
          `final sweep removed ${removed} stale hosts name(s) of this daemon's profiles`,
        );
      }
    } catch (e) {
      this.#log("error", `final hosts sweep failed: ${(e as Error).message}`);
    }
  }

  /**
   * A removed profile's kubefwd cleans its lines as it exits, but another profile's kubefwd writing the file
   * at the same moment can bring them back (no lock between processes): sweep the removed profile's
   * addresses now and once more after the other writers have settled. Addresses a current profile uses again
   * (same name re-added) are left alone.
   */
  #scheduleRetiredSweep(): void {
    const sweep = () => {
      const live = new Set([...this.#runners.values()].flatMap((r) => r.ipsEverAnnounced));
      const ips = [...this.#retiredIps].filter((ip) => !live.has(ip));
      return this.#sweepHosts(ips);
    };
    if (this.#shuttingDown) return;
    void sweep();
    if (this.#retiredSweepTimer !== undefined) this.#deps.clock.clearTimeout(this.#retiredSweepTimer);
    this.#retiredSweepTimer = this.#deps.clock.setTimeout(() => {
      this.#retiredSweepTimer = undefined;
      if (!this.#shuttingDown) void sweep();
    }, RETIRED_SWEEP_SETTLE_MS);
  }

  /**
   * The hosts file, restricted to the lines of the given profile ranges: any other address (127.0.0.1, ::1,
   * another program's 127.x) is never removed, whatever a state file or a child's output claims.
   */
  #guardedHosts(
    settings: KubefwdSettings,
    bases: () => Iterable<string | undefined>,
    whose: string,
  ): HostsFile {
    const hosts = this.#deps.hostsFile(settings);
    return {
      removeEntries: (ips) => {
        const allowed = ownedIps(ips, bases());
        const refused = ips.filter((ip) => !allowed.includes(ip));
        if (refused.length > 0) {
          this.#log(
            "warn",
            `refused to remove hosts lines of ${refused.join(", ")}: outside ${whose} address range`,
          );
        }
        return allowed.length > 0 ? hosts.removeEntries(allowed) : Promise.resolve(0);
      },
    };
  }

  /** Runs a verb on the named runners (all when empty) in parallel; one result per profile. */
  async #forEach(
    names: string[],
    verb: (r: ProfileRunner) => Promise<ActionOutcome>,
    check?: (runners: ProfileRunner[]) => void,
  ): Promise<ActionResult[]> {
    this.#assertRunning();
    const runners = this.#select(names);
    check?.(runners);
    return await Promise.all(
      runners.map(async (r) => ({ profile: r.name, outcome: describeOutcome(await verb(r)) })),
    );
  }

  /** Which profiles of a new config must be left alone so they do not overlap one running outside it. */
  #reloadRefusals(specs: ProfileSpec[]): Map<string, ReloadRefusal> {
    const next = specs.map((spec) => ({
      name: spec.name,
      spec,
      enabled: this.#record(spec.name).enabledOverride ?? spec.enabled,
    }));
    const current = new Map([...this.#runners].map(([name, r]) => {
      const live = r.active || r.state === "backoff" || r.state === "failed";
      return [name, { name, spec: r.spec, enabled: r.enabled, live }];
    }));
    return reloadRefusals(next, current);
  }

  /** Throws when `starting` would forward a namespace a running or enabled profile forwards. */
  #refuseOverlaps(verb: string, starting: ProfileRunner[]): void {
    const running = [...this.#runners.values()].filter((r) => r.enabled || r.active);
    const refusal = overlapRefusal(verb, starting, running);
    if (refusal) throw refusal;
  }

  #assertRunning(): void {
    if (this.#shuttingDown) throw new UserError("error", "the daemon is shutting down");
  }

  #select(names: string[]): ProfileRunner[] {
    if (names.length === 0) return [...this.#runners.values()];
    const known = [...this.#runners.keys()];
    const unknown = names.filter((n) => !this.#runners.has(n));
    if (unknown.length > 0) {
      const first = unknown[0];
      const list = known.length > 0 ? known.join(", ") : "none configured";
      throw new UserError(
        "unknown_profile",
        `unknown profile${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => JSON.stringify(n)).join(", ")}${
          didYouMean(suggest(first, known))
        }; known profiles: ${list}`,
        { details: { unknown, known } },
      );
    }
    return [...new Set(names)].map((n) => this.#runners.get(n)!);
  }

  /** The persisted slice of a profile behind its named operations (created when new). */
  #record(name: string): ProfileRecord {
    const profiles = this.#deps.state.profiles;
    profiles[name] ??= newPersistedProfile();
    return new ProfileRecord(profiles[name], this.#deps.persist, this.#mask);
  }

  /** Keeps every valid, unshared persisted base IP; gives the others the lowest free 127.N.27.1. */
  #assignBaseIps(specs: ProfileSpec[]): void {
    const profiles = this.#deps.state.profiles;
    const used: string[] = [];
    for (const name of this.#retiring.keys()) {
      const ip = profiles[name]?.baseIp;
      if (ip) used.push(ip);
    }
    const needing: [string, ProfileRecord][] = [];
    for (const spec of specs) {
      const record = this.#record(spec.name);
      if (isUsableBaseIp(record.baseIp, used)) {
        used.push(record.baseIp);
        this.#bases.set(spec.name, record.baseIp);
        this.#everBases.add(record.baseIp);
      } else needing.push([spec.name, record]);
    }
    for (const [name, record] of needing) {
      const ip = allocateBaseIp(used);
      record.setBaseIp(ip);
      used.push(ip);
      this.#bases.set(name, ip);
      this.#everBases.add(ip);
    }
  }

  #createRunner(spec: ProfileSpec, settings: KubefwdSettings): ProfileRunner {
    const deps = this.#deps;
    // The runner's own range as assigned now: if the name is removed and re-added while this runner's child
    // still stops, the new runner gets another range and this one must still clean its old lines.
    const ownBase = this.#bases.get(spec.name);
    const env = deps.env ?? Deno.env.toObject();
    const home = deps.home ?? env.HOME ?? (deps.isRoot ? "/root" : "/");
    const runner = new ProfileRunner(spec, settings, {
      spawner: deps.spawner,
      clock: deps.clock,
      log: deps.log,
      prober: deps.prober,
      apiProbes: deps.apiProbes,
      serviceLister: deps.serviceLister,
      hostsFile: (settings) =>
        this.#guardedHosts(settings, () => [ownBase, this.#bases.get(spec.name)], `profile ${spec.name}'s`),
      resolveVersion: (path) => this.#resolveVersion(path),
      isRoot: deps.isRoot,
      files: deps.launchFiles ?? realLaunchFiles,
      fwdConfDir: `${deps.stateDir.replace(/\/+$/, "")}/fwdconf`,
      env,
      home,
      random: deps.random ?? Math.random,
      record: this.#record(spec.name),
      emit: (e) => {
        for (const l of this.#listeners) {
          try {
            l(e);
          } catch {
            // listeners must not break the state machine
          }
        }
      },
      startGate: async () => {
        const lock = await this.#startGate.acquire();
        return lock.release;
      },
      fingerprint: deps.fingerprint ?? statFingerprint,
      readHosts: deps.readHosts,
      stopOptions: deps.stopOptions,
      tuning: this.#tuning,
    });
    this.#runners.set(spec.name, runner);
    return runner;
  }

  /** Version per binary path, re-detected when the binary's mtime/size changes (an upgrade). */
  async #resolveVersion(path: string): Promise<KubefwdVersion> {
    const fp = await (this.#deps.fingerprint ?? statFingerprint)(path).catch(() => "unknown");
    const cached = this.#versions.get(path);
    if (cached && cached.fingerprint === fp) return cached.version;
    const detect = this.#deps.detectVersion ?? ((p: string) => detectKubefwdVersion(p));
    const version = detect(path);
    const entry = { fingerprint: fp, version };
    this.#versions.set(path, entry);
    version.catch(() => {
      if (this.#versions.get(path) === entry) this.#versions.delete(path);
    });
    return await version;
  }

  #log(level: "info" | "warn" | "error", message: string): void {
    this.#deps.log.write({
      at: new Date(this.#deps.clock.now()).toISOString(),
      level,
      source: "daemon",
      message,
    });
  }
}
