import assert from "node:assert/strict";
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import { parseKubefwdVersion } from "../kubefwd/version.ts";
import { FakeLaunchFiles } from "../testing/fake_launch_files.ts";
import { FakeServiceLister } from "../testing/fake_service_lister.ts";
import { testProfile } from "../testing/profile_spec.ts";
import { type LaunchDeps, type LaunchInput, planLaunch } from "./launch_plan.ts";

const spec: ProfileSpec = testProfile("dev", { retry: { ...testProfile("dev").retry, jitter: 0 } });

const settings: KubefwdSettings = {
  path: "kubefwd",
  privilege: "auto",
  extraArgs: [],
  hostsPath: "/etc/hosts",
  stopTimeoutMs: 10_000,
};

function deps(over: Partial<LaunchDeps> = {}): LaunchDeps {
  return {
    files: new FakeLaunchFiles(["/opt/bin/kubefwd", "/usr/bin/sudo"]),
    serviceLister: new FakeServiceLister({ ns: ["web", "db", "debug-tools"] }),
    resolveVersion: () => Promise.resolve(parseKubefwdVersion("1.25.16")),
    isRoot: true,
    env: { PATH: "/opt/bin" },
    home: "/home/u",
    fwdConfDir: "/state/fwdconf",
    ...over,
  };
}

const input: LaunchInput = { spec, settings, baseIp: "127.3.27.1" };

Deno.test("planLaunch: root runs kubefwd directly with the -z file of the profile's range", async () => {
  const files = new FakeLaunchFiles(["/opt/bin/kubefwd"]);
  const result = await planLaunch(input, deps({ files }));
  assert.ok(result.ok);
  assert.equal(result.plan.argv[0], "/opt/bin/kubefwd");
  assert.equal(result.plan.viaSudo, false);
  assert.equal(result.plan.version.raw, "1.25.16");
  assert.ok(result.plan.argv.includes("/state/fwdconf/dev.fwdconf.yml"), result.plan.argv.join(" "));
  assert.equal(
    files.written.get("/state/fwdconf/dev.fwdconf.yml"),
    "baseUnreservedIP: 127.3.27.1\nserviceConfigurations: []\n",
  );
  assert.equal(result.plan.env.HOME, "/home/u");
});

Deno.test("planLaunch: the -z file asks for the remembered addresses, except what the user's -r reserves", async () => {
  const files = new FakeLaunchFiles(["/opt/bin/kubefwd"]);
  const seenAt = "2026-12-01T00:00:00.000Z";
  const addresses = [
    { service: "web", namespace: "ns", pod: "web-1", ip: "127.3.27.2", seenAt },
    { service: "db", namespace: "ns", pod: "db-0", ip: "127.3.27.1", seenAt },
    { service: "old", namespace: "ns", pod: "old-0", ip: "127.4.27.1", seenAt }, // another range
  ];
  const result = await planLaunch(
    { ...input, spec: { ...spec, extraArgs: ["-r", "db:127.3.99.1"] }, addresses },
    deps({ files }),
  );
  assert.ok(result.ok);
  assert.equal(
    files.written.get("/state/fwdconf/dev.fwdconf.yml"),
    'baseUnreservedIP: 127.3.27.1\nserviceConfigurations:\n- name: "web.ns"\n  ip: "127.3.27.2"\n',
  );
  assert.deepEqual(result.plan.notes, ["-z file reserves 1 remembered address(es)"]);
  assert.deepEqual(result.plan.namespaces, ["ns"]);
});

Deno.test("planLaunch: not root goes through sudo -n with the absolute kubefwd path", async () => {
  const result = await planLaunch(input, deps({ isRoot: false, env: { PATH: "/opt/bin:/usr/bin" } }));
  assert.ok(result.ok);
  assert.deepEqual(result.plan.argv.slice(0, 3), ["/usr/bin/sudo", "-n", "/opt/bin/kubefwd"]);
  assert.equal(result.plan.viaSudo, true);
});

Deno.test("planLaunch: with the root helper installed, sudo -n <helper> run <args>, and no kubefwd path", async () => {
  const helper = "/usr/local/libexec/kubefwd-daemon/kubefwd-root";
  const files = new FakeLaunchFiles(["/opt/bin/kubefwd", "/usr/bin/sudo"]);
  files.helper = { path: helper, kubefwd: "/opt/bin/kubefwd", hosts: "/etc/hosts", broker: false };
  const result = await planLaunch(input, deps({ files, isRoot: false, env: { PATH: "/opt/bin:/usr/bin" } }));
  assert.ok(result.ok);
  assert.deepEqual(result.plan.argv.slice(0, 5), ["/usr/bin/sudo", "-n", helper, "run", "svc"]);
  assert.ok(!result.plan.argv.includes("/opt/bin/kubefwd"), result.plan.argv.join(" "));
  assert.equal(result.plan.viaSudo, true);
  assert.equal(result.plan.rootHelper, helper);
  // The daemon as root runs kubefwd directly whatever is installed.
  const direct = await planLaunch(input, deps({ files }));
  assert.ok(direct.ok);
  assert.equal(direct.plan.argv[0], "/opt/bin/kubefwd");
  assert.equal(direct.plan.rootHelper, undefined);
  // A helper for another kubefwd: failed with what to do, not a refusal from inside sudo.
  files.helper = { path: helper, kubefwd: "/usr/local/bin/kubefwd", hosts: "/etc/hosts", broker: false };
  const other = await planLaunch(input, deps({ files, isRoot: false, env: { PATH: "/opt/bin:/usr/bin" } }));
  assert.ok(!other.ok);
  assert.equal(other.error.kind, "not_root");
  assert.match(
    other.error.message,
    /runs \/usr\/local\/bin\/kubefwd, but kubefwd\.path is \/opt\/bin\/kubefwd/,
  );
  assert.match(other.error.message, /kubefwd-daemon sudoers \| sudo sh/);
});

