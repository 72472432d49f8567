import assert from "node:assert/strict";
import { renderProfileDetail } from "./status.ts";
import type { ProfileStatus } from "../../lib/supervisor/types.ts";

function profile(over: Partial<ProfileStatus>): ProfileStatus {
  return {
    name: "dev",
    enabled: true,
    enabledSource: "config",
    state: "degraded",
    pid: 10,
    startedAt: new Date().toISOString(),
    uptimeSeconds: 60,
    restarts: 0,
    failures: 0,
    lastError: null,
    nextRetryAt: null,
    context: "ctx",
    namespaces: ["ns"],
    kubefwdVersion: "1.25.16",
    forwards: [],
    ...over,
  };
}

Deno.test("status PROFILE: the apiserver check, and why each forward that is not up is not", () => {
  const since = new Date(Date.now() - 12_000).toISOString();
  const text = renderProfileDetail(
    profile({
      stateDetail:
        `apiserver unreachable since ${since} (no answer within 2000 ms); 1 of 1 forwards unverified: api:80`,
      apiserver: { state: "unreachable", since, error: "no answer within 2000 ms" },
      forwards: [{
        hostname: "api",
        namespace: "ns",
        ip: "127.3.27.1",
        port: 80,
        pod: "api-1",
        podPort: "8080",
        probe: "http",
        state: "unverified",
        since,
        reason: `apiserver unreachable since ${since} (no answer within 2000 ms)`,
      }],
    }),
    false,
  );
  assert.match(text, /\n {2}state: {6}apiserver unreachable since /);
  assert.match(text, /\n {2}apiserver: {2}unreachable since 1\ds ago \(no answer within 2000 ms\)/);
  assert.match(text, /\n {4}api:80 unverified: apiserver unreachable since /);
});

Deno.test("status PROFILE: no apiserver line when the daemon does not check it (no child)", () => {
  assert.doesNotMatch(renderProfileDetail(profile({ state: "stopped", pid: null }), false), /apiserver:/);
});
