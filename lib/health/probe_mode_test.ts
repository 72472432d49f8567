import assert from "node:assert/strict";
import { forwardMatches, probeModeFor } from "./probe_mode.ts";

const none = { http: [], tcp: [] };

Deno.test("probeModeFor: defaults need no configuration", () => {
  const cases: [string, number, string, string][] = [
    ["api", 80, "8080", "http"],
    ["echo-a", 8080, "8083", "http"], // the local port is a common HTTP port
    ["web", 443, "http", "http"], // a pod port named http
    ["web", 9000, "http-metrics", "http"],
    ["web", 443, "https", "tcp"], // TLS: a plain GET proves nothing
    ["db", 5432, "5432", "tcp"],
    ["cache", 6379, "6379", "tcp"],
    ["grpc", 80, "grpc", "tcp"], // a named port says what it is, whatever the number
    ["prom", 9091, "9090", "http"], // the pod port is a common HTTP port
  ];
  for (const [service, port, podPort, want] of cases) {
    assert.equal(probeModeFor(none, { service, port, podPort }), want, `${service}:${port}→${podPort}`);
  }
});

Deno.test("probeModeFor: the profile's patterns come first, http before tcp", () => {
  const rules = { http: ["api", "*:9000"], tcp: ["*"] };
  assert.equal(probeModeFor(rules, { service: "api", port: 5432, podPort: "5432" }), "http");
  assert.equal(probeModeFor(rules, { service: "x", port: 9000, podPort: "9000" }), "http");
  assert.equal(probeModeFor(rules, { service: "web", port: 80, podPort: "80" }), "tcp");
});

Deno.test("forwardMatches: SERVICE, SERVICE:PORT and :PORT, the port against local port, pod port and its name", () => {
  const f = { service: "echo-a", port: 8080, podPort: "web" };
  assert.equal(forwardMatches("echo-*", f), true);
  assert.equal(forwardMatches("echo-b", f), false);
  assert.equal(forwardMatches("echo-a:8080", f), true);
  assert.equal(forwardMatches("echo-a:web", f), true);
  assert.equal(forwardMatches("*:80", f), false);
  assert.equal(forwardMatches(":80*", f), true);
});
