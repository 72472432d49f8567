/** The global CLI contract: help, version, usage errors, exit codes, JSON errors, colour rules. */
import assert from "node:assert/strict";
import { TestEnv } from "./harness.ts";
import { VERSION } from "../../lib/version.ts";

const VERBS = [
  "daemon",
  "start",
  "stop",
  "restart",
  "status",
  "reload",
  "logs",
  "enable",
  "disable",
  "config",
  "version",
];

Deno.test("CLI contract", async (t) => {
  const env = await TestEnv.create();
  try {
    await t.step("version prints the program version", async () => {
      const r = await env.cli("version");
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), VERSION);
      const j = await env.cli("--json", "version");
      assert.deepEqual(JSON.parse(j.stdout), { version: VERSION });
    });

    await t.step("--help works on every command and lists it", async () => {
      const top = await env.cli("--help");
      assert.equal(top.code, 0);
      for (const verb of VERBS) assert.match(top.stdout, new RegExp(`^\\s+${verb}\\b`, "m"), verb);
      for (const verb of VERBS) {
        const r = await env.cli(verb, "--help");
        assert.equal(r.code, 0, `${verb} --help: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`Usage: kubefwd-daemon ${verb}`));
      }
    });

    await t.step("usage errors exit 2 with error: on stderr", async () => {
      const r = await env.cli("frobnicate");
      assert.equal(r.code, 2);
      assert.match(r.stderr, /error: unknown command 'frobnicate'/);
      const o = await env.cli("status", "--bogus");
      assert.equal(o.code, 2);
      assert.match(o.stderr, /unknown option '--bogus'/);
      const none = await env.cli();
      assert.equal(none.code, 2);
    });

    await t.step("with --json a usage error is one JSON object on stdout", async () => {
      const r = await env.cli("--json", "frobnicate");
      assert.equal(r.code, 2);
      const body = JSON.parse(r.stdout);
      assert.equal(body.error.code, "usage");
      assert.match(body.error.message, /frobnicate/);
      assert.equal(r.stderr, "");
    });

    await t.step("status without a daemon exits 3", async () => {
      const r = await env.cli("status");
      assert.equal(r.code, 3);
      assert.match(r.stderr, /^error: daemon is not running/);
      const j = await env.cli("--json", "status");
      assert.equal(j.code, 3);
      assert.equal(JSON.parse(j.stdout).error.code, "daemon_not_running");
    });

    await t.step("verbs that need the daemon exit 3 without one, and stop is a no-op", async () => {
      for (const args of [["logs"], ["reload"], ["enable", "x"], ["disable", "x"]]) {
        const r = await env.cli(...args);
        assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      }
      const stop = await env.cli("stop");
      assert.equal(stop.code, 0);
      assert.match(stop.stdout, /not running/);
    });

    await t.step("no ANSI colour when piped, even in help and errors", async () => {
      const r = await env.cli("status");
      assert.ok(!(r.stdout + r.stderr).includes("\x1b["));
    });
  } finally {
    await env.cleanup();
  }
});
