import assert from "node:assert/strict";
import { FakeClock } from "../testing/fake_clock.ts";
import { formatLogrusLine } from "../../tests/simulator/logrus.ts";
import {
  classifyExit,
  type ExitClassification,
  MAX_CONTINUATION_LINES,
  MAX_LINE_CHARS,
  OutputAssembler,
  parseKubefwdLine,
  PENDING_FLUSH_MS,
  splitServiceKey,
  stripAnsi,
  TRUNCATION_MARKER,
} from "./output.ts";
import type { KubefwdEvent, KubefwdLine, OutputStream } from "./types.ts";

const enc = new TextEncoder();
const T = new Date(2026, 0, 1, 15, 4, 5);

/**
 * The exact not-root message kubefwd 1.22.5 and v1.25.16 log with log.Errorf
 * (docs/kubefwd-compatibility.md#not-root).
 */
const NOT_ROOT_MSG = `
This program requires superuser privileges to run. These
privileges are required to add IP address aliases to your
loopback interface. Superuser privileges are also needed
to listen on low port numbers for these IP addresses.

Try:
 - sudo -E kubefwd services (Unix)
 - Running a shell with administrator rights (Windows)

`;

function collect(stream: OutputStream = "stdout", clock = new FakeClock()) {
  const lines: KubefwdLine[] = [];
  const asm = new OutputAssembler(stream, (l) => lines.push(l), clock);
  return { lines, asm, clock };
}

Deno.test("stripAnsi removes colour codes only", () => {
  assert.equal(stripAnsi("\x1b[36mINFO\x1b[0m[15:04:05] hi"), "INFO[15:04:05] hi");
  assert.equal(stripAnsi("plain [x] text"), "plain [x] text");
  assert.equal(stripAnsi("\x1b[1;31mred\x1b[0m \x1b[2K"), "red ");
});

Deno.test("OutputAssembler: logrus lines → level, clock, message without padding", () => {
  const { lines, asm } = collect();
  asm.push(enc.encode(formatLogrusLine("INFO", "Version 1.25.16", T) + formatLogrusLine("WARN", "short", T)));
  asm.close();
  assert.deepEqual(lines, [
    { stream: "stdout", level: "INFO", clock: "15:04:05", message: "Version 1.25.16" },
    { stream: "stdout", level: "WARN", clock: "15:04:05", message: "short" },
  ]);
});

Deno.test("OutputAssembler: the not-root message is one logical line and parses as not_root", () => {
  const { lines, asm } = collect();
  asm.push(enc.encode(formatLogrusLine("ERRO", NOT_ROOT_MSG, T)));
  asm.close();
  assert.equal(lines.length, 1);
  assert.equal(lines[0].level, "ERRO");
  assert.ok(lines[0].message.startsWith("This program requires superuser privileges to run."));
  assert.ok(lines[0].message.endsWith(" - Running a shell with administrator rights (Windows)"));
  assert.equal(lines[0].message.split("\n").length, 8);
  assert.deepEqual(parseKubefwdLine(lines[0]), { kind: "not_root" });
});

Deno.test("OutputAssembler: continuation joins until the next prefixed line", () => {
  const { lines, asm } = collect();
  asm.push(enc.encode(formatLogrusLine("INFO", "", T) + "Kubefwd version: 1.25.16\nhttps://kubefwd.com\n"));
  assert.equal(lines.length, 0, "held for lookahead");
  asm.push(enc.encode(formatLogrusLine("INFO", "next", T)));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].message, "Kubefwd version: 1.25.16\nhttps://kubefwd.com");
  asm.close();
  assert.equal(lines[1].message, "next");
});

Deno.test("OutputAssembler: UTF-8 and line splits across chunk boundaries, \\r\\n", () => {
  const { lines, asm } = collect();
  const bytes = enc.encode(
    formatLogrusLine("INFO", "héllo → wörld ✓", T).replace("\n", "\r\n") + formatLogrusLine("INFO", "b", T),
  );
  for (let i = 0; i < bytes.length; i++) asm.push(bytes.subarray(i, i + 1));
  asm.close();
  assert.deepEqual(lines.map((l) => l.message), ["héllo → wörld ✓", "b"]);
});

