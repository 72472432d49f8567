/**
 * The invariants every fault is checked against, one function each, the same for every fault class:
 * the daemon is alive and answering, no kubefwd (simulator) runs that the daemon does not own, the hosts
 * file holds exactly the foreign lines plus the lines of live forwards, no planted secret appears in any
 * output, and the state file agrees with what the daemon reports. Conditions that settle asynchronously
 * (a child still stopping, a debounced save) are polled for a bounded time, never slept on.
 */
import type { StatusResult } from "../../lib/ipc/protocol.ts";
import { processAlive, waitFor } from "../integration/harness.ts";
import { type ChaosEnv, FOREIGN_HOSTS_LINES } from "./chaos_env.ts";
import { tempFileWriter } from "../../lib/util/atomic_write.ts";

/** The invariant columns of the table, in order. */
export const INVARIANTS = ["answering", "no orphan", "hosts clean", "no secret", "state consistent"] as const;
/** One invariant's name. */
export type Invariant = typeof INVARIANTS[number];

/** One check's outcome; `checked` counts what it looked at (outputs scanned, lines, profiles). */
export interface CheckResult {
  invariant: Invariant;
  ok: boolean;
  detail: string;
  checked: number;
}

/** How the daemon is expected to be when the invariants are checked. */
export interface Expectation {
  /** false after a deliberate shutdown: no child may be left, the hosts file only has foreign lines. */
  daemonRunning: boolean;
  /** The state file cannot be written right now: the daemon must say so; the file must still parse. */
  persistenceFailing?: boolean;
}

/** How long a settling condition may take before the invariant counts as broken. */
const SETTLE_MS = 15_000;

async function settle<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<string> {
  try {
    await waitFor(check, what, SETTLE_MS, 100);
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

/** The daemon process runs and `status` answers with its pid. */
export async function checkAnswering(env: ChaosEnv): Promise<CheckResult & { status?: StatusResult }> {
  if (!env.daemonAlive) {
    return { invariant: "answering", ok: false, detail: "the daemon process is gone", checked: 1 };
  }
  try {
    const status = await env.status();
    const ok = status.daemon.pid === env.daemonPid;
    return {
      invariant: "answering",
      ok,
      detail: ok ? "" : `status came from pid ${status.daemon.pid}`,
      checked: 1,
      status,
    };
  } catch (e) {
    return { invariant: "answering", ok: false, detail: (e as Error).message, checked: 1 };
  }
}

/** Pids of the simulators each profile's status names (empty when the daemon is down). */
async function ownedPids(env: ChaosEnv, running: boolean): Promise<Map<number, string>> {
  const owned = new Map<number, string>();
  if (!running) return owned;
  for (const p of (await env.status()).profiles) if (p.pid !== null) owned.set(p.pid, p.name);
  return owned;
}

/** Every live simulator is the current child of a profile; none when the daemon is down. */
export async function checkNoOrphans(env: ChaosEnv, expect: Expectation): Promise<CheckResult> {
  let seen = 0;
  let orphans: number[] = [];
  const failure = await settle("no kubefwd the daemon does not own", async () => {
    const live = env.t.liveSimulators();
    seen = live.length;
    const owned = await ownedPids(env, expect.daemonRunning);
    orphans = live.filter((pid) => !owned.has(pid));
    return orphans.length === 0;
  });
  return {
    invariant: "no orphan",
    ok: failure === "",
    detail: failure === "" ? "" : `orphaned simulator pids ${orphans.join(", ")} (${failure})`,
    checked: Math.max(seen, 1),
  };
}

function ipOf(line: string): string {
  return line.trim().split(/\s+/)[0] ?? "";
}

/**
 * The hosts file has every foreign line, and each other line belongs to a forward of a live child (the
 * profiles' status): nothing stale from a dead kubefwd, nothing removed that was not ours.
 */
export async function checkHosts(env: ChaosEnv, expect: Expectation): Promise<CheckResult> {
  let problems: string[] = [];
  let lines = 0;
  const failure = await settle("a clean hosts file", async () => {
    const text = await Deno.readTextFile(env.t.hostsPath);
    const present = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
    lines = present.length;
    const live = new Set<string>();
    if (expect.daemonRunning) {
      for (const p of (await env.status()).profiles) {
        if (p.pid !== null) { for (const f of p.forwards) live.add(f.ip); }
      }
    }
    problems = [
      ...FOREIGN_HOSTS_LINES.filter((l) => !present.includes(l)).map((l) => `foreign line removed: ${l}`),
      ...present.filter((l) => !FOREIGN_HOSTS_LINES.includes(l) && !live.has(ipOf(l))).map((l) =>
        `stale line: ${l}`
      ),
    ];
    return problems.length === 0;
  });
  return {
    invariant: "hosts clean",
    ok: failure === "",
    detail: failure === "" ? "" : problems.join("; "),
    checked: lines,
  };
}

/** Files of the state directory worth scanning, with the one field that keeps raw argv left out. */
async function stateDirTexts(env: ChaosEnv): Promise<[string, string][]> {
  const out: [string, string][] = [];
  const walk = async (dir: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return;
    }
    for (const e of entries) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.isFile && !e.name.startsWith("filler") && !inFlightStateWrite(env, e.name)) {
        let text = await Deno.readTextFile(path).catch(() => "");
        if (e.name === "state.json") text = withoutChildCmdlines(text);
        out.push([path, text]);
      }
    }
  };
  await walk(env.t.stateDir);
  return out;
}

