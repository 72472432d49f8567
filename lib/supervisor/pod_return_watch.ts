/**
 * The I/O around pod_return.ts for one kubefwd child without a pod watch (1.22.x): every `pollMs` it notes
 * which services the child forwards (into the profile's {@link ForwardedServices}), asks the API server,
 * with the profile's own client, about the remembered services the child does not forward, and reports the
 * ones whose Ready pod has outlasted the grace. Asks nothing while nothing is missing or the API server does
 * not answer. Lives and dies with its run (RunHealth owns it).
 */
import type { Clock, TimerHandle } from "../clock.ts";
import type { ReadyPodsAnswer } from "../kube/ready_pods.ts";
import {
  missingServices,
  podReturnVerdict,
  type ServiceKey,
  serviceOfForward,
  splitKey,
} from "./pod_return.ts";
import type { ForwardStatus } from "./types.ts";

/** Where the answers come from: the profile's API watch (lib/kube/api_watch.ts) or a fake. */
export interface PodReturnSource {
  /** The daemon's check of the API server passes right now. */
  reachable(): boolean;
  /** Whether `service` has a Ready pod; never rejects. */
  readyPods(namespace: string, service: string): Promise<ReadyPodsAnswer>;
}

/** Timings and caps of a {@link PodReturnWatch}. */
export interface PodReturnTiming {
  /** Between rounds (a round asks only while something is missing). */
  pollMs: number;
  /** How long a Ready pod of a missing service must be seen before kubefwd is restarted for it. */
  graceMs: number;
  /** A child younger than this may still be announcing its forwards: nothing counts as missing yet. */
  settleMs: number;
  /** At most this many services asked about per round. */
  maxPolled: number;
}

/** Production timings: one request per missing service per second; a restart ~0.5 s after the pod is seen. */
export const DEFAULT_POD_RETURN_TIMING: PodReturnTiming = {
  pollMs: 1000,
  graceMs: 500,
  settleMs: 3000,
  maxPolled: 20,
};

/** Most services remembered per profile. */
const MAX_REMEMBERED = 256;

/**
 * The services a profile's children forwarded (a forward that answered), across its kubefwd restarts. It
 * belongs to the runner; a change of what the profile selects (`scope`) starts it afresh, so a service the
 * config no longer covers is never asked about.
 */
export class ForwardedServices {
  #scope: string | undefined;
  readonly #keys = new Set<ServiceKey>();

  /** Remembers `keys` as forwarded under `scope`. */
  note(scope: string, keys: Iterable<ServiceKey>): void {
    this.#rescope(scope);
    for (const key of keys) if (this.#keys.size < MAX_REMEMBERED) this.#keys.add(key);
  }

  /** The remembered services under `scope`, sorted. */
  list(scope: string): ServiceKey[] {
    this.#rescope(scope);
    return [...this.#keys].sort();
  }

  /** The API server no longer has `key`: forget it. */
  forget(key: ServiceKey): void {
    this.#keys.delete(key);
  }

  #rescope(scope: string): void {
    if (scope === this.#scope) return;
    this.#scope = scope;
    this.#keys.clear();
  }
}

/** What a {@link PodReturnWatch} is built from. */
export interface PodReturnWatchOptions {
  clock: Clock;
  source: PodReturnSource;
  memory: ForwardedServices;
  /** What the profile selects (see {@link ForwardedServices}). */
  scope: string;
  timing: PodReturnTiming;
  /** When the child was spawned. */
  startedAt: number;
  /** The child's forwards now. */
  forwards: () => ForwardStatus[];
  /**
   * A restart of the child is already on its way (a dead forward's, debounced or not): nothing to add, and
   * its debounce, which gathers forwards dying together, is not cut short.
   */
  restartPending: () => boolean;
  /** These services (sorted `namespace/service`) have a Ready pod and the child does not forward them. */
  onReturn: (services: ServiceKey[]) => void;
  /** A bug: logged, never fatal. */
  internalError: (where: string, e: unknown) => void;
}

/** See the module comment. */
export class PodReturnWatch {
  readonly #o: PodReturnWatchOptions;
  #timer: TimerHandle | undefined;
  #stopped = false;
  #readySince = new Map<ServiceKey, number>();
  readonly #asked = new Set<ServiceKey>();
  #rounds = 0;

  /** Starts the rounds at once. */
  constructor(options: PodReturnWatchOptions) {
    this.#o = options;
    this.#schedule(options.timing.pollMs);
  }

  /**
   * Remembers the services the child forwards right now (a forward that answered). Called after every probe
   * round too, so a forward that was up only briefly before a restart is not missed by the rounds here.
   */
  noteForwards(): void {
    if (this.#stopped) return;
    const up = this.#o.forwards().filter((f) => f.state === "up").map((f) => serviceOfForward(f));
    this.#o.memory.note(this.#o.scope, up);
  }

  /** Stops for good. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#round().then(
        (nextMs) => this.#schedule(nextMs),
        (e) => {
          this.#o.internalError("pod return check", e);
          this.#schedule(this.#o.timing.pollMs);
        },
      );
    }, ms);
  }

  #missing(): ServiceKey[] {
    const { clock, timing, memory, scope, startedAt, source } = this.#o;
    return missingServices({
      known: memory.list(scope),
      forwards: this.#o.forwards(),
      settled: clock.now() - startedAt >= timing.settleMs,
      apiReachable: source.reachable(),
      maxPolled: timing.maxPolled,
      round: this.#rounds,
    });
  }

  /** One round; resolves with the wait before the next one. */
  async #round(): Promise<number> {
    const { clock, timing, memory, source } = this.#o;
    this.noteForwards();
    this.#rounds++;
    const polled = this.#missing();
    if (polled.length === 0) {
      this.#readySince.clear();
      return timing.pollMs;
    }
    const answers = new Map<ServiceKey, ReadyPodsAnswer>();
    await Promise.all(polled.map(async (key) => {
      const { namespace, service } = splitKey(key);
      answers.set(key, await source.readyPods(namespace, service));
    }));
    if (this.#stopped) return timing.pollMs;
    const verdict = podReturnVerdict({
      now: clock.now(),
      missing: this.#missing(), // the child may have announced it meanwhile
      answers,
      readySince: this.#readySince,
      asked: this.#asked,
      graceMs: timing.graceMs,
    });
    this.#readySince = verdict.readySince;
    for (const key of verdict.forget) memory.forget(key);
    if (verdict.restart.length > 0 && !this.#o.restartPending()) {
      for (const key of verdict.restart) this.#asked.add(key);
      this.#o.onReturn(verdict.restart);
    }
    return Math.min(timing.pollMs, verdict.confirmInMs ?? Infinity);
  }
}
