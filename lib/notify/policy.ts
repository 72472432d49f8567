/**
 * What to notify, and when: a pure function of one profile's memory, a state transition (or a wake-up) and
 * the settings. A flapping profile must not spam the desktop, so each profile gets at most one notification
 * per `min_interval`; what came meanwhile is counted and sent as one summary when the interval is over.
 */
import { formatDuration } from "../config/duration.ts";
import type { NotificationKind, NotificationSettings } from "../config/types.ts";
import type { ProfileState, TransitionEvent } from "../supervisor/types.ts";

/** One desktop notification, as the sender shows it. */
export interface Notification {
  /** The profile it is about. */
  profile: string;
  /** What happened; `summary` stands for the events suppressed during one interval. */
  kind: NotificationKind | "summary";
  /** One short line. */
  title: string;
  /** The reason, in kubefwd-daemon's (masked) words. */
  body: string;
  /** How loudly the desktop should show it. */
  urgency: "low" | "normal" | "critical";
}

/** Notifiable events that arrived too soon after the previous notification. */
export interface Suppressed {
  /** How many of each kind. */
  counts: Partial<Record<NotificationKind, number>>;
  /** The newest one: the summary says where the profile stands now. */
  last: TransitionEvent;
}

/** What the policy remembers of one profile between calls. */
export interface ProfileMemory {
  /** When the last notification about this profile went out (ms). */
  lastSentAt?: number;
  /** The profile failed or degraded since it last ran, so its next `running` is a recovery. */
  troubled: boolean;
  /** What arrived within `min_interval` of the last notification, to be summarised. */
  suppressed?: Suppressed;
}

/** The outcome of one step: the new memory, maybe a notification, maybe a wake-up time for the summary. */
export interface PolicyStep {
  /** Replaces the profile's memory. */
  memory: ProfileMemory;
  /** Send this now. */
  send?: Notification;
  /** Call {@link onWake} at this time (ms); absent means no wake-up is needed. */
  wakeAt?: number;
}

/** A profile no notification was sent for yet. */
export const FRESH_MEMORY: ProfileMemory = Object.freeze({ troubled: false });

const TROUBLE: ReadonlySet<ProfileState> = new Set(["failed", "backoff", "degraded"]);
/** Entering these means someone stopped the profile: its trouble is over without a recovery. */
const CALM: ReadonlySet<ProfileState> = new Set(["stopped", "disabled"]);

/**
 * What a transition means for the desktop: `failed` when kubefwd died or could not start (`backoff`) or
 * the profile gave up (`failed`), `degraded` when forwards are down, `recovered` when it runs again after
 * one of those. Other transitions (starting, stopping, a first `running`) are not worth a notification.
 */
export function notificationKind(event: TransitionEvent, troubled: boolean): NotificationKind | undefined {
  if (event.to === "failed" || event.to === "backoff") return "failed";
  if (event.to === "degraded") return "degraded";
  if (event.to === "running" && troubled) return "recovered";
  return undefined;
}

/** The order summaries list the kinds in. */
const KINDS: readonly NotificationKind[] = ["failed", "degraded", "recovered"];

const URGENCY: Record<NotificationKind, Notification["urgency"]> = {
  failed: "critical",
  degraded: "normal",
  recovered: "low",
};

function describe(event: TransitionEvent): string {
  return event.detail ? `${event.reason} (${event.detail})` : event.reason;
}

function single(kind: NotificationKind, event: TransitionEvent): Notification {
  const what = event.to === "backoff" ? "kubefwd failed, restarting" : event.to;
  return {
    profile: event.profile,
    kind,
    title: kind === "recovered" ? `${event.profile}: recovered` : `${event.profile}: ${what}`,
    body: describe(event),
    urgency: URGENCY[kind],
  };
}

function summary(s: Suppressed, intervalMs: number): Notification {
  const kinds = KINDS.map((k): [NotificationKind, number] => [k, s.counts[k] ?? 0]).filter(([, n]) => n > 0);
  const total = kinds.reduce((sum, [, n]) => sum + n, 0);
  const last = s.last;
  const lastKind = notificationKind(last, true);
  return {
    profile: last.profile,
    kind: "summary",
    title: `${last.profile}: ${total} more ${total === 1 ? "change" : "changes"}`,
    body: `within ${formatDuration(intervalMs)}: ${kinds.map(([k, n]) => `${k} ${n}×`).join(", ")}; ` +
      `now ${last.to}: ${describe(last)}`,
    urgency: lastKind ? URGENCY[lastKind] : "normal",
  };
}

function addSuppressed(
  s: Suppressed | undefined,
  kind: NotificationKind,
  event: TransitionEvent,
): Suppressed {
  const counts = { ...s?.counts };
  counts[kind] = (counts[kind] ?? 0) + 1;
  return { counts, last: event };
}

/** One state transition of a profile. */
export function onTransition(
  memory: ProfileMemory,
  event: TransitionEvent,
  now: number,
  settings: NotificationSettings,
): PolicyStep {
  const kind = notificationKind(event, memory.troubled);
  const troubled = TROUBLE.has(event.to)
    ? true
    : event.to === "running" || CALM.has(event.to)
    ? false
    : memory.troubled;
  const due = memory.lastSentAt === undefined ? now : memory.lastSentAt + settings.minIntervalMs;
  if (kind === undefined || !settings.on.includes(kind)) {
    return { memory: { ...memory, troubled }, ...(memory.suppressed ? { wakeAt: due } : {}) };
  }
  if (now < due) {
    return {
      memory: { ...memory, troubled, suppressed: addSuppressed(memory.suppressed, kind, event) },
      wakeAt: due,
    };
  }
  // The interval is over: a summary still waiting takes this event in, so nothing is reported twice.
  const send = memory.suppressed
    ? summary(addSuppressed(memory.suppressed, kind, event), settings.minIntervalMs)
    : single(kind, event);
  return { memory: { troubled, lastSentAt: now }, send };
}

/** The wake-up asked for by a {@link PolicyStep}: sends the summary once the interval is over. */
export function onWake(memory: ProfileMemory, now: number, settings: NotificationSettings): PolicyStep {
  if (!memory.suppressed) return { memory };
  const due = (memory.lastSentAt ?? now) + settings.minIntervalMs;
  if (now < due) return { memory, wakeAt: due };
  return {
    memory: { troubled: memory.troubled, lastSentAt: now },
    send: summary(memory.suppressed, settings.minIntervalMs),
  };
}
