/**
 * The daemon's log sink. Every line (the daemon's own events and each kubefwd output line) passes through
 * here exactly once: it is masked, appended as a JSON line to a size-rotated file, optionally printed for
 * humans on stderr, kept in bounded ring buffers for `logs`, and pushed to `logs -f` subscribers.
 *
 * Nothing here may block or grow the daemon without bound: file and stderr writes are asynchronous and
 * serialised through byte-bounded queues; when a queue is full, lines are dropped from that output (never
 * from the ring buffer) and a "N lines dropped" line is written once the writer catches up.
 */
import { openAppendNoFollow } from "../util/path_safety.ts";
import { escapeControl } from "../util/terminal_text.ts";
import type { LogEntry } from "../supervisor/types.ts";
import type { LogSink } from "./types.ts";
import { maskSecrets } from "./mask.ts";
import { RingBuffer } from "./ring.ts";
import { dirname } from "../util/path.ts";

/** Severity threshold, as in DaemonSettings.logLevel. */
export type LogLevel = LogEntry["level"];

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Defaults: 10 MiB × 3 files, 2000 lines overall, 500 per profile, 1 MiB of queued output. */
export const LOG_DEFAULTS = {
  maxFileBytes: 10 * 1024 * 1024,
  maxFiles: 3,
  bufferSize: 2000,
  profileBufferSize: 500,
  maxQueuedBytes: 1024 * 1024,
  maxMessageChars: 8192,
} as const;

/** Options of {@link DaemonLog}. */
export interface DaemonLogOptions {
  /** JSON-lines log file; no file when absent. Its directory is created 0700, the file 0600. */
  file?: string;
  /** Also print human-readable lines on stderr (foreground daemon). */
  stderr?: boolean;
  /** Lines below this level are dropped everywhere; default info. */
  level?: LogLevel;
  /** Rotate when the file would grow past this; default 10 MiB. */
  maxFileBytes?: number;
  /** Files kept including the current one (`log`, `log.1`, … `log.<n-1>`); default 3. */
  maxFiles?: number;
  /** Lines kept in memory across all profiles; default 2000. */
  bufferSize?: number;
  /** Lines kept in memory per profile; default 500. */
  profileBufferSize?: number;
  /** Bytes waiting for the file (and separately for stderr) before lines are dropped; default 1 MiB. */
  maxQueuedBytes?: number;
  /** Longer messages are cut (a kubefwd line can be huge); default 8192 characters. */
  maxMessageChars?: number;
  /** Home directory shown as `~` in masked paths; default $HOME. */
  home?: string;
  /** Kubeconfig paths to mask wherever they appear; update with {@link DaemonLog.setKubeconfigs}. */
  kubeconfigs?: readonly string[];
  /** Where human lines go instead of stderr (tests). */
  stderrWrite?: (bytes: Uint8Array) => Promise<number>;
}

/** A `logs -f` listener; called synchronously for each accepted line, after masking. */
export type LogListener = (entry: LogEntry) => void;

/**
 * One human-readable line: `2026-01-01T00:00:00.000Z INFO  web stdout: message`, or
 * `… INFO  daemon: message` for daemon-wide lines. Shared with the CLI's `logs` rendering.
 */
export function formatLogLine(entry: LogEntry): string {
  const who = entry.profile === undefined ? entry.source : `${entry.profile} ${entry.source}`;
  // The daemon's stderr is often a terminal: kubefwd's escape sequences are shown, not obeyed.
  return escapeControl(`${entry.at} ${entry.level.toUpperCase().padEnd(5)} ${who}: ${entry.message}`);
}

const encoder = new TextEncoder();

/** Most bytes handed to one write call; keeps rotation granular and memory flat. */
const WRITE_BATCH_BYTES = 64 * 1024;

/**
 * A serialised, byte-bounded queue of text for one output. `push` never blocks; `flush` waits until
 * everything queued so far is written.
 */
class OutputQueue {
  readonly #sink: (text: string) => Promise<void>;
  readonly #maxBytes: number;
  readonly #droppedText: (count: number) => string;
  #lines: string[] = [];
  #bytes = 0;
  #dropped = 0;
  #draining: Promise<void> | undefined;