/**
 * A write of state.json by the live daemon, caught between create and rename: the same content as
 * state.json, whose child cmdline is raw by design. A temp file of any other process is a leftover and
 * is scanned (the daemon removes those when it starts).
 */
function inFlightStateWrite(env: ChaosEnv, name: string): boolean {
  return env.daemonAlive && tempFileWriter("state.json", name) === env.daemonPid;
}

/**
 * The owned child's cmdline is the real argv, compared with /proc by orphan recovery; it stays in the
 * 0600 state file unmasked by design (docs/architecture.md), so it is the one text not scanned.
 */
function withoutChildCmdlines(text: string): string {
  try {
    const state = JSON.parse(text);
    for (const p of Object.values(state.profiles ?? {}) as { child?: { cmdline?: string } }[]) {
      if (p.child) p.child.cmdline = "(not scanned)";
    }
    return JSON.stringify(state);
  } catch {
    return text;
  }
}

/** No planted secret in any CLI output, in the daemon's own output, its log or any file it wrote. */
export async function checkNoSecrets(env: ChaosEnv, extraOutputs: string[] = []): Promise<CheckResult> {
  const secrets = [env.secrets.kubeconfigToken, env.secrets.extraArgsToken, env.secrets.kubeconfigName];
  // The log through the CLI (human and JSON) and `config show` join the outputs scanned below.
  if (env.daemonAlive) {
    await env.cli("logs", "-n", "2000");
    await env.cli("--json", "logs", "-n", "2000");
  }
  const configShow = await env.cli("config", "show");
  const texts: [string, string][] = [
    ...env.takeOutputs().map((t, i): [string, string] => [`CLI output #${i}`, t]),
    ["daemon stdout/stderr", env.t.daemonOutputSoFar],
    ...extraOutputs.map((t, i): [string, string] => [`fault output #${i}`, t]),
    ...(await stateDirTexts(env)),
  ];
  const leaks: string[] = [];
  for (const [where, text] of texts) {
    for (const s of secrets) {
      if (text.includes(s)) leaks.push(`${s.slice(0, 6)}… in ${where}: ${excerpt(text, s)}`);
    }
  }
  return {
    invariant: "no secret",
    ok: leaks.length === 0 && configShow.code === 0,
    detail: leaks.length > 0
      ? leaks.slice(0, 3).join("; ")
      : configShow.code === 0
      ? ""
      : `config show exited ${configShow.code}`,
    checked: texts.length,
  };
}

function excerpt(text: string, secret: string): string {
  const at = text.indexOf(secret);
  return JSON.stringify(text.slice(Math.max(0, at - 80), at + secret.length + 20));
}

interface PersistedProfile {
  enabledOverride?: boolean;
  counters?: { restarts: number; failures: number };
  events?: { at: string; to: string; reason: string }[];
  baseIp?: string;
  child?: { pid: number };
}

/**
 * state.json parses, has the current version, and agrees with `status`: the same profiles, counters,
 * enable overrides, base addresses and newest event, and a child record exactly for the profiles whose
 * child runs. While persistence fails, the daemon must say so and the old file must still parse.
 */
