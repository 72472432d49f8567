/**
 * What follows a failure of a profile's child, or of a start that never produced one: the restart policy's
 * decision (policy.ts, pure) carried out. `backoff` with a retry timer, or `failed`, where a permanent failure
 * waits for the kubeconfig to change before it starts again. The schedule keeps the attempt counter and the
 * retry timer across runs; the profile's state stays the runner's, reached only through {@link RetryPort}.
 */
import type { Clock } from "../clock.ts";
import type { RetryPolicy } from "../config/types.ts";
import type { FileWatch } from "./file_watcher.ts";
import type { StartError } from "./launch_plan.ts";
import { NamedTimers } from "./named_timers.ts";
import { attemptsAfterStableRun, decideAfterExit, type ExitKind } from "./policy.ts";
import type { LogEntry, ProfileState, RestartReason } from "./types.ts";

/** What the schedule needs of the runner that owns the profile. */
export interface RetryPort {
  clock: Clock;
  /** A number in [0, 1) for the jitter. */
  random(): number;
  /** The profile's retry settings in effect now. */
  policy(): RetryPolicy;
  /** The profile's state now. */
  state(): ProfileState;
  /** The runner is being disposed: nothing starts any more. */
  disposed(): boolean;
  /** Enters `backoff` or `failed`. */
  transition(to: "backoff" | "failed", reason: string, detail?: string): void;
  /** The failure `status` shows until the profile is healthy again. */
  setLastError(text: string): void;
  /** A failure of the child or its start (an API server out of reach is none). */
  countFailure(): void;
  /** Counts a restart; the transition that begins it carries `why`. */
  countRestart(why: RestartReason): void;
  log(level: LogEntry["level"], message: string): void;
  /** Enters `starting` and starts a child; the attempt counter is the schedule's business. */
  launch(reason: string): void;
  /** Runs `job` in the runner's operation queue, after the operation in progress. */
  enqueue(job: () => void): void;
  /** Calls `onChange` once the profile's kubeconfig changed. */
  watchKubeconfig(onChange: () => void): FileWatch;
}

/** How a child's unplanned exit is judged (see `exitVerdict` in child_run.ts). */
export interface ExitJudgement {
  kind: ExitKind;
  reason: string;
  /** What the user sees as the last error. */
  errorText: string;
}

/** The retries of one profile; see the module comment. */
export class RetrySchedule {
  readonly #port: RetryPort;
  readonly #timers: NamedTimers<"retry">;
  /** Consecutive automatic restarts since the last fresh start or stable run. */
  #attempt = 0;
  #failedWatch: FileWatch | undefined;
  /** Bumped by every {@link cancel}: a re-arm queued before it no longer applies. */
  #epoch = 0;

  /** Retries through `port`. */
  constructor(port: RetryPort) {
    this.#port = port;
    this.#timers = new NamedTimers(port.clock);
  }

  /** When the pending retry is due, or null when none is (any state but `backoff`). */
  get nextRetryAt(): number | null {
    return this.#timers.dueAt("retry") ?? null;
  }

  /** A start by the user, a config change or a re-arm: the backoff starts from the beginning. */
  reset(): void {
    this.#attempt = 0;
  }

  /** Something else starts or stops the child: no pending retry, no re-arm. */
  cancel(): void {
    this.#timers.clear("retry");
    this.#failedWatch?.stop();
    this.#epoch++;
  }

  /** A start that never produced a child: counts as a failure and follows the restart policy. */
  startFailed(error: Pick<StartError, "kind" | "message">): void {
    if (error.kind !== "unreachable") this.#port.countFailure();
    this.#port.log("error", error.message);
    this.#decide(error.kind, error.message, error.message);
  }

  /**
   * A child ended on its own after `ranMs`, `runningMs` of them running or degraded: a long enough stable
   * run starts the backoff from the beginning. An API server out of reach is not the child's failure (no
   * crash loop; max_attempts does not apply).
   */
  childEnded(exit: ExitJudgement, ranMs: number, runningMs: number): void {
    const policy = this.#port.policy();
    const afterStableRun = runningMs >= policy.resetAfterMs;
    this.#attempt = attemptsAfterStableRun(this.#attempt, runningMs, policy);
    if (exit.kind !== "unreachable") this.#port.countFailure();
    this.#decide(exit.kind, exit.reason, exit.errorText, afterStableRun, ranMs);
  }

  /** Enters `backoff` and runs `retry` after `delayMs`, unless something else happened meanwhile. */
  backoff(delayMs: number, reason: string, detail: string, retry: () => void): void {
    const port = this.#port;
    port.transition("backoff", reason, detail);
    this.#timers.set("retry", delayMs, () => {
      if (port.state() === "backoff" && !port.disposed()) retry();
    });
  }

  /** backoff / failed after an unplanned end of a run (or of a start attempt). */
  #decide(kind: ExitKind, reason: string, errorText: string, afterStableRun = false, sinceStartMs = 0): void {
    const port = this.#port;
    const decision = decideAfterExit({
      policy: port.policy(),
      attempt: this.#attempt,
      exitKind: kind,
      random: port.random(),
      afterStableRun,
      sinceStartMs,
    });
    if (decision.action === "restart") {
      this.#attempt = decision.attempt;
      port.setLastError(errorText);
      this.backoff(decision.delayMs, reason, `retry ${decision.attempt} in ${decision.delayMs} ms`, () => {
        port.countRestart(kind === "unreachable" ? "unreachable" : "crash");
        port.launch(`retry ${this.#attempt} after backoff`);
      });
      return;
    }
    port.setLastError(kind === "transient" ? `${decision.reason}; last error: ${errorText}` : errorText);
    port.transition("failed", kind === "transient" ? decision.reason : reason);
    if (kind === "permanent") this.#rearmOnKubeconfigChange();
  }

  /** While failed permanently, a changed kubeconfig is worth another start. */
  #rearmOnKubeconfigChange(): void {
    const port = this.#port;
    const epoch = this.#epoch;
    this.#failedWatch = port.watchKubeconfig(() => {
      port.enqueue(() => {
        if (port.state() !== "failed" || epoch !== this.#epoch || port.disposed()) return;
        this.reset();
        port.launch("kubeconfig changed");
      });
    });
  }
}
