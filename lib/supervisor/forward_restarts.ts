/**
 * Restarts of kubefwd for its forwards' sake (a dead forward on 1.22.x, persistent list failures, address
 * churn, a changed kubeconfig): when to restart, when a restart would only cycle healthy forwards (the
 * failure came back after the restart made for it: hold it, show its forwards failed, retry slowly), and
 * when restarts come too often (slow down on the retry policy). The decisions are the RestartThrottle's; this
 * module applies them to a run, and stops and starts the child for them, through the small
 * {@link RestartPort} the ProfileRunner gives it.
 */
import type { ProfileSpec } from "../config/types.ts";
import type { Clock } from "../clock.ts";
import type { Run } from "./child_run.ts";
import type { RestartCause, RestartRequest, TrackerUpdate } from "./forward_tracker.ts";
import { RestartThrottle } from "./restart_throttle.ts";
import type { LogEntry, RestartReason } from "./types.ts";
import { POD_RETURN_CAUSE } from "./pod_return.ts";

/** What a restart for the forwards needs of the runner that owns the run. */
export interface RestartPort {
  /** The profile's config in effect now. */
  spec(): ProfileSpec;
  clock: Clock;
  /** A number in [0, 1) for the jitter. */
  random(): number;
  /** The run is the current child, alive, and not being stopped. */
  isLive(run: Run): boolean;
  /** Applies a tracker update (forward states, log lines) to the run. */
  apply(run: Run, update: TrackerUpdate): void;
  log(level: LogEntry["level"], message: string): void;
  internalError(where: string, e: unknown): void;
  /** Runs `job` in the runner's operation queue when the run is still live (and the runner not disposed) then. */
  enqueue(run: Run, job: () => void | Promise<void>): void;
  /** Counts a restart; the transition that begins it carries `why`. */
  countRestart(why: RestartReason): void;
  /** Stops the live child on the way to the next start, gracefully for at most `stopMs` when given. */
  stop(reason: string, stopMs?: number): Promise<void>;
  /** The runner is being disposed: nothing starts any more. */
  disposed(): boolean;
  /** Enters `starting` and starts the next child; the retry attempt counter is kept. */
  launch(reason: string): void;
  /** Enters `backoff` and runs `retry` after `delayMs`, unless something else happened meanwhile. */
  backoff(delayMs: number, reason: string, detail: string, retry: () => void): void;
  /** The graceful stop of a kubefwd restarted with no forward up (see RunnerTuning.quickStopMs). */
  quickStopMs: number;
}

/** Applies restart requests of one profile's runs; owns the profile's RestartThrottle across runs. */
export class ForwardRestarts {
  readonly #throttle = new RestartThrottle();
  readonly #port: RestartPort;

  /** Restarts through `port`. */
  constructor(port: RestartPort) {
    this.#port = port;
  }

  /** A change (config, kubeconfig, the user's restart, a recovered forward): held failures get a fresh chance. */
  reset(): void {
    this.#throttle.reset();
  }

  /** A restart request from the run's tracker. */
  onRequest(run: Run, request: RestartRequest): void {
    const port = this.#port;
    // Planned restarts (IP churn) have no cause; the others may share one (ForwardTracker.commonCause).
    const cause = () =>
      request.kind === "now" && !request.cause ? undefined : run.tracker.commonCause(request.cause);
    if (request.kind === "now" && request.fresh) this.#throttle.reset();
    if (request.kind === "now") return this.request(run, request.reason, cause());
    // A kubefwd that never re-forwards (1.22.x): restart after a short debounce.
    if (!port.isLive(run) || run.timers.has("deadForward") || run.restartRequested) return;
    const heldMs = request.cause ? this.#throttle.heldForMs(request.cause.key, port.clock.now()) : 0;
    if (request.cause && heldMs > 0) return this.#hold(run, request.why, request.cause, heldMs, false);
    port.log("warn", `${request.why}: kubefwd ${run.plan.version.raw} does not reconnect; restarting soon`);
    const debounceMs = Math.max(0, port.spec().forwardFailures.debounceMs);
    run.timers.set(
      "deadForward",
      debounceMs,
      () => {
        // The API server went out of reach meanwhile (its streams end last): the recovery decides then.
        if (run.tracker.apiOutOfReach()) {
          return port.log(
            "info",
            `${request.why}: not restarting while the API server is out of reach`,
          );
        }
        this.request(run, `dead forward (${request.why})`, cause(), false, "dead_forward");
      },
    );
  }

