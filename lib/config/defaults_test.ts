import assert from "node:assert/strict";
import {
  DEFAULT_FORWARD_FAILURES,
  DEFAULT_HEALTH,
  DEFAULT_RETRY,
  defaultKubefwdSettings,
  defaultNotifications,
} from "./defaults.ts";
import { parseDuration } from "./duration.ts";
import { CONFIG_SCHEMA, type FieldSpec, type SectionSpec } from "./schema.ts";

function schemaDefault(path: string[]): string {
  let spec: SectionSpec = CONFIG_SCHEMA;
  for (const p of path.slice(0, -1)) spec = spec.fields[p] as SectionSpec;
  const field = spec.fields[path[path.length - 1]] as FieldSpec;
  assert.ok(field.default !== undefined, path.join("."));
  return field.default;
}

Deno.test("typed defaults equal the schema's documented defaults", () => {
  const ms = (p: string[]) => parseDuration(schemaDefault(p));
  const num = (p: string[]) => Number(schemaDefault(p));
  const r = ["defaults", "retry"];
  assert.deepEqual({ ...DEFAULT_RETRY }, {
    initialDelayMs: ms([...r, "initial_delay"]),
    maxDelayMs: ms([...r, "max_delay"]),
    multiplier: num([...r, "multiplier"]),
    maxAttempts: num([...r, "max_attempts"]),
    jitter: num([...r, "jitter"]),
    resetAfterMs: ms([...r, "reset_after"]),
  });
  const h = ["defaults", "health"];
  assert.deepEqual({ ...DEFAULT_HEALTH }, {
    intervalMs: ms([...h, "interval"]),
    timeoutMs: ms([...h, "timeout"]),
    failureThreshold: num([...h, "failure_threshold"]),
    http: JSON.parse(schemaDefault([...h, "http"])),
    tcp: JSON.parse(schemaDefault([...h, "tcp"])),
  });
  const f = ["defaults", "forward_failures"];
  assert.deepEqual({ ...DEFAULT_FORWARD_FAILURES }, {
    maxFailures: num([...f, "max_failures"]),
    windowMs: ms([...f, "window"]),
    debounceMs: ms([...f, "debounce"]),
  });
  const k = defaultKubefwdSettings();
  assert.equal(k.path, schemaDefault(["kubefwd", "path"]));
  assert.equal(k.privilege, schemaDefault(["kubefwd", "privilege"]));
  assert.equal(k.hostsPath, schemaDefault(["kubefwd", "hosts_path"]));
  assert.equal(k.stopTimeoutMs, ms(["kubefwd", "stop_timeout"]));
  assert.equal(schemaDefault(["kubefwd", "extra_args"]), "[]");
  assert.deepEqual(k.extraArgs, []);
  const n = defaultNotifications();
  assert.equal(String(n.enabled), schemaDefault(["daemon", "notifications", "enabled"]));
  assert.equal(`[${n.on.join(", ")}]`, schemaDefault(["daemon", "notifications", "on"]));
  assert.equal(n.minIntervalMs, ms(["daemon", "notifications", "min_interval"]));
});
