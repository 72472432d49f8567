/**
 * kubefwd output handling: raw pipe bytes → logical lines → structured events, plus exit classification.
 * kubefwd logs through logrus with ForceColors (ANSI codes even on a pipe), `[HH:MM:SS]` local times, and
 * multi-line messages continued on bare lines; everything logrus prints goes to stdout, while stderr carries
 * cobra usage errors, Go panics, credential-plugin and sudo messages
 * (docs/kubefwd-compatibility.md#output-streams, #log-line-format, #exit-codes). Both the 1.22.x and the
 * 1.25.x wordings are recognised.
 */
import { type Clock, realClock, type TimerHandle } from "../clock.ts";
import type { ForwardAnnouncement, KubefwdEvent, KubefwdLevel, KubefwdLine, OutputStream } from "./types.ts";

/** Matches CSI escape sequences (colours, cursor moves) that logrus and terminals emit. */
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g;

/** Removes ANSI CSI escape sequences (kubefwd colours every line, even on a pipe). */
export function stripAnsi(s: string): string {
  return s.includes("\x1b") ? s.replace(ANSI, "") : s;
}

/** logrus line prefix after ANSI stripping: level, kubefwd's local time, message with padding removed. */
const PREFIXED = /^(INFO|WARN|ERRO|FATA|DEBU)\[(\d\d:\d\d:\d\d)\] (.*?)\s*$/;
/** logrus prints an empty message as `INFO[hh:mm:ss] ` + padding; this catches the trimmed variant too. */
const PREFIXED_EMPTY = /^(INFO|WARN|ERRO|FATA|DEBU)\[(\d\d:\d\d:\d\d)\]\s*$/;

/** Longest logical line kept, in UTF-16 code units; the rest is replaced by {@link TRUNCATION_MARKER}. */
export const MAX_LINE_CHARS = 16 * 1024;
/** Most continuation lines joined into one logical line; later bare lines become their own lines. */
export const MAX_CONTINUATION_LINES = 50;
/** Quiet period after which a pending logical line is emitted without waiting for the next line. */
export const PENDING_FLUSH_MS = 100;
/** Appended to a line cut at {@link MAX_LINE_CHARS}. */
export const TRUNCATION_MARKER = " …[truncated]";

interface PendingLine {
  level: KubefwdLevel;
  clock: string;
  parts: string[];
  chars: number;
  truncated: boolean;
}

/**
 * Assembles logical lines from one pipe of a kubefwd child. UTF-8 safe across chunk boundaries; splits on
 * `\n`, drops `\r`, strips ANSI. On stdout, bare lines following a prefixed line are joined to it with "\n"
 * (the not-root message spans 10 physical lines); because that needs lookahead, a prefixed line is held
 * until the next prefixed line, {@link close}, or {@link PENDING_FLUSH_MS} of quiet on the injected clock.
 * stderr lines are never joined. Memory is bounded by {@link MAX_LINE_CHARS} per line and
 * {@link MAX_CONTINUATION_LINES} per logical line, whatever the child prints.
 */
export class OutputAssembler {
  readonly #stream: OutputStream;
  readonly #onLine: (line: KubefwdLine) => void;
  readonly #clock: Clock;
  readonly #decoder = new TextDecoder("utf-8");
  /** The physical line being received (no `\n` seen yet). */
  #partial = "";
  #partialTruncated = false;
  #pending: PendingLine | undefined;
  #timer: TimerHandle | undefined;
  #lastActivity = 0;
  #closed = false;

  /** `onLine` gets each logical line of this pipe; `clock` drives the quiet-period flush. */
  constructor(stream: OutputStream, onLine: (line: KubefwdLine) => void, clock: Clock = realClock) {
    this.#stream = stream;
    this.#onLine = onLine;
    this.#clock = clock;
  }

  /** Feeds a chunk read from the pipe. Ignored after {@link close}. */
  push(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#ingest(this.#decoder.decode(chunk, { stream: true }));
  }

