/**
 * Watches one profile's API server for as long as its kubefwd runs: a check every `intervalMs` while it
 * answers, every `downIntervalMs` while it does not (so its return is seen within about a second), each
 * bounded by `timeoutMs`. Reports every change of reachability; `checkNow` re-checks at once (after a wake).
 * A profile whose credentials cannot be resolved is `unknown` and retried every `resolveRetryMs`. Until the
 * first check succeeds the state stays `unknown` too: kubefwd cannot forward anything without the API
 * server, so a check that never got through says more about the check (a proxy, a network path of its
 * own) than about the server, and must not mark working forwards unverified.
 */
import type { Clock, TimerHandle } from "../clock.ts";
import type { ProfileSpec } from "../config/types.ts";
import type { ApiProbe, ApiProbeFactory } from "./api_check.ts";
import type { ReadyPodsAnswer } from "./ready_pods.ts";

/** Reachability as the watch reports it; `since` is when the state began. */
export type ApiWatchState =
  | { state: "unknown"; since: number; why?: string }
  | { state: "reachable"; since: number }
  | { state: "unreachable"; since: number; why: string };

/** A pod whose node the watch also checks (see ApiProbe.checkPodPath), and where the answers go. */
export interface PodPathWatch {
  /** The pod to check now, or undefined for none (checked before every round). */
  target: () => { namespace: string; pod: string } | undefined;
  /** Every answer: true the node answers, false it is out of reach, undefined cannot tell. */
  onAnswer: (reachable: boolean | undefined) => void;
}

/** Timings of an {@link ApiWatch}. */
export interface ApiWatchTiming {
  /** Between checks while the API server answers. */
  intervalMs: number;
  /** Between checks while it does not. */
  downIntervalMs: number;
  /** One check's bound. */
  timeoutMs: number;
  /** Wait before resolving credentials again after a failure. */
  resolveRetryMs: number;
}

/** Production timings: 30 checks a minute while up, one a second while down. */
export const DEFAULT_API_WATCH_TIMING: ApiWatchTiming = {
  intervalMs: 2000,
  downIntervalMs: 1000,
  timeoutMs: 2000,
  resolveRetryMs: 60_000,
};

/** See the module comment. */
export class ApiWatch {
  readonly #clock: Clock;
  readonly #factory: ApiProbeFactory;
  readonly #profile: ProfileSpec;
  readonly #timing: ApiWatchTiming;
  readonly #onChange: (state: ApiWatchState) => void;
  readonly #podPath: PodPathWatch | undefined;
  #probe: ApiProbe | undefined;
  #timer: TimerHandle | undefined;
  #state: ApiWatchState;
  #busy = false;
  #again = false;
  #stopped = false;
  #everReachable = false;

  /** Starts watching at once; `onChange` gets every reachability change (the first result too). */
  constructor(
    clock: Clock,
    factory: ApiProbeFactory,
    profile: ProfileSpec,
    timing: ApiWatchTiming,
    onChange: (state: ApiWatchState) => void,
    podPath?: PodPathWatch,
  ) {
    this.#podPath = podPath;
    this.#clock = clock;
    this.#factory = factory;
    this.#profile = profile;
    this.#timing = timing;
    this.#onChange = onChange;
    this.#state = { state: "unknown", since: clock.now() };
    this.checkNow();
  }

  /** The current reachability. */
  get state(): ApiWatchState {
    return this.#state;
  }

  /** Checks at once (a running check is followed by another one). */
  checkNow(): void {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#busy = true;
    this.#round().catch(() => {}).finally(() => {
      this.#busy = false;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        return this.checkNow();
      }
      const t = this.#timing;
      const wait = this.#state.state === "reachable"
        ? this.#podPath?.target() ? t.downIntervalMs : t.intervalMs
        : this.#state.state === "unreachable"
        ? t.downIntervalMs
        : this.#probe
        ? t.intervalMs
        : t.resolveRetryMs;
      this.#timer = this.#clock.setTimeout(() => this.checkNow(), wait);
    });
  }

  /**
   * Whether `service` has a Ready pod, asked with this watch's client; `unknown` unless the API server
   * answered the last check (an unreachable server says nothing about pods).
   */
  readyPods(namespace: string, service: string): Promise<ReadyPodsAnswer> {
    const probe = this.#probe;
    if (this.#stopped || this.#state.state !== "reachable" || !probe?.readyPods) {
      return Promise.resolve({ kind: "unknown", why: "the API server is not known to answer" });
    }
    return probe.readyPods(namespace, service, this.#timing.timeoutMs);
  }

  /** Stops for good and frees the HTTP client. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#probe?.close();
    this.#probe = undefined;
  }

  async #round(): Promise<void> {
    if (!this.#probe && !(await this.#open())) return;
    let result = await this.#probe!.check(this.#timing.timeoutMs);
    if (!result.ok && result.unauthorized && !this.#stopped) {
      // An expired token or rotated certificate: resolve again (an exec plugin refreshes), check once more.
      this.#probe?.close();
      this.#probe = undefined;
      if (!(await this.#open())) return;
      result = await this.#probe!.check(this.#timing.timeoutMs);
    }
    if (this.#stopped) return;
    // 401 twice: the server answers; kubefwd with the same credentials would be refused, which its own
    // start error says better than a restart could.
    const now = this.#clock.now();
    if (result.ok || result.unauthorized) {
      this.#everReachable = true;
      this.#set({ state: "reachable", since: now });
      await this.#checkPodPath();
    } else if (this.#everReachable) this.#set({ state: "unreachable", since: now, why: result.why });
    else {this.#set({
        state: "unknown",
        since: now,
        why: `the daemon's check never got through (${result.why})`,
      });}
  }

  /** While a pod is named, asks whether the API server reaches its node (a node outage and its end). */
  async #checkPodPath(): Promise<void> {
    const target = this.#podPath?.target();
    if (!target || !this.#probe?.checkPodPath) return;
    const answer = await this.#probe.checkPodPath(target.namespace, target.pod, this.#timing.timeoutMs);
    if (!this.#stopped) this.#podPath!.onAnswer(answer);
  }

  async #open(): Promise<boolean> {
    try {
      const probe = await this.#factory.open(this.#profile);
      if (this.#stopped) {
        probe.close();
        return false;
      }
      this.#probe = probe;
      return true;
    } catch (e) {
      if (!this.#stopped) {
        this.#set({ state: "unknown", since: this.#clock.now(), why: (e as Error).message });
      }
      return false;
    }
  }

  #set(next: ApiWatchState): void {
    const was = this.#state;
    const same = was.state === next.state;
    if (same && (next.state !== "unreachable" || (was as { why: string }).why === next.why)) {
      if (next.state !== "unknown") return;
      if ((was as { why?: string }).why === next.why) return;
    }
    this.#state = same ? { ...next, since: was.since } : next;
    this.#onChange(this.#state);
  }
}
