/**
 * The NixOS module's `sudoRule` gives the same least privilege as `kubefwd-daemon sudoers`: the root helper,
 * rendered byte for byte as the CLI renders it, installed as a root-owned file in /etc, one NOPASSWD rule for
 * it alone with `env_reset`, and the daemon told where it is. And the helper it renders works with nothing but
 * the tools of the packages on its PATH (NixOS has no /usr/bin): each package stood in for by this machine's
 * programs of the same Debian package.
 */
import assert from "node:assert/strict";
import { tempDir } from "../temp_dir.ts";
import {
  parseInstalledHelper,
  ROOT_HELPER_ENV,
  ROOT_HELPER_HOME,
  sudoersFile,
} from "../../lib/sudo/root_helper.ts";
import {
  checkNixosHelper,
  evalModule,
  HERE,
  moduleArgs,
  nixEval,
  NIXOS_HELPER,
  NIXOS_HELPER_TOOLS,
  skipReason,
} from "./nix_eval.ts";

type Nixos = {
  etc: Record<string, { text: string; mode?: string }>;
  sessionVariables: Record<string, string>;
  sudoRules: { users: string[]; runAs: string; commands: { command: string; options: string[] }[] }[];
  sudoConfig: string;
  systemdUserServices: Record<string, { serviceConfig: { Environment: string[] } }>;
};

Deno.test({
  name:
    "nix: NixOS sudoRule installs the root helper and a rule for it alone, as `kubefwd-daemon sudoers` does",
  ignore: skipReason !== undefined,
  fn: async () => {
    const value = await evalModule("nixos", "x86_64-linux", "nixos-users") as Nixos;
    // The rule names the helper and nothing else: no kubefwd with any arguments, no kill, no tee.
    assert.deepEqual(value.sudoRules, [{
      users: ["alice", "bob"],
      runAs: "root",
      commands: [{ command: NIXOS_HELPER, options: ["NOPASSWD"] }],
    }]);
    // NixOS writes one line per user (`user host=(runAs) OPTIONS: command`, tab-separated): with the
    // Defaults line, the lines `sudoers` writes for the same path.
    const rendered = value.sudoConfig +
      value.sudoRules.flatMap((r) =>
        r.users.map((u) =>
          `${u}\tALL=(${r.runAs})\t${r.commands.map((c) => `${c.options.join(":")}: ${c.command}`)}\n`
        )
      ).join("");
    const normal = (text: string) =>
      text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.replaceAll("\t", " "))
        .sort();
    const want = ["alice", "bob"].flatMap((u) => normal(sudoersFile(u, NIXOS_HELPER)));
    assert.deepEqual(normal(rendered), [...new Set(want)].sort());
    // A copied file (mode), root's: its values are the config's kubefwd and /etc/hosts.
    const helper = value.etc["kubefwd-daemon/kubefwd-root"];
    assert.equal(helper.mode, "0555");
    const config = JSON.parse(value.etc["kubefwd-daemon/config.yaml"].text);
    assert.deepEqual(parseInstalledHelper(helper.text), {
      kubefwd: config.kubefwd.path,
      hosts: "/etc/hosts",
      broker: true,
    });
    await checkNixosHelper(value);
    // The daemon finds it: the service's environment and every session's.
    assert.ok(
      value.systemdUserServices["kubefwd-daemon"].serviceConfig.Environment.includes(
        `${ROOT_HELPER_ENV}=${NIXOS_HELPER}`,
      ),
    );
    assert.equal(value.sessionVariables[ROOT_HELPER_ENV], NIXOS_HELPER);
    // Without sudoRule: no helper, no rule, no variable.
    const plain = await evalModule("nixos", "x86_64-linux", "example") as Nixos;
    assert.deepEqual(plain.sudoRules, []);
    assert.equal(plain.sudoConfig, "");
    assert.equal(plain.etc["kubefwd-daemon/kubefwd-root"], undefined);
    assert.equal(plain.sessionVariables[ROOT_HELPER_ENV], undefined);
  },
});

Deno.test({
  name: "nix: NixOS kubeconfigAsIs installs the helper as `sudoers --kubeconfig-as-is` does (no broker)",
  ignore: skipReason !== undefined,
  fn: async () => {
    const value = await evalModule("nixos", "x86_64-linux", "nixos-as-is") as Nixos;
    const helper = value.etc["kubefwd-daemon/kubefwd-root"];
    const config = JSON.parse(value.etc["kubefwd-daemon/config.yaml"].text);
    assert.deepEqual(parseInstalledHelper(helper.text), {
      kubefwd: config.kubefwd.path,
      hosts: "/etc/hosts",
      broker: false,
    });
    await checkNixosHelper(value, { broker: false });
    // The same rule as with the broker: only the helper changes.
    const withBroker = await evalModule("nixos", "x86_64-linux", "nixos-users") as Nixos;
    assert.deepEqual(value.sudoRules, withBroker.sudoRules);
    assert.equal(value.sudoConfig, withBroker.sudoConfig);
    // Without sudoRule there is no helper to change: refused, saying why.
    const alone = await nixEval(`${HERE}/eval.nix`, moduleArgs("nixos", "x86_64-linux", "nixos-as-is-alone"));
    assert.notEqual(alone.code, 0);
    assert.match(alone.stderr, /kubeconfigAsIs changes the root helper, which only sudoRule installs/);
  },
});

/** The programs a Debian package installs in bin directories (what `dpkg-query -L` lists). */
function debianPrograms(pkg: string): string[] {
  const out = new Deno.Command("dpkg-query", { args: ["-L", pkg], stdout: "piped", stderr: "null" })
    .outputSync();
  if (!out.success) return [];
  return new TextDecoder().decode(out.stdout).split("\n").filter((p) => /^\/(usr\/)?s?bin\/[^/]+$/.test(p));
}

