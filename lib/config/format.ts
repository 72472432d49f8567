/**
 * Rendering of validation results: the human form of `config validate` (compiler-style lines a user
 * and an editor can jump from, with a code frame) and its JSON form (a fixed shape for scripts).
 * Dependency-free; golden-tested in tests/config/golden_test.ts.
 */
import type { Diagnostic, LoadResult } from "./types.ts";

/** Severity of a diagnostic as printed. */
export type Severity = "error" | "warning";

/** Options of the human renderer. */
export interface HumanFormatOptions {
  /** ANSI colours (the caller decides: TTY, NO_COLOR, --no-color). */
  color?: boolean;
  /** Source text, for code frames under each positioned diagnostic. */
  source?: string;
}

const RED = "\x1b[31;1m";
const YELLOW = "\x1b[33;1m";
const BOLD = "\x1b[1m";
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

/** `profiles.dev.namespaces[1]`: how a key path is shown to people. */
export function keyPathText(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      // Quote segments that would make the path ambiguous, e.g. a profile named "a b" or "a.b".
      const text = /^[A-Za-z0-9_<>-]+$/.test(seg) ? seg : JSON.stringify(seg);
      out += out === "" ? text : `.${text}`;
    }
  }
  return out;
}

/**
 * One line `file:line:col: error: key.path: message`. Without a position the location is just `file`;
 * without a key path (syntax errors, file-level problems) that part is left out.
 */
export function formatDiagnosticLine(
  file: string,
  d: Diagnostic,
  severity: Severity,
  color = false,
): string {
  const loc = d.line !== undefined ? `${file}:${d.line}:${d.column ?? 1}` : file;
  const sev = color ? `${severity === "error" ? RED : YELLOW}${severity}${RESET}` : severity;
  const key = d.path.length > 0 ? `${color ? BOLD : ""}${keyPathText(d.path)}${color ? RESET : ""}: ` : "";
  return `${color ? BOLD : ""}${loc}${color ? RESET : ""}: ${sev}: ${key}${d.message}`;
}

/** Two lines quoting the source line and pointing at the column, like compilers do. */
export function codeFrame(source: string, line: number, column: number, color = false): string[] {
  const lines = source.split(/\r?\n/);
  const text = lines[line - 1];
  if (text === undefined || text.trim() === "") return [];
  // The gutter fits the file's last line number so frames of one report line up with each other.
  const gutter = String(lines.length).length + 1;
  const bar = color ? `${DIM}|${RESET}` : "|";
  // Tabs are kept so the caret lines up under the same characters in a terminal.
  const pad = text.slice(0, Math.max(0, column - 1)).replace(/[^\t]/g, " ");
  const caret = color ? `${RED}^${RESET}` : "^";
  return [
    `${String(line).padStart(gutter)} ${bar} ${text.trimEnd()}`,
    `${" ".repeat(gutter)} ${bar} ${pad}${caret}`,
  ];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The full human report: errors then warnings, each in position order with an optional code frame,
 * and a closing summary line (`N errors and M warnings in FILE`, or `FILE: valid …`).
 */
export function formatHuman(result: LoadResult, opts: HumanFormatOptions = {}): string {
  const out: string[] = [];
  const emit = (d: Diagnostic, severity: Severity) => {
    out.push(formatDiagnosticLine(result.file, d, severity, opts.color));
    if (opts.source !== undefined && d.line !== undefined) {
      out.push(...codeFrame(opts.source, d.line, d.column ?? 1, opts.color));
    }
  };
  for (const d of result.errors) emit(d, "error");
  for (const d of result.warnings) emit(d, "warning");
  if (result.errors.length > 0) {
    out.push(
      `${plural(result.errors.length, "error")}` +
        (result.warnings.length > 0 ? ` and ${plural(result.warnings.length, "warning")}` : "") +
        ` in ${result.file}`,
    );
  } else {
    const profiles = result.config?.profiles ?? [];
    const enabled = profiles.filter((p) => p.enabled).length;
    out.push(
      `${result.file}: valid (${plural(profiles.length, "profile")}, ${enabled} enabled` +
        (result.warnings.length > 0 ? `; ${plural(result.warnings.length, "warning")}` : "") + ")",
    );
  }
  return out.join("\n");
}

/** One diagnostic in the JSON report; line/column are null when no position is known. */
export interface JsonDiagnostic {
  /** Key path of the finding, e.g. `["profiles", "dev", "namespaces", 0]`. */
  path: (string | number)[];
  /** 1-based line, or null when the finding has no position (e.g. a missing required key). */
  line: number | null;
  /** 1-based column, or null like `line`. */
  column: number | null;
  /** What is wrong, in one sentence. */
  message: string;
}

/** The `config validate --json` document. */
export interface ValidateJson {
  /** True when there are no errors (warnings do not count). */
  valid: boolean;
  /** Every error found, in file order: the user fixes them all in one pass. */
  errors: JsonDiagnostic[];
  /** Findings that do not stop the daemon from using the config. */
  warnings: JsonDiagnostic[];
}

function jsonDiagnostic(d: Diagnostic): JsonDiagnostic {
  return { path: d.path, line: d.line ?? null, column: d.column ?? null, message: d.message };
}

/**
 * The fixed-shape JSON of `config validate --json`: every key always present, so scripts can use
 * `.errors[].line` without checking for absence.
 */
export function toValidateJson(result: LoadResult): ValidateJson {
  return {
    valid: result.errors.length === 0,
    errors: result.errors.map(jsonDiagnostic),
    warnings: result.warnings.map(jsonDiagnostic),
  };
}
