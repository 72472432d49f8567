import assert from "node:assert/strict";
import { UserError } from "../../lib/errors.ts";
import type { ProfileState, TransitionEvent } from "../../lib/supervisor/types.ts";
import { eventCells, parseSince, transitionKind } from "./events.ts";

function ev(from: ProfileState, to: ProfileState, reason = "r"): TransitionEvent {
  return { at: "2026-01-01T00:00:00.000Z", profile: "dev", from, to, reason };
}

Deno.test("transitionKind: table", () => {
  const rows: [TransitionEvent, string][] = [
    [ev("running", "backoff", "kubefwd killed by SIGKILL"), "failure"],
    [ev("starting", "backoff", "cannot start kubefwd"), "failure"],
    [ev("stopping", "backoff", "restarting: dead forward (x)"), "restart"],
    [ev("backoff", "failed", "max attempts reached"), "failed"],
    [ev("running", "degraded"), "forwards lost"],
    [ev("degraded", "running"), "recovered"],
    [ev("starting", "running"), "up"],
    [ev("running", "stopping", "restarting: kubeconfig changed"), "restart"],
    [ev("running", "stopping", "stop requested"), "stop"],
    [ev("backoff", "starting", "retry 1 after backoff"), "restart"],
    [ev("stopping", "starting", "restart requested"), "restart"],
    [ev("stopped", "starting", "profile loaded from the config"), "start"],
    [ev("failed", "starting", "kubeconfig changed"), "start"],
    [ev("stopping", "stopped"), "stopped"],
    [ev("stopping", "disabled"), "disabled"],
  ];
  for (const [e, kind] of rows) assert.equal(transitionKind(e), kind, `${e.from} → ${e.to}: ${e.reason}`);
});

Deno.test("parseSince: durations back from now, ISO times, clear usage errors", () => {
  const now = Date.UTC(2026, 0, 2);
  assert.equal(parseSince("1h", now), now - 3_600_000);
  assert.equal(parseSince("90m", now), now - 5_400_000);
  assert.equal(parseSince("2026-01-01T12:00:00Z", now), Date.UTC(2026, 0, 1, 12));
  for (const bad of ["yesterday", "0", "-5m", "10", "2026-13-45"]) {
    assert.throws(() => parseSince(bad, now), (e) => e instanceof UserError && e.code === "usage", bad);
  }
});

Deno.test("eventCells: control characters from kubefwd are shown escaped, detail and cause in parentheses", () => {
  const e: TransitionEvent = {
    ...ev("running", "degraded", "1 of 2 forwards down"),
    detail: "api:80",
    cause: "pod \x1b]0;title\x07api-1: forward down",
  };
  const cells = eventCells(e, Date.parse(e.at) + 12_000, false);
  assert.deepEqual(cells, [
    "12s ago",
    "dev",
    "forwards lost",
    "running → degraded",
    "1 of 2 forwards down (api:80; pod \\x1b]0;title\\x07api-1: forward down)",
  ]);
});
