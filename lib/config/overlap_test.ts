import assert from "node:assert/strict";
import { type NamespaceClaim, namespaceOverlaps, overlapMessage } from "./overlap.ts";

const claim = (name: string, namespaces: string[], context?: string, kubeconfig = "/k"): NamespaceClaim => ({
  name,
  namespaces,
  kubeconfig,
  ...(context !== undefined ? { context } : {}),
});

Deno.test("namespaceOverlaps: same namespace of the same context, later profile named", () => {
  const current = (kc: string) => (kc === "/k" ? "dev" : undefined);
  const cases: [NamespaceClaim[], string[]][] = [
    [[claim("a", ["x"], "dev"), claim("b", ["y"], "dev")], []],
    [[claim("a", ["x"], "dev"), claim("b", ["x"], "prod")], []],
    [[claim("a", ["x", "y"], "dev"), claim("b", ["z", "y"], "dev")], ["b[1] y@dev owned by a"]],
    // no context: the kubeconfig's current one when known …
    [[claim("a", ["x"], "dev"), claim("b", ["x"])], ["b[0] x@dev owned by a"]],
    // … else "(current)"
    [[claim("a", ["x"], undefined, "/other"), claim("b", ["x"], undefined, "/other2")], [
      "b[0] x@(current) owned by a",
    ]],
    [[claim("a", ["x"], "dev"), claim("b", ["x"], "dev"), claim("c", ["x"], "dev")], [
      "b[0] x@dev owned by a",
      "c[0] x@dev owned by a",
    ]],
  ];
  for (const [claims, want] of cases) {
    const got = namespaceOverlaps(claims, current).map((o) =>
      `${o.profile}[${o.index}] ${o.namespace}@${o.context} owned by ${o.owner}`
    );
    assert.deepEqual(got, want, JSON.stringify(claims));
  }
});

Deno.test("overlapMessage names the namespace, context and owner", () => {
  assert.equal(
    overlapMessage({ profile: "b", index: 0, namespace: "x", context: "dev", owner: "a" }),
    'namespace "x" of context "dev" is also forwarded by enabled profile "a"; ' +
      "their /etc/hosts entries would overwrite each other (disable one or split the namespaces)",
  );
});
