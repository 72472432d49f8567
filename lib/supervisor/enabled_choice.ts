/**
 * The rules around a profile's effective `enabled` (the config's value, or the CLI's persisted
 * enable/disable override): when a reload's change is masked by an override, when running a profile would
 * overlap another one, and what `reset` did. Pure; the Supervisor applies them.
 */
import { namespaceOverlaps, overlapMessage } from "../config/overlap.ts";
import type { ProfileSpec } from "../config/types.ts";
import { UserError } from "../errors.ts";
import type { MaskedEnabled } from "../ipc/protocol.ts";

/**
 * A reload changed the config's `enabled` of a profile, but its override still decides: the user must hear
 * about it (`reload` prints it, with `reset` as the way out). Undefined when nothing is masked.
 */
export function maskedEnabled(
  name: string,
  before: boolean,
  after: boolean,
  override: boolean | undefined,
): MaskedEnabled | undefined {
  if (before === after || override === undefined || override === after) return undefined;
  return { profile: name, configEnabled: after, override };
}

/** A profile as the overlap guard sees it. */
export interface Candidate {
  /** The profile's name. */
  name: string;
  /** Its config: context, kubeconfig and namespaces count. */
  spec: ProfileSpec;
}

/**
 * The refusal to run `starting` next to `running` (the profiles that run or are enabled) when two of them
 * would forward the same namespace of the same context, as `config validate` refuses it for the config.
 * The daemon cannot read kubeconfigs: a profile without a context counts as the current one. Undefined
 * when there is no overlap.
 */
export function overlapRefusal(
  verb: string,
  starting: readonly Candidate[],
  running: readonly Candidate[],
): UserError | undefined {
  const names = new Set(starting.map((c) => c.name));
  const claims = [...running.filter((c) => !names.has(c.name)), ...starting].map((c) => c.spec);
  const overlaps = namespaceOverlaps(claims, () => undefined).filter((o) => names.has(o.profile));
  if (overlaps.length === 0) return undefined;
  const o = overlaps[0];
  return new UserError("conflict", `cannot ${verb} "${o.profile}": ${overlapMessage(o)}`, {
    details: { overlaps },
  });
}

/** What `reset` did to one profile, for its result line. */
export function resetOutcome(override: boolean | undefined, configEnabled: boolean): string {
  const config = `${configEnabled ? "enabled" : "disabled"} in the config`;
  if (override === undefined) return `no override (${config})`;
  if (override === configEnabled) return `override dropped (${config})`;
  return `override dropped (${config}): ${configEnabled ? "started" : "stopped"}`;
}
