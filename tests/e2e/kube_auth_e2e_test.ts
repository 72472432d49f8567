/**
 * The home-made Kubernetes client (lib/kube/, reached through the hidden `kube list-services` subprocess
 * that resolves exclude_services globs) against the real kube-apiserver, once per kubeconfig auth kind
 * people use: client certificate (inline data and file references), bearer token, tokenFile, and exec
 * credential plugins (token and client certificate). Each kubeconfig is first checked with kubectl
 * (client-go, the reference implementation), so a failure here is the client's, not the kubeconfig's.
 * Also: RBAC denial (403) and a wrong token (401) must fail the listing with the apiserver's reason.
 *
 * Run through tests/e2e/run.sh (`deno task e2e`): cluster.sh provides the PKI (with a services-only reader
 * certificate), a --token-auth-file and the RBAC for group kfd-e2e-readers.
 */
import assert from "node:assert/strict";
import { env } from "./e2e_helpers.ts";
import { tempDir } from "../temp_dir.ts";
import { SubprocessServiceLister } from "../../lib/kubefwd/exclude.ts";
import type { ProfileSpec } from "../../lib/config/types.ts";

const PKI = env("KFD_E2E_PKI");
const SERVER = env("KFD_E2E_APISERVER_URL");
const NS = env("KFD_E2E_NAMESPACE");
const KUBECTL = env("KFD_E2E_KUBECTL");
const EXPECTED = ["echo-a", "echo-b", "echo-h"];

/** token of a user in pki/tokens.csv (`token,user,uid,"groups"`). */
async function tokenOf(user: string): Promise<string> {
  const line = (await Deno.readTextFile(`${PKI}/tokens.csv`)).split("\n").find((l) =>
    l.split(",")[1] === user
  );
  if (!line) throw new Error(`no token for ${user} in ${PKI}/tokens.csv`);
  return line.split(",")[0];
}

const b64 = async (path: string) => btoa(await Deno.readTextFile(path));

/** A kubeconfig with one context `auth` whose user is `user` (YAML lines under `user:`). */
function kubeconfig(userLines: string[], clusterLines?: string[]): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: e2e",
    "  cluster:",
    `    server: ${SERVER}`,
    ...(clusterLines ?? []).map((l) => `    ${l}`),
    "users:",
    "- name: u",
    "  user:",
    ...userLines.map((l) => `    ${l}`),
    "contexts:",
    "- name: auth",
    "  context: {cluster: e2e, user: u, namespace: " + NS + "}",
    "current-context: auth",
    "",
  ].join("\n");
}

/** Lists services through the daemon's own path: SubprocessServiceLister → `main.ts kube list-services`. */
async function listThroughDaemonPath(kubeconfigPath: string): Promise<string[]> {
  const profile = { kubeconfig: kubeconfigPath, context: "auth", labels: [] } as unknown as ProfileSpec;
  return await new SubprocessServiceLister({ timeoutMs: 30_000 }).list(profile, NS);
}

/** kubectl (client-go) with the same kubeconfig: the reference answer. */
async function listWithKubectl(
  kubeconfigPath: string,
): Promise<{ ok: boolean; names: string[]; err: string }> {
  const out = await new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", kubeconfigPath, "-n", NS, "get", "services", "-o", "name"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const names = new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map((l) =>
    l.replace(/^service\//, "")
  ).sort();
  return { ok: out.success, names, err: new TextDecoder().decode(out.stderr) };
}

interface Case {
  name: string;
  /** Files to write next to the kubeconfig (relative names), e.g. a token file or a plugin script. */
  files?: (dir: string) => Promise<Record<string, { text: string; mode?: number }>>;
  config: (dir: string) => Promise<string>;
  /** undefined: must list EXPECTED; a RegExp: must fail with a message matching it. */
  fails?: RegExp;
}

const caFile = ["certificate-authority: ca.crt"];

/** An exec credential plugin: checks what client-go also provides, then prints the given status. */
function execPlugin(
  status: Record<string, string>,
  apiVersion = "client.authentication.k8s.io/v1",
  wantClusterInfo = false,
): string {
  return [
    "#!/bin/sh",
    "# kubeconfig exec credential plugin for the e2e test",
    ...(wantClusterInfo
      ? [
        `case "$KUBERNETES_EXEC_INFO" in *'"server":"${SERVER}"'*) ;; *) echo "no spec.cluster.server" >&2; exit 6 ;; esac`,
      ]
      : []),
    '[ "$KFD_E2E_PLUGIN_ENV" = from-kubeconfig ] || { echo "exec.env not passed" >&2; exit 3; }',
    'case "$KUBERNETES_EXEC_INFO" in *ExecCredential*) ;; *) echo "no KUBERNETES_EXEC_INFO" >&2; exit 4 ;; esac',
    '[ "$1" = --flag ] || { echo "exec.args not passed" >&2; exit 5; }',
    "cat <<'EOF'",
    JSON.stringify({ apiVersion, kind: "ExecCredential", status }),
    "EOF",
    "",
  ].join("\n");
}
const execUser = (apiVersion = "client.authentication.k8s.io/v1", provideClusterInfo = false) => [
  "exec:",
  `  apiVersion: ${apiVersion}`,
  "  command: ./cred-plugin.sh",
  "  args: [--flag]",
  "  env: [{name: KFD_E2E_PLUGIN_ENV, value: from-kubeconfig}]",
  "  interactiveMode: Never",
  `  provideClusterInfo: ${provideClusterInfo}`,
];

