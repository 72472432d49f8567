/**
 * kubefwd simulator: reproduces kubefwd's CLI surface, output formats, exit codes, signals and hosts-file
 * edits for the 1.22.x and 1.25.x lines (docs/kubefwd-compatibility.md, checked against the v1.25.16 and
 * 1.22.5 sources), with real TCP listeners on the IPs kubefwd would allocate. Integration tests put a
 * `kubefwd` wrapper on PATH (tests/simulator/kubefwd or harness.ts writeSimulatorWrapper) and script each run
 * through a scenario file.
 *
 * Environment:
 * - KUBEFWD_SIM_VERSION   version to impersonate (default 1.25.16; e.g. 1.22.5, 1.24.1, 0.0.0)
 * - KUBEFWD_SIM_SCENARIO  path of a scenario JSON (see {@link Scenario}); default: no services
 * - KUBEFWD_SIM_ROOT=0    behave as non-root: the multi-line ERRO text, exit 0
 * - KUBEFWD_SIM_HOSTS     hosts file to edit when --hosts-path is not given (default /etc/hosts, refused)
 * - KUBEFWD_SIM_ALLOW_ETC_HOSTS=1  allow editing /etc/hosts (never in tests)
 * - KUBEFWD_SIM_PIDFILE   append {"pid","argv","version","startedAt"} as one JSON line per `svc` start
 * - KUBEFWD_SIM_SIGNALS   append one line per SIGTERM/SIGINT received: the signal, then " ignored" when the
 *                         scenario ignores it (lets a test see a signal was handled without sleeping)
 *
 * Differences from the real kubefwd, on purpose: no cluster (services come from the scenario), listeners
 * answer a tiny HTTP response naming the service, the exit sweep edits the hosts file actually used
 * (never /etc/hosts), no backup file is written, SIGPIPE becomes exit 141 (Deno ignores SIGPIPE), and a
 * "crash by SIGSEGV" is delivered as SIGABRT (V8 handles SIGSEGV itself).
 */
import { formatLogrusLine, type LogrusLevel } from "./logrus.ts";

// ---------------------------------------------------------------------------------------------------------
// Scenario

/** One service port; `targetPort` may be a name (printed as is). */
export interface ScenarioPort {
  port: number;
  targetPort?: number | string;
  protocol?: "TCP" | "UDP";
}

/** One service of a namespace. */
export interface ScenarioService {
  name: string;
  labels?: Record<string, string>;
  ports: ScenarioPort[];
  /** Ready pods, in order; a normal service forwards the first one, a headless service all of them. */
  pods?: string[];
  headless?: boolean;
  /** false = selector-less service (like `kubernetes`): skipped with a warning. */
  selector?: boolean;
}

/**
 * A scripted event, `atMs` after the initial forwards are set up; with `onlyIn`, only in a kubefwd that
 * forwards that namespace (one scenario file serves several profiles' children).
 */
export type ScenarioAction = ActionKind & { onlyIn?: string };

type ActionKind =
  | {
    type: "crash";
    atMs: number;
    exitCode?: number;
    signal?: "SIGKILL" | "SIGABRT" | "SIGTERM" | "SIGSEGV";
    panic?: string;
  }
  | { type: "fatal"; atMs: number; message: string }
  | { type: "flood"; atMs: number; linesPerSecond: number; durationMs: number; message?: string }
  | { type: "lose_forward"; atMs: number; service: string; namespace?: string; error?: string }
  /**
   * The service's first pod is deleted and `newPod` becomes Ready `delayMs` later (default 200). v1.23+ as
   * recorded from 1.25.16 (tests/fixtures/kubefwd_output/1.25.16/pod-replace, pod-gone): `Pod <old> marked
   * for deletion, resyncing…` (a graceful delete, what kubelets and kwok do; `graceful: false` prints
   * `Pod <old> deleted, resyncing…`), one `Stopped forwarding pod` per forward of the pod, its hosts entries
   * removed, then with -a the reconnect (`Scheduling reconnection … in 1s`, `Attempting reconnection…`,
   * SyncPodForwards) and without -a the debounced SyncPodForwards; no eligible pod yet → `No Running Pods`
   * and a retry every --retry-interval (+ the debounce) until `Pods now available`. The new forward gets a
   * new IP. 1.22.x: nothing is printed, the old forward dies at its next connection.
   */
  | {
    type: "replace_pod";
    atMs: number;
    service: string;
    namespace?: string;
    newPod?: string;
    delayMs?: number;
    graceful?: boolean;
  }
  | { type: "stderr"; atMs: number; lines?: string[]; count?: number }
  /**
   * The process closes its stdout (where kubefwd's logrus writes) and keeps running: the reader sees EOF
   * while the child lives. Later stdout writes are dropped, as logrus drops the EBADF of a closed fd.
   * (stderr stays: Deno cannot close fd 2.)
   */
  | { type: "close_stdout"; atMs: number }
  | { type: "log"; atMs: number; level?: LogrusLevel; message: string }
  /**
   * The API server goes away for `durationMs`. v1.23+ as recorded from 1.25.16 (apiserver-outage): every
   * forward is lost at once (its stream ran through the apiserver): `Lost connection to <ns>/<pod>: lost
   * connection to pod` and `PortForward error on …` per forward, hosts entries removed, reconnects (-a) whose
   * pod listing fails with `WARNING: Error in List pods for <svc>: Get "…": dial tcp …: connect: connection
   * refused`, then `No Running Pods` and a retry every --retry-interval (+ debounce), each failing the same
   * way, until the outage ends and a retry finds the pods (`Pods now available`, the old IPs). No `Runtime:
   * failed to list` line was printed by the real binary (neither stream); `everyMs` adds that line, as read
   * from the upstream source (docs/kubefwd-compatibility.md#list-failures), at that period anyway, for tests
   * that need a steady list-failure signal. 1.22.3 prints nothing at all, even over 150 s (see
   * tests/fixtures/kubefwd_output/README.md).
   */
  | { type: "api_outage"; atMs: number; durationMs: number; everyMs?: number };

/** The scenario file (KUBEFWD_SIM_SCENARIO). Every field is optional. */
export interface Scenario {
  currentContext?: string;
  /** When given, `-x` must name one of these (else the client-go `context "x" does not exist` fatal). */
  contexts?: string[];
  /** Namespace of the current context (1.22.x uses it without -n). */
  contextNamespace?: string;
  namespaces?: Record<string, { services?: ScenarioService[] }>;
  /** Simulated API check: `delayMs` before it returns (signals wait for it), `fatal` = FATA text + exit 1. */
  startup?: { delayMs?: number; fatal?: string };
  /** Ignore SIGTERM and SIGINT entirely (to test the supervisor's SIGKILL escalation). */
  ignoreSigterm?: boolean;
  /** Extra time the graceful shutdown takes before `Clean exit`. */
  slowShutdownMs?: number;
  /** First auto-reconnect delay (kubefwd: 1 s, doubling to 5 min). */
  reconnectDelayMs?: number;
  /** v1.23+ SyncPodForwards debounce (kubefwd: 5 s); also delays the retries after `No Running Pods`. */
  syncDebounceMs?: number;
  actions?: ScenarioAction[];
}

// ---------------------------------------------------------------------------------------------------------
// Version

const VERSION_TEXT = Deno.env.get("KUBEFWD_SIM_VERSION") ?? "1.25.16";
const VERSION = (() => {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(VERSION_TEXT);
  if (!m) return { major: 1, minor: 25, patch: 16 };
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
})();
const SOURCE_BUILD = VERSION.major === 0 && VERSION.minor === 0 && VERSION.patch === 0;

