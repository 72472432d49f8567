/**
 * One chaos environment: the integration harness's TestEnv (temp HOME, the real daemon, the real CLI, the
 * kubefwd simulator writing a temp hosts file) with two profiles, secrets planted where users keep them
 * (a kubeconfig token, a kubeconfig file name that names a cluster, a token in `extra_args`, and kubefwd
 * printing them), foreign hosts lines that must survive, and a record of every output the suite saw.
 */
import type { StatusResult } from "../../lib/ipc/protocol.ts";
import type { ProfileStatus } from "../../lib/supervisor/types.ts";
import type { Scenario, ScenarioAction } from "../simulator/kubefwd_sim.ts";
import { type CliResult, processAlive, TestEnv, waitFor } from "../integration/harness.ts";

/** The profile the faults hit. */
export const TARGET = "alpha";
/** The profile that must not notice (its own namespace, its own kubeconfig). */
export const BYSTANDER = "beta";
/** Ports of this suite (other test files use their own; see their scenarios). */
const PORTS = { alpha: 18731, beta: 18732 };

/** Hosts lines that are not ours: the daemon must never remove them. */
export const FOREIGN_HOSTS_LINES = [
  "127.0.0.1 localhost",
  "::1 localhost ip6-localhost",
  "10.9.8.7 foreign-host.example",
  "127.9.27.9 someone-else",
];

