/**
 * The one "is this a JSON object?" check for values parsed from untrusted JSON (state file, IPC frames,
 * subprocess output), so that every decoder agrees on what an object is.
 */

/** True for a non-null object that is not an array: what `JSON.parse` returns for `{…}`. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
