/**
 * Integration-test harness: a temp HOME with XDG dirs, a config whose profiles run the kubefwd
 * simulator, the real daemon as a subprocess and the real CLI as subprocesses. Tests talk to the
 * daemon only through the CLI, like a user or a script would.
 */
import type { StatusResult } from "../../lib/ipc/protocol.ts";
import type { ProfileStatus } from "../../lib/supervisor/types.ts";
import { daemonCommand } from "../../lib/self_command.ts";
import { withDeadline } from "../deadline.ts";
import { isTimeoutError, waitFor as pollUntil } from "../../lib/util/async.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** Absolute path of the program's entry point. */
export const MAIN = `${ROOT}/main.ts`;
/** The simulator's `kubefwd` wrapper script. */
export const SIMULATOR = `${ROOT}/tests/simulator/kubefwd`;

/** Deno's cache directory of this test process. */
const DENO_DIR = Deno.env.get("DENO_DIR") ??
  (Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`) + "/deno";

/** Longest a single CLI run may take in a test (generous: `stop` waits for kubefwd children to exit). */
export const CLI_DEADLINE_MS = 60_000;

/** Result of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Poll `check` until it returns a truthy value or `timeoutMs` passes; throws with `what` on timeout. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  what: string,
  timeoutMs = 15_000,
  stepMs = 50,
): Promise<T> {
  let lastError: unknown;
  const attempt = async () => {
    try {
      return await check();
    } catch (e) {
      lastError = e; // e.g. the CLI fails while the daemon is still starting: not yet, not a failure
      return undefined;
    }
  };
  try {
    return await pollUntil(attempt, timeoutMs, { step: stepMs }) as T;
  } catch (e) {
    if (!isTimeoutError(e)) throw e;
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ""}`,
    );
  }
}

/** Send `signal` to a child that may already have exited. */
export function signalQuietly(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch { /* already gone */ }
}

/** True if a process with this pid exists (zombies count as gone). */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Pids of live processes whose command line contains `needle`. */
export function processesMatching(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " ");
      if (cmdline.includes(needle) && processAlive(Number(entry.name))) pids.push(Number(entry.name));
    } catch { /* gone */ }
  }
  return pids;
}

/** Options of a test environment. */
export interface TestEnvOptions {
  /** YAML text of the `profiles:` mapping body, or a whole config via `config`. */
  config?: string;
  /** Simulator scenario (JSON) written to a file and passed as KUBEFWD_SIM_SCENARIO. */
  scenario?: unknown;
  /** Simulated kubefwd version (KUBEFWD_SIM_VERSION). */
  simVersion?: string;
  /** Extra environment for the daemon and its children. */
  env?: Record<string, string>;
}

/** One isolated daemon installation in a temp directory; `await using` cleans it up. */
export class TestEnv implements AsyncDisposable {
  readonly dir: string;
  readonly configPath: string;
  readonly socketPath: string;
  readonly stateDir: string;
  readonly hostsPath: string;
  readonly simPidFile: string;
  readonly env: Record<string, string>;
  daemon?: Deno.ChildProcess;
  #daemonOutput: Promise<string> | undefined;
  #outputSoFar = "";

