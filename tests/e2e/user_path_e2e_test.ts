/**
 * The path every real user takes (README § Security): the daemon runs as an unprivileged user and starts
 * real kubefwd through real sudo and the root helper, set up with the rule the program generates
 * (`kubefwd-daemon sudoers | sudo sh`), the CLI run through the launcher with the user's own HOME, XDG dirs
 * and Deno cache. Per kubefwd version: forwards answer; a replaced pod; kill -9 of the root kubefwd; a
 * kubefwd that outlives two SIGTERMs, killed through the helper; a SIGKILLed daemon's orphan removed at the
 * next start; the rule missing → `failed` with the setup command and no retry; a clean stop with no hosts
 * lines left.
 *
 * Run through tests/e2e/run.sh as root: this process is root inside isolate.sh's mount namespace (the hosts
 * file is a temp file), injects the faults, and runs every CLI call as the user (tests/e2e/user_path.ts).
 */
import assert from "node:assert/strict";
import { waitFor } from "../integration/harness.ts";
import { cluster, env, httpGet, kubefwdPath } from "./e2e_helpers.ts";
import {
  CHECKOUT,
  cli,
  cmdline,
  goneOrZombie,
  HOME,
  installKubefwd,
  installSudoers,
  prepareUser,
  procStatus,
  root,
  SUDOERS_FILE,
  uninstallSudoers,
  USER,
  userIds,
} from "./user_path.ts";
import type { ProfileStatus } from "../../lib/supervisor/types.ts";
import { ROOT_HELPER_HOME, ROOT_HELPER_PATH } from "../../lib/sudo/root_helper.ts";

const versions = (Deno.env.get("KFD_E2E_KUBEFWD_VERSIONS") ?? "").split(/\s+/).filter(Boolean);
if (versions.length === 0) throw new Error("KFD_E2E_KUBEFWD_VERSIONS is empty: run through tests/e2e/run.sh");
if (Deno.uid() !== 0) {
  throw new Error("the user-path e2e runs as root (it creates the user and installs the rule)");
}

const ECHO_A = "http://echo-a:8080/";
const answersEchoA = async () => (await httpGet(ECHO_A))?.includes("echo name=echo-a") ?? false;

/** The profile's range: away from the root-run e2e (241, 242) and from every integration test. */
function baseIp(version: string): string {
  return `127.${{ "1.22.3": 245, "1.25.16": 246 }[version] ?? 247}.27.1`;
}

let prepared: Promise<void> | undefined;

