import assert from "node:assert/strict";
import { checkLabelSelector, isDnsLabel, isDnsSubdomain, labelKeyProblem } from "./selector.ts";

Deno.test("checkLabelSelector accepts the Kubernetes selector grammar", () => {
  const valid = [
    "app=web",
    "app==web",
    "app!=web",
    "app.kubernetes.io/part-of=myapp",
    "tier",
    "!tier",
    "env in (dev, qa)",
    "env notin (prod)",
    "env in ()",
    "env in (a,,b)",
    "a=",
    "a=b,c!=d,!e,f in (x)",
    "  app = web  ,  tier  ",
    "replicas>1",
    "replicas < 10",
    "A_b.c-D=X_y.z-0",
    "k=in",
    "x".repeat(63) + "=" + "y".repeat(63),
  ];
  for (const s of valid) assert.equal(checkLabelSelector(s), undefined, s);
});

Deno.test("checkLabelSelector reports the first problem with its index", () => {
  const cases: [string, RegExp, number][] = [
    ["", /empty label selector/, 0],
    ["   ", /empty label selector/, 0],
    ["app=web,", /requirement after ","/, 8],
    [",app", /expected a label key, found ","/, 0],
    ["app web", /expected an operator/, 4],
    ["env in dev", /expected "\(" after "in"/, 7],
    ["env in (dev", /expected "," or "\)"/, 11],
    ["env in (dev qa)", /expected "," or "\)"/, 12],
    ["App.Kubernetes.io/x=y", /prefix "App.Kubernetes.io" must be a lowercase DNS subdomain/, 0],
    ["a/b/c=d", /more than one "\/"/, 0],
    ["/x=y", /empty prefix/, 0],
    ["-app=web", /label key name "-app"/, 0],
    ["app=-web", /label value "-web"/, 4],
    ["app=" + "v".repeat(64), /longer than 63/, 4],
    ["k".repeat(64), /longer than 63/, 0],
    ["a>b", /needs an integer/, 2],
    ["a=b=c", /expected "," between requirements, found "="/, 3],
    ["!a=b", /expected "," between requirements/, 2],
    ["a=(b)", /expected a label value after "="/, 2],
  ];
  for (const [s, re, index] of cases) {
    const err = checkLabelSelector(s);
    assert.ok(err, `expected an error for ${JSON.stringify(s)}`);
    assert.match(err.message, re, s);
    assert.equal(err.index, index, s);
  }
});

Deno.test("DNS name helpers", () => {
  assert.equal(isDnsLabel("shared-services"), true);
  assert.equal(isDnsLabel("Shared"), false);
  assert.equal(isDnsLabel("a".repeat(64)), false);
  assert.equal(isDnsSubdomain("example.com"), true);
  assert.equal(isDnsSubdomain(".example.com"), false);
  assert.equal(labelKeyProblem("app"), undefined);
});
