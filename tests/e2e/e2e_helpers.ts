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

/** A TestEnv whose profile runs real kubefwd `version` against the e2e cluster. */
export async function e2eEnv(
  version: string,
  profileExtra = "",
): Promise<{ env: TestEnv; kubeconfig: string }> {
  const t = await TestEnv.create();
  const kubeconfig = `${t.dir}/.kube/config`;
  await Deno.copyFile(env("KUBECONFIG"), kubeconfig);
  await t.writeConfig(profileConfig(version, kubeconfig, profileExtra));
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
