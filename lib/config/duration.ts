/**
 * Go-style durations ("500ms", "1s", "2m", "1h30m", "1.5s") in whole milliseconds.
 *
 * Dependency-free on purpose (its one import, lib/errors.ts, has none): the daemon imports it (it must
 * not load yaml/zod), and the config validator uses it to turn the file's strings into the `…Ms` numbers
 * of the resolved config.
 */
import { NamedError } from "../errors.ts";

/** Milliseconds per accepted unit. Sub-millisecond units are refused: every timer here is in ms. */
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Thrown by {@link parseDuration}; the message, written for the config file's author, names the offending
 * text (and the accepted units), ready for a diagnostic.
 */
export class DurationError extends NamedError {}

/** A number and its unit; spaces between them are matched only to say what to write instead. */
const TERM = /(\d+(?:\.\d*)?|\.\d+)(\s*)([a-zA-Zµμ]*)/y;

/** Units people write in words, and the unit meant. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  millisecond: "ms",
  milliseconds: "ms",
  msec: "ms",
  msecs: "ms",
  sec: "s",
  secs: "s",
  second: "s",
  seconds: "s",
  min: "m",
  mins: "m",
  minute: "m",
  minutes: "m",
  hr: "h",
  hrs: "h",
  hour: "h",
  hours: "h",
};

/**
 * Parses a duration into milliseconds. A leading sign is accepted so that callers can say "must be
 * greater than zero" for "-5s" instead of the vaguer "invalid duration"; a bare "0" is accepted for
 * the same reason. Units must be given (a bare "10" is ambiguous between ms and s), fractions are fine
 * as long as the result is a whole number of milliseconds.
 */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === "") throw new DurationError("empty duration");
  let i = 0;
  let sign = 1;
  if (input[0] === "-" || input[0] === "+") {
    if (input[0] === "-") sign = -1;
    i = 1;
  }
  if (input.slice(i) === "0") return 0;
  if (i >= input.length) throw new DurationError(`invalid duration "${text}"`);
  let total = 0;
  while (i < input.length) {
    TERM.lastIndex = i;
    const m = TERM.exec(input);
    if (m === null) {
      throw new DurationError(`invalid duration "${text}" (expected a number followed by ms, s, m or h)`);
    }
    const [whole, num, space, unit] = m;
    const meant = UNIT_MS[unit] !== undefined ? unit : UNIT_WORDS[unit.toLowerCase()];
    if (meant !== undefined && (space !== "" || meant !== unit)) {
      const what = meant !== unit ? `unknown unit "${unit}"` : "a space before its unit";
      throw new DurationError(`duration "${text}" has ${what}; write ${num}${meant} (units: ms, s, m, h)`);
    }
    if (unit === "") {
      throw new DurationError(
        `duration "${text}" has no unit (write e.g. "${num}s" or "${num}ms"; units: ms, s, m, h)`,
      );
    }
    const factor = UNIT_MS[unit];
    if (factor === undefined) {
      const hint = unit === "us" || unit === "µs" || unit === "μs" || unit === "ns"
        ? " (sub-millisecond units are not supported)"
        : unit === "d"
        ? ` (days are not supported; use ${Number(num) * 24}h)`
        : "";
      throw new DurationError(`duration "${text}" has unknown unit "${unit}"${hint}; units: ms, s, m, h`);
    }
    total += Number(num) * factor;
    i += whole.length;
  }
  const rounded = Math.round(total);
  if (Math.abs(total - rounded) > 1e-6) {
    throw new DurationError(`duration "${text}" is not a whole number of milliseconds`);
  }
  if (!Number.isSafeInteger(rounded)) throw new DurationError(`duration "${text}" is too large`);
  return sign * rounded;
}

/**
 * Non-throwing variant for validators that collect every problem at once.
 */
export function tryParseDuration(text: string): { ok: true; ms: number } | { ok: false; error: string } {
  try {
    return { ok: true, ms: parseDuration(text) };
  } catch (e) {
    if (e instanceof DurationError) return { ok: false, error: e.message };
    throw e;
  }
}

/**
 * Formats milliseconds the way Go prints durations ("1h30m", "1m30.5s", "500ms", "0s"), so
 * `config show` output can be pasted back into a config file: parseDuration(formatDuration(x)) === x.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.round(Math.abs(ms));
  if (rest < 1000) return `${sign}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  let out = sign;
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (rest > 0) {
    const s = Math.floor(rest / 1000);
    const frac = rest % 1000;
    out += frac === 0 ? `${s}s` : `${s}.${String(frac).padStart(3, "0").replace(/0+$/, "")}s`;
  }
  return out;
}
