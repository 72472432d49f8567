/**
 * Desktop notifications of the Supervisor's transitions: applies the pure policy (policy.ts) per profile,
 * keeps the wake-up timers for the summaries, and hands notifications to a sender one at a time. It never
 * blocks the caller (a transition only queues work), never throws into it, bounds its queue, and logs each
 * kind of sender problem once.
 */
import type { Clock, TimerHandle } from "../clock.ts";
import type { NotificationSettings } from "../config/types.ts";
import type { LogEntry, TransitionEvent } from "../supervisor/types.ts";
import {
  FRESH_MEMORY,
  type Notification,
  onTransition,
  onWake,
  type PolicyStep,
  type ProfileMemory,
} from "./policy.ts";
import type { NotificationSender, SendProblem } from "./sender.ts";

/** Notifications waiting for the sender beyond this are dropped (a hung desktop must not grow the daemon). */
export const MAX_QUEUED = 16;

/** What a Notifier is built from. */
export interface NotifierDeps {
  /** Summaries wait on its timers. */
  clock: Clock;
  /** Shows the notifications. */
  sender: NotificationSender;
  /** The settings in effect (read at every event, so a reload applies at once). */
  settings: () => NotificationSettings;
  /** The daemon log. */
  log: (level: LogEntry["level"], message: string) => void;
}

/** Owns the per-profile notification memory; feed it with {@link Notifier.onEvent}. */
export class Notifier {
  readonly #deps: NotifierDeps;
  readonly #memory = new Map<string, ProfileMemory>();
  readonly #timers = new Map<string, TimerHandle>();
  readonly #queue: Notification[] = [];
  readonly #reported = new Set<SendProblem>();
  #draining: Promise<void> | undefined;
  #closed = false;

  /** An idle notifier. */
  constructor(deps: NotifierDeps) {
    this.#deps = deps;
  }

  /** A Supervisor transition; returns at once. */
  onEvent(event: TransitionEvent): void {
    const settings = this.#deps.settings();
    if (this.#closed || !settings.enabled) return;
    const memory = this.#memory.get(event.profile) ?? FRESH_MEMORY;
    this.#apply(event.profile, onTransition(memory, event, this.#deps.clock.now(), settings));
  }

  /** Resolves when every queued notification has been handed to the sender (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /** Cancels the pending summaries; later events are ignored. */
  close(): void {
    this.#closed = true;
    for (const handle of this.#timers.values()) this.#deps.clock.clearTimeout(handle);
    this.#timers.clear();
  }

  #apply(profile: string, step: PolicyStep): void {
    this.#memory.set(profile, step.memory);
    const timer = this.#timers.get(profile);
    if (timer !== undefined) this.#deps.clock.clearTimeout(timer);
    this.#timers.delete(profile);
    if (step.wakeAt !== undefined) {
      const delay = Math.max(0, step.wakeAt - this.#deps.clock.now());
      this.#timers.set(profile, this.#deps.clock.setTimeout(() => this.#wake(profile), delay));
    }
    if (step.send) this.#enqueue(step.send);
  }

  #wake(profile: string): void {
    this.#timers.delete(profile);
    const settings = this.#deps.settings();
    const memory = this.#memory.get(profile);
    if (this.#closed || !memory || !settings.enabled) return;
    this.#apply(profile, onWake(memory, this.#deps.clock.now(), settings));
  }

  #enqueue(n: Notification): void {
    if (this.#queue.length >= MAX_QUEUED) {
      this.#deps.log("debug", `desktop notification dropped (${MAX_QUEUED} still waiting): ${n.title}`);
      return;
    }
    this.#queue.push(n);
    this.#draining ??= this.#drain().finally(() => this.#draining = undefined);
  }

  async #drain(): Promise<void> {
    for (let n = this.#queue.shift(); n !== undefined; n = this.#queue.shift()) {
      try {
        const outcome = await this.#deps.sender.send(n);
        if (outcome.ok) {
          this.#deps.log("debug", `desktop notification sent: ${n.title}`);
          continue;
        }
        const first = !this.#reported.has(outcome.problem);
        this.#reported.add(outcome.problem);
        const advice = outcome.problem === "failed" ? "" : "; notifications are skipped until it is fixed";
        this.#deps.log(
          first ? "warn" : "debug",
          `desktop notification not shown: ${outcome.message}${first ? advice : ""}`,
        );
      } catch (e) {
        this.#deps.log("error", `internal error in the desktop notifier: ${(e as Error).message}`);
      }
    }
  }
}
