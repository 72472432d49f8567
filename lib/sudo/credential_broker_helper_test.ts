/**
 * The root helper's credential broker through the real script: root kubefwd gets a kubeconfig the helper
 * wrote from the checked server/CA/proxy that the user command printed as the caller, with the helper's
 * `credential` verb as its only credential; `credential` runs the user command as the caller, never as root;
 * hostile broker output is refused. Needs root (the helper drops to another uid with setpriv).
 */
import assert from "node:assert/strict";
import { renderRootHelper, ROOT_HELPER_TEMPLATE_URL } from "./root_helper.ts";
import { clusterLines, execCredential } from "./credential_broker.ts";

const template = await Deno.readTextFile(ROOT_HELPER_TEMPLATE_URL);
const isRoot = Deno.uid() === 0;
const NOBODY = 65534;
const dec = new TextDecoder();

interface Broker {
  dir: string;
  helper: string;
  home: string;
  kubeconfig: string;
  fwdconf: string;
  userCommand: string;
  calls: string;
}

/**
 * A world-readable sandbox (the dropped-to user must reach the user command): a kubefwd that prints its
 * arguments and the kubeconfig it got, a user command that logs its uid and arguments and answers
 * `broker-cluster` with `clusterOut` and `broker-credential` with a token.
 */