  /** Flushes the decoder, the unterminated last line and the pending logical line; clears the timer. */
  close(): void {
    if (this.#closed) return;
    this.#ingest(this.#decoder.decode());
    this.#closed = true;
    if (this.#partial !== "" || this.#partialTruncated) {
      const physical = this.#partial;
      const truncated = this.#partialTruncated;
      this.#partial = "";
      this.#partialTruncated = false;
      this.#physicalLine(physical, truncated);
    }
    this.#flushPending();
    this.#cancelTimer();
  }

  #ingest(text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) {
        this.#appendPartial(text.slice(start));
        return;
      }
      this.#appendPartial(text.slice(start, nl));
      const physical = this.#partial;
      const truncated = this.#partialTruncated;
      this.#partial = "";
      this.#partialTruncated = false;
      this.#physicalLine(physical, truncated);
      start = nl + 1;
    }
  }

  #appendPartial(piece: string): void {
    if (piece === "") return;
    // Keep some slack over the cap so ANSI codes and \r removed later do not eat into the visible text.
    const room = MAX_LINE_CHARS * 2 - this.#partial.length;
    if (piece.length > room) {
      this.#partial += piece.slice(0, Math.max(0, room));
      this.#partialTruncated = true;
    } else {
      this.#partial += piece;
    }
  }

  #physicalLine(raw: string, truncated: boolean): void {
    let text = stripAnsi(raw.includes("\r") ? raw.replaceAll("\r", "") : raw);
    if (text.length > MAX_LINE_CHARS) {
      text = text.slice(0, MAX_LINE_CHARS);
      truncated = true;
    }
    if (this.#stream === "stderr") {
      const message = text.trimEnd();
      if (message === "") return;
      this.#onLine({ stream: "stderr", message: truncated ? message + TRUNCATION_MARKER : message });
      return;
    }
    const m = PREFIXED.exec(text) ?? PREFIXED_EMPTY.exec(text);
    if (m) {
      this.#flushPending();
      const message = m[3] ?? "";
      this.#pending = {
        level: m[1] as KubefwdLevel,
        clock: m[2],
        parts: [truncated ? message + TRUNCATION_MARKER : message],
        chars: message.length,
        truncated,
      };
      this.#touch();
      return;
    }
    const pending = this.#pending;
    if (pending && pending.parts.length <= MAX_CONTINUATION_LINES) {
      const line = text.trimEnd();
      if (!pending.truncated) {
        if (pending.chars + line.length + 1 > MAX_LINE_CHARS) {
          pending.parts.push(
            line.slice(0, Math.max(0, MAX_LINE_CHARS - pending.chars - 1)) + TRUNCATION_MARKER,
          );
          pending.truncated = true;
        } else {
          pending.parts.push(line);
        }
        pending.chars += line.length + 1;
      }
      this.#touch();
      return;
    }
    this.#flushPending();
    const message = text.trimEnd();
    if (message === "") return;
    this.#onLine({ stream: "stdout", message: truncated ? message + TRUNCATION_MARKER : message });
  }

  #touch(): void {
    this.#lastActivity = this.#clock.now();
    if (this.#timer === undefined && !this.#closed) this.#arm(PENDING_FLUSH_MS);
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      const quietFor = this.#clock.now() - this.#lastActivity;
      if (quietFor >= PENDING_FLUSH_MS) this.#flushPending();
      else if (this.#pending) this.#arm(PENDING_FLUSH_MS - quietFor);
    }, ms);
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #flushPending(): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    const message = pending.parts.join("\n").replace(/^\n+/, "").trimEnd();
    this.#onLine({ stream: "stdout", level: pending.level, clock: pending.clock, message });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Line → event

/**
 * The text kubefwd logs (at ERRO, then exits 0) when `id -u` is not 0
 * (docs/kubefwd-compatibility.md#not-root).
 */
export const NOT_ROOT_MARKER = "requires superuser privileges";

/** sudo messages that mean kubefwd never ran (not warnings like `unable to resolve host`). */
const SUDO_FATAL =
  /^sudo: (a password is required|a terminal is required|sorry|.*not in the sudoers|.*not allowed|.*command not found)/;

