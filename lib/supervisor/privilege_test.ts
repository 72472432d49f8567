import assert from "node:assert/strict";
import type { KubefwdSettings } from "../config/types.ts";
import { childEnvironment, notRootMessage, planInvocation, resolveExecutable } from "./privilege.ts";

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
  // An installed root helper: through sudo only, and then always through it.
  const helper = "/usr/local/libexec/kubefwd-daemon/kubefwd-root";
  assert.deepEqual(planInvocation(settings, false, helper), {
    prefix: ["sudo", "-n", helper, "run"],
    viaSudo: true,
    rootHelper: helper,
  });
  assert.deepEqual(planInvocation(settings, true, helper), { prefix: [], viaSudo: false });
  assert.deepEqual(planInvocation({ ...settings, privilege: "none" }, false, helper), {
    prefix: [],
    viaSudo: false,
  });
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

Deno.test("notRootMessage: actionable, with the least-privilege setup and the rule it installs", () => {
  const line = "alice ALL=(root) NOPASSWD: /usr/local/libexec/kubefwd-daemon/kubefwd-root";
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
    assert.ok(msg.includes("`kubefwd-daemon sudoers | sudo sh`"), msg);
    assert.ok(msg.includes("runs only /usr/local/bin/kubefwd with the daemon's arguments"), msg);
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

Deno.test("notRootMessage: a helper the system manages (NixOS) points at the module's options, not at sudoers", () => {
  const msg = notRootMessage({
    settings: { ...settings, privilege: "auto" },
    viaSudo: true,
    user: "alice",
    kubefwdPath: "/nix/store/x-kubefwd/bin/kubefwd",
    detail: "sudo: a password is required",
    managedHelper: "/etc/kubefwd-daemon/kubefwd-root",
  });
  assert.match(msg, /services\.kubefwd-daemon\.sudoRule = true;/);
  assert.match(msg, /alice in `services\.kubefwd-daemon\.users`/);
  assert.ok(msg.includes("/etc/kubefwd-daemon/kubefwd-root"), msg);
  assert.doesNotMatch(msg, /kubefwd-daemon sudoers/);
});

Deno.test("childEnvironment: the NixOS per-user profile of USER holds credential plugins too", () => {
  const present = new Set(["/etc/profiles/per-user/alice/bin"]);
  const env = childEnvironment({ PATH: "/usr/bin", USER: "alice" }, "/home/alice", (d) => present.has(d));
  assert.ok(env.PATH.split(":").includes("/etc/profiles/per-user/alice/bin"), env.PATH);
  const odd = childEnvironment({ PATH: "/usr/bin", USER: "../x" }, "/home/x", () => true);
  assert.ok(!odd.PATH.includes("per-user"), odd.PATH);
});
