/**
 * The Supervisor: the one owner of mutable runtime state. It keeps one ProfileRunner per configured profile,
 * applies config reloads as a diff (added start, removed stop, changed restart, unchanged untouched), routes
 * the user verbs, assigns each profile its own stable IP range, caches kubefwd version detection, staggers
 * child starts (/etc/hosts has no cross-process locking), and stops everything on shutdown. Daemon handlers
 * call only these methods. The decisions and bookkeeping behind them live beside it: reload_diff.ts (what a
 * reload changes), address_ranges.ts (whose 127.N range is whose), hosts_sweep.ts (no stale hosts line of
 * ours stays), orphan_recovery.ts (children of a daemon that died), version_cache.ts.
 */
import { didYouMean, suggest } from "../config/did_you_mean.ts";
import type { KubefwdSettings, ProfileSpec, ResolvedConfig } from "../config/types.ts";
import { UserError } from "../errors.ts";
import type { HostsFile } from "../kubefwd/hosts.ts";
import { detectKubefwdVersion } from "../kubefwd/version.ts";
import { maskSecrets } from "../log/mask.ts";
import { Mutex } from "../util/async.ts";
import { AddressRanges, restrictToRanges } from "./address_ranges.ts";
import { overlapRefusal, type ReloadRefusal, reloadRefusals, resetOutcome } from "./enabled_choice.ts";
import { HostsSweeper } from "./hosts_sweep.ts";
import { realLaunchFiles } from "./launch_plan.ts";
import { recoverOrphans } from "./orphan_recovery.ts";
import { type ActionOutcome, describeOutcome } from "./outcome.ts";
import { killOrphans } from "./process_control.ts";
import { newPersistedProfile, ProfileRecord } from "./profile_record.ts";
import { ProfileRunner } from "./profile_runner.ts";
import { profileChange, stableJson } from "./reload_diff.ts";
import { DEFAULT_TUNING, type RunnerTuning } from "./runner_deps.ts";
import type { ActionResult, ReconcileResult, SupervisorDeps } from "./supervisor_deps.ts";
import type { ProfileStatus, TransitionEvent } from "./types.ts";
import { KubefwdVersionCache } from "./version_cache.ts";

export type { ActionResult, ReconcileResult, SupervisorDeps } from "./supervisor_deps.ts";

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

/** Owns all ProfileRunners. See the module comment. */
export class Supervisor {
  readonly #deps: SupervisorDeps;
  readonly #runners = new Map<string, ProfileRunner>();
  readonly #sweeper: HostsSweeper;
  /** Runners of profiles removed from the config, still stopping. */
  readonly #retiring = new Map<string, Promise<void>>();
  readonly #listeners = new Set<(e: TransitionEvent) => void>();
  readonly #versions: KubefwdVersionCache;
  readonly #tuning: RunnerTuning;
  /** One child start at a time: the next waits until the previous released (timer, exit, or stop). */
  readonly #startGate = new Mutex();
  #settings: KubefwdSettings | undefined;
  #shuttingDown: Promise<void> | undefined;
  /** Each profile's address range, and every range ever assigned. */
  readonly #ranges = new AddressRanges();

  /** An idle Supervisor: no profiles until the first reconcile. */
  constructor(deps: SupervisorDeps) {
    this.#deps = deps;
    this.#tuning = { ...DEFAULT_TUNING, ...deps.tuning };
    this.#versions = new KubefwdVersionCache(
      deps.fingerprint ?? statFingerprint,
      deps.detectVersion ?? ((p: string) => detectKubefwdVersion(p)),
    );
    this.#sweeper = new HostsSweeper({
      clock: deps.clock,
      hosts: () =>
        this.#settings === undefined
          ? undefined
          : this.#guardedHosts(this.#settings, () => this.#ranges.everAssigned, "the daemon's"),
      liveIps: () => [...this.#runners.values()].flatMap((r) => r.ipsEverAnnounced),
      shuttingDown: () => this.#shuttingDown !== undefined,
      log: (level, message) => this.#log(level, message),
    });
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
        this.#sweeper.retire(runner.ipsEverAnnounced);
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
      const override = this.#record(spec.name).enabledOverride;
      const change = profileChange(existing, spec, override, settingsChanged);
      if (change.masked) (result.masked ??= []).push(change.masked);
      if (change.kind === "unchanged") {
        result.unchanged.push(spec.name);
        continue;
      }
      // `remember`: only the config's `enabled` changed, and the CLI override hides it; the runner keeps
      // the new spec and nothing else happens.
      (change.kind === "changed" ? result.changed : result.unchanged).push(spec.name);
      const { specChanged, enabledChanged } = change;
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
    await recoverOrphans(settings, {
      profiles: this.#deps.state.profiles,
      kill: this.#deps.killOrphans ?? killOrphans,
      hostsOf: (name, baseIp) => this.#guardedHosts(settings, () => [baseIp], `profile ${name}'s`),
      record: (name) => this.#record(name),
      log: (level, message) => this.#log(level, message),
    });
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
      await this.#sweeper.final(runners.flatMap((r) => r.ipsEverAnnounced));
      this.#deps.persist();
    })();
    return this.#shuttingDown;
  }

  // -------------------------------------------------------------------------------------------------------

  /** The hosts file of `settings`, restricted to the given profile ranges (see {@link restrictToRanges}). */
  #guardedHosts(
    settings: KubefwdSettings,
    bases: () => Iterable<string | undefined>,
    whose: string,
  ): HostsFile {
    return restrictToRanges(
      this.#deps.hostsFile(settings),
      bases,
      (refused) =>
        this.#log(
          "warn",
          `refused to remove hosts lines of ${refused.join(", ")}: outside ${whose} address range`,
        ),
    );
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

  /** Gives every profile of the config its address range; bases of profiles still stopping are taken. */
  #assignBaseIps(specs: ProfileSpec[]): void {
    const profiles = this.#deps.state.profiles;
    const taken: string[] = [];
    for (const name of this.#retiring.keys()) {
      const ip = profiles[name]?.baseIp;
      if (ip) taken.push(ip);
    }
    this.#ranges.assign(specs, (name) => this.#record(name), taken);
  }

  #createRunner(spec: ProfileSpec, settings: KubefwdSettings): ProfileRunner {
    const deps = this.#deps;
    // The runner's own range as assigned now: if the name is removed and re-added while this runner's child
    // still stops, the new runner gets another range and this one must still clean its old lines.
    const ownBase = this.#ranges.baseOf(spec.name);
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
        this.#guardedHosts(
          settings,
          () => [ownBase, this.#ranges.baseOf(spec.name)],
          `profile ${spec.name}'s`,
        ),
      resolveVersion: (path) => this.#versions.resolve(path),
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

  #log(level: "info" | "warn" | "error", message: string): void {
    this.#deps.log.write({
      at: new Date(this.#deps.clock.now()).toISOString(),
      level,
      source: "daemon",
      message,
    });
  }
}