const RE = {
  version: /^Version v?(\S+)$/,
  forward: /^Port-Forward:\s+(\S+) (\S+):(\d+) to pod (\S+?):(\S+)$/,
  podDeleted: /^Pod (\S+) (deleted|marked for deletion), resyncing the (\S+) service pods\.?$/,
  lostConnection: /^Lost connection to ([^\/\s]+)\/(\S+): ([\s\S]*)$/,
  portForwardError: /^PortForward error on (?:([^\/\s]+)\/)?(\S+): ([\s\S]*)$/,
  forwardPortsError: /^ForwardPorts error: ([\s\S]*)$/,
  stopped: /^Stopped forwarding pod (\S+) for (\S+)$/,
  scheduling: /^Scheduling reconnection for (\S+) in (\S+)$/,
  attempting: /^Attempting reconnection for service (\S+)$/,
  noPods: /^WARNING: No Running Pods returned for service (\S+)$/,
  podsAvailable: /^Pods now available for service (\S+)$/,
  listen: /unable to listen on any of the requested ports|address already in use/,
  ipExhausted: /IP generation has run out of bounds/,
  listFailed: /Runtime: failed to list|Failed to watch|failed to list \*|WARNING: Error in List pods for/,
  shuttingDown: /^(Shutting down\.\.\.|Received shutdown signal|Forced shutdown - cleaning up hosts file)/,
  ifconfig: /^Cannot ifconfig lo0 alias/m,
};

/**
 * What one logical line means to the supervisor. stdout lines are matched against the 1.22.x and 1.25.x
 * wordings (docs/kubefwd-compatibility.md#runtime-events); any FATA line is `fatal`. On stderr, cobra errors
 * (`Error: …`), Go panics (`panic: …`), klog fatals (`F0102 …`) and sudo refusals (`sudo: …`) are `fatal` so
 * they reach exit classification; klog `failed to list` warnings are `list_failed`; the rest is `other`.
 * Listen conflicts win over `Lost connection`/`PortForward error` (both lines of a conflict become
 * `listen_conflict`, with the pod when the line names it).
 */
export function parseKubefwdLine(line: KubefwdLine): KubefwdEvent {
  const msg = line.message;
  if (line.stream === "stderr") {
    if (/^(Error: |panic: |fatal error: )/.test(msg) || /^F\d{4} /.test(msg) || SUDO_FATAL.test(msg)) {
      return { kind: "fatal", message: msg };
    }
    if (RE.listFailed.test(msg)) return { kind: "list_failed", message: msg };
    return { kind: "other" };
  }
  if (msg.includes(NOT_ROOT_MARKER)) return { kind: "not_root" };
  if (line.level === "FATA") {
    return RE.ipExhausted.test(msg)
      ? { kind: "ip_exhausted", message: msg }
      : { kind: "fatal", message: msg };
  }
  if (RE.ifconfig.test(msg)) {
    // 1.22.x on macOS prints this bare and calls os.Exit(1).
    const bare = msg.split("\n").find((l) => l.startsWith("Cannot ifconfig lo0 alias")) ?? msg;
    return { kind: "fatal", message: bare };
  }
  let m: RegExpExecArray | null;
  if ((m = RE.forward.exec(msg))) {
    const forward: ForwardAnnouncement = {
      ip: m[1],
      hostname: m[2],
      localPort: Number(m[3]),
      pod: m[4],
      podPort: m[5],
    };
    return { kind: "forward", forward };
  }
  if ((m = RE.version.exec(msg))) return { kind: "version", version: m[1] };
  if ((m = RE.podDeleted.exec(msg))) {
    return { kind: "pod_deleted", pod: m[1], serviceKey: m[3], markedOnly: m[2] !== "deleted" };
  }
  if ((m = RE.lostConnection.exec(msg))) {
    if (RE.listen.test(m[3])) return { kind: "listen_conflict", error: m[3], namespace: m[1], pod: m[2] };
    return { kind: "lost_connection", namespace: m[1], pod: m[2], error: m[3] };
  }
  if (msg === "Runtime: lost connection to pod") {
    return { kind: "lost_connection", error: "lost connection to pod" };
  }
  if ((m = RE.portForwardError.exec(msg))) {
    const namespace = m[1];
    if (RE.listen.test(m[3])) {
      return { kind: "listen_conflict", error: m[3], pod: m[2], ...(namespace ? { namespace } : {}) };
    }
    return { kind: "portforward_error", pod: m[2], error: m[3], ...(namespace ? { namespace } : {}) };
  }
  if ((m = RE.forwardPortsError.exec(msg))) {
    // 1.22.x: the forward failed to set up and is dead; the line names no pod.
    if (RE.listen.test(m[1])) return { kind: "listen_conflict", error: m[1] };
    return { kind: "lost_connection", error: m[1] };
  }
  if ((m = RE.stopped.exec(msg))) return { kind: "stopped_forwarding", pod: m[1], serviceKey: m[2] };
  if ((m = RE.scheduling.exec(msg))) return { kind: "reconnect_scheduled", serviceKey: m[1], delay: m[2] };
  if ((m = RE.attempting.exec(msg))) return { kind: "reconnect_attempt", serviceKey: m[1] };
  if ((m = RE.noPods.exec(msg))) return { kind: "no_running_pods", serviceKey: m[1] };
  if ((m = RE.podsAvailable.exec(msg))) return { kind: "pods_available", serviceKey: m[1] };
  if (RE.ipExhausted.test(msg)) return { kind: "ip_exhausted", message: msg };
  if (RE.listen.test(msg)) return { kind: "listen_conflict", error: msg };
  if (RE.listFailed.test(msg)) return { kind: "list_failed", message: msg };
  if (RE.shuttingDown.test(msg)) return { kind: "shutting_down" };
  if (msg === "Clean exit") return { kind: "clean_exit" };
  return { kind: "other" };
}

