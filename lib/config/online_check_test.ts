import assert from "node:assert/strict";
import type { ResolvedConfig } from "./types.ts";
import { checkProfilesOnline } from "./online_check.ts";
import { FakeServiceLister } from "../testing/fake_service_lister.ts";
import { testProfile } from "../testing/profile_spec.ts";

Deno.test("checkProfilesOnline: one warning per namespace that forwards nothing or could not be checked", async () => {
  const config = {
    profiles: [
      testProfile("ok", { namespaces: ["a"] }),
      testProfile("allx", { namespaces: ["b"], excludeServices: ["debug-*"] }),
      testProfile("two", { namespaces: ["a", "empty"], labels: ["tier=x"] }),
      testProfile("off", { namespaces: ["empty"], enabled: false }),
      testProfile("fine", { namespaces: ["empty"], allowEmpty: true }),
    ],
  } as unknown as ResolvedConfig;
  const lister = new FakeServiceLister({ a: ["web"], b: ["debug-1", "debug-2"] });
  const found = await checkProfilesOnline(config, lister);
  assert.deepEqual(found.map((d) => [d.path.join("."), d.message.replace(/;.*/, "")]), [
    [
      "profiles.allx.namespaces.0",
      "profile allx: no service in namespace b of context ctx (all 2 excluded by exclude_services)",
    ],
    [
      "profiles.two.namespaces.1",
      "profile two: no service with labels tier=x in namespace empty of context ctx",
    ],
  ]);
  assert.deepEqual(lister.calls.map((c) => `${c.profile}/${c.namespace}`).sort(), [
    "allx/b",
    "ok/a",
    "two/a",
    "two/empty",
  ], "disabled and allow_empty profiles are not asked about");
  const failing = await checkProfilesOnline(config, new FakeServiceLister({}, "HTTP 403: forbidden"));
  assert.match(failing[0].message, /^profile ok: could not check namespace a: HTTP 403: forbidden$/);
});
