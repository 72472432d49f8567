/**
 * How one profile tells what happens to it: its daemon log lines, its internal errors, and one
 * TransitionEvent per state change (persisted in the profile's record, logged, handed to the Supervisor's
 * listeners). Restarts are counted here too, because the transition that begins a counted restart carries
 * its reason. The runner decides every transition; this module only words and delivers it, so a throwing
 * listener or a failing log line never breaks the state machine.
 */
import type { RunnerDeps } from "./runner_deps.ts";
import type { LogEntry, ProfileState, RestartReason, TransitionEvent } from "./types.ts";
import { isoTime } from "../util/iso_time.ts";

/** The log, events and counters of one profile; the runner owns one. */
export class ProfileJournal {
  readonly #profile: string;
  readonly #deps: Pick<RunnerDeps, "clock" | "log" | "record" | "emit">;
  /** Why the restart just counted happens; carried by the next transition (the one that begins it). */
  #restartReason: RestartReason | undefined;

  /** The journal of `profile`, written through the runner's `deps`. */
  constructor(profile: string, deps: Pick<RunnerDeps, "clock" | "log" | "record" | "emit">) {
    this.#profile = profile;
    this.#deps = deps;
  }

  /** A line of the daemon's own log about this profile. */
  log(level: LogEntry["level"], message: string): void {
    const at = isoTime(this.#deps.clock.now());
    this.#deps.log.write({ at, level, profile: this.#profile, source: "daemon", message });
  }

  /** A bug in the runner or its helpers: logged with its stack, never allowed to take the daemon down. */
  internalError(where: string, e: unknown): void {
    const err = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
    try {
      this.log("error", `internal error in ${where}: ${err}`);
    } catch {
      // the log itself failed; nothing more to do
    }
  }

  /** Counts a restart; the next transition (the one that begins it) carries `why`. */
  countRestart(why: RestartReason): void {
    this.#deps.record.countRestart();
    this.#restartReason = why;
  }

  /** Records, logs and announces the change from `from` to `to` the runner just made. */
  transitioned(from: ProfileState, to: ProfileState, reason: string, detail?: string, cause?: string): void {
    const event: TransitionEvent = {
      at: isoTime(this.#deps.clock.now()),
      profile: this.#profile,
      from,
      to,
      reason,
    };
    if (detail !== undefined) event.detail = detail;
    if (this.#restartReason !== undefined) event.restart = this.#restartReason;
    this.#restartReason = undefined;
    if (cause !== undefined) event.cause = cause;
    this.#deps.record.recordEvent(event);
    const level = to === "failed" ? "error" : to === "backoff" || to === "degraded" ? "warn" : "info";
    this.log(level, `${from} → ${to}: ${reason}${detail ? ` (${detail})` : ""}`);
    try {
      this.#deps.emit(event);
    } catch (e) {
      this.internalError("an event listener", e);
    }
  }
}