Deno.test("OutputAssembler: stderr lines are never joined and carry no level", () => {
  const { lines, asm } = collect("stderr");
  asm.push(enc.encode("Error: unknown flag: --hosts-path\nUsage:\n  kubefwd services [flags]\n\n"));
  asm.push(enc.encode(formatLogrusLine("INFO", "x", T)));
  asm.push(enc.encode("no newline at end"));
  asm.close();
  assert.deepEqual(lines, [
    { stream: "stderr", message: "Error: unknown flag: --hosts-path" },
    { stream: "stderr", message: "Usage:" },
    { stream: "stderr", message: "  kubefwd services [flags]" },
    { stream: "stderr", message: "INFO[15:04:05] x" },
    { stream: "stderr", message: "no newline at end" },
  ]);
});

Deno.test("OutputAssembler: a pending line is emitted after the quiet period (fake clock)", () => {
  const { lines, asm, clock } = collect();
  asm.push(
    enc.encode(formatLogrusLine("INFO", "Port-Forward:       127.1.27.1 web:80 to pod web-1:8080", T)),
  );
  clock.advance(PENDING_FLUSH_MS - 1);
  assert.equal(lines.length, 0);
  asm.push(enc.encode("continued\n")); // activity re-arms the quiet period
  clock.advance(PENDING_FLUSH_MS - 1);
  assert.equal(lines.length, 0);
  clock.advance(1);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].message, "Port-Forward:       127.1.27.1 web:80 to pod web-1:8080\ncontinued");
  assert.equal(clock.pending, 0);
  asm.close();
  assert.equal(lines.length, 1);
  assert.equal(clock.pending, 0, "close clears timers");
});

Deno.test("OutputAssembler: close() flushes the unterminated line and clears the timer", () => {
  const { lines, asm, clock } = collect();
  asm.push(enc.encode("\x1b[31mFATA\x1b[0m[15:04:05] Error in get rawConfig: boom"));
  assert.equal(clock.pending, 0, "no timer before a line is complete");
  asm.close();
  assert.deepEqual(lines, [{
    stream: "stdout",
    level: "FATA",
    clock: "15:04:05",
    message: "Error in get rawConfig: boom",
  }]);
  assert.equal(clock.pending, 0);
  asm.push(enc.encode("ignored\n"));
  assert.equal(lines.length, 1);
});

Deno.test("OutputAssembler: bare stdout lines with nothing pending are their own lines", () => {
  const { lines, asm } = collect();
  asm.push(enc.encode("Cannot ifconfig lo0 alias 127.1.27.1 up\n\n"));
  asm.close();
  assert.deepEqual(lines, [{ stream: "stdout", message: "Cannot ifconfig lo0 alias 127.1.27.1 up" }]);
  assert.equal(parseKubefwdLine(lines[0]).kind, "fatal");
});

Deno.test("OutputAssembler: memory bounds (huge line, endless continuation)", () => {
  const { lines, asm } = collect();
  const chunk = enc.encode("x".repeat(64 * 1024));
  asm.push(enc.encode("\x1b[36mINFO\x1b[0m[15:04:05] "));
  for (let i = 0; i < 64; i++) asm.push(chunk); // 4 MiB without a newline
  asm.push(enc.encode("\n"));
  asm.close();
  assert.equal(lines.length, 1);
  assert.ok(lines[0].message.length <= MAX_LINE_CHARS + TRUNCATION_MARKER.length);
  assert.ok(lines[0].message.endsWith(TRUNCATION_MARKER));

  const b = collect();
  b.asm.push(enc.encode(formatLogrusLine("ERRO", "head", T)));
  for (let i = 0; i < MAX_CONTINUATION_LINES + 10; i++) b.asm.push(enc.encode(`cont ${i}\n`));
  b.asm.close();
  assert.equal(b.lines[0].message.split("\n").length, MAX_CONTINUATION_LINES + 1);
  assert.equal(b.lines.length, 1 + 10);
  assert.equal(b.lines[1].message, `cont ${MAX_CONTINUATION_LINES}`);

  const c = collect();
  c.asm.push(enc.encode(formatLogrusLine("ERRO", "head", T)));
  for (let i = 0; i < 40; i++) c.asm.push(enc.encode("y".repeat(1000) + "\n"));
  c.asm.close();
  assert.ok(c.lines[0].message.length <= MAX_LINE_CHARS + TRUNCATION_MARKER.length);
  assert.ok(c.lines[0].message.endsWith(TRUNCATION_MARKER));
});

function info(message: string, level: KubefwdLine["level"] = "INFO"): KubefwdLine {
  return { stream: "stdout", level, clock: "15:04:05", message };
}

