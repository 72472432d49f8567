/**
 * Does a service have a Ready pod? Asked the way kubefwd finds a service's pods (its selector, then the
 * pods it matches), so the answer needs no permission kubefwd itself lacks and no controller manager
 * (Endpoints and EndpointSlices are maintained by one). Two small GETs with the profile's own client: the
 * service once (its selector), then its running pods. docs/kubefwd-compatibility.md#pod-gone-and-back.
 */

/** What the API server says about a service's pods. */
export type ReadyPodsAnswer =
  /** The service exists with a selector; `ready` of its pods are Ready and not being deleted. */
  | { kind: "pods"; ready: number }
  /** The service is gone, or has no selector: kubefwd forwards nothing of it. */
  | { kind: "no_service" }
  /** No answer that says either (API server away, no permission, a bad reply). */
  | { kind: "unknown"; why: string };

/** How one HTTP GET is made (the profile's authenticated client); never throws for an HTTP status. */
export type GetJson = (path: string, timeoutMs: number) => Promise<{ status: number; body: unknown }>;

/**
 * A service's label selector as a `labelSelector` query value (`a=b,c=d`), or undefined when it has none
 * (a service without a selector has no pods kubefwd could forward). Pure.
 */
export function selectorOfService(body: unknown): string | undefined {
  const selector = (body as { spec?: { selector?: unknown } } | null)?.spec?.selector;
  if (selector === null || typeof selector !== "object") return undefined;
  const pairs = Object.entries(selector as Record<string, unknown>)
    .filter(([, v]) => typeof v === "string")
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  return pairs.length > 0 ? pairs.join(",") : undefined;
}

/** How many pods of a pod list are Ready and not being deleted; undefined when it is not a list. Pure. */
export function countReadyPods(body: unknown): number | undefined {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return undefined;
  return items.filter((pod) => {
    const p = pod as {
      metadata?: { deletionTimestamp?: unknown };
      status?: { conditions?: { type?: unknown; status?: unknown }[] };
    } | null;
    if (p?.metadata?.deletionTimestamp) return false;
    const conditions = Array.isArray(p?.status?.conditions) ? p.status.conditions : [];
    return conditions.some((c) => c?.type === "Ready" && c?.status === "True");
  }).length;
}

/**
 * Asks about `service` in `namespace`. `selectors` caches each service's selector for the caller (it does
 * not change while a pod comes and goes), so a poll is one pod list.
 */
export async function readyPodsOf(
  get: GetJson,
  namespace: string,
  service: string,
  timeoutMs: number,
  selectors: Map<string, string>,
): Promise<ReadyPodsAnswer> {
  const ns = encodeURIComponent(namespace);
  const cacheKey = `${namespace}/${service}`;
  try {
    let selector = selectors.get(cacheKey);
    if (selector === undefined) {
      const svc = await get(`/api/v1/namespaces/${ns}/services/${encodeURIComponent(service)}`, timeoutMs);
      if (svc.status === 404) return { kind: "no_service" };
      if (svc.status !== 200) return { kind: "unknown", why: `service ${service}: HTTP ${svc.status}` };
      selector = selectorOfService(svc.body);
      if (selector === undefined) return { kind: "no_service" };
      if (selectors.size < 1000) selectors.set(cacheKey, selector);
    }
    const query = `labelSelector=${encodeURIComponent(selector)}` +
      `&fieldSelector=${encodeURIComponent("status.phase=Running")}`;
    const pods = await get(`/api/v1/namespaces/${ns}/pods?${query}`, timeoutMs);
    if (pods.status !== 200) return { kind: "unknown", why: `pods of ${service}: HTTP ${pods.status}` };
    const ready = countReadyPods(pods.body);
    return ready === undefined
      ? { kind: "unknown", why: `pods of ${service}: not a list` }
      : { kind: "pods", ready };
  } catch (e) {
    const err = e as Error;
    return {
      kind: "unknown",
      why: err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : err.message,
    };
  }
}