/**
 * Stand-ins for the helper's packages: nixpkgs' package → this machine's programs of the same package
 * (Debian's coreutils leaves out `kill`, which nixpkgs' coreutils has; Debian's awk may be mawk).
 */
function standIns(): Record<string, string[]> | undefined {
  const which = (p: string) => ["/usr/bin", "/bin"].map((d) => `${d}/${p}`).find((f) => exists(f));
  const kill = which("kill");
  const awk = which("awk");
  const map: Record<string, string[]> = {
    coreutils: [...debianPrograms("coreutils"), ...(kill ? [kill] : [])],
    findutils: debianPrograms("findutils"),
    gnugrep: debianPrograms("grep"),
    gnused: debianPrograms("sed"),
    gawk: awk ? [awk] : [],
    "util-linux": debianPrograms("util-linux"),
  };
  return Object.values(map).every((programs) => programs.length > 0) ? map : undefined;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const tools = standIns();
const runReason = skipReason ??
  (Deno.uid() !== 0
    ? "not root (the credential broker's setpriv needs it)"
    : tools === undefined
    ? "dpkg-query cannot list the stand-in programs"
    : undefined);
if (runReason) console.log(`nix: running the NixOS helper skipped: ${runReason}`);

Deno.test({
  name:
    "nix: the NixOS helper runs with only its packages' tools on PATH (run with the broker, kill, hosts-remove)",
  ignore: runReason !== undefined,
  fn: async () => {
    await using d = await tempDir("kfd_nixhelper_");
    assert.deepEqual(Object.keys(tools!).sort(), [...NIXOS_HELPER_TOOLS].sort());
    for (const [pkg, programs] of Object.entries(tools!)) {
      await Deno.mkdir(`${d.path}/store/${pkg}/bin`, { recursive: true });
      for (const p of programs) await Deno.symlink(p, `${d.path}/store/${pkg}/bin/${p.split("/").pop()}`);
    }
    const value = await evalModule("nixos", "x86_64-linux", "nixos-users") as Nixos;
    const hosts = `${d.path}/hosts`;
    const home = `${d.path}/home`;
    const text = value.etc["kubefwd-daemon/kubefwd-root"].text
      .replaceAll(/@([a-z][a-z-]*)@/g, `${d.path}/store/$1`)
      .replace("KFD_HOSTS='/etc/hosts'", `KFD_HOSTS='${hosts}'`)
      .replace(`KFD_HOME='${ROOT_HELPER_HOME}'`, `KFD_HOME='${home}'`);
    assert.ok(text.includes(`KFD_HOSTS='${hosts}'`) && text.includes(`KFD_HOME='${home}'`));
    const helper = `${d.path}/kubefwd-root`;
    await Deno.writeTextFile(helper, text, { mode: 0o555 });
    const kubefwd = `${d.path}/store/kubefwd/bin/kubefwd`;
    await Deno.mkdir(`${d.path}/store/kubefwd/bin`, { recursive: true });
    await Deno.writeTextFile(kubefwd, '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    // The user command of the credential broker, run as the caller through setpriv.
    const userCommand = `${d.path}/user-command`;
    await Deno.writeTextFile(userCommand, "#!/bin/sh\nprintf 'server=https://127.0.0.1:6443\\n'\n", {
      mode: 0o755,
    });
    const kubeconfig = `${d.path}/kubeconfig`;
    await Deno.writeTextFile(kubeconfig, "apiVersion: v1\n", { mode: 0o600 });
    const fwdconf = `${d.path}/dev.fwdconf.yml`;
    await Deno.writeTextFile(fwdconf, "baseUnreservedIP: 127.3.27.1\n", { mode: 0o600 });
    const run = async (...args: string[]) => {
      const out = await new Deno.Command("/bin/sh", {
        args: [helper, ...args],
        env: { SUDO_UID: "0", PATH: "/nonexistent" },
        clearEnv: true,
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };

    const started = await run(
      "run",
      "--user-command",
      userCommand,
      "svc",
      "-n",
      "dev",
      "-c",
      kubeconfig,
      "-z",
      fwdconf,
    );
    assert.equal(started.code, 0, started.stderr);
    const generated = `${home}/kubeconfigs/0-dev.kubeconfig`;
    assert.deepEqual(started.stdout.trimEnd().split("\n"), [
      "svc",
      "-n",
      "dev",
      "-c",
      generated,
      "-z",
      fwdconf,
    ]);
    const kubeconfigText = await Deno.readTextFile(generated);
    assert.match(kubeconfigText, /server: "https:\/\/127\.0\.0\.1:6443"/);
    assert.match(kubeconfigText, new RegExp(`command: "${NIXOS_HELPER}"`));

    await Deno.writeTextFile(hosts, "127.0.0.1 localhost\n127.3.27.1 echo-a\n");
    const removed = await run("hosts-remove", "127.3.27.1");
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await Deno.readTextFile(hosts), "127.0.0.1 localhost\n");

    // kill: the store's kubefwd (a real program now: /proc/PID/exe) started for the caller.
    await Deno.remove(kubefwd);
    await Deno.copyFile(Deno.realPathSync(tools!.coreutils.find((p) => p.endsWith("/sleep"))!), kubefwd);
    const child = new Deno.Command(kubefwd, {
      args: ["60"],
      env: { KUBEFWD_DAEMON_UID: "0" },
      clearEnv: true,
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const killed = await run("kill", String(child.pid));
      assert.equal(killed.code, 0, killed.stderr);
      assert.equal((await child.status).signal, "SIGKILL");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
    }
  },
});