Deno.test("parseKubefwdLine: 1.25.x and 1.22.x wordings", () => {
  const rows: [KubefwdLine, KubefwdEvent][] = [
    [info("Version 1.25.16"), { kind: "version", version: "1.25.16" }],
    [info("Version 0.0.0"), { kind: "version", version: "0.0.0" }],
    [
      info("Port-Forward:       127.1.27.1 web:80 to pod web-7d9f-abcde:8080"),
      {
        kind: "forward",
        forward: { ip: "127.1.27.1", hostname: "web", localPort: 80, pod: "web-7d9f-abcde", podPort: "8080" },
      },
    ],
    [
      info("Port-Forward:      127.1.28.12 api.other:8443 to pod api-0:https"),
      {
        kind: "forward",
        forward: {
          ip: "127.1.28.12",
          hostname: "api.other",
          localPort: 8443,
          pod: "api-0",
          podPort: "https",
        },
      },
    ],
    [
      info("Port-Forward:       127.2.29.1 db-0.db.ns.ctx-2:5432 to pod db-0:5432"),
      {
        kind: "forward",
        forward: {
          ip: "127.2.29.1",
          hostname: "db-0.db.ns.ctx-2",
          localPort: 5432,
          pod: "db-0",
          podPort: "5432",
        },
      },
    ],
    [
      info("Pod web-1 deleted, resyncing the web.default.kind service pods.", "WARN"),
      { kind: "pod_deleted", pod: "web-1", serviceKey: "web.default.kind", markedOnly: false },
    ],
    [
      info("Pod web-1 marked for deletion, resyncing the web.default.kind service pods.", "WARN"),
      { kind: "pod_deleted", pod: "web-1", serviceKey: "web.default.kind", markedOnly: true },
    ],
    [
      info("Lost connection to default/web-1: lost connection to pod", "ERRO"),
      { kind: "lost_connection", namespace: "default", pod: "web-1", error: "lost connection to pod" },
    ],
    [info("Runtime: lost connection to pod", "ERRO"), {
      kind: "lost_connection",
      error: "lost connection to pod",
    }],
    [
      info("PortForward error on default/web-1: error upgrading connection: 403", "ERRO"),
      {
        kind: "portforward_error",
        namespace: "default",
        pod: "web-1",
        error: "error upgrading connection: 403",
      },
    ],
    [
      info("PortForward error on web-1: lost connection to pod", "ERRO"),
      { kind: "portforward_error", pod: "web-1", error: "lost connection to pod" },
    ],
    [
      info(
        "Lost connection to default/web-1: unable to listen on any of the requested ports: [{80 8080}]",
        "ERRO",
      ),
      {
        kind: "listen_conflict",
        namespace: "default",
        pod: "web-1",
        error: "unable to listen on any of the requested ports: [{80 8080}]",
      },
    ],
    [
      info("ForwardPorts error: unable to listen on any of the requested ports: [{80 8080}]", "ERRO"),
      { kind: "listen_conflict", error: "unable to listen on any of the requested ports: [{80 8080}]" },
    ],
    [info("ForwardPorts error: boom", "ERRO"), { kind: "lost_connection", error: "boom" }],
    [
      info("API server error: listen tcp 127.2.27.1:80: bind: address already in use", "ERRO"),
      {
        kind: "listen_conflict",
        error: "API server error: listen tcp 127.2.27.1:80: bind: address already in use",
      },
    ],
    [
      info("Stopped forwarding pod web-1 for web.default.kind", "WARN"),
      { kind: "stopped_forwarding", pod: "web-1", serviceKey: "web.default.kind" },
    ],
    [
      info("Scheduling reconnection for web.default.kind in 2s"),
      { kind: "reconnect_scheduled", serviceKey: "web.default.kind", delay: "2s" },
    ],
    [info("Attempting reconnection for service web.default.kind"), {
      kind: "reconnect_attempt",
      serviceKey: "web.default.kind",
    }],
    [
      info("WARNING: No Running Pods returned for service web.default.kind", "WARN"),
      { kind: "no_running_pods", serviceKey: "web.default.kind" },
    ],
    [info("Pods now available for service web.default.kind"), {
      kind: "pods_available",
      serviceKey: "web.default.kind",
    }],
    [
      info(
        "WARNING: error readying interface: IP generation has run out of bounds: cluster, namespace, or service count exceeds 255",
        "WARN",
      ),
      {
        kind: "ip_exhausted",
        message:
          "WARNING: error readying interface: IP generation has run out of bounds: cluster, namespace, or service count exceeds 255",
      },
    ],
    [info("Runtime: failed to list *v1.Service: Get x: dial tcp", "ERRO"), {
      kind: "list_failed",
      message: "Runtime: failed to list *v1.Service: Get x: dial tcp",
    }],
    [
      info("Runtime: k8s.io/client-go/tools/cache/reflector.go:167: Failed to watch *v1.Service: x", "ERRO"),
      {
        kind: "list_failed",
        message: "Runtime: k8s.io/client-go/tools/cache/reflector.go:167: Failed to watch *v1.Service: x",
      },
    ],
    [info("WARNING: Error in List pods for web.default.kind: boom", "WARN"), {
      kind: "list_failed",
      message: "WARNING: Error in List pods for web.default.kind: boom",
    }],
    [
      info(
        "Error connecting to k8s cluster: Get x: dial tcp 1.2.3.4:443: connect: connection refused",
        "FATA",
      ),
      {
        kind: "fatal",
        message: "Error connecting to k8s cluster: Get x: dial tcp 1.2.3.4:443: connect: connection refused",
      },
    ],
    [info("Shutting down... (press Ctrl+C again to force)"), { kind: "shutting_down" }],
    [info("Received shutdown signal"), { kind: "shutting_down" }],
    [info("Forced shutdown - cleaning up hosts file", "WARN"), { kind: "shutting_down" }],
    [info("Clean exit"), { kind: "clean_exit" }],
    [info("Starting watcher for namespace default in context kind"), { kind: "other" }],
    [info("Runtime: an error occurred forwarding 80 -> 8080: boom", "ERRO"), { kind: "other" }],
    [{ stream: "stderr", message: "Error: unknown flag: --hosts-path" }, {
      kind: "fatal",
      message: "Error: unknown flag: --hosts-path",
    }],
    [{ stream: "stderr", message: "Error: unknown shorthand flag: 'a' in -a" }, {
      kind: "fatal",
      message: "Error: unknown shorthand flag: 'a' in -a",
    }],
    [{ stream: "stderr", message: "panic: IP generation has run out of bounds." }, {
      kind: "fatal",
      message: "panic: IP generation has run out of bounds.",
    }],
    [{ stream: "stderr", message: "sudo: a password is required" }, {
      kind: "fatal",
      message: "sudo: a password is required",
    }],
    [{ stream: "stderr", message: "sudo: unable to resolve host box: Name or service not known" }, {
      kind: "other",
    }],
    [
      {
        stream: "stderr",
        message: "W0102 15:04:05.123456    1234 reflector.go:324] failed to list *v1.Service: boom",
      },
      {
        kind: "list_failed",
        message: "W0102 15:04:05.123456    1234 reflector.go:324] failed to list *v1.Service: boom",
      },
    ],
    [{ stream: "stderr", message: "goroutine 1 [running]:" }, { kind: "other" }],
  ];
  for (const [line, expected] of rows) assert.deepEqual(parseKubefwdLine(line), expected, line.message);
});

