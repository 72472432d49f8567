import assert from "node:assert/strict";
import type { KubefwdSettings } from "../config/types.ts";
import {
  childEnvironment,
  notRootMessage,
  planInvocation,
  resolveExecutable,
  sudoersLine,
} from "./privilege.ts";

const settings: KubefwdSettings = {
  path: "kubefwd",
  privilege: "auto",
  extraArgs: [],
  hostsPath: "/etc/hosts",
  stopTimeoutMs: 10_000,
};

Deno.test("planInvocation: auto/sudo/none × root/non-root", () => {
  const table: [KubefwdSettings["privilege"], boolean, string[], boolean][] = [
    ["auto", true, [], false],
    ["auto", false, ["sudo", "-n"], true],
    ["sudo", true, ["sudo", "-n"], true],
    ["sudo", false, ["sudo", "-n"], true],
    ["none", true, [], false],
    ["none", false, [], false],
  ];
  for (const [privilege, isRoot, prefix, viaSudo] of table) {
    assert.deepEqual(planInvocation({ ...settings, privilege }, isRoot), { prefix, viaSudo }, privilege);
  }
  // Never -E: it needs SETENV in sudoers.
  assert.ok(!planInvocation(settings, false).prefix.includes("-E"));
});

Deno.test("childEnvironment: HOME, PATH order and dedup, plugin dirs only when present, daemon vars dropped", () => {
  const present = new Set(["/home/u/.krew/bin", "/opt/homebrew/bin"]);
  const env = childEnvironment(
    {
      PATH: "/home/u/bin2:/usr/bin::/home/u/bin2",
      KUBECONFIG: "/k/config",
      AWS_PROFILE: "dev",
      NOTIFY_SOCKET: "/run/x",
      DENO_DIR: "/d",
      HOME: "/wrong",
    },
    "/home/u",
    (d) => present.has(d),
  );
  assert.equal(env.HOME, "/home/u");
  assert.equal(env.KUBECONFIG, "/k/config");
  assert.equal(env.AWS_PROFILE, "dev");
  assert.equal(env.NOTIFY_SOCKET, undefined);
  assert.equal(env.DENO_DIR, undefined);
  assert.equal(
    env.PATH,
    "/home/u/bin2:/usr/bin:/usr/local/bin:/bin:/usr/sbin:/sbin:/home/u/.krew/bin:/opt/homebrew/bin",
  );
});

Deno.test("childEnvironment: works without a PATH at all", () => {
  const env = childEnvironment({}, "/root", () => false);
  assert.equal(env.PATH, "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
  assert.equal(env.HOME, "/root");
});

Deno.test("resolveExecutable: PATH order, absolute paths checked, missing → undefined", () => {
  const exe = new Set(["/b/kubefwd", "/c/kubefwd", "/opt/k"]);
  const isExe = (p: string) => exe.has(p);
  assert.equal(resolveExecutable("kubefwd", "/a:/b:/c", isExe), "/b/kubefwd");
  assert.equal(resolveExecutable("kubefwd", "/a/:/c/", isExe), "/c/kubefwd");
  assert.equal(resolveExecutable("kubefwd", "/a", isExe), undefined);
  assert.equal(resolveExecutable("/opt/k", "", isExe), "/opt/k");
  assert.equal(resolveExecutable("/opt/missing", "/b", isExe), undefined);
  // Real filesystem.
  assert.equal(resolveExecutable("sh", "/nonexistent:/bin"), "/bin/sh");
});

Deno.test("notRootMessage: actionable, with the sudoers line", () => {
  const linux = new Set(["/usr/bin/kill", "/usr/bin/tee"]);
  const line = sudoersLine("alice", "/usr/local/bin/kubefwd", "/etc/hosts", (p) => linux.has(p));
  assert.equal(
    line,
    "alice ALL=(root) NOPASSWD: /usr/local/bin/kubefwd, /usr/bin/kill, /usr/bin/tee /etc/hosts",
  );
  const macos = new Set(["/bin/kill", "/usr/bin/tee"]);
  assert.equal(
    sudoersLine("ana", "/opt/homebrew/bin/kubefwd", "/etc/hosts", (p) => macos.has(p)),
    "ana ALL=(root) NOPASSWD: /opt/homebrew/bin/kubefwd, /bin/kill, /usr/bin/tee /etc/hosts",
  );
  assert.match(
    sudoersLine("alice", "/k"),
    /^alice ALL=\(root\) NOPASSWD: \/k, \/\S+\/kill, \/\S+\/tee \/etc\/hosts$/,
  );
  assert.match(sudoersLine("bob", "/k", "/etc/hosts.kfd"), /\/usr\/bin\/tee \/etc\/hosts\.kfd$/);
  for (
    const [privilege, viaSudo] of [["auto", true], ["sudo", true], ["none", false], ["auto", false]] as const
  ) {
    const msg = notRootMessage({
      settings: { ...settings, privilege },
      viaSudo,
      user: "alice",
      kubefwdPath: "/usr/local/bin/kubefwd",
      detail: "sudo: a password is required",
    });
    assert.ok(msg.includes(line), msg);
    assert.ok(msg.includes("sudo: a password is required"), msg);
  }
  assert.match(
    notRootMessage({
      settings: { ...settings, privilege: "none" },
      viaSudo: false,
      user: "bob",
      kubefwdPath: "/k",
    }),
    /privilege is "none"/,
  );
});
