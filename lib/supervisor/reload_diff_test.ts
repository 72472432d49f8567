import assert from "node:assert/strict";
import { testProfile } from "../testing/profile_spec.ts";
import { profileChange, sameSpec, stableJson } from "./reload_diff.ts";

Deno.test("stableJson: key order does not matter, values do", () => {
  assert.equal(stableJson({ a: 1, b: { c: 2, d: 3 } }), stableJson({ b: { d: 3, c: 2 }, a: 1 }));
  assert.notEqual(stableJson({ a: 1 }), stableJson({ a: 2 }));
});

Deno.test("sameSpec ignores enabled, nothing else", () => {
  const p = testProfile("p");
  assert.equal(sameSpec(p, { ...p, enabled: !p.enabled }), true);
  assert.equal(sameSpec(p, { ...p, namespaces: ["other"] }), false);
});

Deno.test("profileChange: what a reload does to a kept profile", () => {
  const on = testProfile("p", { enabled: true });
  const off = { ...on, enabled: false };
  const moved = { ...on, namespaces: ["elsewhere"] };
  // before (spec, effective enabled), next, override, settings changed → kind, specChanged, enabledChanged
  const cases: [typeof on, boolean, typeof on, boolean | undefined, boolean, string, boolean, boolean][] = [
    [on, true, on, undefined, false, "unchanged", false, false],
    [on, true, on, undefined, true, "changed", true, false], // kubefwd settings apply to every profile
    [on, true, moved, undefined, false, "changed", true, false],
    [on, true, off, undefined, false, "changed", false, true],
    [off, false, on, undefined, false, "changed", false, true],
    [on, true, off, true, false, "remember", false, false], // the override hides the config's change
    [on, false, on, false, false, "unchanged", false, false], // disabled by the CLI, config untouched
    [on, false, moved, false, false, "changed", true, false], // a spec change reaches a disabled profile
  ];
  for (const [spec, enabled, next, override, settingsChanged, kind, specChanged, enabledChanged] of cases) {
    const change = profileChange({ spec, enabled }, next, override, settingsChanged);
    assert.deepEqual(
      [change.kind, change.specChanged, change.enabledChanged],
      [kind, specChanged, enabledChanged],
      JSON.stringify({ spec: spec.enabled, enabled, next: next.enabled, override, settingsChanged }),
    );
  }
});

Deno.test("profileChange reports the config change an override masks", () => {
  const on = testProfile("p", { enabled: true });
  const change = profileChange({ spec: on, enabled: true }, { ...on, enabled: false }, true, false);
  assert.deepEqual(change.masked, { profile: "p", configEnabled: false, override: true });
  assert.equal(profileChange({ spec: on, enabled: true }, on, true, false).masked, undefined);
});
