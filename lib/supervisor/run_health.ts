/**
 * The health checks of one run: the probe rounds through its forwards (probe_forwards.ts) and the watch of
 * the profile's API server (lib/kube/api_watch.ts), feeding the run's ForwardTracker, and for a kubefwd
 * without a pod watch the check for services whose pod came back (pod_return_watch.ts). What they conclude
 * goes back to the runner through `apply`. Lives and dies with its run.
 */
import type { HealthPolicy, KubefwdSettings } from "../config/types.ts";
import { ApiWatch, type ApiWatchState } from "../kube/api_watch.ts";
import type { Run } from "./child_run.ts";
import type { TrackerUpdate } from "./forward_tracker.ts";
import { probeForwards } from "./probe_forwards.ts";
import type { RunnerDeps } from "./runner_deps.ts";
import type { ProfileSpec } from "../config/types.ts";
import type { ApiServerStatus } from "./types.ts";
import { kubefwdSupports } from "../kubefwd/version.ts";
import { POD_RETURN_CAUSE } from "./pod_return.ts";
import { type ForwardedServices, PodReturnWatch } from "./pod_return_watch.ts";

/** What a RunHealth needs from its runner. */
export interface RunHealthHooks {
  /** The run is still the runner's live child. */
  isLive: () => boolean;
  /** Applies what the tracker concluded. */
  apply: (update: TrackerUpdate) => void;
  /** A bug: logged, never fatal. */
  internalError: (where: string, e: unknown) => void;
}

/** See the module comment. */
export class RunHealth {
  readonly #run: Run;
  readonly #deps: RunnerDeps;
  readonly #health: HealthPolicy;
  readonly #settings: KubefwdSettings;
  readonly #hooks: RunHealthHooks;
  #api: ApiWatch | undefined;
  #podReturn: PodReturnWatch | undefined;
  /** A round was asked for while one ran: run another right after it. */
  #again = false;

  /**
   * Health checks for `run` with the profile's `health` policy; nothing runs until started. `forwarded`:
   * the services the profile's children forwarded, kept by the runner across its runs.
   */
  constructor(
    run: Run,
    spec: ProfileSpec,
    settings: KubefwdSettings,
    deps: RunnerDeps,
    hooks: RunHealthHooks,
    forwarded?: ForwardedServices,
  ) {
    this.#run = run;
    this.#deps = deps;
    this.#health = spec.health;
    this.#settings = settings;
    this.#hooks = hooks;
    if (deps.apiProbes) {
      this.#api = new ApiWatch(
        deps.clock,
        deps.apiProbes,
        spec,
        deps.tuning.apiWatch,
        (state) => this.#onApi(state),
        {
          target: () => (hooks.isLive() ? run.tracker.podToCheck() : undefined),
          onAnswer: (reachable) => {
            if (hooks.isLive()) hooks.apply(run.tracker.onPodPath(reachable, deps.clock.now()));
          },
        },
      );
      if (forwarded && !kubefwdSupports(run.plan.version, "podInformer")) {
        this.#podReturn = this.#watchPodReturn(this.#api, spec, forwarded);
      }
    }
  }

  /** kubefwd without a pod watch never forwards a service whose pods were gone when it started. */
  #watchPodReturn(api: ApiWatch, spec: ProfileSpec, forwarded: ForwardedServices): PodReturnWatch {
    const run = this.#run;
    const hooks = this.#hooks;
    const { kubeconfig, context, namespaces, labels, excludeServices, extraArgs } = spec;
    return new PodReturnWatch({
      clock: this.#deps.clock,
      source: {
        reachable: () => api.state.state === "reachable",
        readyPods: (namespace, service) => api.readyPods(namespace, service),
      },
      memory: forwarded,
      scope: JSON.stringify([kubeconfig, context, namespaces, labels, excludeServices, extraArgs]),
      timing: this.#deps.tuning.podReturn,
      startedAt: this.#deps.clock.now(),
      forwards: () => (hooks.isLive() ? run.tracker.statuses() : []),
      restartPending: () => run.restartRequested || run.timers.has("deadForward"),
      onReturn: (services) => {
        if (!hooks.isLive()) return;
        const names = services.map((k) => k.slice(k.indexOf("/") + 1)).join(", ");
        hooks.apply({
          restart: {
            kind: "now",
            reason: `${names} ${services.length === 1 ? "has" : "have"} a Ready pod again, which kubefwd ` +
              `${run.plan.version.raw} (no pod watch) does not pick up`,
            cause: { key: POD_RETURN_CAUSE + services.join(","), forwards: [] },
          },
        });
      },
      internalError: hooks.internalError,
    });
  }

  /** The API server's reachability for `status`, or undefined when it is not watched. */
  apiStatus(): ApiServerStatus | undefined {
    const s = this.#api?.state;
    if (s === undefined) return undefined;
    const status: ApiServerStatus = { state: s.state, since: new Date(s.since).toISOString() };
    if (s.state !== "reachable" && s.why) status.error = this.#deps.record.mask(s.why);
    return status;
  }

  /** The machine woke up (or the daemon was stopped) after `sleptMs`: re-check everything now. */
  wake(sleptMs: number): void {
    if (!this.#hooks.isLive()) return;
    this.#hooks.apply(this.#run.tracker.onWake(sleptMs, this.#deps.clock.now()));
    this.#api?.checkNow();
  }

  /** Probes every forward after `delayMs`, unless a round is due sooner. */
  schedule(delayMs: number): void {
    const run = this.#run;
    if (!this.#hooks.isLive()) return;
    if (delayMs === 0 && run.probing) this.#again = true;
    const due = this.#deps.clock.now() + delayMs;
    const current = run.timers.dueAt("probe");
    if (current !== undefined && current <= due) return;
    run.timers.set("probe", delayMs, () => {
      this.#round().catch((e) => this.#hooks.internalError("health probe", e));
    });
  }

  /** Ends the API watch; the probe timer ends with the run's timers. */
  stop(): void {
    this.#podReturn?.stop();
    this.#api?.stop();
  }

  #onApi(state: ApiWatchState): void {
    if (!this.#hooks.isLive()) return;
    const api = state.state === "unreachable"
      ? { state: "unreachable" as const, since: state.since, why: state.why }
      : { state: state.state };
    this.#hooks.apply(this.#run.tracker.onApi(api, this.#deps.clock.now()));
  }

  async #round(): Promise<void> {
    const run = this.#run;
    if (run.probing || !this.#hooks.isLive()) return;
    run.probing = true;
    try {
      const results = await probeForwards(
        run.tracker.probeTargets(),
        this.#deps.prober,
        this.#health.timeoutMs,
        {
          read: this.#deps.readHosts,
          path: this.#settings.hostsPath,
          version: run.plan.version,
        },
      );
      if (this.#hooks.isLive()) {
        this.#hooks.apply(run.tracker.onProbes(results, this.#deps.clock.now()));
        this.#podReturn?.noteForwards();
      }
    } finally {
      run.probing = false;
    }
    const again = this.#again;
    this.#again = false;
    if (run.tracker.size > 0) this.schedule(again ? 0 : Math.max(100, this.#health.intervalMs));
  }
}