async function statusJson(): Promise<{ daemon: { pid: number }; profiles: ProfileStatus[] }> {
  const r = await cli("--json", "status");
  if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function profile(): Promise<ProfileStatus> {
  return (await statusJson()).profiles[0];
}

/** The profile's log lines; `daemonToo` adds the daemon's own (orphan recovery is logged there). */
async function logs(lines = 400, daemonToo = false): Promise<string> {
  return (await cli("logs", ...(daemonToo ? [] : ["e2e"]), "-n", String(lines))).stdout;
}

async function healthy(): Promise<void> {
  const r = await cli("status", "--wait-healthy", "--timeout", "60s");
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

/** Writes the user's config at the default path (the CLI needs no flags) and presets the address range. */
async function writeConfig(
  version: string,
  kubefwd: string,
  kubeconfig = `${HOME}/.kube/config`,
  freshState = true,
): Promise<void> {
  const { uid, gid } = await userIds();
  const configDir = `${HOME}/.config/kubefwd-daemon`;
  const stateDir = `${HOME}/.local/state/kubefwd-daemon`;
  if (freshState) await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  for (const d of [`${HOME}/.config`, configDir, `${HOME}/.local`, `${HOME}/.local/state`, stateDir]) {
    await Deno.mkdir(d, { recursive: true, mode: 0o700 });
    await Deno.chown(d, uid, gid);
  }
  const config = [
    "kubefwd:",
    `  path: ${kubefwd}`,
    "  stop_timeout: 2s",
    "profiles:",
    "  e2e:",
    `    kubeconfig: ${kubeconfig}`,
    `    context: ${env("KFD_E2E_CONTEXT")}`,
    `    namespaces: [${env("KFD_E2E_NAMESPACE")}]`,
    "    retry: { initial_delay: 500ms, max_delay: 2s }",
    "    health: { interval: 1s, timeout: 1s, failure_threshold: 2 }",
    "    forward_failures: { debounce: 500ms }",
  ].join("\n") + "\n";
  const state = {
    version: 1,
    profiles: {
      e2e: { counters: { restarts: 0, failures: 0, totalUptimeMs: 0 }, events: [], baseIp: baseIp(version) },
    },
  };
  for (
    const [path, text] of [[`${configDir}/config.yaml`, config], [
      `${stateDir}/state.json`,
      JSON.stringify(state),
    ]]
  ) {
    await Deno.writeTextFile(path, text, { mode: 0o600 });
    await Deno.chown(path, uid, gid);
  }
}

/**
 * A kubeconfig of the user whose only credential is an exec plugin (JSON is YAML): the plugin appends its uid
 * to ~/plugin-uids and answers with the cluster's admin client certificate.
 */
async function writeExecKubeconfig(uid: number, gid: number): Promise<string> {
  const flat = JSON.parse(
    (await root([
      env("KFD_E2E_KUBECTL"),
      "--kubeconfig",
      `${HOME}/.kube/config`,
      "config",
      "view",
      "--raw",
      "-o",
      "json",
    ]))
      .stdout,
  );
  const user = flat.users[0].user;
  const pem = (b64: string) => new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  const credential = {
    apiVersion: "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    status: {
      clientCertificateData: pem(user["client-certificate-data"]),
      clientKeyData: pem(user["client-key-data"]),
    },
  };
  const plugin = `${HOME}/.kube/record-uid-plugin`;
  flat.users[0].user = {
    exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin, interactiveMode: "Never" },
  };
  const files: [string, string, number][] = [
    [`${HOME}/.kube/admin-credential.json`, JSON.stringify(credential), 0o600],
    [plugin, `#!/bin/sh\nid -u >> ${HOME}/plugin-uids\ncat ${HOME}/.kube/admin-credential.json\n`, 0o700],
    [`${HOME}/.kube/exec-config`, JSON.stringify(flat), 0o600],
  ];
  for (const [path, text, mode] of files) {
    await Deno.writeTextFile(path, text, { mode });
    await Deno.chown(path, uid, gid);
  }
  return `${HOME}/.kube/exec-config`;
}

/** Stops whatever this version's steps left running (the last step's cleanup, also after a failure). */
async function teardown(): Promise<void> {
  const status = await cli("--json", "status");
  if (status.code === 0) {
    const stopped = await cli("stop");
    if (stopped.code !== 0) {
      const s = JSON.parse(status.stdout);
      await root(["kill", "-KILL", String(s.daemon.pid)], { allowFailure: true });
      for (const p of s.profiles as ProfileStatus[]) {
        for (const pid of [p.kubefwdPid, p.pid]) {
          if (pid) await root(["kill", "-KILL", String(pid)], { allowFailure: true });
        }
      }
    }
  }
  await uninstallSudoers();
  // The helper's HOME holds kubefwd's backup of the (isolated) hosts file: test state, not the machine's.
  await Deno.remove(ROOT_HELPER_HOME, { recursive: true }).catch(() => {});
}

