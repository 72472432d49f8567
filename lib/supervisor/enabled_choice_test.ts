import assert from "node:assert/strict";
import type { ProfileSpec } from "../config/types.ts";
import { UserError } from "../errors.ts";
import {
  type Candidate,
  type CurrentProfile,
  maskedEnabled,
  overlapRefusal,
  reloadRefusals,
  resetOutcome,
} from "./enabled_choice.ts";

Deno.test("maskedEnabled: a config change of enabled that the override hides", () => {
  const cases: [boolean, boolean, boolean | undefined, unknown][] = [
    [true, true, false, undefined], // no change in the config
    [true, false, undefined, undefined], // no override: the change applies
    [true, false, false, undefined], // the override already says the same
    [true, false, true, { profile: "p", configEnabled: false, override: true }],
    [false, true, false, { profile: "p", configEnabled: true, override: false }],
  ];
  for (const [before, after, override, want] of cases) {
    assert.deepEqual(maskedEnabled("p", before, after, override), want, `${before}→${after} ${override}`);
  }
});

const candidate = (name: string, namespaces: string[], context?: string): Candidate => ({
  name,
  spec: {
    name,
    namespaces,
    kubeconfig: "/k",
    ...(context !== undefined ? { context } : {}),
  } as ProfileSpec,
});

Deno.test("overlapRefusal: refuses a profile that would share a namespace of a context", () => {
  const alpha = candidate("alpha", ["team-a"], "sim");
  assert.equal(overlapRefusal("enable", [candidate("beta", ["team-b"], "sim")], [alpha]), undefined);
  assert.equal(overlapRefusal("enable", [candidate("beta", ["team-a"], "other")], [alpha]), undefined);
  assert.equal(overlapRefusal("enable", [alpha], [alpha]), undefined, "itself is no overlap");
  const refusal = overlapRefusal("enable", [candidate("beta", ["team-a"], "sim")], [alpha]);
  assert.ok(refusal instanceof UserError);
  assert.equal(refusal.code, "conflict");
  assert.equal(refusal.exitCode, 7);
  assert.match(
    refusal.message,
    /^cannot enable "beta": namespace "team-a" of context "sim" is also forwarded/,
  );
  // two profiles enabled together that overlap each other
  const both = overlapRefusal("enable", [candidate("b", ["x"]), candidate("c", ["x"])], []);
  assert.match(both?.message ?? "", /cannot enable "c": namespace "x" of context "\(current\)"/);
});

Deno.test("resetOutcome: what reset did", () => {
  assert.equal(resetOutcome(undefined, true), "no override (enabled in the config)");
  assert.equal(resetOutcome(true, true), "override dropped (enabled in the config)");
  assert.equal(resetOutcome(true, false), "override dropped (disabled in the config): stopped");
  assert.equal(resetOutcome(false, true), "override dropped (enabled in the config): started");
});

Deno.test("reloadRefusals: what a reload must not start next to a profile running outside the config", () => {
  const now = (c: Candidate, enabled: boolean, live: boolean): [string, CurrentProfile] => [
    c.name,
    { ...c, enabled, live },
  ];
  // beta: disabled in the config, started by a one-off `start`; alpha: enabled, running on team-b
  const current = new Map([
    now(candidate("beta", ["team-a"], "sim"), false, true),
    now(candidate("alpha", ["team-b"], "sim"), true, true),
    now(candidate("off", ["team-c"], "sim"), false, false),
  ]);
  const beta = { ...candidate("beta", ["team-a"], "sim"), enabled: false };
  const refusals = (...next: { name: string; spec: ProfileSpec; enabled: boolean }[]) =>
    Object.fromEntries([...reloadRefusals([beta, ...next], current)].map(([n, r]) => [n, r.kind]));
  const alpha = (ns: string) => ({ ...candidate("alpha", [ns], "sim"), enabled: true });
  assert.deepEqual(refusals(alpha("team-b")), {}, "nothing changes");
  assert.deepEqual(refusals(alpha("team-b"), { ...candidate("gamma", ["team-a"], "sim"), enabled: true }), {
    gamma: "new",
  });
  assert.deepEqual(
    refusals(alpha("team-b"), { ...candidate("gamma", ["team-a"], "sim"), enabled: false }),
    {},
  );
  assert.deepEqual(refusals(alpha("team-a")), { alpha: "kept" }, "a running profile's namespaces change");
  assert.deepEqual(refusals({ ...candidate("off", ["team-a"], "sim"), enabled: true }), { off: "kept" });
  assert.deepEqual(
    refusals({ ...candidate("gamma", ["team-a"], "other"), enabled: true }),
    {},
    "another context",
  );
  // beta removed from the config: it stops, so nothing overlaps
  const withoutBeta = reloadRefusals([{ ...candidate("gamma", ["team-a"], "sim"), enabled: true }], current);
  assert.equal(withoutBeta.size, 0);
  const message = reloadRefusals([beta, alpha("team-a")], current).get("alpha")?.message ?? "";
  assert.match(
    message,
    /^profile alpha keeps its previous config: namespace "team-a" of context "sim" .* "beta"/,
  );
  assert.match(message, /stop beta, then reload$/);
});