function atLeast(major: number, minor: number, patch = 0): boolean {
  if (SOURCE_BUILD) return true;
  if (VERSION.major !== major) return VERSION.major > major;
  if (VERSION.minor !== minor) return VERSION.minor > minor;
  return VERSION.patch >= patch;
}

const V123 = atLeast(1, 23);
const V124 = atLeast(1, 24);
const V125 = atLeast(1, 25);
const DASHED_TWINS = atLeast(1, 22, 4);

// ---------------------------------------------------------------------------------------------------------
// Output

const encoder = new TextEncoder();

/**
 * Closes `fd` and every duplicate of it through libc's close(2) (Linux: duplicates found in /proc/self/fd).
 * Deno.stdout.close() only drops Deno's handle, and the runtime keeps a duplicate of fd 1 open, so the
 * reader would see no EOF.
 */
function closeFd(fd: number): void {
  const libc = Deno.dlopen(Deno.build.os === "darwin" ? "libSystem.dylib" : "libc.so.6", {
    close: { parameters: ["i32"], result: "i32" },
  });
  const fds = [fd];
  try {
    const target = Deno.readLinkSync(`/proc/self/fd/${fd}`);
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      const other = Number(entry.name);
      if (other === fd) continue;
      try {
        if (Deno.readLinkSync(`/proc/self/fd/${other}`) === target) fds.push(other);
      } catch {
        // closed meanwhile (the directory listing's own descriptor)
      }
    }
  } catch {
    // no /proc: only fd itself
  }
  for (const n of fds) libc.symbols.close(n);
  libc.close();
}

/** Streams a `close_stdout` action closed: writes to them are dropped. */
const closedStreams = new Set<typeof Deno.stdout>();

function writeAll(file: typeof Deno.stdout, text: string): void {
  if (closedStreams.has(file)) return;
  const data = encoder.encode(text);
  let off = 0;
  try {
    while (off < data.length) off += file.writeSync(data.subarray(off));
  } catch (e) {
    // kubefwd dies of SIGPIPE when its reader goes away; Deno ignores SIGPIPE, so exit like a shell would.
    if (e instanceof Deno.errors.BrokenPipe) Deno.exit(141);
    throw e;
  }
}

let verbose = false;

function log(level: LogrusLevel, message: string): void {
  if (level === "DEBU" && !verbose) return;
  writeAll(Deno.stdout, formatLogrusLine(level, message));
}

function stderr(text: string): void {
  writeAll(Deno.stderr, text.endsWith("\n") ? text : text + "\n");
}

function fatal(message: string): never {
  log("FATA", message);
  Deno.exit(1);
}

/** A Go panic: message and a short goroutine trace on stderr, exit 2. */
function panic(message: string): never {
  stderr(
    `panic: ${message}\n\ngoroutine 1 [running]:\nmain.main()\n\t/kubefwd/cmd/kubefwd/kubefwd.go:1 +0x1d\nexit status 2`,
  );
  Deno.exit(2);
}

function banner(): void {
  log("INFO", ` _          _           __             _`);
  log("INFO", `| | ___   _| |__   ___ / _|_      ____| |`);
  log("INFO", `| |/ / | | | '_ \\ / _ \\ |_\\ \\ /\\ / / _  |`);
  log("INFO", `|   <| |_| | |_) |  __/  _|\\ V  V / (_| |`);
  log("INFO", `|_|\\_\\\\__,_|_.__/ \\___|_|   \\_/\\_/ \\__,_|`);
  log("INFO", "");
  log("INFO", `Version ${VERSION_TEXT}`);
  log("INFO", V125 ? "https://kubefwd.com" : "https://github.com/txn2/kubefwd");
  log("INFO", "");
}

/** Milliseconds of a Go duration flag value (`10s`, `1m30s`, `500ms`), already validated by the flag parser. */
function goDurationMs(text: string): number {
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * unit[m[2]];
  return Math.round(ms);
}

/** Go's time.Duration String() for whole milliseconds. */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const totalSeconds = ms / 1000;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  const sText = `${Number.isInteger(s) ? s : Number(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${sText}`;
  if (m > 0) return `${m}m${sText}`;
  return sText;
}

// ---------------------------------------------------------------------------------------------------------
// Flags (pflag semantics)

type FlagKind = "string" | "slice" | "bool" | "int" | "duration";

interface FlagDef {
  long: string;
  short?: string;
  kind: FlagKind;
  usage: string;
}

function flagDefs(): FlagDef[] {
  const defs: FlagDef[] = [
    { long: "kubeconfig", short: "c", kind: "string", usage: "absolute path to a kubectl config file" },
    {
      long: "context",
      short: "x",
      kind: "slice",
      usage: "specify a context to override the current context",
    },
    { long: "namespace", short: "n", kind: "slice", usage: "Specify a namespace." },
    { long: "selector", short: "l", kind: "string", usage: "Selector (label query) to filter on" },
    { long: "field-selector", short: "f", kind: "string", usage: "Field selector to filter on" },
    { long: "verbose", short: "v", kind: "bool", usage: "Verbose output." },
    {
      long: "domain",
      short: "d",
      kind: "string",
      usage: "Append a pseudo domain name to generated host names.",
    },
    { long: "mapping", short: "m", kind: "slice", usage: "Specify a port mapping." },
    {
      long: "all-namespaces",
      short: "A",
      kind: "bool",
      usage: "Enable --all-namespaces option like kubectl.",
    },
    { long: "reserve", short: "r", kind: "slice", usage: "Specify an IP reservation." },
    { long: "fwd-conf", short: "z", kind: "string", usage: "Define an IP reservation configuration" },
    { long: "help", short: "h", kind: "bool", usage: "help for services" },
  ];
  if (V123) {
    defs.push(
      {
        long: "timeout",
        short: "t",
        kind: "int",
        usage: "Specify a timeout seconds for the port forwarding.",
      },
      { long: "hosts-path", kind: "string", usage: "Hosts file path." },
      { long: "refresh-backup", short: "b", kind: "bool", usage: "Create a fresh hosts backup." },
      { long: "purge-stale-ips", short: "p", kind: "bool", usage: "Remove stale kubefwd host entries." },
    );
  }
  if (V124) {
    defs.push(
      { long: "resync-interval", kind: "duration", usage: "Interval for forced service resync" },
      { long: "retry-interval", kind: "duration", usage: "Retry interval when no pods found for a service" },
      { long: "tui", kind: "bool", usage: "Enable terminal user interface mode" },
      { long: "api", kind: "bool", usage: "Enable REST API server" },
      {
        long: "auto-reconnect",
        short: "a",
        kind: "bool",
        usage: "Automatically reconnect when port forwards are lost",
      },
    );
  }
  if (atLeast(1, 25, 12)) defs.push({ long: "theme", kind: "string", usage: "Color theme for TUI" });
  return defs;
}

/** Parsed `svc` flags: last value for strings, accumulated (CSV-split) values for slices. */
export interface SvcFlags {
  strings: Map<string, string>;
  slices: Map<string, string[]>;
  bools: Set<string>;
  changed: Set<string>;
}

class FlagError extends Error {}

function splitCsv(value: string): string[] {
  return value === "" ? [] : value.split(",").map((v) => v.trim());
}

