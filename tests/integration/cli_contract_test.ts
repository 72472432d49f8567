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
  "metrics",
  "enable",
  "disable",
  "reset",
  "config",
  "version",
];

Deno.test("CLI contract", async (t) => {
  await using env = await TestEnv.create();
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
    for (const args of [["reload"], ["enable", "x"], ["disable", "x"], ["reset", "x"]]) {
      const r = await env.cli(...args);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
    }
    // `logs` reads the log file instead (empty here: no daemon ever ran).
    const logs = await env.cli("logs");
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stderr, /the daemon is not running; showing its log file/);
    const stop = await env.cli("stop");
    assert.equal(stop.code, 0);
    assert.match(stop.stdout, /not running/);
  });

  await t.step("no ANSI colour when piped, even in help and errors", async () => {
    const r = await env.cli("status");
    assert.ok(!(r.stdout + r.stderr).includes("\x1b["));
  });
});

Deno.test("config validate through the real CLI: every error located, exit 4, JSON shape", async () => {
  await using env = await TestEnv.create();
  const fixture = new URL("../fixtures/configs/invalid/camel_case_keys.yaml", import.meta.url).pathname;
  const expected = JSON.parse(await Deno.readTextFile(fixture + ".expected.json"));
  const human = await env.cli("config", "validate", fixture);
  assert.equal(human.code, 4);
  for (const e of expected.errors) {
    assert.ok(
      (human.stdout + human.stderr).includes(
        `${fixture}:${e.line}:${e.column}: error: ${e.path.join(".")}: `,
      ),
      `location of ${e.path.join(".")}`,
    );
  }
  const json = await env.cli("config", "validate", fixture, "--json");
  assert.equal(json.code, 4);
  const body = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(body).sort(), ["errors", "valid", "warnings"]);
  assert.equal(body.valid, false);
  assert.deepEqual(
    body.errors.map((e: { path: string[]; line: number; column: number }) => [e.path, e.line, e.column]),
    expected.errors.map((
      e: { path: string[]; line: number; column: number },
    ) => [e.path, e.line, e.column]),
  );
  const valid = new URL("../fixtures/configs/valid/documented_example.yaml", import.meta.url).pathname;
  const ok = await env.cli("--json", "config", "validate", valid);
  assert.equal(ok.code, 0, ok.stdout);
  assert.equal(JSON.parse(ok.stdout).valid, true);
});

Deno.test("the daemon without a config file runs with no profiles and says how to create one", async () => {
  await using env = await TestEnv.create();
  await env.startDaemon();
  const status = await env.status();
  assert.deepEqual(status.profiles, []);
  const human = await env.cli("status");
  assert.match(human.stdout, /no profiles configured/);
  const logs = await env.cli("logs");
  assert.match(logs.stdout, /no config file at .*config\.yaml.*config init/);
  assert.equal((await env.cli("stop")).code, 0);
  const exit = await env.daemonExit();
  assert.equal(exit.code, 0);
  assert.match(exit.output, /no config file at/);
});

Deno.test("the daemon refuses an invalid config with exit 4 and located errors", async () => {
  await using env = await TestEnv.create();
  await env.writeConfig("profiles:\n  dev:\n    namespaces: []\n    kubeconfg: x\n");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", new URL("../../main.ts", import.meta.url).pathname, "daemon"],
    env: env.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 4);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.match(stderr, /config\.yaml:3:\d+: error: profiles\.dev\.namespaces: /);
  assert.match(stderr, /config\.yaml:4:5: error: profiles\.dev\.kubeconfg: .*did you mean "kubeconfig"/);
  const start = await env.cli("start");
  assert.equal(start.code, 4);
  assert.match(start.stderr, /exited with code 4 during startup[\s\S]*kubeconfg/);
});
