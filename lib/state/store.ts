/**
 * The persisted state file: what must survive a daemon restart or `kill -9` (enable/disable choices,
 * counters, recent events, owned child pids). Writes are atomic (temp file, fsync, rename, directory
 * fsync) so a crash leaves either the old or the new file, never a torn one; a file that is unreadable
 * anyway is moved aside, not deleted, so the daemon starts clean and the evidence is kept.
 *
 * The daemon changes state on every transition; {@link StateStore.scheduleSave} coalesces those into at
 * most one write per debounce interval with at most one write in flight.
 */
import { deadline, isTimeoutError, Mutex } from "../util/async.ts";
import { isRecord } from "../util/is_record.ts";
import { untrustedStateFile } from "../util/path_safety.ts";
import { atomicWriteFile, removeStaleTempFiles } from "../util/atomic_write.ts";
import { WriteHealth, type WriteHealthState } from "./write_health.ts";
import type { AddressRecord } from "../kubefwd/reservations.ts";
import {
  PROFILE_STATES,
  type ProfileCounters,
  RESTART_REASONS,
  type RestartReason,
  type TransitionEvent,
} from "../supervisor/types.ts";
import {
  emptyState,
  MAX_PERSISTED_EVENTS,
  type OwnedChild,
  type PersistedProfile,
  type PersistedState,
  STATE_VERSION,
} from "./types.ts";

/** Default coalescing delay of {@link StateStore.scheduleSave}. */
export const DEFAULT_SAVE_DEBOUNCE_MS = 200;

/** What {@link StateStore.load} found; `warnings` become warning events in the daemon log. */
export interface LoadedState {
  /** The state to start from (empty when the file was missing or unusable). */
  state: PersistedState;
  /** What was wrong with the file, one sentence each. */
  warnings: string[];
}

/** Delay before a failed save is tried again (the disk may have been freed or remounted meanwhile). */
export const DEFAULT_SAVE_RETRY_MS = 10_000;

/** Whether the state file can be written right now, as `status` reports it (`ok` false: choices and counters live in memory only). */
export type PersistenceHealth = WriteHealthState;