// ---------------------------------------------------------------------------------------------------------
// Service keys and hostnames

/** The parts of a kubefwd service key `<svc>.<ns>.<ctx>` (the context may itself contain dots). */
export interface ServiceKeyParts {
  /** The service name. */
  service: string;
  /** The namespace. */
  namespace: string;
  /** The kube context (may contain dots). */
  context: string;
}

/**
 * Splits `<svc>.<ns>.<ctx>` as printed in pod-deleted, stopped and reconnect lines. Service and namespace
 * names are DNS labels without dots, so everything after the second dot is the context. Undefined when the
 * key has fewer than three parts.
 */
export function splitServiceKey(key: string): ServiceKeyParts | undefined {
  const first = key.indexOf(".");
  if (first <= 0) return undefined;
  const second = key.indexOf(".", first + 1);
  if (second <= first + 1 || second === key.length - 1) return undefined;
  return {
    service: key.slice(0, first),
    namespace: key.slice(first + 1, second),
    context: key.slice(second + 1),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Exit classification

/** How the supervisor should treat a child exit. */
export interface ExitClassification {
  /**
   * not_root: privilege failure (no restart loop); permanent: retry only after the config or kubeconfig
   * changes; transient: back off and restart; unreachable: the API cannot be reached (network, VPN, a
   * stopped apiserver): retry soon and steadily, it is not this machine's failure. An exit the supervisor asked for is not classified here:
   * the restart policy sees that it stopped the child itself.
   */
  kind: "not_root" | "permanent" | "transient" | "unreachable";
  /** One line for `lastError` and the log. */
  reason: string;
}

/** sudo refusing to run kubefwd without a password or a terminal: a privilege failure, not a crash. */
const SUDO_PRIVILEGE =
  /^sudo: (a password is required|a terminal is required|.*is not in the sudoers file|.*is not allowed to (run|execute))/;

/** Fatal texts that no restart will fix (docs/kubefwd-compatibility.md#fatal-lines); each comment says what the text means. */
const PERMANENT: RegExp[] = [
  /Error generating REST configuration/, // kubeconfig or context is not usable
  // context not found
  /context was not found for specified context|context "[^"]*" does not exist|context not found/,
  /Error in get rawConfig/, // kubeconfig cannot be read
  /Error creating k8s (clientSet|RestClient)/, // kubeconfig cannot be turned into a client
  /missing RBAC permission/, // missing RBAC permission
  /unknown (shorthand )?flag|flag needs an argument|invalid argument .* for .* flag/, // bad kubefwd flag
  /^Error: /, // kubefwd usage error
  /Hosts path does not exist/, // hosts file missing
  /HostFile error/, // hosts file cannot be loaded
  /Error backing up hostfile/, // hosts file backup failed (is HOME set?)
  /Error purging stale IPs/, // hosts file cannot be purged
  /is not in the range 127\.0\.0\.0\/8/, // IP reservation outside 127.0.0.0/8
  /cannot be used as a reservation for multiple services/, // duplicate IP reservation
  /unable to parse BaseIP|IP address must have exactly 4 octets/, // invalid -z file
  /Root check failure/, // the root check (`id -u`) failed
  /Failed to setup API network/, // API network setup failed
  /Cannot ifconfig lo0 alias/, // loopback alias failed
  /executable file not found|exec: "[^"]*": executable/, // credential plugin not found (check PATH)
  /^sudo: /, // sudo refused to run kubefwd
  /^F\d{4} /, // client-go fatal (unsupported auth provider?)
];