  /**
   * Restarts the child because of its forwards: counted as a restart, not a failure, and no backoff — unless
   * the throttle holds it (the same failure came back after a restart) or slows it down (too many).
   */
  request(
    run: Run,
    reason: string,
    cause?: RestartCause,
    heldRetry = false,
    why: RestartReason = restartReasonOf(cause),
  ): void {
    const port = this.#port;
    if (run.restartRequested || !port.isLive(run)) return;
    run.restartRequested = true;
    port.enqueue(run, () => {
      const now = port.clock.now();
      const spec = port.spec();
      if (heldRetry && cause) this.#throttle.retrying(cause.key, now);
      const decision = heldRetry ? { action: "restart" as const, delayMs: 0 } : this.#throttle.decide(
        now,
        cause?.key,
        { forwardFailures: spec.forwardFailures, retry: spec.retry, random: port.random() },
      );
      if (decision.action === "hold") {
        run.restartRequested = false;
        // Held in an earlier run too: this run's forwards are shown failed and get the slow retry as well.
        if (cause) this.#hold(run, reason, cause, decision.retryInMs, !decision.alreadyHeld);
        return;
      }
      return this.#cycle(run, reason, why, decision.delayMs);
    });
  }

  /** Stops the child for its forwards' sake and starts the next one after `delayMs`, attempts kept. */
  async #cycle(run: Run, reason: string, why: RestartReason, delayMs: number): Promise<void> {
    const port = this.#port;
    port.countRestart(why);
    const quick = run.tracker.anyUp() ? undefined : port.quickStopMs; // nothing up to keep
    await port.stop(`restarting: ${reason}`, quick);
    if (port.disposed()) return;
    // The attempt counter is kept: these restarts are not crashes, and a crash loop must still back off.
    if (delayMs === 0) return port.launch(`restart: ${reason}`);
    // Restarts for dead forwards keep coming (a port someone else holds, a pod that never answers):
    // slow down on the retry policy's schedule instead of restarting in a tight loop.
    port.backoff(
      delayMs,
      `restarting: ${reason}`,
      `frequent forward restarts; next start in ${delayMs} ms`,
      () => port.launch(`restart: ${reason}`),
    );
  }

  /**
   * The same failure came back after the restart made for it: restarting again would only cycle the healthy
   * forwards. Its forwards are shown `failed`, the child keeps running, and one slow retry is scheduled.
   */
  #hold(run: Run, reason: string, cause: RestartCause, retryInMs: number, announce = true): void {
    const port = this.#port;
    port.apply(run, run.tracker.markFailed(cause.forwards, reason, port.clock.now()));
    const secs = Math.round(retryInMs / 1000);
    const why =
      `the same failure came back after a restart, so kubefwd is not restarted for it again for ${secs} s`;
    if (announce) {
      port.log("warn", `${reason}: ${why} (a config change retries at once); the others keep running`);
    }
    const due = run.timers.dueAt("heldRetry");
    if (due !== undefined && due <= port.clock.now() + retryInMs) return;
    run.timers.set("heldRetry", retryInMs, () => {
      // kubefwd (1.24+) may have fixed it meanwhile: a retry now would only cycle healthy forwards.
      if (run.tracker.allUp(cause.forwards)) {
        return port.log("info", `${reason}: answering again; no retry needed`);
      }
      this.request(run, `retry: ${reason}`, cause, true);
    });
  }
}

/** The restart reason of a restart the forwards asked for: no cause means a planned one (addresses). */
function restartReasonOf(cause: RestartCause | undefined): RestartReason {
  if (cause === undefined) return "ip_addresses";
  if (cause.key.startsWith(POD_RETURN_CAUSE)) return "pod_returned";
  return cause.key === "list" ? "list_failures" : "dead_forward";
}