/** Options of {@link StateStore}. */
export interface StateStoreOptions {
  /** Coalescing delay of scheduled saves (default {@link DEFAULT_SAVE_DEBOUNCE_MS}). */
  debounceMs?: number;
  /** Delay before a failed scheduled save is retried (default {@link DEFAULT_SAVE_RETRY_MS}). */
  retryMs?: number;
  /** Receives failures of debounced saves, which have no caller to throw to. */
  onError?: (error: unknown) => void;
  /** Called when writes start failing or work again. */
  onHealthChange?: (health: PersistenceHealth) => void;
  /** Clock for the `.corrupt-<timestamp>` suffix (tests). */
  now?: () => Date;
  /** Writes the file (tests inject failures; default {@link atomicWriteFile}). */
  writeFile?: (path: string, data: string) => Promise<void>;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

const STATES = new Set<string>(PROFILE_STATES);

function parseEvent(value: unknown): TransitionEvent | undefined {
  if (
    !isRecord(value) || typeof value.at !== "string" || typeof value.profile !== "string" ||
    typeof value.from !== "string" || !STATES.has(value.from) || typeof value.to !== "string" ||
    !STATES.has(value.to) || typeof value.reason !== "string" ||
    (value.detail !== undefined && typeof value.detail !== "string")
  ) {
    return undefined;
  }
  const event: TransitionEvent = {
    at: value.at,
    profile: value.profile,
    from: value.from as TransitionEvent["from"],
    to: value.to as TransitionEvent["to"],
    reason: value.reason,
  };
  if (value.detail !== undefined) event.detail = value.detail as string;
  if (RESTART_REASONS.includes(value.restart as RestartReason)) {
    event.restart = value.restart as RestartReason;
  }
  return event;
}

function parseChild(value: unknown): OwnedChild | undefined {
  if (
    !isRecord(value) || typeof value.pid !== "number" || !Number.isSafeInteger(value.pid) || value.pid <= 0 ||
    typeof value.cmdline !== "string" || typeof value.startedAt !== "string" ||
    typeof value.viaSudo !== "boolean" || !isStringArray(value.announcedIps)
  ) {
    return undefined;
  }
  return {
    pid: value.pid,
    cmdline: value.cmdline,
    startedAt: value.startedAt,
    viaSudo: value.viaSudo,
    announcedIps: [...value.announcedIps],
  };
}

function parseAddress(value: unknown): AddressRecord | undefined {
  if (
    !isRecord(value) || typeof value.service !== "string" || typeof value.namespace !== "string" ||
    typeof value.pod !== "string" || typeof value.ip !== "string" || typeof value.seenAt !== "string" ||
    Number.isNaN(Date.parse(value.seenAt))
  ) {
    return undefined;
  }
  const { service, namespace, pod, ip, seenAt } = value;
  return { service, namespace, pod, ip, seenAt };
}

/** Validate one profile entry field by field, keeping what is sound; problems go to `problems`. */
function parseProfile(value: unknown, problems: string[]): PersistedProfile | undefined {
  if (!isRecord(value)) {
    problems.push("entry is not an object");
    return undefined;
  }
  const counters: ProfileCounters = { restarts: 0, failures: 0, totalUptimeMs: 0 };
  const c = value.counters;
  if (isRecord(c) && isCount(c.restarts) && isCount(c.failures) && isCount(c.totalUptimeMs)) {
    counters.restarts = c.restarts;
    counters.failures = c.failures;
    counters.totalUptimeMs = c.totalUptimeMs;
  } else if (c !== undefined) {
    problems.push("counters were malformed and reset to 0");
  }
  const events: TransitionEvent[] = [];
  if (Array.isArray(value.events)) {
    let dropped = 0;
    for (const raw of value.events) {
      const event = parseEvent(raw);
      if (event === undefined) dropped++;
      else events.push(event);
    }
    if (dropped > 0) problems.push(`${dropped} malformed event(s) dropped`);
  } else if (value.events !== undefined) {
    problems.push("events were not a list and were dropped");
  }
  const profile: PersistedProfile = { counters, events: events.slice(-MAX_PERSISTED_EVENTS) };
  if (typeof value.enabledOverride === "boolean") profile.enabledOverride = value.enabledOverride;
  else if (value.enabledOverride !== undefined) {
    problems.push("enabledOverride was not a boolean and was dropped");
  }
  if (typeof value.baseIp === "string") profile.baseIp = value.baseIp;
  else if (value.baseIp !== undefined) problems.push("baseIp was not a string and was dropped");
  if (Array.isArray(value.addresses)) {
    const addresses = value.addresses.map(parseAddress).filter((a) => a !== undefined);
    const dropped = value.addresses.length - addresses.length;
    if (dropped > 0) problems.push(`${dropped} malformed remembered address(es) dropped`);
    profile.addresses = addresses;
  } else if (value.addresses !== undefined) {
    problems.push("remembered addresses were not a list and were dropped");
  }
  if (value.child !== undefined) {
    const child = parseChild(value.child);
    if (child === undefined) problems.push("owned child record was malformed and was dropped");
    else profile.child = child;
  }
  return profile;
}

/**
 * Validate a decoded state file by hand (the daemon cannot afford zod). Returns undefined when the file
 * as a whole is unusable, with the reason appended to `warnings`.
 */
export function parseState(value: unknown, warnings: string[]): PersistedState | undefined {
  if (!isRecord(value)) {
    warnings.push("is not a JSON object");
    return undefined;
  }
  if (value.version !== STATE_VERSION) {
    warnings.push(`has version ${JSON.stringify(value.version)}, this daemon reads version ${STATE_VERSION}`);
    return undefined;
  }
  if (!isRecord(value.profiles)) {
    warnings.push("has no profiles object");
    return undefined;
  }
  const state = emptyState();
  for (const [name, raw] of Object.entries(value.profiles)) {
    const problems: string[] = [];
    const profile = name === "__proto__" || name === "" ? undefined : parseProfile(raw, problems);
    if (profile === undefined) {
      warnings.push(`state for profile ${JSON.stringify(name)} was malformed and was dropped`);
      continue;
    }
    state.profiles[name] = profile;
    for (const problem of problems) warnings.push(`state for profile ${JSON.stringify(name)}: ${problem}`);
  }
  return state;
}

/** A copy of `state` with at most {@link MAX_PERSISTED_EVENTS} (the newest) events per profile. */
export function capEvents(state: PersistedState): PersistedState {
  const profiles: Record<string, PersistedProfile> = {};
  for (const [name, profile] of Object.entries(state.profiles)) {
    profiles[name] = profile.events.length > MAX_PERSISTED_EVENTS
      ? { ...profile, events: profile.events.slice(-MAX_PERSISTED_EVENTS) }
      : profile;
  }
  return { version: STATE_VERSION, profiles };
}

/** The daemon's state file. One instance per file; not safe across processes (the daemon lock is). */
export class StateStore {
  /** The state file. */
  readonly path: string;
  readonly #debounceMs: number;
  readonly #retryMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => Date;
  readonly #writeFile: (path: string, data: string) => Promise<void>;
  readonly #health: WriteHealth;
  /** Saves run one at a time, in call order: a later state never lands before an earlier one. */
  readonly #serial = new Mutex();
  #pending: PersistedState | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #writes = 0;

  /** `path` is the state file; its directory must exist. */
  constructor(path: string, options: StateStoreOptions = {}) {
    this.path = path;
    this.#debounceMs = options.debounceMs ?? DEFAULT_SAVE_DEBOUNCE_MS;
    this.#retryMs = options.retryMs ?? DEFAULT_SAVE_RETRY_MS;
    this.#onError = options.onError ?? (() => {});
    this.#now = options.now ?? (() => new Date());
    this.#health = new WriteHealth(
      path,
      () => this.#now().toISOString(),
      () => options.onHealthChange?.(this.health),
    );
    this.#writeFile = options.writeFile ?? ((path, data) => atomicWriteFile(path, data));
  }