const CASES: Case[] = [
  {
    name: "client certificate, inline data (system:masters)",
    config: async () =>
      kubeconfig(
        [
          `client-certificate-data: ${await b64(`${PKI}/admin.crt`)}`,
          `client-key-data: ${await b64(
            `${PKI}/admin.key`,
          )}`,
        ],
        [`certificate-authority-data: ${await b64(`${PKI}/ca.crt`)}`],
      ),
  },
  {
    name: "client certificate, file references relative to the kubeconfig (services-only reader)",
    files: async () => ({
      "ca.crt": { text: await Deno.readTextFile(`${PKI}/ca.crt`) },
      "reader.crt": { text: await Deno.readTextFile(`${PKI}/reader.crt`) },
      "reader.key": { text: await Deno.readTextFile(`${PKI}/reader.key`), mode: 0o600 },
    }),
    config: () =>
      Promise.resolve(kubeconfig(["client-certificate: reader.crt", "client-key: reader.key"], caFile)),
  },
  {
    name: "bearer token (static token file of the apiserver)",
    files: async () => ({ "ca.crt": { text: await Deno.readTextFile(`${PKI}/ca.crt`) } }),
    config: async () => kubeconfig([`token: ${await tokenOf("kfd-e2e-token")}`], caFile),
  },
  {
    name: "tokenFile (relative, with a trailing newline)",
    files: async () => ({
      "ca.crt": { text: await Deno.readTextFile(`${PKI}/ca.crt`) },
      "token": { text: (await tokenOf("kfd-e2e-token")) + "\n", mode: 0o600 },
    }),
    config: () => Promise.resolve(kubeconfig(["tokenFile: token"], caFile)),
  },
  {
    name: "exec credential plugin returning a token (client.authentication.k8s.io/v1, provideClusterInfo)",
    files: async () => ({
      "ca.crt": { text: await Deno.readTextFile(`${PKI}/ca.crt`) },
      "cred-plugin.sh": {
        text: execPlugin({ token: await tokenOf("kfd-e2e-exec") }, undefined, true),
        mode: 0o755,
      },
    }),
    config: () => Promise.resolve(kubeconfig(execUser(undefined, true), caFile)),
  },
  {
    name: "exec credential plugin returning a client certificate (v1beta1)",
    files: async () => ({
      "ca.crt": { text: await Deno.readTextFile(`${PKI}/ca.crt`) },
      "cred-plugin.sh": {
        text: execPlugin({
          clientCertificateData: await Deno.readTextFile(`${PKI}/reader.crt`),
          clientKeyData: await Deno.readTextFile(`${PKI}/reader.key`),
        }, "client.authentication.k8s.io/v1beta1"),
        mode: 0o755,
      },
    }),
    config: () => Promise.resolve(kubeconfig(execUser("client.authentication.k8s.io/v1beta1"), caFile)),
  },
  {
    name: "authenticated but not authorized (RBAC): fails with the apiserver's 403",
    files: async () => ({ "ca.crt": { text: await Deno.readTextFile(`${PKI}/ca.crt`) } }),
    config: async () => kubeconfig([`token: ${await tokenOf("kfd-e2e-nobody")}`], caFile),
    fails: /HTTP 403: services is forbidden: User "kfd-e2e-nobody" cannot list resource "services"/,
  },
  {
    name: "wrong token: fails with 401",
    files: async () => ({ "ca.crt": { text: await Deno.readTextFile(`${PKI}/ca.crt`) } }),
    config: () => Promise.resolve(kubeconfig(["token: not-a-valid-token"], caFile)),
    fails: /HTTP 401/,
  },
];

for (const c of CASES) {
  Deno.test(`kube list-services against the real apiserver: ${c.name}`, async () => {
    await using dir = await tempDir("kfd-e2e-auth-");
    for (const [name, f] of Object.entries(await c.files?.(dir.path) ?? {})) {
      await Deno.writeTextFile(`${dir.path}/${name}`, f.text, { mode: f.mode ?? 0o644 });
    }
    const path = `${dir.path}/kubeconfig`;
    await Deno.writeTextFile(path, await c.config(dir.path), { mode: 0o600 });
    const ref = await listWithKubectl(path);
    if (c.fails) {
      assert.equal(ref.ok, false, `kubectl must fail too: ${ref.names}`);
      await assert.rejects(listThroughDaemonPath(path), c.fails);
      return;
    }
    assert.ok(ref.ok, `kubectl with this kubeconfig fails, so it is broken: ${ref.err}`);
    assert.deepEqual(ref.names, EXPECTED, "kubectl's answer");
    assert.deepEqual(await listThroughDaemonPath(path), EXPECTED);
  });
}
