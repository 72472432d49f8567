/**
 * Notices that a file changed by polling a cheap fingerprint (mtime + size). kubefwd reads its kubeconfig
 * once at startup, so the runner restarts a running child, or re-arms a permanently failed profile, when
 * the file changes. Polling instead of Deno.watchFs: editors replace files by rename, kubeconfigs live on
 * any file system, and one stat every few seconds costs nothing.
 */
import type { Clock, TimerHandle } from "../clock.ts";

/** What a {@link watchFile} needs. */
export interface FileWatchOptions {
  /** Schedules the polls. */
  clock: Clock;
  /** A value that changes when the file changes; "missing" for an absent file. */
  fingerprint: (path: string) => Promise<string>;
  /** The file to watch. */
  path: string;
  /** Time between two polls. */
  intervalMs: number;
  /** Called once, at the first fingerprint that differs from the first one seen; the watch then ends. */
  onChange: () => void;
  /** A failure of the watcher itself (never of the file: an unreadable file is a fingerprint too). */
  onError: (error: unknown) => void;
}

/** A running watch; `stop()` is idempotent. */
export interface FileWatch {
  /** Ends the watch: no more polls, no `onChange`. */
  stop(): void;
}

/** Starts polling `path`; the first poll (now) takes the baseline. */
export function watchFile(opts: FileWatchOptions): FileWatch {
  let stopped = false;
  let timer: TimerHandle | undefined;
  let baseline: string | undefined;
  const poll = async () => {
    timer = undefined;
    let fingerprint: string;
    try {
      fingerprint = await opts.fingerprint(opts.path);
    } catch {
      fingerprint = "unreadable";
    }
    if (stopped) return;
    if (baseline === undefined) baseline = fingerprint;
    else if (fingerprint !== baseline) {
      stopped = true;
      opts.onChange();
      return;
    }
    timer = opts.clock.setTimeout(() => poll().catch(opts.onError), opts.intervalMs);
  };
  poll().catch(opts.onError);
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) opts.clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
