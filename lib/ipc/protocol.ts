/**
 * The one definition of every message between the CLI and the daemon (newline-delimited JSON over the
 * Unix socket). Both sides import this module; validation is hand-written because the daemon cannot
 * afford zod's memory.
 *
 * Exchange: the client sends `hello`, the daemon answers with its versions; then each request frame
 * `{id, request}` gets exactly one reply frame `{id, ok, result|error}`, except `logs` with `follow`,
 * which gets `{id, log}` frames until the client closes the connection, and `events` with `follow`, which
 * gets `{id, event}` frames the same way.
 */
import type { LogEntry, ProfileStatus, TransitionEvent } from "../supervisor/types.ts";
import type { Diagnostic } from "../config/types.ts";
import type { MetricsSnapshot } from "../metrics/types.ts";
import { type ErrorCode, NamedError } from "../errors.ts";
import { isRecord } from "../util/is_record.ts";

/** Bumped on any incompatible change of the messages below. */
export const PROTOCOL_VERSION = 1;

/** Largest frame either side accepts, in bytes (newline excluded). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** First message on every connection. */
export interface HelloRequest {
  /** Discriminant of the handshake. */
  type: "hello";
  /** The client's {@link PROTOCOL_VERSION}; a mismatch is refused. */
  protocolVersion: number;
  /** The CLI's version, named in a protocol-mismatch message. */
  clientVersion: string;
}

/** The daemon's answer to hello. `ok` is false on a protocol mismatch (then the connection closes). */
export interface HelloResponse {
  /** Discriminant of the handshake. */
  type: "hello";
  /** False when the daemon refuses the client (protocol mismatch). */
  ok: boolean;
  /** The daemon's {@link PROTOCOL_VERSION}. */
  protocolVersion: number;
  /** The daemon's program version. */
  daemonVersion: string;
  /** The daemon's pid. */
  pid: number;
  /** Why the handshake was refused. */
  message?: string;
}

/** Every request after the hello. `profiles: []` means "all" where the verb allows it. */
export type Request =
  | { type: "status"; profiles: string[] }
  | { type: "start"; profiles: string[] }
  | { type: "stop"; profiles: string[] }
  | { type: "restart"; profiles: string[] }
  | { type: "enable"; profiles: string[] }
  | { type: "disable"; profiles: string[] }
  | { type: "reset"; profiles: string[] }
  | { type: "reload" }
  | { type: "shutdown" }
  | { type: "logs"; profile?: string; lines: number; follow: boolean }
  | { type: "metrics" }
  | { type: "events"; profile?: string; sinceMs?: number; lines: number; follow: boolean };

/** The request type names, for exhaustive handling. */
export type RequestType = Request["type"];

/** Daemon identity and paths as shown in `status`. */
export interface DaemonInfo {
  /** The daemon's pid. */
  pid: number;
  /** The daemon's program version. */
  version: string;
  /** When the daemon started, ISO 8601. */
  startedAt: string;
  /** Seconds since the daemon started. */
  uptimeSeconds: number;
  /** The config file the daemon reads on reload. */
  configPath: string;
  /** The control socket it listens on. */
  socketPath: string;
  /** Whether the state file can be written (absent from daemons before this field existed). */
  persistence?: PersistenceStatus;
  /** Resident memory, bytes (from the metrics model; absent from older daemons). */
  residentMemoryBytes?: number | null;
  /** Unique set size (private pages), bytes; null where unknown. */
  privateMemoryBytes?: number | null;
  /** Open control-socket connections. */
  controlConnections?: number;
  /** Where the Prometheus endpoint listens, or null when it is off. */
  metricsEndpoint?: string | null;
  /** Whether the event history file can be written (absent from daemons before this field existed). */
  eventHistory?: EventHistoryStatus;
}

/** Whether transitions reach the event history file (`events`); `ok: false` means memory only. */
export interface EventHistoryStatus {
  /** False while the newest write of the history failed. */
  ok: boolean;
  /** The history file. */
  file: string;
  /** The newest write's error, when it failed. */
  error?: string;
  /** When writes began to fail (ISO 8601). */
  since?: string;
}

/** Whether the daemon's choices and counters reach the state file; `ok: false` means memory only. */
export interface PersistenceStatus {
  /** False while the newest write of the state file failed. */
  ok: boolean;
  /** The state file. */
  stateFile: string;
  /** The newest write's error, when it failed. */
  error?: string;
  /** When writes began to fail (ISO 8601). */
  since?: string;
}

/** The reply of a profile verb: one result per profile, and what the user must know besides. */
export interface ProfileVerbResult {
  /** One per profile. */
  results: ProfileActionResult[];
  /** e.g. "persistence failing: …" while the state file cannot be written. */
  warnings?: string[];
}

/** `status --json` shape, documented in README.md (`status --json`): scripts depend on it. */
export interface StatusResult {
  /** The daemon itself. */
  daemon: DaemonInfo;
  /** The requested profiles (all when none were named), in config order. */
  profiles: ProfileStatus[];
}

/** What one profile verb did to one profile. */
export interface ProfileActionResult {
  /** The profile's name. */
  profile: string;
  /** e.g. "started", "already running", "stopped", "enabled". */
  outcome: string;
}

/** A change of a profile's `enabled` in the config that its CLI override hides (`reset` drops it). */
export interface MaskedEnabled {
  /** The profile's name. */
  profile: string;
  /** The config's new `enabled`. */
  configEnabled: boolean;
  /** The override from `enable`/`disable`, which stays in effect. */
  override: boolean;
}

