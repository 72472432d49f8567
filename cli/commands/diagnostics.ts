/** One-line rendering of a config diagnostic, for verbs that relay the daemon's validation result. */
import type { Diagnostic } from "../../lib/config/types.ts";

/** `file:line:col: error: key.path: message`. */
export function formatDiagnosticLine(severity: "error" | "warning", d: Diagnostic, file?: string): string {
  const where = [file, d.line, d.column].filter((x) => x !== undefined).join(":");
  const path = d.path.length ? `${d.path.join(".")}: ` : "";
  return `${where ? where + ": " : ""}${severity}: ${path}${d.message}`;
}