/** pflag-compatible parsing of the `svc` flags; throws FlagError with pflag's message. */
export function parseSvcFlags(args: string[], defs: FlagDef[]): SvcFlags {
  const out: SvcFlags = { strings: new Map(), slices: new Map(), bools: new Set(), changed: new Set() };
  const set = (def: FlagDef, value: string, shownName: string) => {
    out.changed.add(def.long);
    switch (def.kind) {
      case "bool":
        if (
          value === "true" || value === "1" || value === "t" || value === "T" || value === "TRUE" ||
          value === "True"
        ) {
          out.bools.add(def.long);
        } else if (
          value === "false" || value === "0" || value === "f" || value === "F" || value === "FALSE" ||
          value === "False"
        ) {
          out.bools.delete(def.long);
        } else {
          throw new FlagError(
            `invalid argument "${value}" for "${shownName}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
          );
        }
        break;
      case "slice":
        out.slices.set(def.long, [...(out.slices.get(def.long) ?? []), ...splitCsv(value)]);
        break;
      case "int":
        if (!/^[+-]?\d+$/.test(value)) {
          throw new FlagError(
            `invalid argument "${value}" for "${shownName}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`,
          );
        }
        out.strings.set(def.long, value);
        break;
      case "duration":
        if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
          throw new FlagError(
            `invalid argument "${value}" for "${shownName}" flag: time: invalid duration "${value}"`,
          );
        }
        out.strings.set(def.long, value);
        break;
      default:
        out.strings.set(def.long, value);
    }
  };
  const shown = (def: FlagDef) => def.short ? `-${def.short}, --${def.long}` : `--${def.long}`;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const def = defs.find((d) => d.long === name);
      if (!def) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) set(def, arg.slice(eq + 1), shown(def));
      else if (def.kind === "bool") set(def, "true", shown(def));
      else if (i + 1 < args.length) set(def, args[++i], shown(def));
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      const group = arg.slice(1);
      for (let j = 0; j < group.length; j++) {
        const ch = group[j];
        const def = defs.find((d) => d.short === ch);
        if (!def) throw new FlagError(`unknown shorthand flag: '${ch}' in -${group}`);
        if (def.kind === "bool") {
          if (group[j + 1] === "=") {
            set(def, group.slice(j + 2), shown(def));
            break;
          }
          set(def, "true", shown(def));
          continue;
        }
        const rest = group.slice(j + 1);
        if (rest !== "") set(def, rest.startsWith("=") ? rest.slice(1) : rest, shown(def));
        else if (i + 1 < args.length) set(def, args[++i], shown(def));
        else throw new FlagError(`flag needs an argument: '${ch}' in -${group}`);
        break;
      }
    }
    // positional arguments are ignored by `svc`, like the real one
  }
  return out;
}

function usageText(defs: FlagDef[]): string {
  const lines = [
    "Usage:",
    "  kubefwd services [flags]",
    "",
    "Aliases:",
    "  services, svcs, svc",
    "",
    "Flags:",
  ];
  for (const d of defs) {
    const name = d.short ? `  -${d.short}, --${d.long}` : `      --${d.long}`;
    const type = d.kind === "bool" ? "" : d.kind === "slice" ? " strings" : ` ${d.kind}`;
    lines.push(`${(name + type).padEnd(36)}${d.usage}`);
  }
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------------------
// Selectors

type LabelTerm = (labels: Record<string, string>) => boolean;

/** Label selector: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma = AND. */
export function parseLabelSelector(selector: string): LabelTerm[] {
  const terms: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      terms.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim() !== "") terms.push(cur);
  return terms.map((raw) => {
    const t = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(\S+?)\s*!=\s*(\S*)$/.exec(t))) {
      const [k, v] = [m[1], m[2]];
      return (l) => l[k] !== v;
    }
    if ((m = /^(\S+?)\s*==?\s*(\S*)$/.exec(t))) {
      const [k, v] = [m[1], m[2]];
      return (l) => l[k] === v;
    }
    if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(t))) {
      const k = m[1];
      const values = m[3].split(",").map((v) => v.trim());
      return m[2] === "in" ? (l) => values.includes(l[k]) : (l) => !(k in l) || !values.includes(l[k]);
    }
    if ((m = /^!(\S+)$/.exec(t))) {
      const k = m[1];
      return (l) => !(k in l);
    }
    const k = t;
    return (l) => k in l;
  });
}

interface FieldTerm {
  field: string;
  op: "=" | "!=";
  value: string;
}

