/**
 * Exit codes of the CLI contract. Scripts branch on these, so they never change meaning.
 */
export const ExitCode = {
  Ok: 0,
  Error: 1,
  Usage: 2,
  DaemonNotRunning: 3,
  ConfigInvalid: 4,
  UnknownProfile: 5,
  Unhealthy: 6,
  Conflict: 7,
} as const;

/** One of the values of {@link ExitCode}. */
export type ExitCodeValue = typeof ExitCode[keyof typeof ExitCode];

/** Machine-readable error codes carried in `{"error":{"code":…}}` and in protocol failures. */
export type ErrorCode =
  | "error"
  | "usage"
  | "daemon_not_running"
  | "config_invalid"
  | "unknown_profile"
  | "unhealthy"
  | "conflict"
  | "protocol"
  | "version_mismatch";

const exitCodeOf: Record<ErrorCode, ExitCodeValue> = {
  error: ExitCode.Error,
  usage: ExitCode.Usage,
  daemon_not_running: ExitCode.DaemonNotRunning,
  config_invalid: ExitCode.ConfigInvalid,
  unknown_profile: ExitCode.UnknownProfile,
  unhealthy: ExitCode.Unhealthy,
  conflict: ExitCode.Conflict,
  protocol: ExitCode.Error,
  version_mismatch: ExitCode.Error,
};

/**
 * Base of the errors that are a message (and maybe a cause) and nothing else: the name is the class name,
 * so `String(error)` and a stack trace say which one it is.
 */
export class NamedError extends Error {
  /** `cause` keeps the underlying error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A failure the user can act on: a one-line message and the exit code it maps to. The top-level handler
 * prints it without a stack trace; anything that is not a UserError is a bug and keeps its stack.
 */
export class UserError extends Error {
  /** The machine-readable reason; decides the exit code and the `--json` error code. */
  readonly code: ErrorCode;
  /** Extra structured data for `--json` output (e.g. validation diagnostics). */
  readonly details?: unknown;

  /** `details` travels to `--json` output; `cause` keeps the underlying error for debugging. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = "UserError";
    this.code = code;
    this.details = options?.details;
  }

  /** The process exit code this error maps to. */
  get exitCode(): ExitCodeValue {
    return exitCodeOf[this.code];
  }
}

/** Exit code for an error code, shared by the CLI renderer and protocol failure replies. */
export function exitCodeFor(code: ErrorCode): ExitCodeValue {
  return exitCodeOf[code];
}