Deno.test("classifyExit: table", () => {
  type Row = [Parameters<typeof classifyExit>, ExitClassification["kind"], RegExp?];
  const ok = { code: 0, signal: null };
  const one = { code: 1, signal: null };
  const two = { code: 2, signal: null };
  const rows: Row[] = [
    [[ok, undefined, true], "not_root", /superuser/],
    [[one, "Error in get rawConfig: x", true], "not_root", /superuser/],
    [[ok], "transient", /exited unexpectedly/],
    [[{ code: null, signal: "SIGSEGV" }], "transient", /killed by SIGSEGV/],
    [[{ code: 137, signal: null }], "transient", /137/],
    [
      [one, "Error generating REST configuration: context was not found for specified context: nope"],
      "permanent",
      /context was not found/,
    ],
    // recorded from kubefwd 1.22.3 (tests/fixtures/kubefwd_output/1.22.3/bad-context.log)
    [
      [one, 'Error generating REST configuration: context "no-such-context" does not exist'],
      "permanent",
      /does not exist/,
    ],
    [[one, "Error in get rawConfig: open /x: no such file or directory"], "permanent", /rawConfig/],
    [[one, "Error connecting to k8s cluster: missing RBAC permission: {get pods}"], "permanent", /RBAC/],
    [[one, "Error: unknown flag: --hosts-path"], "permanent", /unknown flag/],
    [[one, "Error: unknown shorthand flag: 'a' in -a"], "permanent"],
    [[one, "Hosts path does not exist: /nope"], "permanent"],
    [[one, "HostFile error: open /etc/hosts: permission denied"], "permanent"],
    [[one, "Error backing up hostfile: $HOME is not defined"], "permanent", /HOME/],
    [[one, "IP 10.0.0.1 for web is not in the range 127.0.0.0/8"], "permanent"],
    [[one, "IP 127.1.1.1 cannot be used as a reservation for multiple services"], "permanent"],
    [[one, "Error: cannot combine options --all-namespaces and -n."], "permanent"],
    [[one, 'Root check failure: exec: "id": executable file not found in $PATH'], "permanent"],
    [[two, "panic: runtime error: index out of range [1] with length 1"], "transient", /panicked/],
    [[two, "panic: BaseUnreservedIP is not in the range 127.0.0.0/8"], "permanent"],
    [[two, "panic: IP generation has run out of bounds."], "transient", /out of bounds/],
    [[
      one,
      'Error connecting to k8s cluster: Get "https://1.2.3.4/version?timeout=32s": dial tcp 1.2.3.4:443: i/o timeout',
    ], "unreachable"],
    [[one, "Error connecting to k8s cluster: Get x: net/http: TLS handshake timeout"], "unreachable"],
    [[
      one,
      'Error connecting to k8s cluster: Get "https://127.0.0.1:26443/version": dial tcp 127.0.0.1:26443: connect: connection refused',
    ], "unreachable"],
    [[
      one,
      "Error connecting to k8s cluster: getting credentials: exec: executable aws failed with exit code 255",
    ], "transient"],
    [
      [one, "Error connecting to k8s cluster: getting credentials: exec: executable file not found in $PATH"],
      "permanent",
      /executable/,
    ],
    [[one, "sudo: a password is required"], "not_root", /password/],
    [[one, "sudo: kubefwd: command not found"], "permanent"],
    [[one, "something nobody has seen"], "transient", /something nobody has seen \(exit code 1\)/],
    [[{ code: 255, signal: null }], "permanent", /255/],
    [[one], "transient", /exit code 1/],
  ];
  for (const [args, kind, reason] of rows) {
    const got = classifyExit(...args);
    assert.equal(got.kind, kind, JSON.stringify(args));
    if (reason) assert.match(got.reason, reason, JSON.stringify(args));
  }
});

