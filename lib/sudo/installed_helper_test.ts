/**
 * Finding an installed root helper outside the default path (the NixOS module's, named by
 * KUBEFWD_DAEMON_ROOT_HELPER) without trusting it more than one at the default path, and the helper values a
 * Nix store needs: its own PATH (NixOS has no /usr/bin tools) and a kubefwd path that is a symlink.
 */
import assert from "node:assert/strict";
import { tempDir } from "../../tests/temp_dir.ts";
import {
  readInstalledRootHelper,
  renderRootHelper,
  ROOT_HELPER_DEFAULT_PATH,
  ROOT_HELPER_ENV,
  ROOT_HELPER_PATH,
  ROOT_HELPER_TEMPLATE_URL,
  rootHelperPath,
  SudoSetupError,
} from "./root_helper.ts";

const template = await Deno.readTextFile(ROOT_HELPER_TEMPLATE_URL);
const uid = Deno.uid()!;
const isRoot = uid === 0;
const OTHER_UID = 65534;

function envOf(vars: Record<string, string>): { get(name: string): string | undefined } {
  return { get: (name) => vars[name] };
}

function realSleep(): string {
  for (const d of ["/usr/bin", "/bin"]) {
    try {
      return Deno.realPathSync(`${d}/sleep`);
    } catch {
      // not here
    }
  }
  throw new Error("no sleep binary");
}

Deno.test("rootHelperPath: KUBEFWD_DAEMON_ROOT_HELPER when set, else the default install path", () => {
  assert.equal(rootHelperPath(envOf({})), ROOT_HELPER_PATH);
  assert.equal(rootHelperPath(envOf({ [ROOT_HELPER_ENV]: "" })), ROOT_HELPER_PATH);
  assert.equal(
    rootHelperPath(envOf({ [ROOT_HELPER_ENV]: "/etc/kubefwd-daemon/kubefwd-root" })),
    "/etc/kubefwd-daemon/kubefwd-root",
  );
});

Deno.test("renderRootHelper: the helper's PATH is fixed too (the system's by default, a store's on NixOS)", () => {
  const values = { kubefwd: "/k", hosts: "/etc/hosts", home: "/h" };
  assert.match(renderRootHelper(template, values), /^KFD_PATH='\/usr\/sbin:\/usr\/bin:\/sbin:\/bin'$/m);
  assert.equal(ROOT_HELPER_DEFAULT_PATH, "/usr/sbin:/usr/bin:/sbin:/bin");
  const nix = renderRootHelper(template, {
    ...values,
    path: "/nix/store/a-coreutils/bin:/nix/store/b-gnugrep/bin",
  });
  assert.match(nix, /^KFD_PATH='\/nix\/store\/a-coreutils\/bin:\/nix\/store\/b-gnugrep\/bin'$/m);
  assert.match(nix, /^PATH=\$KFD_PATH$/m);
  assert.doesNotMatch(nix, /@PATH@/);
  for (const path of ["bin:/usr/bin", "/usr/bin::/bin", "/usr/bin:", "/usr/bin\n/bin"]) {
    assert.throws(
      () => renderRootHelper(template, { ...values, path }),
      SudoSetupError,
      JSON.stringify(path),
    );
  }
});

Deno.test("root helper run: kubefwd gets the helper's PATH", async () => {
  await using d = await tempDir("kfd_helper_");
  const kubefwd = `${d.path}/kubefwd`;
  await Deno.writeTextFile(kubefwd, "#!/bin/sh\nprintf '%s\\n' \"$PATH\"\n", { mode: 0o755 });
  const kubeconfig = `${d.path}/kubeconfig`;
  await Deno.writeTextFile(kubeconfig, "apiVersion: v1\n", { mode: 0o600 });
  const fwdconf = `${d.path}/dev.fwdconf.yml`;
  await Deno.writeTextFile(fwdconf, "baseUnreservedIP: 127.3.27.1\n", { mode: 0o600 });
  const helper = `${d.path}/kubefwd-root`;
  const path = "/usr/bin:/bin";
  await Deno.writeTextFile(
    helper,
    renderRootHelper(template, { kubefwd, hosts: "/etc/hosts", home: `${d.path}/home`, broker: false, path }),
    { mode: 0o755 },
  );
  const out = await new Deno.Command("/bin/sh", {
    args: [helper, "run", "svc", "-n", "dev", "-c", kubeconfig, "-z", fwdconf],
    env: { SUDO_UID: String(uid), PATH: "/tmp/evil" },
    clearEnv: true,
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout), `${path}\n`);
});

Deno.test("root helper kill: a kubefwd path that is a symlink (a store's bin/kubefwd) is compared after it", async () => {
  await using d = await tempDir("kfd_helper_");
  const kubefwd = `${d.path}/kubefwd-unwrapped`;
  await Deno.copyFile(realSleep(), kubefwd);
  await Deno.chmod(kubefwd, 0o755);
  const link = `${d.path}/kubefwd`;
  await Deno.symlink(kubefwd, link);
  const helper = `${d.path}/kubefwd-root`;
  await Deno.writeTextFile(
    helper,
    renderRootHelper(template, { kubefwd: link, hosts: "/etc/hosts", home: `${d.path}/home`, broker: false }),
    { mode: 0o755 },
  );
  const child = new Deno.Command(link, {
    args: ["60"],
    env: { KUBEFWD_DAEMON_UID: String(uid) },
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const out = await new Deno.Command("/bin/sh", {
      args: [helper, "kill", String(child.pid)],
      env: { SUDO_UID: String(uid) },
      clearEnv: true,
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal((await child.status).signal, "SIGKILL");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  }
});

Deno.test({
  name: "readInstalledRootHelper: any path (also through a symlink) only when root's alone and executable",
  ignore: !isRoot,
  fn: async () => {
    await using d = await tempDir("kfd_installed_");
    const file = `${d.path}/kubefwd-root`;
    const text = renderRootHelper(template, {
      kubefwd: "/nix/store/k/bin/kubefwd",
      hosts: "/etc/hosts",
      home: "/h",
    });
    await Deno.writeTextFile(file, text, { mode: 0o555 });
    await Deno.chmod(file, 0o555);
    assert.deepEqual(readInstalledRootHelper(file), {
      path: file,
      kubefwd: "/nix/store/k/bin/kubefwd",
      hosts: "/etc/hosts",
      broker: true,
    });
    // /etc/kubefwd-daemon/… on NixOS may be a link into the store: the file behind it is checked.
    const link = `${d.path}/link`;
    await Deno.symlink(file, link);
    assert.equal(readInstalledRootHelper(link)?.path, link);
    assert.equal(readInstalledRootHelper("kubefwd-root"), undefined, "a relative path");
    assert.equal(readInstalledRootHelper(`${d.path}/missing`), undefined);
    await Deno.chmod(file, 0o775);
    assert.equal(readInstalledRootHelper(file), undefined, "group-writable");
    await Deno.chmod(file, 0o757);
    assert.equal(readInstalledRootHelper(file), undefined, "world-writable");
    await Deno.chmod(file, 0o644);
    assert.equal(readInstalledRootHelper(file), undefined, "not executable");
    await Deno.chmod(file, 0o555);
    await Deno.chown(file, OTHER_UID, OTHER_UID);
    assert.equal(readInstalledRootHelper(file), undefined, "another user's");
    assert.equal(readInstalledRootHelper(link), undefined, "another user's, through a link");
    await Deno.chown(file, 0, 0);
    await Deno.writeTextFile(file, "#!/bin/sh\necho not a helper\n");
    assert.equal(readInstalledRootHelper(file), undefined, "not a rendered helper");
  },
});
