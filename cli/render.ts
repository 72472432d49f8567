/**
 * Human rendering: ANSI colours (only when allowed), aligned tables, durations and ages. Kept free of
 * dependencies; colour decisions come from the CLI context.
 */
import { stripAnsi } from "../lib/kubefwd/output.ts";
import type { ForwardState, ProfileState } from "../lib/supervisor/types.ts";

/** Colour helpers bound to one on/off decision. */
export interface Painter {
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

/** Painter that colours when `enabled`, else returns text unchanged. */
export function painter(enabled: boolean): Painter {
  const wrap = (open: number, close: number) => (s: string) =>
    enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s;
  return {
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    red: wrap(31, 39),
    cyan: wrap(36, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22),
  };
}

/** Visible width of a string that may contain ANSI colour codes. */
export function visibleWidth(s: string): number {
  return [...stripAnsi(s)].length;
}

/** Align rows into columns separated by two spaces; the header row is printed as given. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, visibleWidth(cell)));
  }
  return rows.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell + " ".repeat(widths[i] - visibleWidth(cell)))
      .join("  ").trimEnd()
  ).join("\n");
}

/** Colour a profile state by its meaning: healthy green, transitional yellow, broken red. */
export function paintState(state: ProfileState, p: Painter): string {
  switch (state) {
    case "running":
      return p.green(state);
    case "starting":
    case "stopping":
    case "degraded":
    case "backoff":
      return p.yellow(state);
    case "failed":
      return p.red(state);
    default:
      return p.dim(state);
  }
}

/** Colour a forward state. */
export function paintForwardState(state: ForwardState, p: Painter): string {
  if (state === "up") return p.green(state);
  return state === "down" || state === "failed" ? p.red(state) : p.yellow(state); // pending, unverified
}

/** `3d4h`, `2h5m`, `4m10s`, `12s` — two units at most, for tables. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const units: [string, number][] = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
  const parts: string[] = [];
  let rest = s;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || (parts.length === 0 && size === 1)) parts.push(`${n}${name}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.join("");
}

/** Clip a string to `max` visible characters with an ellipsis. */
export function clip(s: string, max: number): string {
  const flat = s.replace(/\s*\n\s*/g, " ");
  return flat.length <= max ? flat : flat.slice(0, max - 1) + "…";
}

/** `12s ago` or `in 7s` for an ISO timestamp relative to `now` (ms); `now` within a second is `just now`. */
export function relativeTime(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const diff = Math.round((at - now) / 1000);
  if (diff === 0) return "just now";
  return diff > 0 ? `in ${formatAge(diff)}` : `${formatAge(-diff)} ago`;
}
