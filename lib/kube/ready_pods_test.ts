import assert from "node:assert/strict";
import { countReadyPods, type GetJson, readyPodsOf, selectorOfService } from "./ready_pods.ts";

const readyPod = (name: string, ready = "True", deleting = false) => ({
  metadata: deleting ? { name, deletionTimestamp: "2026-12-02T00:00:00Z" } : { name },
  status: {
    phase: "Running",
    conditions: [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: ready }],
  },
});

Deno.test("selectorOfService: sorted key=value pairs; none for a service without a selector", () => {
  const table: [unknown, string | undefined][] = [
    [{ spec: { selector: { app: "echo-a", tier: "web" } } }, "app=echo-a,tier=web"],
    [{ spec: { selector: { tier: "web", app: "x" } } }, "app=x,tier=web"],
    [{ spec: { selector: {} } }, undefined],
    [{ spec: {} }, undefined],
    [null, undefined],
    ["not json", undefined],
  ];
  for (const [body, want] of table) assert.equal(selectorOfService(body), want, JSON.stringify(body));
});

Deno.test("countReadyPods: only Ready pods that are not being deleted count; not a list → undefined", () => {
  assert.equal(countReadyPods({ items: [] }), 0);
  assert.equal(
    countReadyPods({ items: [readyPod("a"), readyPod("b", "False"), readyPod("c", "True", true)] }),
    1,
  );
  assert.equal(countReadyPods({ items: [readyPod("a"), readyPod("b")] }), 2);
  assert.equal(countReadyPods({ items: [{}, null] }), 0);
  assert.equal(countReadyPods({ kind: "Status" }), undefined);
});

/** A GetJson answering from `routes` (path → status and body) and recording the paths asked. */
function fakeGet(routes: Record<string, { status: number; body?: unknown }>): GetJson & { paths: string[] } {
  const paths: string[] = [];
  const get = (path: string) => {
    paths.push(path);
    const r = routes[path.split("?")[0]];
    if (!r) return Promise.reject(new Error(`connection refused`));
    return Promise.resolve({ status: r.status, body: r.body });
  };
  return Object.assign(get, { paths });
}

Deno.test("readyPodsOf: the service's selector once, then its running pods; gone or selectorless → no_service", async () => {
  const get = fakeGet({
    "/api/v1/namespaces/ns/services/web": { status: 200, body: { spec: { selector: { app: "web" } } } },
    "/api/v1/namespaces/ns/pods": { status: 200, body: { items: [readyPod("web-1")] } },
    "/api/v1/namespaces/ns/services/gone": { status: 404, body: {} },
    "/api/v1/namespaces/ns/services/external": { status: 200, body: { spec: { type: "ExternalName" } } },
    "/api/v1/namespaces/ns/services/secret": { status: 403, body: {} },
  });
  const cache = new Map<string, string>();
  assert.deepEqual(await readyPodsOf(get, "ns", "web", 1000, cache), { kind: "pods", ready: 1 });
  assert.deepEqual(await readyPodsOf(get, "ns", "web", 1000, cache), { kind: "pods", ready: 1 });
  assert.deepEqual(get.paths, [
    "/api/v1/namespaces/ns/services/web",
    "/api/v1/namespaces/ns/pods?labelSelector=app%3Dweb&fieldSelector=status.phase%3DRunning",
    "/api/v1/namespaces/ns/pods?labelSelector=app%3Dweb&fieldSelector=status.phase%3DRunning",
  ], "the selector is read once");
  assert.deepEqual(await readyPodsOf(get, "ns", "gone", 1000, cache), { kind: "no_service" });
  assert.deepEqual(await readyPodsOf(get, "ns", "external", 1000, cache), { kind: "no_service" });
  assert.deepEqual(await readyPodsOf(get, "ns", "secret", 1000, cache), {
    kind: "unknown",
    why: "service secret: HTTP 403",
  });
  assert.deepEqual(await readyPodsOf(get, "other", "web", 1000, cache), {
    kind: "unknown",
    why: "connection refused",
  });
});
