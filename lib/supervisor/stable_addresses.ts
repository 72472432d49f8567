/**
 * The runner's side of stable addresses: every `Port-Forward:` line tells which address a forward got, and the
 * profile's record keeps the newest one per forward so the next kubefwd is asked for it
 * (docs/kubefwd-compatibility.md#stable-addresses).
 */
import { addressOfForward } from "../kubefwd/reservations.ts";
import type { ForwardAnnouncement } from "../kubefwd/types.ts";
import type { ProfileRecord } from "./profile_record.ts";

/** Remembers the address of an announced forward; lines it cannot attribute to a namespace are ignored. */
export function rememberAnnounced(
  record: ProfileRecord,
  forward: ForwardAnnouncement,
  namespaces: readonly string[],
  now: number,
): void {
  const address = addressOfForward(forward, namespaces);
  if (address !== undefined) record.rememberAddress(address, now);
}
