import assert from "node:assert/strict";
import { maskPath } from "./mask.ts";

Deno.test("maskPath keeps only a generic basename and the home marker; other file names are masked like the log", () => {
  assert.equal(maskPath("/home/alice/.kube/config", "/home/alice"), "~/…/config");
  assert.equal(maskPath("/home/alice/clients/acme/prod.yaml", "/home/alice"), "~/…/***");
  assert.equal(maskPath("~/.kube/config"), "~/…/config");
  assert.equal(maskPath("/etc/kubernetes/admin.conf", "/home/alice"), "/…/***");
  assert.equal(maskPath("/home/alicebob/x", "/home/alice"), "/…/***");
  assert.equal(maskPath("/home/alice", "/home/alice"), "~");
  assert.equal(maskPath("rel/dir/k.yaml"), "…/***");
  assert.equal(maskPath("/"), "/");
  for (const p of ["/home/alice/.kube/config", "/etc/k", "rel/x"]) {
    const once = maskPath(p, "/home/alice");
    assert.equal(maskPath(once, "/home/alice"), once);
    assert.ok(!once.includes("alice"));
  }
});
