/** A recording {@link NotificationSender} for tests: what would have been shown, and scripted outcomes. */
import type { Notification } from "../notify/policy.ts";
import type { NotificationSender, SendOutcome } from "../notify/sender.ts";

/** Records every notification; answers with `outcome` (default ok), or hangs until released when `hold`. */
export class FakeNotificationSender implements NotificationSender {
  /** Everything sent, in order. */
  readonly sent: Notification[] = [];
  /** What the next sends answer. */
  outcome: SendOutcome = { ok: true };
  /** While true, sends wait until {@link release}. */
  hold = false;
  #waiting: (() => void)[] = [];

  send(n: Notification): Promise<SendOutcome> {
    this.sent.push(n);
    if (!this.hold) return Promise.resolve(this.outcome);
    return new Promise((resolve) => this.#waiting.push(() => resolve(this.outcome)));
  }

  /** Lets every held send finish. */
  release(): void {
    this.hold = false;
    for (const done of this.#waiting.splice(0)) done();
  }
}