  /** Whether the newest write succeeded; a later successful write clears a failure. */
  get health(): PersistenceHealth {
    return this.#health.state;
  }

  /** Number of completed writes (tests check coalescing with it). */
  get writes(): number {
    return this.#writes;
  }

  /**
   * Read the state. Missing file: empty state, no warning. A file that is a symlink, belongs to another
   * user or is writable by others is moved aside like a corrupt one. Unparseable, wrong version or wrong shape:
   * the file is renamed to `<path>.corrupt-<timestamp>` and an empty state is returned with a warning.
   * Malformed parts of an otherwise sound file are dropped with a warning each. Other read errors
   * (permissions) are thrown: silently starting clean would lose the user's choices.
   */
  async load(): Promise<LoadedState> {
    const leftovers = await removeStaleTempFiles(this.path);
    const loaded = await this.#read();
    if (leftovers.length > 0) {
      loaded.warnings.push(
        `removed ${leftovers.length} temp file(s) of a write the previous daemon did not finish (${
          leftovers.join(", ")
        })`,
      );
    }
    return loaded;
  }

  async #read(): Promise<LoadedState> {
    // A state file someone else could have written decides which pids get killed and which choices hold.
    const untrusted = await untrustedStateFile(this.path);
    if (untrusted !== undefined) return await this.#moveAside(`${untrusted}, so it is not obeyed`);
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return { state: emptyState(), warnings: [] };
      throw err;
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(text);
    } catch {
      return await this.#moveAside("is not valid JSON");
    }
    const warnings: string[] = [];
    const state = parseState(decoded, warnings);
    if (state === undefined) return await this.#moveAside(warnings[0]);
    return { state, warnings };
  }

  async #moveAside(reason: string): Promise<LoadedState> {
    const stamp = this.#now().toISOString().replaceAll(":", "-");
    const aside = `${this.path}.corrupt-${stamp}`;
    try {
      await Deno.rename(this.path, aside);
      return {
        state: emptyState(),
        warnings: [`state file ${this.path} ${reason}; moved it to ${aside} and started with an empty state`],
      };
    } catch (err) {
      return {
        state: emptyState(),
        warnings: [
          `state file ${this.path} ${reason}; could not move it aside (${(err as Error).message}), ` +
          `started with an empty state`,
        ],
      };
    }
  }

  /** Write `state` now (after any write in flight); supersedes a pending scheduled save. */
  save(state: PersistedState): Promise<void> {
    this.#pending = undefined;
    this.#clearTimer();
    return this.#enqueue(() => this.#write(state));
  }

  /**
   * Save `state` soon. Calls within the debounce interval coalesce into one write of the latest state
   * passed; the object is serialised when the write starts, so callers may keep mutating it.
   */
  scheduleSave(state: PersistedState): void {
    this.#pending = state;
    if (this.#timer !== undefined || this.#closed) return;
    this.#arm(this.#debounceMs);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#enqueue(() => this.#writePending()).catch((err) => {
        this.#onError(err);
        // Nothing else may change soon: try again, so a freed disk clears the condition by itself.
        if (this.#timer === undefined && !this.#closed && this.#pending !== undefined) {
          this.#arm(this.#retryMs);
        }
      });
    }, ms);
  }

  /**
   * Write any pending state now and wait for every write; used on shutdown. With `timeoutMs`, gives up
   * waiting after that long (a hung disk must not hang the shutdown); the write itself is not cancelled.
   */
  flush(timeoutMs?: number): Promise<void> {
    this.#clearTimer();
    const done = this.#enqueue(() => this.#writePending());
    if (timeoutMs === undefined) return done;
    return deadline(done, timeoutMs).catch((err) => {
      throw isTimeoutError(err)
        ? new Error(`writing ${this.path} did not finish within ${timeoutMs} ms`)
        : err;
    });
  }

  /** Flush and stop scheduling timers; later `scheduleSave` calls only take effect on `flush()`. */
  async close(timeoutMs?: number): Promise<void> {
    this.#closed = true;
    await this.flush(timeoutMs);
  }

  #enqueue(job: () => Promise<void>): Promise<void> {
    return this.#serial.run(job);
  }

  async #writePending(): Promise<void> {
    const state = this.#pending;
    if (state === undefined) return;
    this.#pending = undefined;
    try {
      await this.#write(state);
    } catch (err) {
      this.#pending ??= state; // retried by the next save or flush
      throw err;
    }
  }

  async #write(state: PersistedState): Promise<void> {
    try {
      await this.#writeFile(this.path, JSON.stringify(capEvents(state), null, 1) + "\n");
    } catch (err) {
      this.#health.failed(err);
      throw err;
    }
    this.#writes++;
    this.#health.succeeded();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
