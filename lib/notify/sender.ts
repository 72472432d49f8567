/**
 * The side effect behind desktop notifications, as a small interface: the Notifier decides, a sender shows.
 * Production uses the desktop's helper (desktop.ts); tests use the recording fake in lib/testing/.
 */
import type { Notification } from "./policy.ts";

/** Why a notification could not be shown; each is logged once, then only at debug level. */
export type SendProblem = "missing_helper" | "no_session" | "failed";

/** What one send did. Never a thrown error: a sender's trouble must not reach the daemon. */
export type SendOutcome = { ok: true } | { ok: false; problem: SendProblem; message: string };

/** Shows one notification; resolves when the helper is done (or given up on). */
export interface NotificationSender {
  /** Shows `n`, reporting problems in the outcome rather than throwing. */
  send(n: Notification): Promise<SendOutcome>;
}
