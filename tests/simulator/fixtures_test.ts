/**
 * Real kubefwd output (tests/fixtures/kubefwd_output/<version>/*.timeline.jsonl, recorded by
 * tests/e2e/capture.ts) against the parser and the simulator: byte-exact logrus line format, every
 * Port-Forward line parsed, known message families in the simulator's wording, and the simulator's
 * startup sequence appearing in the same order. When no recordings exist yet the real-fixture test is
 * ignored; the same checks always run on a recording of the simulator itself, so they cannot rot.
 */
import assert from "node:assert/strict";
import { OutputAssembler, parseKubefwdLine } from "../../lib/kubefwd/output.ts";
import type { KubefwdLine } from "../../lib/kubefwd/types.ts";
import { LEVEL_COLOR, type LogrusLevel, padRunes } from "./logrus.ts";
import { SimProcess, tempDir, writeFwdConfFile, writeScenario } from "./harness.ts";

const FIXTURES = decodeURIComponent(new URL("../fixtures/kubefwd_output/", import.meta.url).pathname);

/** One recorded physical line. */
interface RecordedLine {
  fd: 1 | 2;
  line: string;
}

/**
 * Message families the simulator prints: the fixed start identifies the family, the regex is the full
 * wording the simulator uses. A real line starting with the prefix must match the regex.
 */
const FAMILIES: { prefix: string; re: RegExp; since?: "1.23" }[] = [
  { prefix: "Version ", re: /^Version v?\d+\.\d+\.\d+\S*$/ },
  { prefix: "Press [Ctrl-C] to stop", re: /^Press \[Ctrl-C\] to stop( forwarding)?\.$/ },
  { prefix: "'cat ", re: /^'cat \S+' to see all host entries\.$/ },
  { prefix: "Loaded hosts file ", re: /^Loaded hosts file \S+$/ },
  {
    prefix: "HostFile management: ",
    re:
      /^HostFile management: (Backing up (your original )?hosts file \S+ to \S+|Original hosts backup already exists at \S+( \(created [^)]+\)\. Use -b to create a fresh backup\.)?)$/,
  },
  { prefix: "Successfully connected context: ", re: /^Successfully connected context: \S+$/ },
  { prefix: "Starting watcher for namespace ", re: /^Starting watcher for namespace \S+ in context \S+$/ },
  {
    prefix: "SyncPodForwards starting",
    re: /^SyncPodForwards starting for service \S+ \(force=(true|false), currentForwards=\d+\)$/,
  },
  { prefix: "SyncPodForwards: Found", re: /^SyncPodForwards: Found \d+ eligible pods for service \S+$/ },
  { prefix: "Watching pod events in namespace ", re: /^Watching pod events in namespace \S+$/ },
  { prefix: "Port-Forward:", re: /^Port-Forward: +\S+ \S+:\d+ to pod \S+:\S+$/ },
  { prefix: "Shutting down", re: /^Shutting down\.\.\. \(press Ctrl\+C again to force\)$/ },
  { prefix: "Stopped watcher for namespace ", re: /^Stopped watcher for namespace \S+ in context \S+$/ },
  { prefix: "Stopped listening for pods", re: /^Stopped listening for pods being deleted$/ },
  {
    prefix: "Stopped watching Service events",
    re: /^Stopped watching Service events in namespace \S+ in \S+ context$/,
  },
  { prefix: "Received shutdown signal", re: /^Received shutdown signal$/ },
  { prefix: "Clean exit", re: /^Clean exit$/ },
  { prefix: "Forced shutdown", re: /^Forced shutdown - cleaning up hosts file$/ },
  { prefix: "Lost connection to ", re: /^Lost connection to [^/\s]+\/\S+: .+$/ },
  { prefix: "PortForward error on ", re: /^PortForward error on (\S+\/)?\S+: .+$/ },
  { prefix: "Stopped forwarding pod ", re: /^Stopped forwarding pod \S+ for \S+$/ },
  { prefix: "Scheduling reconnection for ", re: /^Scheduling reconnection for \S+ in \S+$/ },
  { prefix: "Attempting reconnection for service ", re: /^Attempting reconnection for service \S+$/ },
  { prefix: "Pod ", re: /^Pod \S+ (deleted|marked for deletion), resyncing the \S+ service pods\.$/ },
  { prefix: "WARNING: No Pod selector", re: /^WARNING: No Pod selector for service \S+, skipping$/ },
  { prefix: "WARNING: No Running Pods", re: /^WARNING: No Running Pods returned for service \S+$/ },
  { prefix: "Hosts path does not exist", re: /^Hosts path does not exist: .+$/ },
  { prefix: "Error in get rawConfig", re: /^Error in get rawConfig: .+$/ },
  { prefix: "Error generating REST configuration", re: /^Error generating REST configuration: .+$/ },
];