  constructor(
    sink: (text: string) => Promise<void>,
    maxBytes: number,
    droppedText: (count: number) => string,
  ) {
    this.#sink = sink;
    this.#maxBytes = maxBytes;
    this.#droppedText = droppedText;
  }

  get dropped(): number {
    return this.#dropped;
  }

  push(line: string): void {
    if (this.#bytes + line.length > this.#maxBytes) {
      this.#dropped++;
    } else {
      this.#lines.push(line);
      this.#bytes += line.length;
    }
    this.#draining ??= this.#drain();
  }

  flush(): Promise<void> {
    return this.#draining ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#lines.length > 0 || this.#dropped > 0) {
        const lines = this.#lines;
        this.#lines = [];
        if (lines.length === 0) {
          const count = this.#dropped;
          this.#dropped = 0;
          await this.#sink(this.#droppedText(count));
          continue;
        }
        let batch = "";
        for (const line of lines) {
          batch += line;
          this.#bytes -= line.length;
          if (batch.length >= WRITE_BATCH_BYTES) {
            await this.#sink(batch);
            batch = "";
          }
        }
        if (batch !== "") await this.#sink(batch);
      }
    } finally {
      this.#draining = undefined;
    }
  }
}

/** Append-only file that rotates by size: `path` → `path.1` → … → `path.<maxFiles-1>` (dropped). */
class RotatingFile {
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  #file: Deno.FsFile | undefined;
  #size = 0;

  constructor(path: string, maxBytes: number, maxFiles: number) {
    this.#path = path;
    this.#maxBytes = maxBytes;
    this.#maxFiles = Math.max(1, maxFiles);
  }

  async write(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    if (this.#file === undefined) await this.#open();
    if (this.#size > 0 && this.#size + bytes.length > this.#maxBytes) await this.#rotate();
    const file = this.#file!;
    let offset = 0;
    try {
      while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    } finally {
      this.#size += offset;
    }
  }

  async #open(): Promise<void> {
    const dir = dirname(this.#path);
    if (dir !== "." && dir !== "/") await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    // Never through a symlink: a root daemon would append to whatever file another user points it at.
    this.#file = await openAppendNoFollow(this.#path, 0o600);
    this.#size = (await this.#file.stat()).size;
  }

  async #rotate(): Promise<void> {
    this.close();
    if (this.#maxFiles === 1) {
      await Deno.remove(this.#path).catch(() => {});
    } else {
      for (let i = this.#maxFiles - 1; i >= 1; i--) {
        const from = i === 1 ? this.#path : `${this.#path}.${i - 1}`;
        await Deno.rename(from, `${this.#path}.${i}`).catch((err) => {
          if (!(err instanceof Deno.errors.NotFound)) throw err;
        });
      }
    }
    await this.#open();
  }

  close(): void {
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = undefined;
  }
}

/** The daemon's {@link LogSink}: masking, file, stderr, ring buffers and live subscribers. */
export class DaemonLog implements LogSink {
  readonly #minRank: number;
  readonly #maxMessageChars: number;
  readonly #home: string | undefined;
  #kubeconfigs: readonly string[];
  readonly #recent: RingBuffer<LogEntry>;
  readonly #perProfile = new Map<string, RingBuffer<LogEntry>>();
  readonly #profileBufferSize: number;
  readonly #listeners = new Set<LogListener>();
  readonly #file: RotatingFile | undefined;
  readonly #fileQueue: OutputQueue | undefined;
  readonly #stderrQueue: OutputQueue | undefined;
  #fileErrors = 0;
  #closed = false;

  /** Every option has a production default; tests shorten buffers and turn stderr off. */
  constructor(options: DaemonLogOptions = {}) {
    this.#minRank = LEVEL_RANK[options.level ?? "info"];
    this.#maxMessageChars = options.maxMessageChars ?? LOG_DEFAULTS.maxMessageChars;
    this.#home = options.home ?? homeFromEnv();
    this.#kubeconfigs = options.kubeconfigs ?? [];
    this.#recent = new RingBuffer(options.bufferSize ?? LOG_DEFAULTS.bufferSize);
    this.#profileBufferSize = options.profileBufferSize ?? LOG_DEFAULTS.profileBufferSize;
    const maxQueued = options.maxQueuedBytes ?? LOG_DEFAULTS.maxQueuedBytes;
    const dropped = (count: number): LogEntry => ({
      at: new Date().toISOString(),
      level: "warn",
      source: "daemon",
      message: `${count} log lines dropped (the output could not keep up)`,
    });
    if (options.file !== undefined) {
      const file = new RotatingFile(
        options.file,
        options.maxFileBytes ?? LOG_DEFAULTS.maxFileBytes,
        options.maxFiles ?? LOG_DEFAULTS.maxFiles,
      );
      this.#file = file;
      this.#fileQueue = new OutputQueue(
        async (text) => {
          try {
            await file.write(text);
          } catch {
            // Disk full or permissions: the lines are lost from the file only; reopen on the next write.
            this.#fileErrors++;
            file.close();
          }
        },
        maxQueued,
        (count) => JSON.stringify(dropped(count)) + "\n",
      );
    }
    if (options.stderr) {
      const write = options.stderrWrite ?? ((bytes: Uint8Array) => Deno.stderr.write(bytes));
      let broken = false;
      this.#stderrQueue = new OutputQueue(
        async (text) => {
          if (broken) return;
          const bytes = encoder.encode(text);
          try {
            let offset = 0;
            while (offset < bytes.length) offset += await write(bytes.subarray(offset));
          } catch {
            broken = true; // e.g. the terminal went away: keep logging to the file
          }
        },
        maxQueued,
        (count) => formatLogLine(dropped(count)) + "\n",
      );
    }
  }

