import assert from "node:assert/strict";
import type { ForwardSummary } from "./forward_tracker.ts";
import type { ProfileState } from "./types.ts";
import {
  degradedBecause,
  emptyVerdict,
  forwardsVerdict,
  stateDetail,
  stateFromForwards,
} from "./run_view.ts";

const sum = (total: number, down: string[] = [], pending: string[] = []): ForwardSummary => ({
  total,
  down,
  pending,
});
const facts = { namespaces: ["team-a"], labels: [], allowEmpty: false };

Deno.test("stateFromForwards: running only once every announced forward answered", () => {
  const cases: [ForwardSummary, string | undefined][] = [
    [sum(0), undefined],
    [sum(2, [], ["a:80", "b:80"]), undefined],
    [sum(2, [], ["b:80"]), undefined],
    [sum(2, ["a:80"], ["b:80"]), "degraded"],
    [sum(2, ["a:80"]), "degraded"],
    [sum(2), "running"],
  ];
  for (const [summary, want] of cases) {
    assert.equal(stateFromForwards(summary), want, JSON.stringify(summary));
  }
});

Deno.test("emptyVerdict: degraded with the reason, running only with allow_empty", () => {
  assert.deepEqual(emptyVerdict(facts), {
    state: "degraded",
    reason: "kubefwd is up but forwards nothing",
    detail:
      "no service in namespace team-a is forwarded; check namespaces and labels, or set allow_empty: true",
  });
  assert.match(
    emptyVerdict({ namespaces: ["a", "b"], labels: ["app=x", "tier=y"], allowEmpty: false }).detail,
    /^no service in namespaces a, b with labels app=x,tier=y is forwarded/,
  );
  assert.equal(emptyVerdict({ ...facts, allowEmpty: true }).state, "running");
});

Deno.test("stateDetail: what is pending, down, or that nothing is forwarded", () => {
  const live = { ...facts, graceOver: false };
  const cases: [Parameters<typeof stateDetail>[0], string | null, string?][] = [
    [{ ...live, state: "backoff" }, null],
    [{ ...live, state: "starting", forwards: sum(0) }, "waiting for kubefwd to announce forwards"],
    [
      { ...live, state: "degraded", forwards: sum(0), graceOver: true },
      "forwards nothing: no service in namespace team-a is forwarded; check namespaces and labels, or set allow_empty: true",
    ],
    [
      { ...live, state: "running", forwards: sum(0), graceOver: true, allowEmpty: true },
      "forwards nothing (allowed by allow_empty)",
    ],
    [
      { ...live, state: "starting", forwards: sum(2, [], ["b:80"]) },
      "1 of 2 forwards not answering yet: b:80",
    ],
    [
      { ...live, state: "degraded", forwards: sum(3, ["a:80"], ["b:80"]) },
      "1 of 3 forwards down: a:80; 1 of 3 forwards not answering yet: b:80",
    ],
    [{ ...live, state: "running", forwards: sum(2) }, null],
    [
      {
        ...live,
        namespaces: ["team-a", "team-x", "team-y"],
        state: "running",
        forwards: sum(2),
        graceOver: true,
        forwardNamespaces: ["team-a", "team-a"],
      },
      "no service in namespaces team-x, team-y is forwarded; check namespaces and labels",
    ],
    [{ ...live, state: "running", forwards: sum(2), forwardNamespaces: [] }, null, "not before the grace"],
    [{ ...live, state: "stopping", forwards: sum(2, ["a:80"]) }, null],
    [
      { ...live, state: "degraded", forwards: sum(7, ["a", "b", "c", "d", "e", "f", "g"]) },
      "7 of 7 forwards down: a, b, c, d, e, … (2 more)",
    ],
  ];
  for (const [input, want, why] of cases) {
    assert.equal(stateDetail(input), want, why ?? JSON.stringify(input));
  }
});

Deno.test("degradedBecause: the cause first, then the counts; down before unverified", () => {
  assert.deepEqual(
    degradedBecause({
      total: 3,
      down: ["a:80"],
      pending: [],
      unverified: ["b:80"],
      cause: "pod not reachable",
    }),
    { reason: "pod not reachable: 1 of 3 forwards down, 1 of 3 forwards unverified", detail: "a:80, b:80" },
  );
  assert.deepEqual(degradedBecause({ total: 2, down: ["a:80"], pending: [] }), {
    reason: "1 of 2 forwards down",
    detail: "a:80",
  });
});

Deno.test("stateFromForwards: unverified forwards make the profile degraded, not running", () => {
  assert.equal(stateFromForwards({ total: 2, down: [], pending: [], unverified: ["a:80"] }), "degraded");
});

Deno.test("stateDetail: names the cause and the unverified forwards", () => {
  const detail = stateDetail({
    state: "degraded",
    forwards: {
      total: 2,
      down: [],
      pending: [],
      unverified: ["a:80", "b:80"],
      cause: "apiserver unreachable since X",
    },
    graceOver: true,
    namespaces: ["ns"],
    labels: [],
    allowEmpty: false,
  });
  assert.equal(detail, "apiserver unreachable since X; 2 of 2 forwards unverified: a:80, b:80");
});

Deno.test("forwardsVerdict: the transition the forwards call for, worded from the current state", () => {
  const cases: [ForwardSummary, ProfileState, ReturnType<typeof forwardsVerdict>][] = [
    [sum(2, [], ["b:80"]), "starting", undefined],
    [sum(2), "running", undefined],
    [sum(2, ["a:80"]), "degraded", undefined],
    [sum(1), "starting", { state: "running", reason: "the forward answers" }],
    [sum(3), "starting", { state: "running", reason: "all 3 forwards answer" }],
    [sum(3), "degraded", { state: "running", reason: "all forwards up" }],
    [sum(2, ["a:80"]), "running", { state: "degraded", reason: "1 of 2 forwards down", detail: "a:80" }],
    [sum(2, ["a:80"], ["b:80"]), "starting", {
      state: "degraded",
      reason: "1 of 2 forwards down",
      detail: "a:80",
    }],
  ];
  for (const [summary, current, want] of cases) {
    assert.deepEqual(forwardsVerdict(summary, current), want, `${current} ${JSON.stringify(summary)}`);
  }
});
