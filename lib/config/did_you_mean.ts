/**
 * "Did you mean" suggestions for unknown keys and enum values: a typo in a config key must never be
 * silently ignored, and the error is far more useful when it names the intended key.
 */

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), so "lable" -> "label"
 * costs 1 like a single typo does.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => {
    const row = new Array<number>(cols).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[rows - 1][cols - 1];
}

/** Case, `_` and `-` are ignored so that `logLevel`, `log-level` and `LOG_LEVEL` all find `log_level`. */
function normalize(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, "");
}

/**
 * The candidate closest to `input`, or undefined when none is close enough to be a plausible typo
 * (at most one edit per three characters, minimum one). Ties go to the earlier candidate, so callers
 * list candidates in a sensible order.
 */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const norm = normalize(input);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === input) continue;
    const c = normalize(candidate);
    // A longer or shorter spelling of the same word ("warning" for "warn") counts as about one edit.
    const prefix = Math.min(c.length, norm.length) >= 3 && (c.startsWith(norm) || norm.startsWith(c));
    const edits = c === norm ? 0 : editDistance(input.toLowerCase(), candidate.toLowerCase());
    // Just over one edit, growing with the length difference, so closer spellings still win ties.
    const distance = prefix ? Math.min(edits, 1 + Math.abs(c.length - norm.length) / 10) : edits;
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.floor(Math.max(input.length, best.length) / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** Formats the suffix used in messages: ` (did you mean "x"?)`, or "" without a suggestion. */
export function didYouMean(suggestion: string | undefined): string {
  return suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`;
}
