import assert from "node:assert/strict";
import type { ReadyPodsAnswer } from "../kube/ready_pods.ts";
import { missingServices, podReturnVerdict, serviceOfForward } from "./pod_return.ts";
import type { ForwardState } from "./types.ts";

Deno.test("serviceOfForward: the service of every hostname shape kubefwd announces", () => {
  const table: [string, string, string][] = [
    ["web", "ns", "ns/web"], // first namespace
    ["web.other", "other", "other/web"], // later namespace
    ["web-0.db", "ns", "ns/db"], // headless, per pod
    ["web-0.db.other", "other", "other/db"], // headless in a later namespace
    ["echo-a.ns2", "ns2", "ns2/echo-a"], // a pod named like its service does not confuse it
  ];
  for (const [hostname, namespace, want] of table) {
    assert.equal(serviceOfForward({ hostname, namespace }), want, hostname);
  }
});

const fwd = (hostname: string, state: ForwardState) => ({ hostname, namespace: "ns", state });

Deno.test("missingServices: known services not forwarded (or only down), none before settling or without the API", () => {
  const base = {
    known: ["ns/api", "ns/db", "ns/web"],
    forwards: [fwd("web", "up"), fwd("api", "down"), fwd("web-0.db", "pending")],
    settled: true,
    apiReachable: true,
    maxPolled: 20,
  };
  const table: [string, Partial<typeof base> & { round?: number }, string[]][] = [
    ["a down forward is missing; pending and up are forwarded", {}, ["ns/api"]],
    ["never announced", { forwards: [fwd("web", "up")] }, ["ns/api", "ns/db"]],
    ["unverified and failed are not missing", {
      forwards: [fwd("web", "unverified"), fwd("api", "failed"), fwd("web-0.db", "up")],
    }, []],
    ["everything forwarded", { forwards: [fwd("web", "up"), fwd("api", "up"), fwd("web-1.db", "up")] }, []],
    ["child still announcing", { settled: false, forwards: [] }, []],
    ["API server not answering", { apiReachable: false, forwards: [] }, []],
    ["capped", { forwards: [], maxPolled: 2 }, ["ns/api", "ns/db"]],
    ["capped, next round: the others' turn", { forwards: [], maxPolled: 2, round: 1 }, ["ns/web", "ns/api"]],
    ["nothing known", { known: [] }, []],
  ];
  for (const [what, over, want] of table) assert.deepEqual(missingServices({ ...base, ...over }), want, what);
});

const pods = (ready: number): ReadyPodsAnswer => ({ kind: "pods", ready });

Deno.test("podReturnVerdict: a Ready pod seen for the grace restarts; no pod, no answer or already asked never", () => {
  const now = 10_000;
  const base = {
    now,
    missing: ["ns/web"],
    answers: new Map([["ns/web", pods(1)]]),
    readySince: new Map<string, number>(),
    asked: new Set<string>(),
    graceMs: 500,
  };
  const table: [
    string,
    Partial<typeof base>,
    { restart: string[]; since?: number; confirm?: number; forget?: string[] },
  ][] = [
    ["first seen: wait out the grace", {}, { restart: [], since: now, confirm: 500 }],
    ["seen 300 ms ago: 200 ms more", { readySince: new Map([["ns/web", now - 300]]) }, {
      restart: [],
      since: now - 300,
      confirm: 200,
    }],
    ["seen for the grace: restart", { readySince: new Map([["ns/web", now - 500]]) }, {
      restart: ["ns/web"],
      since: now - 500,
    }],
    ["no Ready pod: nothing, and the sighting is dropped", {
      answers: new Map([["ns/web", pods(0)]]),
      readySince: new Map([["ns/web", now - 900]]),
    }, { restart: [] }],
    ["no answer (API away, 403): starts over", {
      answers: new Map<string, ReadyPodsAnswer>([["ns/web", { kind: "unknown", why: "timeout" }]]),
      readySince: new Map([["ns/web", now - 900]]),
    }, { restart: [] }],
    ["forwarded again meanwhile: nothing", { missing: [], readySince: new Map([["ns/web", now - 900]]) }, {
      restart: [],
    }],
    ["already asked in this child's life: not again", {
      readySince: new Map([["ns/web", now - 900]]),
      asked: new Set(["ns/web"]),
    }, { restart: [], since: now - 900 }],
    ["service deleted: forgotten", {
      answers: new Map<string, ReadyPodsAnswer>([["ns/web", { kind: "no_service" }]]),
    }, { restart: [], forget: ["ns/web"] }],
  ];
  for (const [what, over, want] of table) {
    const v = podReturnVerdict({ ...base, ...over });
    assert.deepEqual(v.restart, want.restart, what);
    assert.equal(v.readySince.get("ns/web"), want.since, what);
    assert.equal(v.confirmInMs, want.confirm, what);
    assert.deepEqual(v.forget, want.forget ?? [], what);
  }
});

Deno.test("podReturnVerdict: several services back at once restart together, sorted; the others keep waiting", () => {
  const v = podReturnVerdict({
    now: 5000,
    missing: ["ns/b", "ns/a", "ns/c", "ns/d"],
    answers: new Map([["ns/a", pods(1)], ["ns/b", pods(2)], ["ns/c", pods(1)], ["ns/d", pods(0)]]),
    readySince: new Map([["ns/a", 4000], ["ns/b", 4500], ["ns/c", 4900]]),
    asked: new Set(),
    graceMs: 500,
  });
  assert.deepEqual(v.restart, ["ns/a", "ns/b"]);
  assert.equal(v.confirmInMs, 400);
  assert.deepEqual([...v.readySince.keys()].sort(), ["ns/a", "ns/b", "ns/c"]);
});
