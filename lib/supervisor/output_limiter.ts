/**
 * A token bucket for child output: a kubefwd that floods its log (a reconnect loop prints several lines a
 * second per service) must not flood the daemon log or its memory. Lines above the rate are counted and
 * reported as one summary a second later.
 */
import type { Clock, TimerHandle } from "../clock.ts";
import type { KubefwdLine } from "../kubefwd/types.ts";
import type { LogEntry } from "./types.ts";

const LEVEL_OF: Record<string, LogEntry["level"]> = {
  FATA: "error",
  ERRO: "error",
  WARN: "warn",
  DEBU: "debug",
  INFO: "info",
};

/** A child's output line as a log entry of its profile: logrus levels kept, anything on stderr a warning. */
export function childLogEntry(profile: string, line: KubefwdLine, now: number): LogEntry {
  const level = line.stream === "stderr" ? "warn" : LEVEL_OF[line.level ?? "INFO"] ?? "info";
  return { at: new Date(now).toISOString(), level, profile, source: line.stream, message: line.message };
}

/** The daemon's log line reporting `count` child lines an {@link OutputLimiter} dropped. */
export function suppressedNotice(count: number, linesPerSecond: number): string {
  return `${count} kubefwd output line${count === 1 ? "" : "s"} suppressed (more than ${linesPerSecond}/s)`;
}

/** Rate and burst of an {@link OutputLimiter}. */
export interface OutputLimit {
  /** Sustained lines per second. */
  linesPerSecond: number;
  /** Lines allowed above the sustained rate in one burst. */
  burst: number;
}

/** Admits lines up to a rate; reports how many it dropped through `onSuppressed`. */
export class OutputLimiter {
  readonly #clock: Clock;
  readonly #limit: OutputLimit;
  readonly #onSuppressed: (count: number) => void;
  #tokens: number;
  #tokensAt: number;
  #suppressed = 0;
  #timer: TimerHandle | undefined;

  /** Starts with a full burst; `onSuppressed` gets how many lines were dropped since its last report. */
  constructor(clock: Clock, limit: OutputLimit, onSuppressed: (count: number) => void) {
    this.#clock = clock;
    this.#limit = limit;
    this.#onSuppressed = onSuppressed;
    this.#tokens = limit.burst;
    this.#tokensAt = clock.now();
  }

  /** True when the line may be written; false when it is dropped (and counted). */
  admit(): boolean {
    const now = this.#clock.now();
    const { burst, linesPerSecond } = this.#limit;
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#tokensAt) / 1000) * linesPerSecond);
    this.#tokensAt = now;
    if (this.#tokens < 1) {
      this.#suppressed++;
      this.#timer ??= this.#clock.setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, 1000);
      return false;
    }
    this.#tokens -= 1;
    this.flush();
    return true;
  }

  /** Reports the lines dropped since the last report, if any. */
  flush(): void {
    if (this.#suppressed === 0) return;
    const count = this.#suppressed;
    this.#suppressed = 0;
    this.#onSuppressed(count);
  }

  /** Cancels the pending report and makes it now. */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.flush();
  }
}
