/**
 * The event history behind `kubefwd-daemon events`: every state transition as one JSON line in
 * `<stateDir>/events.jsonl`, kept across daemon restarts and bounded on disk (at {@link DEFAULT_MAX_BYTES} the
 * file becomes `events.jsonl.1`, replacing the older one). Appends never wait for the disk: lines queue in
 * memory (bounded) and are written in order, one write at a time. A disk that refuses them is reported
 * through `health` like the state file's persistence and retried; the daemon never stops for it.
 */
import type { Clock, TimerHandle } from "../clock.ts";
import { PROFILE_STATES, type TransitionEvent } from "../supervisor/types.ts";
import { deadline, isTimeoutError } from "../util/async.ts";
import { isRecord } from "../util/is_record.ts";
import { WriteHealth, type WriteHealthState } from "./write_health.ts";

/** Size at which the history file is rotated; two files at most, so the history takes ≤ 2× this. */
export const DEFAULT_MAX_BYTES = 512 * 1024;
/** Lines kept in memory while the disk refuses them; older ones are dropped first. */
export const MAX_UNWRITTEN = 1000;
/** Longest text of one field: a history line stays small whatever kubefwd printed. */
const MAX_FIELD = 1000;
/** Delay before failed writes are tried again. */
export const DEFAULT_RETRY_MS = 10_000;

/** Whether the history reaches the disk, as `status` reports it (`ok` false: unwritten events live in memory only). */
export interface HistoryHealth extends WriteHealthState {
  /** The history file. */
  file: string;
}

/** Which events a reader wants. */
export interface HistoryFilter {
  /** Only this profile's events. */
  profile?: string;
  /** Only events at or after this time (ms since the epoch). */
  sinceMs?: number;
  /** At most this many, the newest. */
  limit: number;
}

/** The file operations the history needs; tests inject failures. */
export interface HistoryFiles {
  /** Appends `data`, creating the file with mode 0600. */
  append(path: string, data: string): Promise<void>;
  /** The file's size, 0 when it does not exist. */
  size(path: string): Promise<number>;
  /** Renames `from` to `to`, replacing it. */
  rename(from: string, to: string): Promise<void>;
  /** The file's text, "" when it does not exist. */
  read(path: string): Promise<string>;
}

/** The real file system. */
export const realHistoryFiles: HistoryFiles = {
  append: (path, data) => Deno.writeTextFile(path, data, { append: true, create: true, mode: 0o600 }),
  size: (path) =>
    Deno.stat(path).then((s) => s.size, (e) => {
      if (e instanceof Deno.errors.NotFound) return 0;
      throw e;
    }),
  rename: (from, to) => Deno.rename(from, to),
  read: (path) =>
    Deno.readTextFile(path).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return "";
      throw e;
    }),
};

const STATES = new Set<string>(PROFILE_STATES);
const encoder = new TextEncoder();

/** One parsed history line, or undefined for a torn or foreign line. */
export function parseHistoryLine(line: string): TransitionEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (
    !isRecord(v) || typeof v.at !== "string" || Number.isNaN(Date.parse(v.at)) ||
    typeof v.profile !== "string" ||
    !STATES.has(v.from as string) || !STATES.has(v.to as string) || typeof v.reason !== "string"
  ) {
    return undefined;
  }
  const event: TransitionEvent = {
    at: v.at,
    profile: v.profile,
    from: v.from as TransitionEvent["from"],
    to: v.to as TransitionEvent["to"],
    reason: v.reason,
  };
  if (typeof v.detail === "string") event.detail = v.detail;
  if (typeof v.cause === "string") event.cause = v.cause;
  return event;
}

/** The events of JSON-lines text that pass `filter` (without its limit), oldest first. */
function matching(lines: Iterable<string>, filter: HistoryFilter): TransitionEvent[] {
  const out: TransitionEvent[] = [];
  for (const line of lines) {
    if (line.trim() === "") continue;
    const e = parseHistoryLine(line);
    if (!e || (filter.profile !== undefined && e.profile !== filter.profile)) continue;
    if (filter.sinceMs !== undefined && Date.parse(e.at) < filter.sinceMs) continue;
    out.push(e);
  }
  return out;
}

/** The newest `filter.limit` events of the history files at `path` (and `path.1`), oldest first. */
export async function readHistoryFiles(
  path: string,
  filter: HistoryFilter,
  files: HistoryFiles = realHistoryFiles,
): Promise<TransitionEvent[]> {
  const text = (await files.read(`${path}.1`)) + "\n" + (await files.read(path));
  const events = matching(text.split("\n"), filter);
  return filter.limit === 0 ? [] : events.slice(-filter.limit);
}

function clipped(event: TransitionEvent): TransitionEvent {
  const clip = (s: string) => (s.length > MAX_FIELD ? s.slice(0, MAX_FIELD - 1) + "…" : s);
  const out: TransitionEvent = { ...event, reason: clip(event.reason) };
  if (event.detail !== undefined) out.detail = clip(event.detail);
  if (event.cause !== undefined) out.cause = clip(event.cause);
  return out;
}

