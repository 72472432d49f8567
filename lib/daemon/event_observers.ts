/**
 * What the daemon does with every state transition besides logging it: the event history behind
 * `kubefwd-daemon events` and the desktop notifications. Both hang off `Supervisor.onEvent`, so neither
 * can slow the state machine down.
 */
import { realClock } from "../clock.ts";
import { defaultNotifications } from "../config/defaults.ts";
import type { NotificationSettings } from "../config/types.ts";
import { DesktopSender } from "../notify/desktop.ts";
import { Notifier } from "../notify/notifier.ts";
import { EventHistory } from "../state/event_history.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { LogEntry } from "../supervisor/types.ts";

/** The running observers. */
export interface EventObservers {
  /** The event history, for the `events` request and `status`. */
  history: EventHistory;
  /** Unsubscribes, cancels pending summaries and writes the queued history (bounded by `timeoutMs`). */
  close(timeoutMs: number): Promise<void>;
}

/** Subscribes the history (`<stateDir>/events.jsonl`) and the notifier to the supervisor's transitions. */
export function startEventObservers(opts: {
  supervisor: Supervisor;
  stateDir: string;
  /** The notification settings in effect (the reloaded config's). */
  notifications: () => NotificationSettings | undefined;
  log: (message: string, level: LogEntry["level"]) => void;
}): EventObservers {
  const { log } = opts;
  const history = new EventHistory({
    path: `${opts.stateDir}/events.jsonl`,
    clock: realClock,
    onHealthChange: (h) =>
      h.ok
        ? log(`event history ${h.file} is written again`, "info")
        : log(`event history failing: ${h.error} (new events are kept in memory only)`, "error"),
  });
  const notifier = new Notifier({
    clock: realClock,
    sender: new DesktopSender({ platform: Deno.build.os, env: Deno.env.toObject() }),
    settings: () => opts.notifications() ?? defaultNotifications(),
    log: (level, message) => log(message, level),
  });
  const unsubscribe = opts.supervisor.onEvent((event) => {
    history.append(event);
    notifier.onEvent(event);
  });
  return {
    history,
    close: async (timeoutMs) => {
      unsubscribe();
      notifier.close();
      await history.close(timeoutMs);
    },
  };
}