  private constructor(dir: string, extraEnv: Record<string, string>) {
    this.dir = dir;
    this.configPath = `${dir}/config/kubefwd-daemon/config.yaml`;
    this.socketPath = `${dir}/run/kubefwd-daemon/daemon.sock`;
    this.stateDir = `${dir}/state/kubefwd-daemon`;
    this.hostsPath = `${dir}/hosts`;
    this.simPidFile = `${dir}/sim-pids.jsonl`;
    this.env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: dir,
      XDG_CONFIG_HOME: `${dir}/config`,
      XDG_RUNTIME_DIR: `${dir}/run`,
      XDG_STATE_HOME: `${dir}/state`,
      NO_COLOR: "1",
      KUBEFWD_SIM_HOSTS: this.hostsPath,
      KUBEFWD_SIM_PIDFILE: this.simPidFile,
      // HOME is a temp dir: keep Deno's module cache where it is, or every run would re-download.
      DENO_DIR: DENO_DIR,
      ...extraEnv,
    };
  }

  /** Create the directories, a kubeconfig, the hosts file, scenario and config. */
  static async create(opts: TestEnvOptions = {}): Promise<TestEnv> {
    const dir = await Deno.makeTempDir({ prefix: "kfd-it-" });
    const extra: Record<string, string> = { ...opts.env };
    if (opts.simVersion) extra.KUBEFWD_SIM_VERSION = opts.simVersion;
    const env = new TestEnv(dir, extra);
    await Deno.mkdir(`${dir}/config/kubefwd-daemon`, { recursive: true });
    await Deno.mkdir(`${dir}/run`, { recursive: true, mode: 0o700 });
    await Deno.mkdir(`${dir}/.kube`, { recursive: true });
    await Deno.writeTextFile(`${dir}/.kube/config`, KUBECONFIG, { mode: 0o600 });
    await Deno.writeTextFile(env.hostsPath, "127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
    if (opts.scenario !== undefined) {
      await Deno.writeTextFile(`${dir}/scenario.json`, JSON.stringify(opts.scenario));
      env.env.KUBEFWD_SIM_SCENARIO = `${dir}/scenario.json`;
    }
    if (opts.config !== undefined) await env.writeConfig(opts.config);
    return env;
  }

  /** Standard header: simulator as kubefwd, temp hosts file, fast stop. Append `profiles:` yourself. */
  configHeader(extra = ""): string {
    return [
      "kubefwd:",
      `  path: ${SIMULATOR}`,
      "  privilege: none",
      `  hosts_path: ${this.hostsPath}`,
      "  stop_timeout: 2s",
      extra,
    ].filter(Boolean).join("\n") + "\n";
  }

  /** Write the config file (mode 0600). */
  async writeConfig(text: string): Promise<void> {
    await Deno.writeTextFile(this.configPath, text, { mode: 0o600 });
  }

  /**
   * Run the real CLI with this environment. A CLI still running after {@link CLI_DEADLINE_MS} is killed
   * and the call throws: no verb of ours may hang, and a test must not hang with it.
   */
  async cli(...args: string[]): Promise<CliResult> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", MAIN, ...args],
      env: this.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = await withDeadline(
      child.output(),
      CLI_DEADLINE_MS,
      `the CLI: ${args.join(" ")}`,
      () => signalQuietly(child, "SIGKILL"),
    );
    const dec = new TextDecoder();
    const result = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    this.onCliResult?.(result);
    return result;
  }

  /** Sees every CLI result of this environment (the chaos suite scans them all for secrets). */
  onCliResult?: (result: CliResult) => void;

  /** `status --json` parsed; throws with the CLI output if it fails. */
  async status(...profiles: string[]): Promise<StatusResult> {
    const r = await this.cli("--json", "status", ...profiles);
    if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout) as StatusResult;
  }

  /** One profile's `status NAME --json` (with its events); throws when it is not there. */
  async profile(name: string): Promise<ProfileStatus> {
    const p = (await this.status(name)).profiles[0];
    if (p?.name !== name) throw new Error(`no profile ${name} in status`);
    return p;
  }

  /** The profile when it runs with at least one forward and every forward up, else undefined (for waitFor). */
  async healthy(name: string): Promise<ProfileStatus | undefined> {
    const p = await this.profile(name);
    return p.state === "running" && p.forwards.length > 0 && p.forwards.every((f) => f.state === "up")
      ? p
      : undefined;
  }

  /** Start the daemon in the foreground as a subprocess and wait until `status` answers. */
  async startDaemon(): Promise<Deno.ChildProcess> {
    const [cmd, ...args] = daemonCommand();
    this.daemon = new Deno.Command(cmd, {
      args,
      env: this.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const dec = new TextDecoder();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      let text = "";
      for await (const chunk of s) {
        const piece = dec.decode(chunk, { stream: true });
        text += piece;
        this.#outputSoFar += piece;
      }
      return text;
    };
    const daemon = this.daemon;
    this.#daemonOutput = Promise.all([collect(daemon.stdout), collect(daemon.stderr)]).then(([a, b]) =>
      a + b
    );
    let exited = false;
    daemon.status.then(() => exited = true);
    await waitFor(
      async () => {
        if (exited) throw new Error(`daemon exited during startup: ${await this.#daemonOutput}`);
        return (await this.cli("status")).code === 0;
      },
      "the daemon socket to answer",
      20_000,
    );
    return daemon;
  }

  /** Everything every daemon of this environment wrote to stdout and stderr so far. */
  get daemonOutputSoFar(): string {
    return this.#outputSoFar;
  }

  /** Wait for the foreground daemon to exit; returns its exit code and output. */
  async daemonExit(): Promise<{ code: number; signal: string | null; output: string }> {
    if (!this.daemon) throw new Error("no daemon started");
    const daemon = this.daemon;
    const status = await withDeadline(
      daemon.status,
      30_000,
      "the daemon to exit",
      () => signalQuietly(daemon, "SIGKILL"),
    );
    const output = await this.#daemonOutput!;
    this.daemon = undefined;
    return { code: status.code, signal: status.signal, output };
  }

  /** Pids of every simulator started in this environment that is still alive. */
  liveSimulators(): number[] {
    let lines: string[] = [];
    try {
      lines = Deno.readTextFileSync(this.simPidFile).trim().split("\n").filter(Boolean);
    } catch { /* none started */ }
    return lines.map((l) => (JSON.parse(l) as { pid: number }).pid).filter(processAlive);
  }

  /** Stop the daemon if running, kill leftover simulators, remove the directory. */
  async cleanup(): Promise<void> {
    if (this.daemon) {
      const daemon = this.daemon;
      signalQuietly(daemon, "SIGTERM");
      const timer = setTimeout(() => signalQuietly(daemon, "SIGKILL"), 15_000);
      await daemon.status;
      clearTimeout(timer);
      await this.#daemonOutput;
      this.daemon = undefined;
    }
    for (const pid of [...this.liveSimulators(), ...processesMatching(this.dir)]) {
      if (pid === Deno.pid) continue;
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.cleanup();
  }
}

/** A kubeconfig with one context; the simulator never contacts the server. */
const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: sim
clusters:
- name: sim
  cluster:
    server: https://127.0.0.1:6443
contexts:
- name: sim
  context:
    cluster: sim
    user: sim
- name: other
  context:
    cluster: sim
    user: sim
users:
- name: sim
  user:
    token: not-a-real-token
`;