/** Options of {@link EventHistory}. */
export interface EventHistoryOptions {
  /** The history file. */
  path: string;
  /** Retry timer. */
  clock: Clock;
  /** Rotation size (default {@link DEFAULT_MAX_BYTES}). */
  maxBytes?: number;
  /** Retry delay after a failed write (default {@link DEFAULT_RETRY_MS}). */
  retryMs?: number;
  /** Called when writes start failing or work again. */
  onHealthChange?: (health: HistoryHealth) => void;
  /** The file system (default: the real one). */
  files?: HistoryFiles;
}

/** The daemon's event history: one instance per file, owned by the daemon. */
export class EventHistory {
  /** The history file. */
  readonly path: string;
  readonly #opts: EventHistoryOptions;
  readonly #files: HistoryFiles;
  readonly #listeners = new Set<(e: TransitionEvent) => void>();
  /** Lines not yet on disk, oldest first; `#inflight` of them are being written right now. */
  #unwritten: string[] = [];
  #inflight = 0;
  #size: number | undefined;
  #writing: Promise<void> | undefined;
  #retry: TimerHandle | undefined;
  readonly #health: WriteHealth;
  #closed = false;

  /** A history appending to `opts.path`. */
  constructor(opts: EventHistoryOptions) {
    this.path = opts.path;
    this.#opts = opts;
    this.#files = opts.files ?? realHistoryFiles;
    this.#health = new WriteHealth(
      opts.path,
      () => new Date(opts.clock.now()).toISOString(),
      () => opts.onHealthChange?.(this.health),
    );
  }

  /** Whether the newest write succeeded. */
  get health(): HistoryHealth {
    return { ...this.#health.state, file: this.path };
  }

  /** Records `event` (already masked by the supervisor) and tells the followers; never waits or throws. */
  append(event: TransitionEvent): void {
    const line = JSON.stringify(clipped(event)) + "\n";
    if (this.#unwritten.length - this.#inflight >= MAX_UNWRITTEN) {
      this.#unwritten.splice(this.#inflight, 1);
    }
    this.#unwritten.push(line);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // a follower's trouble is its own
      }
    }
    if (!this.#closed && this.#retry === undefined) this.#startWriting();
  }

  /** Every appended event from now on, until the returned function is called. */
  subscribe(listener: (e: TransitionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The newest events matching `filter`: the files, then what is not on disk yet. Files that cannot be read
   * leave the events in memory, and `error` says why.
   */
  async read(filter: HistoryFilter): Promise<{ events: TransitionEvent[]; error?: string }> {
    const pending = [...this.#unwritten];
    let onDisk: TransitionEvent[] = [];
    let error: string | undefined;
    try {
      onDisk = await readHistoryFiles(this.path, { ...filter, limit: Number.MAX_SAFE_INTEGER }, this.#files);
    } catch (e) {
      error = `cannot read ${this.path}: ${(e as Error).message}`;
    }
    // A write in flight may have landed in the file already: its lines are not counted twice.
    const seen = new Set(onDisk.slice(-pending.length).map((e) => JSON.stringify(e) + "\n"));
    const events = [...onDisk, ...matching(pending.filter((l) => !seen.has(l)), filter)];
    return { events: filter.limit === 0 ? [] : events.slice(-filter.limit), ...(error ? { error } : {}) };
  }

  /** Writes what is queued, waiting at most `timeoutMs`; later appends stay in memory. */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) this.#opts.clock.clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#startWriting();
    try {
      await deadline(this.#writing ?? Promise.resolve(), timeoutMs);
    } catch (e) {
      throw isTimeoutError(e) ? new Error(`writing ${this.path} did not finish within ${timeoutMs} ms`) : e;
    }
    const health = this.#health.state;
    if (!health.ok) throw new Error(health.error);
  }

  #startWriting(): void {
    this.#writing ??= this.#writeAll().finally(() => this.#writing = undefined);
  }

  async #writeAll(): Promise<void> {
    const max = this.#opts.maxBytes ?? DEFAULT_MAX_BYTES;
    while (this.#unwritten.length > 0) {
      try {
        this.#size ??= await this.#files.size(this.path);
        const lengths = this.#unwritten.map((line) => encoder.encode(line).length);
        if (this.#size > 0 && this.#size + lengths[0] > max) {
          await this.#files.rename(this.path, `${this.path}.1`);
          this.#size = 0;
        }
        // As many lines as fit before the rotation size (at least one), so no file grows past it.
        let n = 0;
        for (let room = max - this.#size; n < lengths.length && (n === 0 || lengths[n] <= room); n++) {
          room -= lengths[n];
        }
        this.#inflight = n;
        this.#size = undefined; // unknown if the append fails halfway
        await this.#files.append(this.path, this.#unwritten.slice(0, n).join(""));
        this.#size = await this.#files.size(this.path);
      } catch (e) {
        this.#inflight = 0;
        this.#failed(e);
        return;
      }
      this.#unwritten.splice(0, this.#inflight);
      this.#inflight = 0;
      this.#health.succeeded();
    }
  }

  #failed(e: unknown): void {
    this.#health.failed(e);
    if (this.#closed) return;
    this.#retry = this.#opts.clock.setTimeout(() => {
      this.#retry = undefined;
      this.#startWriting();
    }, this.#opts.retryMs ?? DEFAULT_RETRY_MS);
  }
}