/** What `reload` changed. */
export interface ReloadResult {
  /** Profiles new in the config (started when enabled). */
  added: string[];
  /** Profiles gone from the config (stopped). */
  removed: string[];
  /** Profiles whose settings changed (restarted when active). */
  changed: string[];
  /** Profiles left untouched. */
  unchanged: string[];
  /** Profiles whose config `enabled` changed but a CLI enable/disable override still decides. */
  masked: MaskedEnabled[];
  /** Config warnings of the new file. */
  warnings: Diagnostic[];
}

/** Result payload per request type. */
export interface ResultMap {
  /** Reply to `status`. */
  status: StatusResult;
  /** Reply to `start`, one result per profile. */
  start: ProfileVerbResult;
  /** Reply to `stop`, one result per profile. */
  stop: ProfileVerbResult;
  /** Reply to `restart`, one result per profile. */
  restart: ProfileVerbResult;
  /** Reply to `enable`, one result per profile. */
  enable: ProfileVerbResult;
  /** Reply to `disable`, one result per profile. */
  disable: ProfileVerbResult;
  /** Reply to `reset` (drop the enable/disable override), one result per profile. */
  reset: ProfileVerbResult;
  /** Reply to `reload`. */
  reload: ReloadResult;
  /** Reply to `shutdown`, sent before the daemon stops. */
  shutdown: { stopping: true };
  /** Reply to `logs` without `follow`; with `follow` the entries come as `{id, log}` frames. */
  logs: { entries: LogEntry[] };
  /** Reply to `metrics`: the document `metrics --json` prints and the Prometheus endpoint renders. */
  metrics: MetricsSnapshot;
  /** Reply to `events` without `follow`; with `follow` the events come as `{id, event}` frames. */
  events: EventsResult;
}

/** The event history's newest transitions, oldest first. */
export interface EventsResult {
  /** State transitions (restarts and forward losses included), secrets masked. */
  events: TransitionEvent[];
  /** e.g. "event history failing: …" while the history file cannot be written. */
  warnings?: string[];
}

/** A failure reply; `details` carries e.g. config diagnostics for `config_invalid`. */
export interface ErrorBody {
  /** Machine-readable reason; the CLI maps it to its exit code. */
  code: ErrorCode;
  /** One line for the user. */
  message: string;
  /** Structured extras, e.g. config diagnostics. */
  details?: unknown;
}

/** A request frame. */
export interface RequestFrame {
  /** Chosen by the client; every reply frame carries it back. */
  id: number;
  /** The request itself. */
  request: Request;
}

/** A reply frame. */
export type ResponseFrame =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: ErrorBody }
  | { id: number; log: LogEntry }
  | { id: number; event: TransitionEvent };

/**
 * Raised when a frame is not valid protocol; the daemon replies with it and closes the connection. `message`
 * is sent to the client as the `protocol` error.
 */
export class ProtocolError extends NamedError {}

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v.length > 0 && v.length < 256)) {
    throw new ProtocolError(`${field} must be an array of non-empty strings`);
  }
  return value as string[];
}

const PROFILE_VERBS = new Set(["status", "start", "stop", "restart", "enable", "disable", "reset"]);

/** Validate a decoded hello; throws ProtocolError. */
export function parseHello(value: unknown): HelloRequest {
  if (!isRecord(value) || value.type !== "hello") throw new ProtocolError("expected a hello message first");
  if (typeof value.protocolVersion !== "number" || typeof value.clientVersion !== "string") {
    throw new ProtocolError("hello needs protocolVersion (number) and clientVersion (string)");
  }
  return { type: "hello", protocolVersion: value.protocolVersion, clientVersion: value.clientVersion };
}

/** Validate a decoded request frame; throws ProtocolError with a message fit for the reply. */
export function parseRequestFrame(value: unknown): RequestFrame {
  if (!isRecord(value)) throw new ProtocolError("frame must be a JSON object");
  const id = value.id;
  if (typeof id !== "number" || !Number.isSafeInteger(id)) {
    throw new ProtocolError("frame needs an integer id");
  }
  const req = value.request;
  if (!isRecord(req) || typeof req.type !== "string") {
    throw new ProtocolError("frame needs a request with a type");
  }
  if (PROFILE_VERBS.has(req.type)) {
    return {
      id,
      request: { type: req.type as "status", profiles: stringArray(req.profiles ?? [], "profiles") },
    };
  }
  switch (req.type) {
    case "reload":
    case "shutdown":
    case "metrics":
      return { id, request: { type: req.type } };
    case "logs":
    case "events": {
      const lines = req.lines ?? 100;
      if (typeof lines !== "number" || !Number.isInteger(lines) || lines < 0 || lines > 100_000) {
        throw new ProtocolError(`${req.type}.lines must be an integer in [0, 100000]`);
      }
      if (req.profile !== undefined && typeof req.profile !== "string") {
        throw new ProtocolError(`${req.type}.profile must be a string`);
      }
      if (req.type === "events") {
        const sinceMs = req.sinceMs;
        if (sinceMs !== undefined && (typeof sinceMs !== "number" || !Number.isFinite(sinceMs))) {
          throw new ProtocolError("events.sinceMs must be a number");
        }
        const profile = req.profile as string | undefined;
        const request: Request = { type: "events", profile, lines, follow: req.follow === true };
        if (sinceMs !== undefined) request.sinceMs = sinceMs as number;
        return { id, request };
      }
      return {
        id,
        request: {
          type: "logs",
          profile: req.profile as string | undefined,
          lines,
          follow: req.follow === true,
        },
      };
    }
    default:
      throw new ProtocolError(`unknown request type ${JSON.stringify(req.type).slice(0, 64)}`);
  }
}
