/**
 * The policy behind bringing back a service whose pods were all gone, for a kubefwd without a pod watch
 * (1.22.x): such a kubefwd lists a service's pods once, at its start, so a service that had no pod then is
 * never forwarded by it, however soon a replacement is Ready. The daemon remembers which services its
 * children forwarded, asks the API server about the ones now missing, and restarts kubefwd once one of them
 * has had a Ready pod for a short grace. A service without a Ready pod never causes a restart, and nothing is
 * asked while the API server does not answer. Pure: time and answers are parameters; pod_return_watch.ts
 * does the I/O. docs/kubefwd-compatibility.md#pod-gone-and-back.
 */
import type { ReadyPodsAnswer } from "../kube/ready_pods.ts";
import type { ForwardState } from "./types.ts";

/** The cause key prefix of these restarts (the restart throttle holds a repeat of the same key). */
export const POD_RETURN_CAUSE = "pod returned: ";

/** `namespace/service`: how a service is named here. */
export type ServiceKey = string;

/** The key of `service` in `namespace`. */
export function serviceKey(namespace: string, service: string): ServiceKey {
  return `${namespace}/${service}`;
}

/** The namespace and service of a key made by {@link serviceKey}. */
export function splitKey(key: ServiceKey): { namespace: string; service: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), service: key.slice(slash + 1) };
}

/**
 * The service of a forward from its hostname: `svc`, `svc.ns` (a later namespace), `pod.svc` or `pod.svc.ns`
 * (a headless service's per-pod forwards). Service names have no dots, so the service is the last label
 * once the namespace is taken off.
 */
export function serviceOfForward(f: { hostname: string; namespace: string }): ServiceKey {
  const suffix = `.${f.namespace}`;
  const rest = f.hostname.endsWith(suffix) ? f.hostname.slice(0, -suffix.length) : f.hostname;
  return serviceKey(f.namespace, rest.slice(rest.lastIndexOf(".") + 1));
}

/** What {@link missingServices} looks at. */
export interface MissingFacts {
  /** Services a child of this profile forwarded before (under its current config). */
  known: readonly ServiceKey[];
  /** The current child's forwards. */
  forwards: readonly { hostname: string; namespace: string; state: ForwardState }[];
  /** The current child has run long enough to have announced what it forwards. */
  settled: boolean;
  /** The daemon's check of the API server passes. */
  apiReachable: boolean;
  /** At most this many services are asked about per round … */
  maxPolled: number;
  /** … taking turns: round `n` starts at the `n * maxPolled`-th missing service. */
  round?: number;
}

/**
 * The services to ask about now: known ones the current child does not forward (never announced, or every
 * forward of it down). None before the child settled or while the API server does not answer.
 */
export function missingServices(facts: MissingFacts): ServiceKey[] {
  if (!facts.settled || !facts.apiReachable) return [];
  const forwarding = new Set(
    facts.forwards.filter((f) => f.state !== "down").map((f) => serviceOfForward(f)),
  );
  const missing = facts.known.filter((k) => !forwarding.has(k));
  if (missing.length <= facts.maxPolled) return missing;
  const start = ((facts.round ?? 0) * facts.maxPolled) % missing.length;
  return [...missing.slice(start), ...missing.slice(0, start)].slice(0, facts.maxPolled);
}

/** What {@link podReturnVerdict} decides on. */
export interface VerdictFacts {
  now: number;
  /** The services missing right now ({@link missingServices}, taken after the answers came in). */
  missing: readonly ServiceKey[];
  /** The answers of this round. */
  answers: ReadonlyMap<ServiceKey, ReadyPodsAnswer>;
  /** Since when each service has been seen with a Ready pod, round after round. */
  readySince: ReadonlyMap<ServiceKey, number>;
  /** Services a restart was already asked for in this child's life (once is enough: it ends the child). */
  asked: ReadonlySet<ServiceKey>;
  /** How long a Ready pod must have been seen before kubefwd is restarted for it. */
  graceMs: number;
}

/** What to do after a round. */
export interface PodReturnVerdict {
  /** The services seen with a Ready pod, and since when (the others start afresh). */
  readySince: Map<ServiceKey, number>;
  /** Services the API server no longer has (or without a selector): stop remembering them. */
  forget: ServiceKey[];
  /** Restart kubefwd for these services (sorted), or nothing. */
  restart: ServiceKey[];
  /** Ask again after this long, when a Ready pod is waiting out its grace; else at the usual interval. */
  confirmInMs?: number;
}

/**
 * A missing service whose Ready pod has been seen for `graceMs` gets a restart; one still in its grace is
 * asked about again once the grace is over; one without a Ready pod, or with no answer, starts over.
 */
export function podReturnVerdict(facts: VerdictFacts): PodReturnVerdict {
  const verdict: PodReturnVerdict = { readySince: new Map(), forget: [], restart: [] };
  for (const key of facts.missing) {
    const answer = facts.answers.get(key);
    if (answer?.kind === "no_service") verdict.forget.push(key);
    if (answer?.kind !== "pods" || answer.ready === 0) continue;
    const since = facts.readySince.get(key) ?? facts.now;
    verdict.readySince.set(key, since);
    const waited = facts.now - since;
    if (facts.asked.has(key)) continue;
    if (waited >= facts.graceMs) verdict.restart.push(key);
    else verdict.confirmInMs = Math.min(verdict.confirmInMs ?? Infinity, facts.graceMs - waited);
  }
  verdict.restart.sort();
  return verdict;
}