Deno.test("planLaunch: a helper installed elsewhere (NixOS) is run from there; its kubefwd compared after symlinks", async () => {
  const helper = "/etc/kubefwd-daemon/kubefwd-root";
  const kubefwd = "/nix/store/aaaa-kubefwd/bin/kubefwd";
  const files = new FakeLaunchFiles([kubefwd, "/run/wrappers/bin/sudo"]);
  // Both kubefwd.path and the helper name the package's bin/kubefwd, a symlink to the real binary.
  files.links.set(kubefwd, "/nix/store/bbbb-kubefwd-unwrapped/bin/kubefwd");
  files.helper = { path: helper, kubefwd, hosts: "/etc/hosts", broker: false };
  const settings = { ...input.settings, path: kubefwd };
  const result = await planLaunch(
    { ...input, settings },
    deps({ files, isRoot: false, env: { PATH: "/run/wrappers/bin" } }),
  );
  assert.ok(result.ok, result.ok ? "" : result.error.message);
  assert.deepEqual(result.plan.argv.slice(0, 5), ["/run/wrappers/bin/sudo", "-n", helper, "run", "svc"]);
  assert.equal(result.plan.rootHelper, helper);
});

Deno.test("planLaunch: a helper with the credential broker gets --user-command, the daemon's own command", async () => {
  const helper = "/usr/local/libexec/kubefwd-daemon/kubefwd-root";
  const files = new FakeLaunchFiles(["/opt/bin/kubefwd", "/usr/bin/sudo"]);
  files.helper = { path: helper, kubefwd: "/opt/bin/kubefwd", hosts: "/etc/hosts", broker: true };
  const env = { PATH: "/opt/bin:/usr/bin", KUBEFWD_DAEMON_EXE: "/home/u/kubefwd-daemon/kubefwd-daemon" };
  const result = await planLaunch(input, deps({ files, isRoot: false, env }));
  assert.ok(result.ok);
  assert.deepEqual(result.plan.argv.slice(0, 7), [
    "/usr/bin/sudo",
    "-n",
    helper,
    "run",
    "--user-command",
    "/home/u/kubefwd-daemon/kubefwd-daemon",
    "svc",
  ]);
  // Run from source without the launcher: the daemon cannot name itself, and says how to start it.
  const bare = await planLaunch(input, deps({ files, isRoot: false, env: { PATH: "/opt/bin:/usr/bin" } }));
  assert.ok(!bare.ok);
  assert.equal(bare.error.kind, "permanent");
  assert.match(bare.error.message, /start the daemon with the \.\/kubefwd-daemon launcher/);
});

Deno.test("planLaunch: exclude_services globs become a field selector, noted for the debug log", async () => {
  const result = await planLaunch({ ...input, spec: { ...spec, excludeServices: ["debug-*"] } }, deps());
  assert.ok(result.ok);
  assert.ok(result.plan.argv.join(" ").includes("metadata.name!=debug-tools"), result.plan.argv.join(" "));
  assert.deepEqual(result.plan.notes, ["exclude_services resolved to [debug-tools]"]);
});

Deno.test("planLaunch: each failure is a typed start error the policy can act on", async () => {
  const table: [string, Partial<LaunchDeps>, Partial<LaunchInput>, string, RegExp][] = [
    ["no kubefwd", { files: new FakeLaunchFiles([]) }, {}, "transient", /^kubefwd not found: kubefwd/],
    [
      "version detection fails",
      { resolveVersion: () => Promise.reject(new Error("exec format error")) },
      {},
      "transient",
      /^cannot detect the kubefwd version: exec format error$/,
    ],
    [
      "exclude list fails",
      { serviceLister: new FakeServiceLister({}, "API down") },
      { spec: { ...spec, excludeServices: ["x-*"] } },
      "transient",
      /^exclude_services could not be resolved, so kubefwd was not started: API down$/,
    ],
    [
      "exclude list: the API out of reach",
      {
        serviceLister: new FakeServiceLister(
          {},
          'Get "https://10.0.0.1/api": dial tcp 10.0.0.1:443: connect: connection refused',
        ),
      },
      { spec: { ...spec, excludeServices: ["x-*"] } },
      "unreachable",
      /^exclude_services could not be resolved, so kubefwd was not started: .*connection refused$/,
    ],
    ["no address range", {}, { baseIp: undefined }, "permanent", /no IP range assigned/],
    [
      "-z file not writable",
      { files: Object.assign(new FakeLaunchFiles(["/opt/bin/kubefwd"]), { failWrites: "read-only" }) },
      {},
      "transient",
      /^cannot write the -z file: read-only$/,
    ],
    [
      "not root and no sudo",
      { isRoot: false, files: new FakeLaunchFiles(["/opt/bin/kubefwd"]) },
      {},
      "not_root",
      /sudo was not found on PATH/,
    ],
  ];
  for (const [name, over, inputOver, kind, message] of table) {
    const result = await planLaunch({ ...input, ...inputOver }, deps(over));
    assert.ok(!result.ok, name);
    assert.equal(result.error.kind, kind, name);
    assert.match(result.error.message, message, name);
  }
});