/** Field selector: comma-separated `field=value`, `field==value`, `field!=value` with `\` escapes. */
export function parseFieldSelector(selector: string): FieldTerm[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i];
    if (ch === "\\" && i + 1 < selector.length) {
      cur += ch + selector[++i];
    } else if (ch === ",") {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur !== "") parts.push(cur);
  const unescape = (s: string) => s.replace(/\\(.)/g, "$1");
  return parts.map((p) => {
    const m = /^([^!=]+?)\s*(!=|==|=)\s*(.*)$/.exec(p.trim());
    if (!m) throw new Error(`invalid selector: '${p}'; can't understand '${p}'`);
    return { field: m[1], op: m[2] === "!=" ? "!=" : "=", value: unescape(m[3]) };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Hosts file (txeh-like: remove each name everywhere, then add it to the IP's line; in-place writes)

class HostsFile {
  readonly path: string;
  /** Every name this process registered, for the exit sweep (like fwdip.RegisterHostname). */
  readonly registered = new Set<string>();

  constructor(path: string) {
    this.path = path;
  }

  #read(): string[] {
    const text = Deno.readTextFileSync(this.path);
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    return lines;
  }

  #write(lines: string[]): void {
    Deno.writeTextFileSync(this.path, lines.length ? lines.join("\n") + "\n" : "");
  }

  static #parse(line: string): { ip: string; names: string[]; comment: string } | undefined {
    const hash = line.indexOf("#");
    const body = hash >= 0 ? line.slice(0, hash) : line;
    const fields = body.trim().split(/\s+/).filter((f) => f !== "");
    if (fields.length === 0) return undefined;
    return { ip: fields[0], names: fields.slice(1), comment: hash >= 0 ? line.slice(hash) : "" };
  }

  static #render(ip: string, names: string[], comment: string): string {
    return `${ip.padEnd(16)} ${names.join(" ")}${comment ? " " + comment : ""}`;
  }

  /** Names on lines whose address is in kubefwd's range 127.1.27.0+ (HOUSEKEEPING count). */
  countStale(): number {
    let n = 0;
    for (const line of this.#read()) {
      const p = HostsFile.#parse(line);
      const m = p && /^127\.(\d+)\.(\d+)\.\d+$/.exec(p.ip);
      if (m && (Number(m[1]) > 1 || (Number(m[1]) === 1 && Number(m[2]) >= 27))) n += p!.names.length;
    }
    return n;
  }

  add(ip: string, names: string[]): void {
    for (const n of names) this.registered.add(n);
    const lines = this.#removeNames(this.#read(), new Set(names));
    const idx = lines.findIndex((l) => HostsFile.#parse(l)?.ip === ip);
    if (idx >= 0) {
      const p = HostsFile.#parse(lines[idx])!;
      lines[idx] = HostsFile.#render(ip, [...p.names, ...names], p.comment);
    } else {
      lines.push(HostsFile.#render(ip, names, ""));
    }
    this.#write(lines);
  }

  remove(names: Iterable<string>): void {
    const set = new Set(names);
    if (set.size === 0) return;
    const before = this.#read();
    const after = this.#removeNames(before, set);
    if (after.join("\n") !== before.join("\n")) this.#write(after);
  }

  #removeNames(lines: string[], names: Set<string>): string[] {
    const out: string[] = [];
    for (const line of lines) {
      const p = HostsFile.#parse(line);
      if (!p || !p.names.some((n) => names.has(n))) {
        out.push(line);
        continue;
      }
      const kept = p.names.filter((n) => !names.has(n));
      if (kept.length > 0) out.push(HostsFile.#render(p.ip, kept, p.comment));
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Forwarding model

interface Forward {
  service: ServiceState;
  pod: string;
  /** Hostname base: the service name, or `<pod>.<svc>` for headless services. */
  svcName: string;
  hostname: string;
  ip: string;
  localPort: number;
  podPort: string;
  hostnames: string[];
  listener?: Deno.Listener;
  conns: Set<Deno.Conn>;
  alive: boolean;
  /** 1.22.x after its pod was deleted: the next connection gets an empty reply and the forward dies. */
  broken?: boolean;
}

interface ServiceState {
  spec: ScenarioService;
  namespace: string;
  context: string;
  clusterN: number;
  namespaceN: number;
  key: string;
  pods: string[];
  forwards: Forward[];
  reconnecting: boolean;
  backoffMs: number;
  /** v1.23+: `No Running Pods` was printed; quiet retries until `Pods now available`. */
  noPodsLogged: boolean;
  /** A retry after `No Running Pods` is pending. */
  retryPending: boolean;
  /** When SyncPodForwards last ran (ms since epoch; 0 = never). */
  lastSyncedAt: number;
}

const state = {
  scenario: {} as Scenario,
  flags: undefined as SvcFlags | undefined,
  hosts: undefined as HostsFile | undefined,
  domain: "",
  mappings: new Map<number, number>(),
  baseIp: [127, 1, 27, 1] as number[],
  ipRegistry: new Map<string, string>(),
  ipAllocated: new Set<string>(),
  ipCounters: new Map<string, number>(),
  services: [] as ServiceState[],
  watchers: [] as { namespace: string; context: string }[],
  podWatchNamespaces: new Set<string>(),
  autoReconnect: false,
  /** --retry-interval (v1.24+; kubefwd's default 10 s). */
  retryIntervalMs: 10_000,
  /** --resync-interval (v1.24+; kubefwd's default 5 min): a sync this long after the last skips the debounce. */
  resyncIntervalMs: 300_000,
  /** While an api_outage lasts: pod listings fail. */
  apiDown: false,
  shuttingDown: false,
  timers: new Set<ReturnType<typeof setTimeout>>(),
  podSerial: 0,
};

function later(ms: number, fn: () => void): void {
  const id = setTimeout(() => {
    state.timers.delete(id);
    fn();
  }, ms);
  state.timers.add(id);
}

function sanitizeHost(host: string): string {
  return host.replace(/[^a-zA-Z0-9-]/g, "-").replace(/^-+|-+$/g, "");
}

/** kubefwd's AddHosts() name list (v1.25.16 pkg/fwdport), dashed twins included. */
function hostnamesFor(
  svcName: string,
  ns: string,
  ctx: string,
  clusterN: number,
  namespaceN: number,
): string[] {
  const names: string[] = [];
  const add = (h: string) => {
    names.push(h);
    const s = sanitizeHost(h);
    if (s !== h && DASHED_TWINS) names.push(s); // dashed copies date from 1.22.4 (recorded 1.22.3 has none)
  };
  const domain = state.domain;
  if (clusterN === 0 && namespaceN === 0) {
    add(svcName);
    if (domain) add(`${svcName}.${domain}`);
  }
  if (clusterN > 0 && namespaceN === 0) add(`${svcName}.${ctx}`);
  if (clusterN === 0) {
    add(`${svcName}.${ns}`);
    add(`${svcName}.${ns}.svc`);
    add(`${svcName}.${ns}.svc.cluster.local`);
    if (domain) add(`${svcName}.${ns}.svc.cluster.${domain}`);
  }
  add(`${svcName}.${ns}.${ctx}`);
  add(`${svcName}.${ns}.svc.${ctx}`);
  add(`${svcName}.${ns}.svc.cluster.${ctx}`);
  return [...new Set(names)];
}

/** The hostname printed in the Port-Forward line (buildServiceHostname). */
function serviceHostname(
  svcName: string,
  ns: string,
  ctx: string,
  clusterN: number,
  namespaceN: number,
): string {
  let h = svcName;
  if (namespaceN > 0) h += "." + ns;
  if (clusterN > 0) h += "." + ctx;
  return h;
}

/**
 * base + (0, clusterN, namespaceN, counter); the registry key is per pod
 * (docs/kubefwd-compatibility.md#ip-allocation).
 */
function allocateIp(svc: ServiceState, svcName: string, pod: string): string | undefined {
  const regKey = `${svc.clusterN}-${svc.namespaceN}-${svcName}-${pod}`;
  const known = state.ipRegistry.get(regKey);
  if (known) return known;
  const counterKey = `${svc.clusterN}-${svc.namespaceN}`;
  for (;;) {
    const counter = state.ipCounters.get(counterKey) ?? 0;
    if (svc.clusterN > 255 || svc.namespaceN > 255 || counter > 255) {
      if (!V123) panic("IP generation has run out of bounds.");
      log(
        "WARN",
        "WARNING: error readying interface: IP generation has run out of bounds: cluster, namespace, or service count exceeds 255\n",
      );
      return undefined;
    }
    const [a, b, c, d] = state.baseIp;
    const ip = [a, (b + svc.clusterN) & 255, (c + svc.namespaceN) & 255, (d + counter) & 255].join(".");
    state.ipCounters.set(counterKey, counter + 1);
    if (state.ipAllocated.has(ip)) continue;
    state.ipAllocated.add(ip);
    state.ipRegistry.set(regKey, ip);
    return ip;
  }
}

function httpResponse(fwd: Forward): Uint8Array {
  const body =
    `kubefwd-sim ${fwd.service.spec.name}.${fwd.service.namespace} pod=${fwd.pod} port=${fwd.podPort}\n`;
  return encoder.encode(
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${encoder.encode(body).length}\r\n` +
      `X-Kubefwd-Sim-Service: ${fwd.service.spec.name}.${fwd.service.namespace}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function handleConn(fwd: Forward, conn: Deno.Conn): Promise<void> {
  if (fwd.broken) {
    // Recorded from 1.22.3 (pod-replace): an empty reply, then the stream error kills the forward.
    try {
      conn.close();
    } catch {
      // closed already
    }
    if (!fwd.alive) return;
    log(
      "ERRO",
      `Runtime: an error occurred forwarding ${fwd.localPort} -> ${fwd.podPort}: error forwarding port ${fwd.podPort} to pod ${fwd.pod}/${fwd.service.namespace}, uid : no forward found for port ${fwd.podPort} in pod "${fwd.service.namespace}/${fwd.pod}"`,
    );
    forwardDied(fwd, "lost connection to pod", true);
    return;
  }
  fwd.conns.add(conn);
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }, 2000);
  try {
    const buf = new Uint8Array(4096);
    let seen = "";
    // Answer once the request head is in, or at EOF (plain TCP probes get the response too).
    while (!seen.includes("\r\n\r\n") && !seen.includes("\n\n") && seen.length < 16384) {
      const n = await conn.read(buf);
      if (n === null) break;
      seen += new TextDecoder().decode(buf.subarray(0, n));
    }
    const data = httpResponse(fwd);
    let off = 0;
    while (off < data.length) off += await conn.write(data.subarray(off));
  } catch {
    // client went away or shutdown closed the connection
  } finally {
    clearTimeout(timer);
    fwd.conns.delete(conn);
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

function closeForward(fwd: Forward): void {
  fwd.alive = false;
  try {
    fwd.listener?.close();
  } catch {
    // closed already
  }
  fwd.listener = undefined;
  for (const c of fwd.conns) {
    try {
      c.close();
    } catch {
      // closed already
    }
  }
  fwd.conns.clear();
}

/** Lost connection / listen failure of one forward, in the version's wording, then reconnect if -a. */
function forwardDied(fwd: Forward, error: string, removeHosts: boolean): void {
  closeForward(fwd);
  const svc = fwd.service;
  svc.forwards = svc.forwards.filter((f) => f !== fwd);
  if (V123) {
    log("ERRO", `Lost connection to ${svc.namespace}/${fwd.pod}: ${error}`);
    if (removeHosts) state.hosts?.remove(fwd.hostnames);
    log("ERRO", `PortForward error on ${svc.namespace}/${fwd.pod}: ${error}`);
    scheduleReconnect(svc);
  } else {
    // 1.22.x: hosts entries of a dead forward stay behind (docs/kubefwd-compatibility.md#hosts-cleanup); no
    // reconnect.
    if (error === "lost connection to pod") {
      log("ERRO", "Runtime: lost connection to pod");
      log("WARN", `Stopped forwarding pod ${fwd.pod} for ${svc.key}`);
    } else {
      log("ERRO", `ForwardPorts error: ${error}`);
    }
  }
}

function scheduleReconnect(svc: ServiceState): void {
  if (!state.autoReconnect || state.shuttingDown || svc.reconnecting) return;
  svc.reconnecting = true;
  const base = state.scenario.reconnectDelayMs ?? 1000;
  const backoff = svc.backoffMs === 0 ? base : svc.backoffMs;
  svc.backoffMs = Math.min(backoff * 2, 300_000);
  log("INFO", `Scheduling reconnection for ${svc.key} in ${goDuration(backoff)}`);
  later(backoff, () => {
    svc.reconnecting = false;
    if (state.shuttingDown) return;
    log("INFO", `Attempting reconnection for service ${svc.key}`);
    syncService(svc, true);
  });
}

function startForward(svc: ServiceState, pod: string): void {
  const spec = svc.spec;
  const svcName = spec.headless ? `${pod}.${spec.name}` : spec.name;
  const ip = allocateIp(svc, svcName, pod);
  const hostname = serviceHostname(svcName, svc.namespace, svc.context, svc.clusterN, svc.namespaceN);
  for (const port of spec.ports) {
    const podPort = String(port.targetPort ?? port.port);
    if (port.protocol === "UDP") {
      log(
        "WARN",
        `WARNING: Skipped Port-Forward for ${hostname}:${port.port} to pod ${pod}:${podPort} - k8s port-forwarding doesn't support UDP protocol\n`,
      );
      continue;
    }
    if (ip === undefined) continue;
    const localPort = state.mappings.get(port.port) ?? port.port;
    if (svc.forwards.some((f) => f.pod === pod && f.localPort === localPort && f.svcName === svcName)) {
      continue;
    }
    log("DEBU", `Resolving: ${hostname} to ${ip} (${svcName})\n`);
    log("INFO", `Port-Forward: ${ip.padStart(16)} ${hostname}:${localPort} to pod ${pod}:${podPort}\n`);
    const fwd: Forward = {
      service: svc,
      pod,
      svcName,
      hostname,
      ip,
      localPort,
      podPort,
      hostnames: hostnamesFor(svcName, svc.namespace, svc.context, svc.clusterN, svc.namespaceN),
      conns: new Set(),
      alive: true,
    };
    svc.forwards.push(fwd);
    // Hosts entries are written before the listen, like kubefwd
    // (docs/kubefwd-compatibility.md#listen-conflicts).
    state.hosts?.add(ip, fwd.hostnames);
    if (V123 && !state.podWatchNamespaces.has(svc.namespace)) {
      state.podWatchNamespaces.add(svc.namespace);
      log("INFO", `Watching pod events in namespace ${svc.namespace}`);
    }
    // kubefwd resets the reconnect backoff before the listen (docs/kubefwd-compatibility.md#auto-reconnect),
    // so bind conflicts retry at the base delay.
    svc.backoffMs = 0;
    try {
      fwd.listener = Deno.listen({ hostname: ip, port: localPort, transport: "tcp" });
    } catch (e) {
      const why = e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.PermissionDenied ||
          e instanceof Deno.errors.AddrNotAvailable
        ? `unable to listen on any of the requested ports: [{${localPort} ${podPort}}]`
        : (e as Error).message;
      forwardDied(fwd, why, true);
      continue;
    }
    const listener = fwd.listener;
    (async () => {
      for await (const conn of listener) void handleConn(fwd, conn);
    })().catch(() => {});
  }
}

/** The pod listing error of a v1.23+ SyncPodForwards while the API server is away (1.25.16 wording). */
function listPodsError(svc: ServiceState): string {
  const selector = encodeURIComponent(`app=${svc.spec.name}`);
  return `WARNING: Error in List pods for ${svc.key}: Get "https://127.0.0.1:6443/api/v1/namespaces/` +
    `${svc.namespace}/pods?labelSelector=${selector}": dial tcp 127.0.0.1:6443: connect: connection refused`;
}

/**
 * SyncPodForwards: (re)creates the missing forwards of a service. v1.23+ (fwdservice.doSyncPods): the
 * `starting` line is skipped while `No Running Pods` stands, the `Found` line too unless pods were found;
 * no pods → one `No Running Pods` and a retry after --retry-interval (+ the debounce of the non-forced sync).
 */
function syncService(svc: ServiceState, force: boolean): void {
  svc.lastSyncedAt = Date.now();
  const eligible = state.apiDown ? 0 : svc.pods.length > 0 ? (svc.spec.headless ? svc.pods.length : 1) : 0;
  if (V123) {
    if (!svc.noPodsLogged) {
      log(
        "INFO",
        `SyncPodForwards starting for service ${svc.key} (force=${force}, currentForwards=${svc.forwards.length})`,
      );
    }
    if (state.apiDown) log("WARN", listPodsError(svc));
    if (!svc.noPodsLogged || eligible > 0) {
      log("INFO", `SyncPodForwards: Found ${eligible} eligible pods for service ${svc.key}`);
    }
  }
  if (eligible === 0) {
    if (!svc.noPodsLogged) log("WARN", `WARNING: No Running Pods returned for service ${svc.key}`);
    if (V123) {
      svc.noPodsLogged = true;
      scheduleRetry(svc);
    }
    return;
  }
  if (svc.noPodsLogged) {
    log("INFO", `Pods now available for service ${svc.key}`);
    svc.noPodsLogged = false;
  }
  const pods = svc.spec.headless ? svc.pods : [svc.pods[0]];
  for (const pod of pods) if (!svc.forwards.some((f) => f.pod === pod)) startForward(svc, pod);
}

/**
 * The delay of a non-forced SyncPodForwards asked for now: none when --resync-interval has passed since the
 * service's last sync, else the debounce.
 */
function syncDelayMs(svc: ServiceState, askedAt = Date.now()): number {
  return askedAt - svc.lastSyncedAt > state.resyncIntervalMs ? 0 : state.scenario.syncDebounceMs ?? 5000;
}

/** v1.23+ scheduleRetry: SyncPodForwards(false) after --retry-interval, debounced like every such sync. */
function scheduleRetry(svc: ServiceState): void {
  if (svc.retryPending || state.shuttingDown) return;
  svc.retryPending = true;
  later(state.retryIntervalMs, () => {
    later(syncDelayMs(svc), () => {
      svc.retryPending = false;
      if (!state.shuttingDown && svc.forwards.length === 0) syncService(svc, false);
    });
  });
}

function findService(name: string, namespace?: string): ServiceState | undefined {
  return state.services.find((s) =>
    s.spec.name === name && (namespace === undefined || s.namespace === namespace)
  );
}

// ---------------------------------------------------------------------------------------------------------
// Scripted actions

function runAction(action: ScenarioAction): void {
  switch (action.type) {
    case "crash": {
      if (action.panic) {
        stderr(`panic: ${action.panic}\n\ngoroutine 1 [running]:\nmain.main()\n\t/kubefwd/main.go:1 +0x1d`);
        Deno.exit(action.exitCode ?? 2);
      }
      if (action.signal) {
        const sig = action.signal === "SIGSEGV" ? "SIGABRT" : action.signal;
        if (sig === "SIGTERM") {
          for (const s of ["SIGTERM", "SIGINT"] as const) {
            for (const h of signalHandlers) Deno.removeSignalListener(s, h);
          }
        }
        Deno.kill(Deno.pid, sig);
        return;
      }
      Deno.exit(action.exitCode ?? 1);
      break;
    }
    case "fatal":
      fatal(action.message);
      break;
    case "flood": {
      const perTick = Math.max(1, Math.round(action.linesPerSecond / 100));
      const ticks = Math.max(1, Math.round(action.durationMs / 10));
      let n = 0;
      let tick = 0;
      const step = () => {
        if (state.shuttingDown) return;
        let chunk = "";
        for (let i = 0; i < perTick; i++) {
          chunk += formatLogrusLine("ERRO", `${action.message ?? "Runtime: flood line"} ${n++}`);
        }
        writeAll(Deno.stdout, chunk);
        if (++tick < ticks) later(10, step);
      };
      step();
      break;
    }
    case "lose_forward": {
      const svc = findService(action.service, action.namespace);
      if (!svc) return;
      for (const fwd of [...svc.forwards]) forwardDied(fwd, action.error ?? "lost connection to pod", true);
      break;
    }
    case "replace_pod": {
      const svc = findService(action.service, action.namespace);
      if (!svc || svc.pods.length === 0) return;
      const old = svc.pods[0];
      const replacement = action.newPod ??
        `${svc.spec.name}-${(++state.podSerial).toString(36)}${Date.now().toString(36).slice(-5)}`;
      svc.pods = [replacement, ...svc.pods.slice(1)];
      if (!V123) {
        // 1.22.x has no pod watch: nothing is printed and nothing is re-forwarded; the old forward
        // dies at its next connection (see handleConn).
        for (const fwd of svc.forwards) if (fwd.pod === old) fwd.broken = true;
        return;
      }
      // The old pod is no longer eligible at once; the replacement becomes Ready after delayMs.
      svc.pods = svc.pods.slice(1);
      later(action.delayMs ?? 200, () => {
        svc.pods = [replacement, ...svc.pods];
        // The pod informer sees the replacement Ready. Within --resync-interval of the last sync this call
        // joins the debounced one below (kubefwd's debouncer runs one); past it, it syncs right away.
        if (syncDelayMs(svc) === 0 && !state.shuttingDown && svc.forwards.length === 0) {
          syncService(svc, false);
        }
      });
      const how = action.graceful === false ? "deleted" : "marked for deletion";
      log("WARN", `Pod ${old} ${how}, resyncing the ${svc.key} service pods.`);
      for (const fwd of svc.forwards.filter((f) => f.pod === old)) {
        closeForward(fwd);
        state.hosts?.remove(fwd.hostnames);
        svc.forwards = svc.forwards.filter((f) => f !== fwd);
        // pfo.Stop(): the forward ends without error while the service runs on
        log("WARN", `Stopped forwarding pod ${old} for ${svc.key}`);
        scheduleReconnect(svc);
      }
      // SyncPodForwards(false) from the pod informer, debounced; with -a the forced reconnect sync replaces it.
      later(syncDelayMs(svc), () => {
        if (!state.shuttingDown && !svc.reconnecting && svc.forwards.length === 0) syncService(svc, false);
      });
      break;
    }
    case "stderr": {
      const lines = action.lines ??
        Array.from({ length: action.count ?? 1 }, (_, i) => `simulated stderr line ${i}`);
      stderr(lines.join("\n"));
      break;
    }
    case "log":
      log(action.level ?? "INFO", action.message);
      break;
    case "close_stdout":
      closedStreams.add(Deno.stdout);
      closeFd(1);
      break;
    case "api_outage": {
      if (!V123) break;
      state.apiDown = true;
      later(action.durationMs, () => {
        state.apiDown = false;
      });
      const lost = state.services.flatMap((svc) => svc.forwards);
      for (const fwd of lost) {
        log("ERRO", `Lost connection to ${fwd.service.namespace}/${fwd.pod}: lost connection to pod`);
      }
      for (const fwd of lost) {
        closeForward(fwd);
        const svc = fwd.service;
        svc.forwards = svc.forwards.filter((f) => f !== fwd);
        state.hosts?.remove(fwd.hostnames);
        log("ERRO", `PortForward error on ${svc.namespace}/${fwd.pod}: lost connection to pod`);
        scheduleReconnect(svc);
      }
      if (action.everyMs !== undefined) {
        const every = Math.max(10, action.everyMs);
        for (let t = 0; t < action.durationMs; t += every) {
          later(t, () =>
            log(
              "ERRO",
              'Runtime: failed to list *v1.Service: Get "https://127.0.0.1:6443/api/v1/services?limit=500&resourceVersion=0": ' +
                "dial tcp 127.0.0.1:6443: connect: connection refused",
            ));
        }
      }
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Signals and shutdown

const signalHandlers: (() => void)[] = [];
let signalCount = 0;
let startupDone = false;
let pendingSignal: Deno.Signal | undefined;

async function shutdown(): Promise<never> {
  state.shuttingDown = true;
  for (const id of state.timers) clearTimeout(id);
  state.timers.clear();
  if (V123) {
    log("INFO", "Shutting down... (press Ctrl+C again to force)");
    for (const w of state.watchers) {
      log("INFO", `Stopped watcher for namespace ${w.namespace} in context ${w.context}`);
    }
    if (state.podWatchNamespaces.size > 0) log("INFO", "Stopped listening for pods being deleted");
  } else {
    log("INFO", "Received shutdown signal");
    for (const w of state.watchers) {
      log("INFO", `Stopped watching Service events in namespace ${w.namespace} in ${w.context} context`);
    }
  }
  for (const svc of state.services) {
    for (const fwd of svc.forwards) {
      closeForward(fwd);
      state.hosts?.remove(fwd.hostnames);
    }
    svc.forwards = [];
  }
  const slow = state.scenario.slowShutdownMs ?? 0;
  if (slow > 0) await new Promise((r) => setTimeout(r, slow));
  // v1.23+: final sweep of every name ever registered. 1.22.x: only live forwards cleaned (done above).
  if (V123 && state.hosts) state.hosts.remove(state.hosts.registered);
  log("INFO", "Clean exit");
  Deno.exit(0);
}

function recordSignal(sig: Deno.Signal, ignored: boolean): void {
  const path = Deno.env.get("KUBEFWD_SIM_SIGNALS");
  if (path) Deno.writeTextFileSync(path, `${sig}${ignored ? " ignored" : ""}\n`, { append: true });
}

function onSignal(sig: Deno.Signal): void {
  recordSignal(sig, state.scenario.ignoreSigterm === true);
  if (state.scenario.ignoreSigterm) return;
  signalCount++;
  if (!startupDone) {
    // kubefwd acts on a signal only after its startup API check returns.
    pendingSignal ??= sig;
    return;
  }
  if (signalCount === 1) {
    void shutdown();
    return;
  }
  if (V123) {
    log("WARN", "Forced shutdown - cleaning up hosts file");
    if (state.hosts) state.hosts.remove(state.hosts.registered);
    Deno.exit(1);
  }
  // 1.22.x unregistered its handler after the first signal: the default action kills it.
  for (const s of ["SIGTERM", "SIGINT"] as const) {
    for (const h of signalHandlers) {
      try {
        Deno.removeSignalListener(s, h);
      } catch {
        // not registered for this signal
      }
    }
  }
  Deno.kill(Deno.pid, sig);
}

function installSignalHandlers(): void {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    const h = () => onSignal(sig);
    signalHandlers.push(h);
    Deno.addSignalListener(sig, h);
  }
  // SIGHUP is deliberately not handled: Go's default action kills kubefwd without cleanup.
}

// ---------------------------------------------------------------------------------------------------------
// Commands

function notRootMessage(): void {
  log(
    "ERRO",
    `
This program requires superuser privileges to run. These
privileges are required to add IP address aliases to your
loopback interface. Superuser privileges are also needed
to listen on low port numbers for these IP addresses.

Try:
 - sudo -E kubefwd services (Unix)
 - Running a shell with administrator rights (Windows)

`,
  );
}

function loadScenario(): Scenario {
  const path = Deno.env.get("KUBEFWD_SIM_SCENARIO");
  if (!path) return {};
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as Scenario;
  } catch (e) {
    stderr(`kubefwd simulator: cannot load scenario ${path}: ${(e as Error).message}`);
    Deno.exit(3);
  }
}

function readFwdConf(path: string): void {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    log("ERRO", `ForwardConfiguration read error ${(e as Error).message}`);
    return;
  }
  const m = /^baseUnreservedIP:\s*["']?([^"'\s#]*)["']?\s*(#.*)?$/m.exec(text);
  const value = m?.[1] ?? "";
  const parts = value.split(".");
  if (!V123) {
    if (parts.length !== 4 || parts[0] !== "127") panic("BaseUnreservedIP is not in the range 127.0.0.0/8");
  }
  if (parts.length !== 4) fatal("IP address must have exactly 4 octets");
  const octets = parts.map(Number);
  octets.forEach((o, i) => {
    if (!Number.isInteger(o) || o < 0 || o > 255 || parts[i] === "") {
      fatal(`unable to parse BaseIP octet ${i}`);
    }
  });
  if (octets[0] !== 127) panic("BaseUnreservedIP is not in the range 127.0.0.0/8");
  state.baseIp = octets;
}

function writePidfile(argv: string[]): void {
  const path = Deno.env.get("KUBEFWD_SIM_PIDFILE");
  if (!path) return;
  const line = JSON.stringify({ pid: Deno.pid, argv, version: VERSION_TEXT, startedAt: Date.now() }) + "\n";
  Deno.writeTextFileSync(path, line, { append: true, create: true });
}

async function runSvc(args: string[]): Promise<void> {
  const defs = flagDefs();
  let flags: SvcFlags;
  try {
    flags = parseSvcFlags(args, defs);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    stderr(`Error: ${e.message}`);
    stderr(usageText(defs));
    Deno.exit(1);
  }
  if (flags.bools.has("help")) {
    writeAll(
      Deno.stdout,
      "Forward multiple Kubernetes services from one or more namespaces.\n\n" + usageText(defs),
    );
    Deno.exit(0);
  }
  writePidfile(["svc", ...args]);
  state.flags = flags;
  verbose = flags.bools.has("verbose");
  state.scenario = loadScenario();
  const scenario = state.scenario;

  // Root check (`id -u`): not root → the ERRO text and a normal return, exit 0.
  if (Deno.env.get("KUBEFWD_SIM_ROOT") === "0") {
    notRootMessage();
    Deno.exit(0);
  }

  const hostsPath = flags.strings.get("hosts-path") ?? Deno.env.get("KUBEFWD_SIM_HOSTS") ?? "/etc/hosts";
  if (V123) {
    try {
      Deno.statSync(hostsPath);
    } catch {
      fatal(`Hosts path does not exist: ${hostsPath}`);
    }
  }
  const namespacesFlag = flags.slices.get("namespace") ?? [];
  const allNs = flags.bools.has("all-namespaces");
  const idle = V125 && namespacesFlag.length === 0 && !allNs;
  const retry = flags.strings.get("retry-interval");
  if (V124 && retry !== undefined) state.retryIntervalMs = goDurationMs(retry);
  const resync = flags.strings.get("resync-interval");
  if (V124 && resync !== undefined) state.resyncIntervalMs = goDurationMs(resync);
  state.autoReconnect = V124 &&
    (flags.bools.has("auto-reconnect") ||
      (!flags.changed.has("auto-reconnect") && (idle || flags.bools.has("tui") || flags.bools.has("api"))));
  if (idle) log("INFO", "Starting in idle mode - API enabled, waiting for namespaces/services via API");
  const apiMode = V124 && (flags.bools.has("api") || (idle && !flags.changed.has("api")));
  if (!apiMode && !idle && !flags.bools.has("tui")) {
    log("INFO", "Press [Ctrl-C] to stop forwarding.");
    log("INFO", `'cat ${V123 ? hostsPath : "/etc/hosts"}' to see all host entries.`);
  }

  let realHosts = hostsPath;
  try {
    realHosts = Deno.realPathSync(hostsPath);
  } catch {
    // 1.22.x: missing file is reported by txeh below
  }
  if (
    (realHosts === "/etc/hosts" || hostsPath === "/etc/hosts") &&
    Deno.env.get("KUBEFWD_SIM_ALLOW_ETC_HOSTS") !== "1"
  ) {
    fatal(
      "HostFile error: kubefwd simulator refuses to edit /etc/hosts (set --hosts-path or KUBEFWD_SIM_HOSTS, " +
        "or KUBEFWD_SIM_ALLOW_ETC_HOSTS=1)",
    );
  }
  const hosts = new HostsFile(hostsPath);
  try {
    Deno.readTextFileSync(hostsPath);
  } catch (e) {
    fatal(`HostFile error: ${(e as Error).message}`);
  }
  state.hosts = hosts;
  log("INFO", `Loaded hosts file ${hostsPath}\n`);
  const home = Deno.env.get("HOME");
  if (!home) fatal("Error backing up hostfile: $HOME is not defined\n");
  log(
    "INFO",
    `HostFile management: ${
      V123
        ? `Backing up hosts file ${hostsPath} to ${home}/hosts.original\n`
        : `Backing up your original hosts file ${hostsPath} to ${home}/hosts.original\n`
    }`,
  );
  if (V123) {
    const stale = hosts.countStale();
    if (stale > 0) {
      log(
        "INFO",
        `HOUSEKEEPING: Found ${stale} existing host entries in kubefwd IP range. These will not affect operation and will be preserved. Use -p to purge on next run if you no longer need them.`,
      );
    }
  }
  state.domain = flags.strings.get("domain") ?? "";
  if (state.domain) log("INFO", `Adding custom domain ${state.domain} to all forwarded entries\n`);

  const kubeconfig = flags.strings.get("kubeconfig") ?? "";
  if (kubeconfig !== "") {
    try {
      Deno.statSync(kubeconfig);
    } catch {
      fatal(`Error in get rawConfig: stat ${kubeconfig}: no such file or directory\n`);
    }
  }

  // -m: `svcPort:localPort`; 1.22.x panics on an entry without ':', v1.23+ drops it.
  for (const m of flags.slices.get("mapping") ?? []) {
    const parts = m.split(":");
    if (parts.length < 2) {
      if (!V123) panic("runtime error: index out of range [1] with length 1");
      continue;
    }
    state.mappings.set(Number(parts[0]), Number(parts[1]));
  }
  const fwdConf = flags.strings.get("fwd-conf");
  if (fwdConf) readFwdConf(fwdConf);

  let namespaces = namespacesFlag;
  if (!V125 && namespaces.length === 0 && !allNs) {
    namespaces = ["default"];
    if (scenario.contextNamespace) {
      log(
        "INFO",
        `Using namespace ${scenario.contextNamespace} from current context ${
          scenario.currentContext ?? "sim"
        }.`,
      );
      namespaces = [scenario.contextNamespace];
    }
  }
  let contexts = flags.slices.get("context") ?? [];
  if (contexts.length === 0) contexts = [scenario.currentContext ?? "sim"];

  installSignalHandlers();

  const delay = scenario.startup?.delayMs ?? 0;
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));

  if (idle) {
    log("INFO", "Server listening on http://127.2.27.1:80 (http://kubefwd.internal/)");
    log("INFO", "API server running at http://127.2.27.1:80/ (http://kubefwd.internal/)");
    log(
      "INFO",
      "Idle mode: Add namespaces via POST /api/v1/namespaces or services via POST /api/v1/services",
    );
    log("INFO", "Press [Ctrl-C] to stop.");
  }

  let namespaceCounter = 0;
  for (const [clusterN, ctx] of contexts.entries()) {
    if (scenario.contexts && !scenario.contexts.includes(ctx)) {
      // client-go's wording, as recorded from kubefwd 1.22.3
      fatal(`Error generating REST configuration: context "${ctx}" does not exist\n`);
    }
    let ctxNamespaces = namespaces;
    if (allNs) {
      if (namespaces.length > 0) fatal("Error: cannot combine options --all-namespaces and -n.");
      ctxNamespaces = Object.keys(scenario.namespaces ?? {});
    }
    if (scenario.startup?.fatal) fatal(scenario.startup.fatal);
    if (!V123) log("INFO", `Successfully connected context: ${ctx}`);
    for (const [i, ns] of ctxNamespaces.entries()) {
      const namespaceN = V125 ? namespaceCounter++ : i;
      state.watchers.push({ namespace: ns, context: ctx });
      if (V123) log("INFO", `Starting watcher for namespace ${ns} in context ${ctx}`);
      const selected = selectServices(scenario.namespaces?.[ns]?.services ?? [], ns, flags);
      for (const spec of selected) {
        if (spec.selector === false) {
          log("WARN", `WARNING: No Pod selector for service ${spec.name}.${ns}, skipping\n`);
          continue;
        }
        const svc: ServiceState = {
          spec,
          namespace: ns,
          context: ctx,
          clusterN,
          namespaceN,
          key: `${spec.name}.${ns}.${ctx}`,
          pods: [...(spec.pods ?? [])],
          forwards: [],
          reconnecting: false,
          backoffMs: 0,
          noPodsLogged: false,
          retryPending: false,
          lastSyncedAt: 0,
        };
        state.services.push(svc);
        syncService(svc, false);
      }
    }
  }

  startupDone = true;
  if (pendingSignal) {
    signalCount = 0;
    onSignal(pendingSignal);
  }
  const forwarded = new Set(state.watchers.map((w) => w.namespace));
  for (const action of scenario.actions ?? []) {
    if (action.onlyIn !== undefined && !forwarded.has(action.onlyIn)) continue;
    later(Math.max(0, action.atMs), () => runAction(action));
  }
  // Stay alive until a signal: an interval keeps the event loop busy like kubefwd's blocking wait.
  setInterval(() => {}, 1 << 30);
}

function selectServices(services: ScenarioService[], namespace: string, flags: SvcFlags): ScenarioService[] {
  let out = services;
  const labelSel = flags.strings.get("selector") ?? "";
  if (labelSel !== "") {
    const terms = parseLabelSelector(labelSel);
    out = out.filter((s) => terms.every((t) => t(s.labels ?? {})));
  }
  const fieldSel = flags.strings.get("field-selector") ?? "";
  if (fieldSel !== "") {
    let terms: FieldTerm[];
    try {
      terms = parseFieldSelector(fieldSel);
    } catch (e) {
      log("ERRO", `Runtime: failed to list *v1.Service: ${(e as Error).message}`);
      return [];
    }
    const bad = terms.find((t) => t.field !== "metadata.name" && t.field !== "metadata.namespace");
    if (bad) {
      log("ERRO", `Runtime: failed to list *v1.Service: field label not supported: ${bad.field}`);
      return [];
    }
    out = out.filter((s) =>
      terms.every((t) => {
        const actual = t.field === "metadata.name" ? s.name : namespace;
        return t.op === "=" ? actual === t.value : actual !== t.value;
      })
    );
  }
  return out;
}

function rootHelp(): void {
  writeAll(
    Deno.stdout,
    "Expose Kubernetes services for local development.\n\nUsage:\n  kubefwd [command]\n\nAvailable Commands:\n" +
      "  completion  Generate the autocompletion script for the specified shell\n" +
      "  help        Help about any command\n  services    Forward services\n" +
      "  version     Print the version of Kubefwd\n\nFlags:\n  -h, --help   help for kubefwd\n",
  );
}

async function main(): Promise<void> {
  const args = [...Deno.args];
  // kubefwd's init(): exactly `version quiet` prints the bare version before anything else.
  if (args.length === 2 && args[0] === "version" && args[1] === "quiet") {
    writeAll(Deno.stdout, `${VERSION_TEXT}\n`);
    Deno.exit(0);
  }
  const known = new Set(["services", "svcs", "svc", "version", "help", "completion", "__complete"]);
  if (V125) known.add("mcp");
  if (V125 && (args.length === 0 || !known.has(args[0]))) args.unshift("svc");
  const tui = V124 && args.includes("--tui");
  if (!tui && args[0] !== "mcp") banner();
  if (args.length === 0) {
    rootHelp();
    Deno.exit(0);
  }
  const [cmd, ...rest] = args;
  switch (cmd) {
    case "version":
      writeAll(
        Deno.stdout,
        `Kubefwd version: ${VERSION_TEXT}\n${
          V125 ? "https://kubefwd.com" : "https://github.com/txn2/kubefwd"
        }\n`,
      );
      Deno.exit(0);
      break;
    case "services":
    case "svcs":
    case "svc":
      await runSvc(rest);
      break;
    case "help":
      rootHelp();
      Deno.exit(0);
      break;
    case "mcp":
    case "completion":
    case "__complete":
      stderr(`kubefwd simulator: '${cmd}' is not simulated`);
      Deno.exit(1);
      break;
    default:
      if (cmd.startsWith("-")) {
        stderr(
          `Error: unknown ${
            cmd.startsWith("--") ? "flag: " + cmd.split("=")[0] : `shorthand flag: '${cmd[1]}' in ${cmd}`
          }`,
        );
      } else {
        stderr(`Error: unknown command "${cmd}" for "kubefwd"\nRun 'kubefwd --help' for usage.`);
      }
      Deno.exit(1);
  }
}

if (import.meta.main) {
  await main();
}