function userSteps(version: string) {
  let setup: Promise<{ kubefwd: string }> | undefined;
  const step = (name: string, fn: (kubefwd: string) => Promise<void>) =>
    Deno.test({
      name: `e2e as a user, kubefwd ${version}: ${name}`,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: async () => {
        setup ??= (async () => {
          prepared ??= prepareUser();
          await prepared;
          const kubefwd = await installKubefwd(version, kubefwdPath(version));
          await writeConfig(version, kubefwd);
          return { kubefwd };
        })();
        const { kubefwd } = await setup;
        try {
          await fn(kubefwd);
        } catch (e) {
          const status = await cli("--json", "status").catch((x) => ({ stdout: String(x) }));
          console.log(
            `--- ${version} ${name} failed; status:\n${status.stdout}\n--- logs:\n${await logs(150)}\n---`,
          );
          throw e;
        }
      },
    });
  return {
    step,
    [Symbol.asyncDispose]: async () => {
      if (await setup?.catch(() => undefined)) await teardown();
    },
  };
}

for (const version of versions) {
  const steps = userSteps(version);
  const { step } = steps;

  step(
    "the generated sudoers setup; forwards answer through real sudo and the root helper",
    async (kubefwd) => {
      const installed = await installSudoers(kubefwd);
      assert.match(installed, new RegExp(`installed ${ROOT_HELPER_PATH} \\(runs ${kubefwd}\\)`));
      const rule = await Deno.readTextFile(SUDOERS_FILE);
      assert.equal(rule, (await cli("sudoers", "--print", "rule")).stdout);
      assert.match(rule, new RegExp(`^${USER} ALL=\\(root\\) NOPASSWD: ${ROOT_HELPER_PATH}$`, "m"));
      assert.equal(
        (await root(["visudo", "-c"], { allowFailure: true })).code,
        0,
        "the machine's sudoers parse",
      );
      const start = await cli("start");
      assert.equal(start.code, 0, start.stdout + start.stderr);
      await healthy();
      await waitFor(answersEchoA, "echo-a answering through its hostname", 20_000, 200);
      const { daemon, profiles: [p] } = await statusJson();
      const { uid } = await userIds();
      assert.equal(
        procStatus(daemon.pid, "Uid")?.split(/\s+/)[0],
        String(uid),
        "the daemon runs as the user",
      );
      assert.equal(p.kubefwdVersion, version);
      assert.equal(p.baseIp, baseIp(version));
      assert.ok(
        cmdline(p.pid!)!.startsWith(
          `/usr/bin/sudo\0-n\0${ROOT_HELPER_PATH}\0run\0--user-command\0${CHECKOUT}/kubefwd-daemon\0svc\0`,
        ),
        cmdline(p.pid!)!,
      );
      assert.ok(p.kubefwdPid && p.kubefwdPid !== p.pid, `kubefwdPid ${p.kubefwdPid}, pid ${p.pid}`);
      const kubefwdArgv = cmdline(p.kubefwdPid)!.split("\0");
      assert.deepEqual(kubefwdArgv.slice(0, 2), [kubefwd, "svc"], kubefwdArgv.join(" "));
      // The credential broker: root kubefwd reads the helper's root-owned kubeconfig, never the user's.
      const generated = `${ROOT_HELPER_HOME}/kubeconfigs/${uid}-e2e.kubeconfig`;
      assert.equal(kubefwdArgv[kubefwdArgv.indexOf("-c") + 1], generated);
      assert.ok(!kubefwdArgv.includes("-x"), "the generated kubeconfig has one context");
      assert.equal((await Deno.stat(generated)).uid, 0);
      assert.doesNotMatch(await Deno.readTextFile(generated), /client-key|token/);
      assert.equal(procStatus(p.kubefwdPid, "Uid")?.split(/\s+/)[1], "0", "kubefwd runs as root");
      const environ = Deno.readTextFileSync(`/proc/${p.kubefwdPid}/environ`).split("\0").filter(Boolean)
        .sort();
      assert.deepEqual(environ, [
        `HOME=${ROOT_HELPER_HOME}`,
        `KUBEFWD_DAEMON_UID=${uid}`,
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
      ]);
      const human = await cli("status", "e2e");
      assert.match(human.stdout, new RegExp(`pid ${p.kubefwdPid} \\(under sudo pid ${p.pid}\\)`));
    },
  );

  step(
    "an exec credential plugin in the user's kubeconfig runs as the user, never as root",
    async (kubefwd) => {
      const { uid, gid } = await userIds();
      const execConfig = await writeExecKubeconfig(uid, gid);
      await writeConfig(version, kubefwd, execConfig, false);
      const before = await profile();
      const r = await cli("reload");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      await waitFor(
        async () => (await profile()).kubefwdPid !== before.kubefwdPid,
        "kubefwd restarted",
        30_000,
      );
      await healthy();
      await waitFor(answersEchoA, "echo-a answering with the plugin's credential", 30_000, 200);
      const uids = (await Deno.readTextFile(`${HOME}/plugin-uids`)).trim().split("\n");
      assert.ok(
        uids.length > 0 && uids.every((u) => u === String(uid)),
        `the plugin ran as ${uids}, not only ${uid}`,
      );
    },
  );

  step(
    "with sudoers --kubeconfig-as-is the same plugin runs as root: the hole the broker closes",
    async (kubefwd) => {
      const uidsFile = `${HOME}/plugin-uids`;
      const restartAndCollect = async () => {
        await Deno.writeTextFile(uidsFile, "");
        const before = await profile();
        const r = await cli("restart", "e2e");
        assert.equal(r.code, 0, r.stdout + r.stderr);
        await waitFor(
          async () => (await profile()).kubefwdPid !== before.kubefwdPid,
          "kubefwd restarted",
          30_000,
        );
        await healthy();
        return (await Deno.readTextFile(uidsFile)).trim().split("\n");
      };
      await installSudoers(kubefwd, "--kubeconfig-as-is");
      assert.ok(
        (await restartAndCollect()).includes("0"),
        "as is, root kubefwd runs the user's plugin as root",
      );
      await installSudoers(kubefwd);
      const { uid } = await userIds();
      assert.deepEqual(
        [...new Set(await restartAndCollect())],
        [String(uid)],
        "through the broker, as the user",
      );
    },
  );

  step("a deleted and replaced pod is forwarded again", async () => {
    const current = (await profile()).forwards.find((f) => f.hostname === "echo-a")!.pod;
    const next = `echo-a-user-${version.replaceAll(".", "-")}`;
    await cluster("pod-delete", current);
    await cluster("pod-create", next, "echo-a");
    await waitFor(answersEchoA, "echo-a answering after the pod replacement", 60_000, 200);
    await waitFor(
      async () => (await profile()).forwards.some((f) => f.hostname === "echo-a" && f.pod === next),
      "status shows the new pod",
      30_000,
    );
  });

  step(
    "kill -9 of the root kubefwd: a new one answers, its leftover hosts lines removed through the helper",
    async () => {
      const before = await profile();
      await root(["kill", "-KILL", String(before.kubefwdPid)]);
      await waitFor(
        async () => {
          const p = await profile();
          return p.kubefwdPid && p.kubefwdPid !== before.kubefwdPid;
        },
        "a new kubefwd",
        20_000,
      );
      await waitFor(answersEchoA, "echo-a answering after the kill", 30_000, 100);
      const log = await logs();
      assert.match(log, new RegExp(`removed \\d+ leftover hosts name\\(s\\) of kubefwd pid ${before.pid}`));
      assert.doesNotMatch(log, /could not remove leftover hosts entries/);
      assert.equal((await profile()).failures, before.failures + 1);
    },
  );

  step("a kubefwd still running after two SIGTERMs is SIGKILLed through the helper", async () => {
    const before = await profile();
    const sudo = before.pid!;
    const kubefwd = before.kubefwdPid!;
    // sudo relays the daemon's SIGTERMs to kubefwd; stopped, it relays nothing, so kubefwd keeps running
    // through both, exactly like a kubefwd that ignores SIGTERM. (Stopping kubefwd itself would not do: sudo
    // then stops too and never reaps it.) Once the helper's SIGKILL has hit kubefwd, sudo is let go again so
    // it can exit, as it does when kubefwd dies.
    await root(["kill", "-STOP", String(sudo)]);
    const restart = cli("restart", "e2e");
    await waitFor(() => goneOrZombie(kubefwd), "kubefwd SIGKILLed by the helper", 30_000, 50);
    await root(["kill", "-CONT", String(sudo)]);
    const r = await restart;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await waitFor(
      async () => {
        const p = await profile();
        return p.kubefwdPid && p.kubefwdPid !== kubefwd;
      },
      "a new kubefwd",
      20_000,
    );
    await healthy();
    const log = await logs();
    assert.match(log, new RegExp(`ignored two SIGTERMs: SIGKILL of kubefwd pid\\(s\\) \\[${kubefwd}\\]`));
    assert.doesNotMatch(log, /could not SIGKILL kubefwd under sudo/);
  });

  step("a SIGKILLed daemon's root kubefwd is stopped at the next start", async () => {
    const { daemon, profiles: [p] } = await statusJson();
    await root(["kill", "-KILL", String(daemon.pid)]);
    await waitFor(() => goneOrZombie(daemon.pid), "the daemon gone", 10_000, 50);
    assert.ok(
      !goneOrZombie(p.kubefwdPid!),
      "kubefwd outlived its daemon (sudo clears the parent-death signal)",
    );
    const start = await cli("start");
    assert.equal(start.code, 0, start.stdout + start.stderr);
    await waitFor(() => goneOrZombie(p.kubefwdPid!) && goneOrZombie(p.pid!), "the orphan gone", 30_000, 100);
    await healthy();
    assert.match(
      await logs(400, true),
      new RegExp(`previous daemon left kubefwd of profile e2e \\(pid ${p.pid}\\): .*"outcome":"stopped"`),
    );
    assert.notEqual((await profile()).kubefwdPid, p.kubefwdPid);
  });

  step("without the sudoers rule: failed with the setup command, no prompt, no retry", async () => {
    const rule = await Deno.readTextFile(SUDOERS_FILE);
    await Deno.remove(SUDOERS_FILE);
    try {
      const r = await cli("restart", "e2e");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const p = await waitFor(
        async () => {
          const p = await profile();
          return p.state === "failed" ? p : undefined;
        },
        "failed",
        30_000,
      );
      assert.match(
        p.lastError!,
        /kubefwd could not get root through `sudo -n` \(sudo: a password is required\)/,
      );
      assert.match(p.lastError!, /`kubefwd-daemon sudoers \| sudo sh`/);
      assert.ok(p.lastError!.includes(`${USER} ALL=(root) NOPASSWD: ${ROOT_HELPER_PATH}`), p.lastError!);
      assert.equal(p.nextRetryAt, null, "no retry scheduled: no loop");
      assert.equal(p.pid, null);
    } finally {
      await Deno.writeTextFile(SUDOERS_FILE, rule, { mode: 0o440 });
    }
    const r = await cli("start", "e2e");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await healthy();
  });

  step("stop leaves no kubefwd, no sudo and no hosts lines", async () => {
    await using _last = steps;
    const p = await profile();
    const { daemon } = await statusJson();
    const r = await cli("stop");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await waitFor(() => goneOrZombie(daemon.pid), "the daemon gone", 10_000, 50);
    for (const pid of [p.pid!, p.kubefwdPid!]) assert.ok(goneOrZombie(pid), `pid ${pid} gone`);
    const hosts = await Deno.readTextFile("/etc/hosts");
    assert.doesNotMatch(hosts, /\becho-a\b/);
    assert.doesNotMatch(hosts, new RegExp(`^${baseIp(version).split(".").slice(0, 2).join("\\.")}\\.`, "m"));
  });
}