function randomWord(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** Secrets of one environment; none may appear in any output. */
export interface Secrets {
  /** The kubeconfig's bearer token (kubefwd prints it in an error line). */
  kubeconfigToken: string;
  /** A token inside `extra_args` (`-l token=…`, a label selector kubefwd is given). */
  extraArgsToken: string;
  /** The kubeconfig's file name: it names a cluster, so it is masked too. */
  kubeconfigName: string;
  /** Where that kubeconfig lives (kubefwd prints the path in its errors). */
  kubeconfigPath: string;
}

/** Options of {@link ChaosEnv.create}. */
export interface ChaosEnvOptions {
  /** Scenario fields for both children (actions: use `onlyIn` to aim at one profile). */
  scenario?: Partial<Scenario>;
  /** Extra YAML under `daemon:`. */
  daemonYaml?: string;
  /** Called after the files exist and before the daemon starts (mounts). */
  beforeStart?: (env: ChaosEnv) => Promise<void>;
}

/** See the module comment. */
export class ChaosEnv {
  readonly t: TestEnv;
  readonly secrets: Secrets;
  /** Every CLI output since the last {@link ChaosEnv.takeOutputs}. */
  #outputs: string[] = [];
  #scenario: Scenario;
  readonly #daemonYaml: string;

  private constructor(t: TestEnv, secrets: Secrets, scenario: Scenario, daemonYaml: string) {
    this.t = t;
    t.onCliResult = (r) => this.#outputs.push(r.stdout, r.stderr);
    this.secrets = secrets;
    this.#scenario = scenario;
    this.#daemonYaml = daemonYaml;
  }

  /** Files written, the daemon started, both profiles healthy. */
  static async create(opts: ChaosEnvOptions = {}): Promise<ChaosEnv> {
    const t = await TestEnv.create();
    const kubeconfigName = `prod-chaos-${randomWord().slice(0, 6)}-cluster`;
    const secrets: Secrets = {
      kubeconfigToken: `kc${randomWord()}`,
      extraArgsToken: `xa${randomWord()}`,
      kubeconfigName,
      kubeconfigPath: `${t.dir}/.kube/${kubeconfigName}`,
    };
    const env = new ChaosEnv(
      t,
      secrets,
      { ...ChaosEnv.baseScenario(secrets), ...opts.scenario },
      opts.daemonYaml ?? "",
    );
    try {
      t.env.KUBEFWD_SIM_SCENARIO = `${t.dir}/scenario.json`;
      await env.writeScenario();
      await Deno.writeTextFile(env.kubeconfigPath, kubeconfig(secrets.kubeconfigToken), { mode: 0o600 });
      await Deno.writeTextFile(t.hostsPath, FOREIGN_HOSTS_LINES.join("\n") + "\n");
      await t.writeConfig(env.configText());
      await opts.beforeStart?.(env);
      await t.startDaemon();
      await env.waitHealthy(TARGET);
      await env.waitHealthy(BYSTANDER);
    } catch (e) {
      await env.t.cleanup();
      throw e;
    }
    return env;
  }

  /** Both namespaces, one service each; kubefwd prints the secrets now and then (masking must catch it). */
  static baseScenario(secrets: Secrets): Scenario {
    const svc = (name: string, port: number, pod: string) => ({
      name,
      labels: { token: secrets.extraArgsToken },
      ports: [{ port }],
      pods: [pod],
    });
    return {
      namespaces: {
        "chaos-a": { services: [svc("api", PORTS.alpha, "api-1")] },
        "chaos-b": { services: [svc("web", PORTS.beta, "web-1")] },
      },
      actions: ChaosEnv.secretLines(secrets),
    };
  }

  /** kubefwd lines that carry the secrets (an auth error naming the kubeconfig, a token in a URL query). */
  static secretLines(secrets: Secrets): ScenarioAction[] {
    return [{
      type: "log",
      atMs: 30,
      level: "ERRO",
      message:
        `Unauthorized: Authorization: Bearer ${secrets.kubeconfigToken} (token=${secrets.extraArgsToken})`,
    }, {
      type: "stderr",
      atMs: 40,
      lines: [`E1201 reading ${secrets.kubeconfigPath}: token: ${secrets.kubeconfigToken}`],
    }];
  }

  /** The target profile's kubeconfig (its name is a secret). */
  get kubeconfigPath(): string {
    return this.secrets.kubeconfigPath;
  }

  /** The config file text: both profiles, fast retries, the simulator as kubefwd, a token in extra_args. */
  configText(alphaExtra = ""): string {
    const t = this.t;
    const profile = (name: string, ns: string, kc: string, extra: string) =>
      `  ${name}:\n    kubeconfig: ${kc}\n    context: sim\n    namespaces: [${ns}]\n` +
      "    retry: { initial_delay: 100ms, max_delay: 1s }\n" +
      "    health: { interval: 1s, timeout: 1s, failure_threshold: 2 }\n" + extra;
    return (this.#daemonYaml ? `daemon:\n${this.#daemonYaml}\n` : "") +
      t.configHeader(`  extra_args: ["-l", "token=${this.secrets.extraArgsToken}"]`) +
      "profiles:\n" +
      profile(TARGET, "chaos-a", this.kubeconfigPath, alphaExtra) +
      profile(BYSTANDER, "chaos-b", `${t.dir}/.kube/config`, "");
  }

  /** The scenario every new child reads. */
  get scenario(): Scenario {
    return this.#scenario;
  }

  /** Replace the scenario (read by the next child that starts); the secret lines stay. */
  async setScenario(change: Partial<Scenario>): Promise<void> {
    this.#scenario = { ...ChaosEnv.baseScenario(this.secrets), ...change };
    if (change.actions) this.#scenario.actions = [...ChaosEnv.secretLines(this.secrets), ...change.actions];
    await this.writeScenario();
  }

  async writeScenario(): Promise<void> {
    await Deno.writeTextFile(`${this.t.dir}/scenario.json.tmp`, JSON.stringify(this.#scenario));
    await Deno.rename(`${this.t.dir}/scenario.json.tmp`, `${this.t.dir}/scenario.json`);
  }

  /** Run the CLI; its output is kept for the secret check. */
  cli(...args: string[]): Promise<CliResult> {
    return this.t.cli(...args);
  }

  /** `status --json`, kept for the secret check; throws when it fails. */
  status(...profiles: string[]): Promise<StatusResult> {
    return this.t.status(...profiles);
  }

  /** One profile's status with its events. */
  profile(name: string): Promise<ProfileStatus> {
    return this.t.profile(name);
  }

  /** The profile once running with every forward up. */
  async waitHealthy(name: string, timeoutMs = 20_000): Promise<ProfileStatus> {
    return await waitFor(() => this.t.healthy(name), `${name} running with every forward up`, timeoutMs, 100);
  }

  /** Outputs collected since the last call (CLI runs); the daemon's own output is read separately. */
  takeOutputs(): string[] {
    const out = this.#outputs;
    this.#outputs = [];
    return out;
  }

  /** Whether the daemon process of this environment is running. */
  get daemonAlive(): boolean {
    return this.t.daemon !== undefined && processAlive(this.t.daemon.pid);
  }

  /** Pid of the daemon process. */
  get daemonPid(): number {
    if (!this.t.daemon) throw new Error("no daemon");
    return this.t.daemon.pid;
  }

  /** Stop the daemon with `stop` and wait for its exit; returns the exit code. */
  async stopDaemon(): Promise<number> {
    const r = await this.cli("stop");
    if (r.code !== 0) throw new Error(`stop exited ${r.code}: ${r.stdout}${r.stderr}`);
    return (await this.t.daemonExit()).code;
  }

  /** Start a daemon again (after a stop or a kill) and wait for both profiles. */
  async restartDaemon(): Promise<void> {
    await this.t.startDaemon();
    await this.waitHealthy(TARGET);
    await this.waitHealthy(BYSTANDER);
  }

  async cleanup(): Promise<void> {
    await this.t.cleanup();
  }
}

function kubeconfig(token: string): string {
  return `apiVersion: v1
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
users:
- name: sim
  user:
    token: ${token}
`;
}

/** A kubeconfig with `token`, for faults that swap the file. */
export function kubeconfigWithToken(token: string): string {
  return kubeconfig(token);
}
