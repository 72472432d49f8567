/** Shared pieces of the e2e tests and the MTTR bench: cluster faults, HTTP through hostnames, configs. */
import { TestEnv } from "../integration/harness.ts";

const E2E_DIR = new URL(".", import.meta.url).pathname;
/** A required environment variable set by run.sh / cluster.sh env. */
export const env = (k: string) => {
  const v = Deno.env.get(k);
  if (!v) throw new Error(`${k} is not set: run this through tests/e2e/run.sh`);
  return v;
};

/** GET through the forwarded hostname with curl (getaddrinfo reads /etc/hosts; no pooled connections). */
export async function httpGet(url: string, timeoutS = 2): Promise<string | undefined> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "--max-time", String(timeoutS), "--noproxy", "*", url],
    stdout: "piped",
    stderr: "null",
  }).output();
  return out.success ? new TextDecoder().decode(out.stdout) : undefined;
}

/** Run cluster.sh with a sub-command (fault injection). */
export async function cluster(...args: string[]): Promise<void> {
  const out = await new Deno.Command("bash", {
    args: [`${E2E_DIR}cluster.sh`, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`cluster.sh ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * The profile's kubefwd address range, preset in the daemon's state file: the daemon would take the first free
 * 127.N.27.1 from N=3, which is also what every integration test on the machine gets, and their simulators
 * listen on 127.3.27.x:8080 too (seen: real kubefwd's `unable to listen on any of the requested ports` loop
 * while another session's integration tests ran). N=241+ is used by nothing else in the repo.
 */
export function e2eBaseIp(version: string): string {
  const n = { "1.22.3": 241, "1.25.16": 242 }[version] ?? 243;
  return `127.${n}.27.1`;
}

/** A TestEnv whose profile runs real kubefwd `version` against the e2e cluster. */
export async function e2eEnv(
  version: string,
  profileExtra = "",
): Promise<{ env: TestEnv; kubeconfig: string }> {
  const t = await TestEnv.create();
  const kubeconfig = `${t.dir}/.kube/config`;
  await Deno.copyFile(env("KUBECONFIG"), kubeconfig);
  await t.writeConfig(profileConfig(version, kubeconfig, profileExtra));
  await Deno.mkdir(t.stateDir, { recursive: true });
  const state = {
    version: 1,
    profiles: {
      e2e: {
        counters: { restarts: 0, failures: 0, totalUptimeMs: 0 },
        events: [],
        baseIp: e2eBaseIp(version),
      },
    },
  };
  await Deno.writeTextFile(`${t.stateDir}/state.json`, JSON.stringify(state));
  return { env: t, kubeconfig };
}

/** Config text: one profile `e2e` on the cluster's context and namespace, fast retries. */
export function profileConfig(version: string, kubeconfig: string, extra = ""): string {
  return [
    "kubefwd:",
    `  path: ${kubefwdPath(version)}`,
    "  privilege: none",
    "  stop_timeout: 5s",
    "profiles:",
    "  e2e:",
    `    kubeconfig: ${kubeconfig}`,
    `    context: ${env("KFD_E2E_CONTEXT")}`,
    `    namespaces: [${env("KFD_E2E_NAMESPACE")}]`,
    "    retry: { initial_delay: 500ms, max_delay: 2s }",
    "    health: { interval: 1s, timeout: 1s, failure_threshold: 2 }",
    "    forward_failures: { debounce: 500ms }",
    extra,
  ].filter(Boolean).join("\n") + "\n";
}

/** Path of the cached kubefwd binary of `version` (same layout as lib.sh's kubefwd_bin). */
export function kubefwdPath(version: string): string {
  const cache = Deno.env.get("KFD_E2E_CACHE") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? "/root/.cache"}/kubefwd-daemon-e2e`;
  return `${cache}/kubefwd-${version}/kubefwd`;
}