async function broker(clusterOut: string, clusterExit = 0): Promise<Broker & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "kfd_broker_" });
  await Deno.chmod(dir, 0o755);
  const kubefwd = `${dir}/kubefwd`;
  await Deno.writeTextFile(
    kubefwd,
    '#!/bin/sh\nprintf "%s\\n" "$@"\nwhile [ $# -gt 0 ]; do [ "$1" = -c ] && { echo ---; cat "$2"; }; shift; done\n',
    { mode: 0o755 },
  );
  const calls = `${dir}/calls`;
  await Deno.writeTextFile(calls, "", { mode: 0o666 });
  await Deno.chmod(calls, 0o666);
  const userCommand = `${dir}/kubefwd-daemon`;
  await Deno.writeTextFile(
    userCommand,
    `#!/bin/sh\necho "$(id -u) $*" >> ${calls}\ncase $2 in\n` +
      `broker-cluster) printf '%s' '${clusterOut}'; exit ${clusterExit} ;;\n` +
      `broker-credential) echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t0k"}}' ;;\n` +
      `esac\n`,
    { mode: 0o755 },
  );
  const helper = `${dir}/kubefwd-root`;
  const home = `${dir}/home`;
  await Deno.writeTextFile(
    helper,
    renderRootHelper(template, { kubefwd, hosts: `${dir}/hosts`, home, self: helper, broker: true }),
    { mode: 0o755 },
  );
  const kubeconfig = `${dir}/kubeconfig`;
  await Deno.writeTextFile(kubeconfig, "users: [{name: u, user: {exec: {command: /bin/evil}}}]\n", {
    mode: 0o600,
  });
  const fwdconf = `${dir}/dev.fwdconf.yml`;
  await Deno.writeTextFile(fwdconf, "baseUnreservedIP: 127.3.27.1\n", { mode: 0o600 });
  return {
    dir,
    helper,
    home,
    kubeconfig,
    fwdconf,
    userCommand,
    calls,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

async function run(b: Broker, args: string[], sudoUid: number | undefined = NOBODY) {
  const out = await new Deno.Command("/bin/sh", {
    args: [b.helper, ...args],
    env: { PATH: "/usr/bin:/bin", ...(sudoUid === undefined ? {} : { SUDO_UID: String(sudoUid) }) },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const CA = btoa("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");

Deno.test({
  name: "broker run: kubefwd reads a root-owned kubeconfig of the checked cluster facts, never the caller's",
  ignore: !isRoot,
  fn: async () => {
    await using b = await broker(`server=https://127.0.0.1:36443\ncertificate-authority-data=${CA}\n`);
    const r = await run(b, [
      "run",
      "--user-command",
      b.userCommand,
      "svc",
      "-n",
      "dev",
      "-c",
      b.kubeconfig,
      "-x",
      "kfd-e2e",
      "-z",
      b.fwdconf,
      "-a",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const generated = `${b.home}/kubeconfigs/${NOBODY}-dev.kubeconfig`;
    const [args, kubeconfig] = r.stdout.split("---\n");
    assert.deepEqual(args.trimEnd().split("\n"), [
      "svc",
      "-n",
      "dev",
      "-c",
      generated,
      "-z",
      b.fwdconf,
      "-a",
    ]);
    assert.equal(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: kubefwd-daemon",
        "  cluster:",
        '    server: "https://127.0.0.1:36443"',
        `    certificate-authority-data: "${CA}"`,
        "users:",
        "- name: kubefwd-daemon",
        "  user:",
        "    exec:",
        "      apiVersion: client.authentication.k8s.io/v1",
        "      interactiveMode: Never",
        `      command: "${b.helper}"`,
        `      args: ["credential", "${NOBODY}", "${b.userCommand}", "${b.kubeconfig}", "kfd-e2e"]`,
        "contexts:",
        "- name: kubefwd-daemon",
        "  context:",
        "    cluster: kubefwd-daemon",
        "    user: kubefwd-daemon",
        "current-context: kubefwd-daemon",
        "",
      ].join("\n"),
    );
    const st = await Deno.stat(generated);
    assert.equal(st.uid, 0);
    assert.equal(st.mode! & 0o777, 0o600);
    assert.equal(
      await Deno.readTextFile(b.calls),
      `${NOBODY} kube broker-cluster --kubeconfig ${b.kubeconfig} --context kfd-e2e\n`,
      "the user command ran once, as the caller",
    );
  },
});

Deno.test({
  name: "broker credential: the user command runs as the uid the kubeconfig names, not as root",
  ignore: !isRoot,
  fn: async () => {
    await using b = await broker("");
    // As root kubefwd runs it: no SUDO_UID.
    const r = await run(b, ["credential", String(NOBODY), b.userCommand, b.kubeconfig, "ctx"], undefined);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status.token, "t0k");
    const noContext = await run(
      b,
      ["credential", String(NOBODY), b.userCommand, b.kubeconfig, ""],
      undefined,
    );
    assert.equal(noContext.code, 0, noContext.stderr);
    assert.equal(
      await Deno.readTextFile(b.calls),
      `${NOBODY} kube broker-credential --kubeconfig ${b.kubeconfig} --context ctx\n` +
        `${NOBODY} kube broker-credential --kubeconfig ${b.kubeconfig}\n`,
    );
    // Through sudo, only for the caller itself.
    const other = await run(b, ["credential", "0", b.userCommand, b.kubeconfig], NOBODY);
    assert.equal(other.code, 64);
    assert.match(other.stderr, /uid 0 is not the caller's/);
    assert.match((await run(b, ["credential", "0;id", "x", "y"])).stderr, /not a uid/);
    assert.match((await run(b, ["credential", "1"])).stderr, /usage: credential/);
  },
});

Deno.test({
  name: "broker run: hostile or failing broker output is refused before kubefwd runs",
  ignore: !isRoot,
  fn: async () => {
    const cases: [string, number, RegExp][] = [
      ["server=http://127.0.0.1:80\n", 0, /server is not an https URL/],
      ['server=https://x"\n  exec: {command: /bin/sh}\n', 0, /unexpected line|not an https URL/],
      ['server=https://x" , "y\n', 0, /not an https URL/],
      ['server=https://a.b\ncertificate-authority-data=ab"cd\n', 0, /CA is not base64/],
      ["server=https://a.b\nproxy-url=http://p:3128/x?y\n", 0, /proxy-url is not a plain URL/],
      ["server=https://a.b\ntoken=abc\n", 0, /unexpected line/],
      ["", 0, /server is not an https URL/],
      ["server=https://a.b\n", 3, /could not read the cluster \(as uid 65534\)/],
    ];
    for (const [out, exit, reason] of cases) {
      await using b = await broker(out, exit);
      const r = await run(b, [
        "run",
        "--user-command",
        b.userCommand,
        "svc",
        "-n",
        "a",
        "-c",
        b.kubeconfig,
        "-z",
        b.fwdconf,
      ]);
      assert.equal(r.code, 64, `${JSON.stringify(out)}: ${r.stdout}`);
      assert.match(r.stderr, reason, JSON.stringify(out));
      assert.equal(r.stdout, "", "kubefwd never ran");
    }
  },
});

Deno.test("broker check: the user command is required, absolute and plain", async () => {
  await using b = await broker("");
  const argv = ["svc", "-n", "a", "-c", b.kubeconfig, "-z", b.fwdconf];
  for (
    const [prefix, reason] of [
      [[], /--user-command is required/],
      [["--user-command", "kubefwd-daemon"], /must be an absolute path/],
      [["--user-command", '/x"y'], /quote or backslash/],
    ] as const
  ) {
    const r = await run(b, ["check", ...prefix, ...argv], Deno.uid()!);
    assert.equal(r.code, 64, JSON.stringify(prefix));
    assert.match(r.stderr, reason);
  }
  assert.match(
    (await run(b, ["check", "--user-command"], Deno.uid()!)).stderr,
    /--user-command needs a value/,
  );
  const ok = await run(b, ["check", "--user-command", b.userCommand, ...argv], Deno.uid()!);
  assert.equal(ok.stdout, "ok\n", ok.stderr);
  const two = await run(
    b,
    ["check", "--user-command", b.userCommand, ...argv, "-x", "a", "-x", "b"],
    Deno.uid()!,
  );
  assert.match(two.stderr, /at most one -x/);
});

Deno.test("clusterLines and execCredential: what the user command prints", () => {
  assert.equal(
    clusterLines({ server: "https://h:1", caCerts: ["A\n", "B\n"], proxyUrl: "http://p:3128" }),
    `server=https://h:1\ncertificate-authority-data=${btoa("A\nB\n")}\nproxy-url=http://p:3128\n`,
  );
  assert.equal(clusterLines({ server: "https://h", caCerts: [] }), "server=https://h\n");
  const base = { server: "https://h", caCerts: [] };
  assert.deepEqual(execCredential({ ...base, authorization: "Bearer abc" }, "c"), {
    apiVersion: "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    status: { token: "abc" },
  });
  assert.deepEqual(execCredential({ ...base, cert: "C", key: "K" }, "c").status, {
    clientCertificateData: "C",
    clientKeyData: "K",
  });
  assert.throws(() => execCredential({ ...base, authorization: "Basic eDp5" }, "c"), /basic authentication/);
  assert.throws(() => execCredential(base, "c"), /has no credentials/);
});