/** The family key of a message, or undefined. */
function familyOf(message: string): string | undefined {
  return FAMILIES.find((f) => message.startsWith(f.prefix))?.prefix;
}

// deno-lint-ignore no-control-regex
const PREFIX = /^\x1b\[(\d+)m(INFO|WARN|ERRO|FATA|DEBU)\x1b\[0m\[(\d\d:\d\d:\d\d)\] (.*)$/;

/** Checks a recording; returns the logical lines for further checks. Throws with every problem found. */
function checkRecording(name: string, recorded: RecordedLine[]): KubefwdLine[] {
  const problems: string[] = [];
  const stdout = recorded.filter((r) => r.fd === 1).map((r) => r.line);
  for (let i = 0; i < stdout.length; i++) {
    const m = PREFIX.exec(stdout[i]);
    if (!m) continue;
    const [, color, level, , rest] = m;
    if (Number(color) !== LEVEL_COLOR[level as LogrusLevel]) {
      problems.push(`${name}:${i}: colour ${color} for ${level}`);
    }
    const continued = i + 1 < stdout.length && !PREFIX.test(stdout[i + 1]);
    if (continued) continue; // the first line of a multi-line message is not padded on its own
    const msg = rest.replace(/ +$/, "");
    if (rest !== padRunes(msg) + " " && rest !== padRunes(rest.slice(0, -1)) + " ") {
      problems.push(`${name}:${i}: padding differs from logrus %-44s + " ": ${JSON.stringify(rest)}`);
    }
  }
  const lines: KubefwdLine[] = [];
  const out = new OutputAssembler("stdout", (l) => lines.push(l));
  const err = new OutputAssembler("stderr", (l) => lines.push(l));
  const enc = new TextEncoder();
  for (const r of recorded) (r.fd === 1 ? out : err).push(enc.encode(r.line + "\n"));
  out.close();
  err.close();
  for (const l of lines) {
    if (l.stream !== "stdout") continue;
    const event = parseKubefwdLine(l);
    if (l.message.startsWith("Port-Forward:") && event.kind !== "forward") {
      problems.push(`${name}: Port-Forward line not parsed: ${l.message}`);
    }
    const family = FAMILIES.find((f) => l.message.startsWith(f.prefix));
    if (family && !family.re.test(l.message)) {
      problems.push(`${name}: wording differs from the simulator: ${l.message}`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return lines;
}

async function readTimeline(path: string): Promise<RecordedLine[]> {
  const out: RecordedLine[] = [];
  for (const raw of (await Deno.readTextFile(path)).split("\n")) {
    if (raw.trim() === "") continue;
    const rec = JSON.parse(raw) as { fd?: 1 | 2; line?: string };
    if (rec.fd !== undefined && rec.line !== undefined) out.push({ fd: rec.fd, line: rec.line });
  }
  return out;
}

async function recordingsIn(dir: string): Promise<{ version: string; path: string }[]> {
  const found: { version: string; path: string }[] = [];
  try {
    for await (const v of Deno.readDir(dir)) {
      if (!v.isDirectory) continue;
      for await (const f of Deno.readDir(`${dir}/${v.name}`)) {
        if (f.isFile && f.name.endsWith(".timeline.jsonl")) {
          found.push({ version: v.name, path: `${dir}/${v.name}/${f.name}` });
        }
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/** Runs the simulator for `version` through startup and SIGTERM; returns its recorded stdout. */
async function recordSimulator(version: string): Promise<RecordedLine[]> {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/hosts`, "127.0.0.1 localhost\n");
  const scenario = await writeScenario(dir.path, {
    namespaces: {
      default: { services: [{ name: "web", ports: [{ port: 18090, targetPort: 8080 }], pods: ["web-0"] }] },
    },
  });
  const z = await writeFwdConfFile(dir.path, "127.90.27.1");
  await using sim = SimProcess.start({
    args: ["svc", "-n", "default", "-z", z],
    version,
    scenarioPath: scenario,
    hostsPath: `${dir.path}/hosts`,
  });
  await sim.waitForEvent("forward");
  sim.signal("SIGTERM");
  await sim.wait();
  return sim.rawStdout.split("\n").filter((l) => l !== "").map((line) => ({ fd: 1, line }));
}

/** The family keys of the simulator's lines must appear in the recording in the same order. */
function assertStartupOrder(name: string, real: KubefwdLine[], sim: KubefwdLine[]): void {
  const realKeys = real.map((l) => familyOf(l.message)).filter((k): k is string => k !== undefined);
  const simKeys = sim.map((l) => familyOf(l.message)).filter((k): k is string => k !== undefined);
  // compare the startup part: up to the first Port-Forward
  const cut = (keys: string[]) => keys.slice(0, Math.max(0, keys.indexOf("Port-Forward:")) + 1);
  let j = 0;
  const want = cut(simKeys);
  for (const k of cut(realKeys)) if (k === want[j]) j++;
  assert.equal(
    j,
    want.length,
    `${name}: simulator startup ${JSON.stringify(want)} not in real order ${JSON.stringify(cut(realKeys))}`,
  );
}

Deno.test("fixture checks pass on a recording of the simulator itself (1.25.16 and 1.22.5)", async () => {
  for (const version of ["1.25.16", "1.22.5"]) {
    const recorded = await recordSimulator(version);
    const lines = checkRecording(`sim-${version}`, recorded);
    assert.ok(lines.some((l) => l.message === "Clean exit"));
    assertStartupOrder(`sim-${version}`, lines, lines);
  }
  // and they do catch drift: a hand-made line with the wrong padding and an unknown wording
  assert.throws(
    () => checkRecording("bad", [{ fd: 1, line: "\x1b[36mINFO\x1b[0m[10:00:00] Clean exit " }]),
    /padding differs/,
  );
  assert.throws(
    () =>
      checkRecording("bad", [{
        fd: 1,
        line: `\x1b[36mINFO\x1b[0m[10:00:00] ${padRunes("Loaded hosts file from /etc/hosts")} `,
      }]),
    /wording differs/,
  );
});

const recordings = await recordingsIn(FIXTURES);

Deno.test({
  name: `real kubefwd recordings parse and match the simulator's formats (${recordings.length} files)`,
  ignore: recordings.length === 0,
  fn: async () => {
    const simByVersion = new Map<string, KubefwdLine[]>();
    for (const { version, path } of recordings) {
      const lines = checkRecording(path, await readTimeline(path));
      if (!lines.some((l) => l.message.startsWith("Port-Forward:"))) continue;
      const simVersion = /^v?\d+\.\d+\.\d+$/.test(version) ? version.replace(/^v/, "") : "1.25.16";
      if (!simByVersion.has(simVersion)) {
        const rec = await recordSimulator(simVersion);
        simByVersion.set(simVersion, checkRecording(`sim-${simVersion}`, rec));
      }
      assertStartupOrder(path, lines, simByVersion.get(simVersion)!);
    }
    // hosts lines written by kubefwd (txeh): `%-16s %s`, which the simulator reproduces
    for (const { path } of recordings) {
      const hostsAfter = path.replace(/\.timeline\.jsonl$/, ".hosts-after.txt");
      let text: string;
      try {
        text = await Deno.readTextFile(hostsAfter);
      } catch {
        continue;
      }
      const kubefwdRange = (l: string) => {
        const m = /^127\.(\d+)\.(\d+)\.\d+\s/.exec(l);
        return m !== null && (Number(m[1]) > 1 || (Number(m[1]) === 1 && Number(m[2]) >= 27));
      };
      for (const line of text.split("\n").filter(kubefwdRange)) {
        const ip = line.split(/\s+/)[0];
        assert.equal(line.slice(0, 17), ip.padEnd(16) + " ", `${hostsAfter}: ${line}`);
      }
    }
  },
});
