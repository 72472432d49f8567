/**
 * What a live child's forwards mean for its profile: the state they call for (`running` only once every
 * announced forward has answered) and the one-line explanation `status` shows next to the state (what is
 * pending, what is down, that nothing is forwarded). Pure; the runner applies it.
 */
import type { ProfileSpec } from "../config/types.ts";
import type { ForwardSummary } from "./forward_tracker.ts";
import type { ProfileState } from "./types.ts";

/**
 * The state the forwards of a live child call for, or undefined to keep the current one: any forward down
 * → `degraded`; every forward up → `running`; some still pending (announced, not yet answering) → no
 * change, so a profile stays `starting` until its forwards are proven. No forwards at all: no change (the
 * startup grace decides, see {@link emptyVerdict}).
 */
export function stateFromForwards(summary: ForwardSummary): "running" | "degraded" | undefined {
  if (summary.total === 0) return undefined;
  if (summary.down.length > 0 || (summary.unverified?.length ?? 0) > 0) return "degraded";
  if (summary.pending.length > 0) return undefined;
  return "running";
}

/**
 * The reason and detail of entering `degraded` because of the forwards: the cause when one is known
 * (`apiserver unreachable since …`, `pod not reachable`, `kubefwd stalled`), with the counts.
 */
export function degradedBecause(summary: ForwardSummary): { reason: string; detail: string } {
  const unverified = summary.unverified ?? [];
  const counts = [
    summary.down.length > 0 ? `${summary.down.length} of ${summary.total} forwards down` : "",
    unverified.length > 0 ? `${unverified.length} of ${summary.total} forwards unverified` : "",
  ].filter((s) => s !== "").join(", ");
  const reason = summary.cause ? `${summary.cause}: ${counts}` : counts;
  return { reason, detail: [...summary.down, ...unverified].slice(0, 10).join(", ") };
}

/** A change of state the forwards of a live child call for, with the transition's reason and detail. */
export type ForwardsVerdict =
  | { state: "degraded"; reason: string; detail: string }
  | { state: "running"; reason: string };

/**
 * The transition the forwards of a live child call for from the profile's `current` state, or undefined to
 * stay: `degraded` with its cause and the forwards concerned ({@link degradedBecause}), or `running` saying
 * that every forward answers (the first time) or is up again.
 */
export function forwardsVerdict(summary: ForwardSummary, current: ProfileState): ForwardsVerdict | undefined {
  const target = stateFromForwards(summary);
  if (target === undefined || target === current) return undefined;
  if (target === "degraded") return { state: "degraded", ...degradedBecause(summary) };
  const { total } = summary;
  const reason = current !== "starting"
    ? "all forwards up"
    : total === 1
    ? "the forward answers"
    : `all ${total} forwards answer`;
  return { state: "running", reason };
}

/** What to say about a child that announced nothing within the startup grace. */
export interface EmptyVerdict {
  /** The state to enter. */
  state: "running" | "degraded";
  /** The transition's reason. */
  reason: string;
  /** The transition's detail. */
  detail: string;
}

/** The profile facts an explanation names. */
export interface ProfileFacts {
  /** The profile's namespaces. */
  namespaces: readonly string[];
  /** The profile's label selector terms. */
  labels: readonly string[];
  /** `allow_empty: true`: forwarding nothing is fine. */
  allowEmpty: boolean;
}

/** The facts of a profile's spec, read one way for both the runner's verdicts and `status`. */
export function profileFacts(spec: Pick<ProfileSpec, "namespaces" | "labels" | "allowEmpty">): ProfileFacts {
  return { namespaces: spec.namespaces, labels: spec.labels, allowEmpty: spec.allowEmpty ?? false };
}

/** Why nothing is forwarded, in the profile's own terms. */
export function nothingMatches(p: ProfileFacts): string {
  const ns = `namespace${p.namespaces.length === 1 ? "" : "s"} ${p.namespaces.join(", ")}`;
  const labels = p.labels.length > 0 ? ` with labels ${p.labels.join(",")}` : "";
  return `no service in ${ns}${labels} is forwarded; check namespaces and labels, or set allow_empty: true`;
}

/**
 * A child that announced no forward within the startup grace: `running` when the profile allows being
 * empty, else `degraded` with the reason, so neither `running` nor `--wait-healthy` claims it works.
 */
export function emptyVerdict(p: ProfileFacts): EmptyVerdict {
  if (p.allowEmpty) {
    return {
      state: "running",
      reason: "kubefwd is up and forwards nothing",
      detail: "allowed by allow_empty",
    };
  }
  return { state: "degraded", reason: "kubefwd is up but forwards nothing", detail: nothingMatches(p) };
}

/** Input of {@link stateDetail}. */
export interface DetailInput extends ProfileFacts {
  /** The profile's current state. */
  state: ProfileState;
  /** The live child's forwards; undefined when no child runs. */
  forwards?: ForwardSummary;
  /** The startup grace of the live child is over. */
  graceOver: boolean;
  /** The namespace of every announced forward: a listed namespace with none forwards nothing. */
  forwardNamespaces?: readonly string[];
}

/** At most this many `host:port` names in one detail line. */
const MAX_NAMED = 5;

function named(list: string[]): string {
  const shown = list.slice(0, MAX_NAMED).join(", ");
  return list.length > MAX_NAMED ? `${shown}, … (${list.length - MAX_NAMED} more)` : shown;
}

/**
 * One line explaining the state of a profile with a live child (`status`'s `stateDetail`), or null when
 * there is nothing to add (every forward up, or no child).
 */
export function stateDetail(input: DetailInput): string | null {
  const f = input.forwards;
  if (f === undefined) return null;
  if (input.state !== "starting" && input.state !== "running" && input.state !== "degraded") return null;
  if (f.total === 0) {
    if (!input.graceOver) return "waiting for kubefwd to announce forwards";
    return input.allowEmpty
      ? "forwards nothing (allowed by allow_empty)"
      : `forwards nothing: ${nothingMatches(input)}`;
  }
  const parts: string[] = [];
  if (f.cause) parts.push(f.cause);
  if (f.down.length > 0) parts.push(`${f.down.length} of ${f.total} forwards down: ${named(f.down)}`);
  const unverified = f.unverified ?? [];
  if (unverified.length > 0) {
    parts.push(`${unverified.length} of ${f.total} forwards unverified: ${named(unverified)}`);
  }
  const silent = input.graceOver && !input.allowEmpty && input.forwardNamespaces !== undefined
    ? input.namespaces.filter((ns) => !input.forwardNamespaces!.includes(ns))
    : [];
  if (silent.length > 0) {
    parts.push(
      `${nothingMatches({ ...input, namespaces: silent }).replace(/, or set allow_empty: true$/, "")}`,
    );
  }
  if (f.pending.length > 0) {
    parts.push(`${f.pending.length} of ${f.total} forwards not answering yet: ${named(f.pending)}`);
  }
  return parts.length > 0 ? parts.join("; ") : null;
}