  /** Lines that could not be written to the file (I/O errors), for diagnostics and tests. */
  get fileErrors(): number {
    return this.#fileErrors;
  }

  /** Replace the kubeconfig paths masked everywhere (after a config reload). */
  setKubeconfigs(paths: readonly string[]): void {
    this.#kubeconfigs = [...paths];
  }

  /** `text` masked exactly as a log line is (secrets, the configured kubeconfig paths, home as `~`). */
  maskText(text: string): string {
    return maskSecrets(text, { home: this.#home, kubeconfigs: this.#kubeconfigs });
  }

  /** Accept one line: filter by level, mask, then fan out. Never throws, never blocks. */
  write(entry: LogEntry): void {
    if (LEVEL_RANK[entry.level] < this.#minRank) return;
    const masked = this.#mask(entry);
    this.#recent.push(masked);
    if (masked.profile !== undefined) this.#profileRing(masked.profile).push(masked);
    for (const listener of this.#listeners) {
      try {
        listener(masked);
      } catch {
        // a broken follower must not break logging
      }
    }
    if (this.#closed) return;
    this.#fileQueue?.push(JSON.stringify(masked) + "\n");
    this.#stderrQueue?.push(formatLogLine(masked) + "\n");
  }

  /** The newest `n` lines, oldest first: of one profile, or of everything. */
  tail(n: number, profile?: string): LogEntry[] {
    if (profile === undefined) return this.#recent.last(n);
    return this.#perProfile.get(profile)?.last(n) ?? [];
  }

  /** Receive every accepted line from now on (`logs -f`); returns the unsubscribe function. */
  subscribe(listener: LogListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Wait until everything written so far has reached the file and stderr. */
  async flush(): Promise<void> {
    await this.#fileQueue?.flush();
    await this.#stderrQueue?.flush();
  }

  /** Flush and close the file. Later lines still reach the ring buffers and subscribers. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    this.#file?.close();
  }

  #mask(entry: LogEntry): LogEntry {
    let message = entry.message;
    if (message.length > this.#maxMessageChars) {
      message = `${message.slice(0, this.#maxMessageChars)}… (${
        message.length - this.#maxMessageChars
      } more characters)`;
    }
    message = maskSecrets(message, { home: this.#home, kubeconfigs: this.#kubeconfigs });
    const { at, level, profile, source } = entry;
    // A fresh object with a fixed key order: callers' objects are never retained or mutated.
    return profile === undefined ? { at, level, source, message } : { at, level, profile, source, message };
  }

  #profileRing(profile: string): RingBuffer<LogEntry> {
    let ring = this.#perProfile.get(profile);
    if (ring === undefined) {
      ring = new RingBuffer(this.#profileBufferSize);
      this.#perProfile.set(profile, ring);
    }
    return ring;
  }
}

function homeFromEnv(): string | undefined {
  try {
    return Deno.env.get("HOME");
  } catch {
    return undefined; // no env permission: paths are masked without the ~ shortening
  }
}
