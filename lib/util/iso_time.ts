/**
 * The one conversion from the supervisor's epoch-millisecond clock readings to the ISO 8601 strings that
 * `status`, events and the state file carry, so every timestamp a user or script reads has one format.
 */

/** `ms` (epoch milliseconds, as the supervisor's clock returns them) as an ISO 8601 UTC timestamp. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