Deno.test("splitServiceKey", () => {
  assert.deepEqual(splitServiceKey("web.default.kind-kind"), {
    service: "web",
    namespace: "default",
    context: "kind-kind",
  });
  assert.deepEqual(splitServiceKey("web.ns.prod.example.com"), {
    service: "web",
    namespace: "ns",
    context: "prod.example.com",
  });
  assert.equal(splitServiceKey("web.default"), undefined);
  assert.equal(splitServiceKey("web..x"), undefined);
});

// ---------------------------------------------------------------------------------------------------------
// Real recordings (tests/fixtures/kubefwd_output/<version>/, tests/e2e/capture_kubefwd.sh)

const RECORDINGS = new URL("../../tests/fixtures/kubefwd_output/", import.meta.url);

/** What each recorded message family must parse as (a line of a known family with another kind fails). */
const RECORDED_KINDS: [RegExp, KubefwdEvent["kind"]][] = [
  [/^Port-Forward:/, "forward"],
  [/^Version /, "version"],
  [/^Pod \S+ (deleted|marked for deletion), resyncing/, "pod_deleted"],
  [/^Lost connection to /, "lost_connection"],
  [/^Runtime: lost connection to pod$/, "lost_connection"],
  [/^PortForward error on /, "portforward_error"],
  [/^Stopped forwarding pod /, "stopped_forwarding"],
  [/^Scheduling reconnection for /, "reconnect_scheduled"],
  [/^Attempting reconnection for service /, "reconnect_attempt"],
  [/^WARNING: No Running Pods returned/, "no_running_pods"],
  [/^Pods now available for service /, "pods_available"],
  [/^WARNING: Error in List pods for /, "list_failed"],
  [/^(Shutting down\.\.\.|Received shutdown signal)/, "shutting_down"],
  [/^Clean exit$/, "clean_exit"],
  // The stream error of a dead pod; the `Lost connection`/`Runtime: lost connection` line after it counts.
  [/^Runtime: an error occurred forwarding /, "other"],
  [/^update service /, "other"],
];

