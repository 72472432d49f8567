import assert from "node:assert/strict";
import { maskPath } from "./mask.ts";

Deno.test("maskPath keeps only the basename and the home marker", () => {
  assert.equal(maskPath("/home/alice/.kube/config", "/home/alice"), "~/…/config");
  assert.equal(maskPath("/home/alice/clients/acme/prod.yaml", "/home/alice"), "~/…/prod.yaml");
  assert.equal(maskPath("~/.kube/config"), "~/…/config");
  assert.equal(maskPath("/etc/kubernetes/admin.conf", "/home/alice"), "/…/admin.conf");
  assert.equal(maskPath("/home/alicebob/x", "/home/alice"), "/…/x");
  assert.equal(maskPath("/home/alice", "/home/alice"), "~");
  assert.equal(maskPath("rel/dir/k.yaml"), "…/k.yaml");
  assert.equal(maskPath("/"), "/");
  for (const p of ["/home/alice/.kube/config", "/etc/k", "rel/x"]) {
    const once = maskPath(p, "/home/alice");
    assert.equal(maskPath(once, "/home/alice"), once);
    assert.ok(!once.includes("alice"));
  }
});