export async function checkState(env: ChaosEnv, expect: Expectation): Promise<CheckResult> {
  const path = `${env.t.stateDir}/state.json`;
  let problems: string[] = [];
  let profiles = 0;
  if (expect.persistenceFailing) {
    const status = await env.status();
    problems = [];
    if (status.daemon.persistence?.ok !== false) problems.push("status does not say that persistence fails");
    try {
      const text = await Deno.readTextFile(path).catch((e) => {
        if (e instanceof Deno.errors.NotFound) return '{"version":1,"profiles":{}}';
        throw e;
      });
      JSON.parse(text);
    } catch (e) {
      problems.push(`the old state file no longer parses: ${(e as Error).message}`);
    }
    return {
      invariant: "state consistent",
      ok: problems.length === 0,
      detail: problems.join("; "),
      checked: 1,
    };
  }
  const failure = await settle("state.json consistent with status", async () => {
    const state = JSON.parse(await Deno.readTextFile(path)) as {
      version: number;
      profiles: Record<string, PersistedProfile>;
    };
    problems = [];
    if (state.version !== 1) problems.push(`version ${state.version}`);
    if (!expect.daemonRunning) {
      for (const [name, p] of Object.entries(state.profiles)) {
        if (p.child) problems.push(`${name}: child ${p.child.pid} still recorded after the shutdown`);
      }
      profiles = Object.keys(state.profiles).length;
      return problems.length === 0;
    }
    const status = await env.status();
    if (status.daemon.persistence?.ok === false) {
      problems.push(`persistence failing: ${status.daemon.persistence.error}`);
    }
    const names = status.profiles.map((p) => p.name);
    for (const name of Object.keys(state.profiles)) {
      if (!names.includes(name)) problems.push(`state has unknown profile ${name}`);
    }
    for (const p of status.profiles) {
      const s = state.profiles[p.name];
      if (!s) {
        problems.push(`${p.name}: not in the state file`);
        continue;
      }
      if (s.counters?.restarts !== p.restarts || s.counters?.failures !== p.failures) {
        problems.push(
          `${p.name}: counters ${JSON.stringify(s.counters)} vs status ${p.restarts}/${p.failures}`,
        );
      }
      if ((s.enabledOverride !== undefined) !== (p.enabledSource === "cli")) {
        problems.push(`${p.name}: override ${s.enabledOverride} vs enabledSource ${p.enabledSource}`);
      }
      if (s.baseIp !== p.baseIp) problems.push(`${p.name}: baseIp ${s.baseIp} vs ${p.baseIp}`);
      if ((s.child?.pid ?? null) !== p.pid) problems.push(`${p.name}: child ${s.child?.pid} vs pid ${p.pid}`);
      if (s.child && !processAlive(s.child.pid)) {
        problems.push(`${p.name}: recorded child ${s.child.pid} is dead`);
      }
      const detail = (await env.status(p.name)).profiles[0];
      const last = detail.events?.at(-1);
      const saved = s.events?.at(-1);
      if (last && (saved?.at !== last.at || saved?.to !== last.to)) {
        problems.push(`${p.name}: newest event ${JSON.stringify(saved)} vs status ${JSON.stringify(last)}`);
      }
    }
    profiles = status.profiles.length;
    return problems.length === 0;
  });
  return {
    invariant: "state consistent",
    ok: failure === "",
    detail: failure === "" ? "" : `${problems.join("; ")} (${failure})`,
    checked: Math.max(profiles, 1),
  };
}

/** Every invariant, in table order. */
export async function checkAll(
  env: ChaosEnv,
  expect: Expectation,
  extraOutputs: string[] = [],
): Promise<CheckResult[]> {
  const answering = expect.daemonRunning ? await checkAnswering(env) : {
    invariant: "answering" as const,
    ok: !env.daemonAlive,
    detail: env.daemonAlive ? "the daemon still runs after its shutdown" : "",
    checked: 1,
  };
  if (!answering.ok) {
    // Without an answering daemon the other checks cannot ask it anything; they still run where they can.
    expect = { ...expect, daemonRunning: false };
  }
  return [
    answering,
    await checkNoOrphans(env, expect),
    await checkHosts(env, expect),
    await checkNoSecrets(env, extraOutputs),
    await checkState(env, expect),
  ];
}