/** kubefwd 1.22.x ran out of IP addresses: a panic with exit 2 (transient like any other crash). */
const IP_EXHAUSTION = /IP generation has run out of bounds/;

/** Fatal texts that a later restart may well fix (network, API availability; and {@link IP_EXHAUSTION}). */
/** kubefwd could not reach the Kubernetes API: nothing on this side is broken, so no crash loop either. */
const API_UNREACHABLE =
  /dial tcp|i\/o timeout|connection refused|no route to host|network is unreachable|TLS handshake timeout|Client\.Timeout|context deadline exceeded|\bEOF\b|no such host|server is currently unable/;

/** Whether an error text says the Kubernetes API could not be reached (not what it answered). */
export function isApiUnreachable(text: string): boolean {
  return API_UNREACHABLE.test(text);
}

const TRANSIENT: RegExp[] = [
  /getting credentials/, // credential plugin failed
];

function firstLine(s: string): string {
  const line = s.split("\n").find((l) => l.trim() !== "") ?? s;
  return line.length > 300 ? line.slice(0, 300) + "…" : line;
}

/**
 * Decides what a child exit means. `lastFatal` is the message of the last `fatal` event (FATA line, cobra
 * error, panic, sudo refusal); `sawNotRoot` is true when the not-root text was seen. kubefwd exits 0 when
 * not root and never exits 0 on its own otherwise, so an exit 0 is transient ("exited unexpectedly").
 */
export function classifyExit(
  exit: { code: number | null; signal: string | null },
  lastFatal?: string,
  sawNotRoot?: boolean,
): ExitClassification {
  const status = exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code ?? "unknown"}`;
  if (sawNotRoot) {
    return {
      kind: "not_root",
      reason: "kubefwd requires superuser privileges (it exited after its root check)",
    };
  }
  const fatal = lastFatal?.trim() ?? "";
  if (fatal !== "") {
    const message = firstLine(fatal);
    if (SUDO_PRIVILEGE.test(message)) return { kind: "not_root", reason: message };
    if (IP_EXHAUSTION.test(fatal)) return { kind: "transient", reason: message };
    for (const re of PERMANENT) if (re.test(fatal)) return { kind: "permanent", reason: message };
    // A Go panic is a crash: the next start may well work (restart with backoff; max_attempts applies). Panics
    // known to repeat identically (a bad -z range) matched PERMANENT above.
    if (/^panic: /m.test(fatal) && exit.code === 2) {
      return { kind: "transient", reason: `kubefwd panicked: ${message}` };
    }
    if (API_UNREACHABLE.test(fatal)) return { kind: "unreachable", reason: message };
    for (const re of TRANSIENT) if (re.test(fatal)) return { kind: "transient", reason: message };
    return { kind: "transient", reason: `${message} (${status})` };
  }
  if (exit.signal !== null) return { kind: "transient", reason: `kubefwd ${status}` };
  if (exit.code === 0) return { kind: "transient", reason: "kubefwd exited unexpectedly (exit code 0)" };
  if (exit.code === 255) {
    return {
      kind: "permanent",
      reason: "kubefwd exited with code 255 (client-go fatal: unsupported auth provider?)",
    };
  }
  return { kind: "transient", reason: `kubefwd exited with ${status}` };
}