/** Kinds each version's recordings must contain (so the table above is exercised, not vacuous). */
const EXPECTED_KINDS: Record<string, KubefwdEvent["kind"][]> = {
  "1.22.3": [
    "version",
    "forward",
    "lost_connection",
    "stopped_forwarding",
    "shutting_down",
    "clean_exit",
    "fatal",
  ],
  "1.25.16": [
    "version",
    "forward",
    "pod_deleted",
    "stopped_forwarding",
    "reconnect_scheduled",
    "reconnect_attempt",
    "no_running_pods",
    "pods_available",
    "lost_connection",
    "portforward_error",
    "list_failed",
    "shutting_down",
    "clean_exit",
    "fatal",
  ],
};

async function readRecording(
  path: URL,
): Promise<{ lines: KubefwdLine[]; exit?: { code: number; signal: string | null } }> {
  const lines: KubefwdLine[] = [];
  const out = new OutputAssembler("stdout", (l) => lines.push(l));
  const err = new OutputAssembler("stderr", (l) => lines.push(l));
  let exit: { code: number; signal: string | null } | undefined;
  for (const raw of (await Deno.readTextFile(path)).split("\n")) {
    if (raw.trim() === "") continue;
    const rec = JSON.parse(raw) as {
      fd?: 1 | 2;
      line?: string;
      exit?: { code: number; signal: string | null };
    };
    if (rec.exit) exit = rec.exit;
    else if (rec.line !== undefined) (rec.fd === 2 ? err : out).push(enc.encode(rec.line + "\n"));
  }
  out.close();
  err.close();
  return { lines, exit };
}

Deno.test("parseKubefwdLine and classifyExit on every real recording (1.22.3, 1.25.16)", async () => {
  for (const [version, expected] of Object.entries(EXPECTED_KINDS)) {
    const dir = new URL(`${version}/`, RECORDINGS);
    const seen = new Set<string>();
    const problems: string[] = [];
    for await (const f of Deno.readDir(dir)) {
      if (!f.name.endsWith(".timeline.jsonl")) continue;
      const scenario = f.name.replace(/\.timeline\.jsonl$/, "");
      const { lines, exit } = await readRecording(new URL(f.name, dir));
      let lastFatal: string | undefined;
      for (const line of lines) {
        const event = parseKubefwdLine(line);
        seen.add(event.kind);
        if (event.kind === "fatal") lastFatal = event.message;
        const want = RECORDED_KINDS.find(([re]) => re.test(line.message))?.[1];
        if (want !== undefined && event.kind !== want) {
          problems.push(
            `${version}/${scenario}: ${JSON.stringify(line.message)} → ${event.kind}, want ${want}`,
          );
        }
        if (line.stream === "stdout" && line.level === "FATA" && event.kind !== "fatal") {
          problems.push(`${version}/${scenario}: FATA line not fatal: ${line.message}`);
        }
        if (event.kind === "pod_deleted" && splitServiceKey(event.serviceKey)?.namespace !== "kfd-e2e") {
          problems.push(`${version}/${scenario}: service key ${event.serviceKey}`);
        }
        if (event.kind === "lost_connection" && version !== "1.22.3" && event.namespace !== "kfd-e2e") {
          problems.push(`${version}/${scenario}: lost connection without its namespace/pod: ${line.message}`);
        }
      }
      if (!exit) continue;
      if (/^(startup-shutdown|pod-|apiserver)/.test(scenario)) {
        // Stopped by the recorder's stop signal. A stop the supervisor asked for is not classified (its restart
        // policy knows it stopped the child); it must be kubefwd's graceful exit: code 0, no signal.
        if (exit.code !== 0 || exit.signal !== null) {
          problems.push(`${version}/${scenario}: requested stop → exit ${JSON.stringify(exit)}, want code 0`);
        }
        continue;
      }
      // The daemon's view of each unrequested exit.
      const kind = classifyExit(exit, lastFatal, false).kind;
      const want = scenario === "bad-context"
        ? "permanent"
        : scenario === "sigkill"
        ? "transient"
        : scenario.startsWith("cli-")
        ? "transient" // `version`/`--help` exit 0 on their own: never a kubefwd run the daemon asked for
        : "unexpected scenario";
      if (kind !== want) {
        problems.push(`${version}/${scenario}: exit ${JSON.stringify(exit)} → ${kind}, want ${want}`);
      }
    }
    for (const k of expected) if (!seen.has(k)) problems.push(`${version}: no ${k} event in any recording`);
    assert.deepEqual(problems, []);
  }
});
