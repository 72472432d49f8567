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

/** A profile as it stands before a reload, for {@link reloadRefusals}. */
export interface CurrentProfile extends Candidate {
  /** Effective `enabled` before the reload. */
  enabled: boolean;
  /** A child is being started or runs, or a retry is due (backoff, failed): a changed spec restarts it. */
  live: boolean;
}

/** A profile of the new config with its effective `enabled` (the CLI override, else the config). */
export interface NextProfile extends Candidate {
  /** Effective `enabled` after the reload. */
  enabled: boolean;
}

/** Why a reload leaves a profile alone: it would share a namespace with one that keeps running. */
export interface ReloadRefusal {
  /** `new`: added but not started; `kept`: keeps its previous config (and state). */
  kind: "new" | "kept";
  /** The warning `reload` prints. */
  message: string;
}

/**
 * The profiles a reload must not start, or restart into new namespaces, because a profile that keeps running
 * forwards the same namespace of the same context. `config validate` only compares profiles enabled in the
 * file, so it cannot see a profile started with a one-off `start` or enabled from the CLI. Profiles the
 * reload removes count for nothing; the running one is never touched.
 */
export function reloadRefusals(
  next: readonly NextProfile[],
  current: ReadonlyMap<string, CurrentProfile>,
): Map<string, ReloadRefusal> {
  const starting: (NextProfile & { kind: ReloadRefusal["kind"] })[] = [];
  for (const p of next) {
    const now = current.get(p.name);
    if (now === undefined) {
      if (p.enabled) starting.push({ ...p, kind: "new" });
      continue;
    }
    const claimChanged = JSON.stringify(claimOf(now.spec)) !== JSON.stringify(claimOf(p.spec));
    if ((claimChanged && now.live) || (!now.enabled && p.enabled && !now.live)) {
      starting.push({ ...p, kind: "kept" });
    }
  }
  const names = new Set(starting.map((s) => s.name));
  const staying = next.filter((p) => !names.has(p.name)).flatMap((p) => {
    const now = current.get(p.name);
    return now !== undefined && (now.live || p.enabled) ? [{ name: p.name, spec: now.spec }] : [];
  });
  const refused = new Map<string, ReloadRefusal>();
  const overlaps = namespaceOverlaps([...staying, ...starting].map((c) => c.spec), () => undefined);
  for (const o of overlaps) {
    const s = starting.find((c) => c.name === o.profile);
    if (s === undefined || names.has(o.owner) || refused.has(s.name)) continue;
    const why =
      `namespace "${o.namespace}" of context "${o.context}" is also forwarded by profile "${o.owner}", ` +
      "which runs outside the config (a one-off `start` or an `enable`); their /etc/hosts entries would " +
      "overwrite each other";
    refused.set(s.name, {
      kind: s.kind,
      message: s.kind === "new"
        ? `profile ${s.name} was not started: ${why}; stop ${o.owner}, then start ${s.name}`
        : `profile ${s.name} keeps its previous config: ${why}; stop ${o.owner}, then reload`,
    });
  }
  return refused;
}

function claimOf(spec: ProfileSpec): unknown {
  return [spec.context ?? null, spec.kubeconfig, spec.namespaces];
}
