/**
 * The root helper's checks, run through the real script with /bin/sh: every argv shape the daemon produces
 * passes, hostile argv is refused (flags off the allowlist, values that are not what they claim, files of
 * other users, addresses outside the ranges), `run` gives kubefwd a fixed environment, `kill` touches only a
 * kubefwd it started for the same user, `hosts-remove` only lines inside the ranges. And the sudoers file
 * passes `visudo -c`.
 */
import assert from "node:assert/strict";
import { tempDir } from "../../tests/temp_dir.ts";
import {
  installScript,
  parseInstalledHelper,
  renderRootHelper,
  ROOT_HELPER_TEMPLATE_URL,
  shellQuote,
  sudoersFile,
  SudoSetupError,
} from "./root_helper.ts";

const template = await Deno.readTextFile(ROOT_HELPER_TEMPLATE_URL);
const uid = Deno.uid()!;
const isRoot = uid === 0;
const OTHER_UID = 65534;

function which(cmd: string): string | undefined {
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${d}/${cmd}`).isFile) return `${d}/${cmd}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

interface Sandbox {
  dir: string;
  helper: string;
  kubefwd: string;
  hosts: string;
  kubeconfig: string;
  fwdconf: string;
  home: string;
}

/**
 * A helper rendered into `dir` that runs a copy of `sleep` as "kubefwd" (a real binary: /proc/PID/exe);
 * without the credential broker unless `broker`.
 */
async function sandbox(dir: string, broker = false): Promise<Sandbox> {
  const kubefwd = `${dir}/kubefwd`;
  await Deno.copyFile(Deno.realPathSync(which("sleep")!), kubefwd);
  await Deno.chmod(kubefwd, 0o755);
  const hosts = `${dir}/hosts`;
  await Deno.writeTextFile(hosts, "127.0.0.1 localhost\n");
  const home = `${dir}/home`;
  const helper = `${dir}/kubefwd-root`;
  await Deno.writeTextFile(
    helper,
    renderRootHelper(template, { kubefwd, hosts, home, self: helper, broker }),
    {
      mode: 0o755,
    },
  );
  const kubeconfig = `${dir}/kubeconfig`;
  await Deno.writeTextFile(kubeconfig, "apiVersion: v1\nkind: Config\n", { mode: 0o600 });
  const fwdconf = `${dir}/dev.fwdconf.yml`;
  await Deno.writeTextFile(fwdconf, "baseUnreservedIP: 127.3.27.1\nserviceConfigurations: []\n", {
    mode: 0o600,
  });
  return { dir, helper, kubefwd, hosts, kubeconfig, fwdconf, home };
}

async function helper(
  s: Sandbox,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("/bin/sh", {
    args: [s.helper, ...args],
    env: { SUDO_UID: String(uid), PATH: "/usr/bin:/bin", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The argv the daemon builds for a profile (lib/kubefwd/argv.ts), with this sandbox's files. */
function daemonArgv(s: Sandbox): string[] {
  return [
    "svc",
    "-n",
    "dev",
    "-n",
    "shared-services",
    "-l",
    "app.kubernetes.io/part-of=myapp",
    "-c",
    s.kubeconfig,
  ];
}

Deno.test("root helper check: every argv shape the daemon produces passes", async () => {
  await using d = await tempDir("kfd_helper_");
  const s = await sandbox(d.path);
  const base = [...daemonArgv(s), "-x", "dev-cluster", "-z", s.fwdconf];
  const cases: string[][] = [
    base,
    [...base, "-f", "metadata.name!=legacy-a,metadata.name!=legacy-b"],
    [...base, "-a"],
    [...base, "-a", "--hosts-path", s.hosts],
    [...base, "-d", "dev.local", "-m", "80:8080", "-m", "443:8443"],
    [...base, "-v", "--timeout=30", "--resync-interval", "5m", "--retry-interval=10s", "-b"],
    [...base, "-r", "api.dev:127.3.27.40"],
    ["svc", "-n", "a,b", "-c", s.kubeconfig, "-z", s.fwdconf, "-x", "arn:aws:eks:eu-west-1:1:cluster/x"],
    ["svc", "-A", "--kubeconfig", s.kubeconfig, "--fwd-conf", s.fwdconf, "-l", "tier in (web, api)"],
  ];
  for (const argv of cases) {
    const r = await helper(s, ["check", ...argv]);
    assert.equal(r.code, 0, `${JSON.stringify(argv)}: ${r.stderr}`);
    assert.equal(r.stdout, "ok\n");
  }
});

Deno.test("root helper check: hostile argv is refused, each with its reason", async () => {
  await using d = await tempDir("kfd_helper_");
  const s = await sandbox(d.path);
  const ok = ["-c", s.kubeconfig, "-z", s.fwdconf];
  const foreign = `${d.path}/foreign`;
  await Deno.writeTextFile(foreign, "apiVersion: v1\n", { mode: 0o644 });
  const groupWritable = `${d.path}/group-writable`;
  await Deno.writeTextFile(groupWritable, "apiVersion: v1\n");
  await Deno.chmod(groupWritable, 0o664);
  const link = `${d.path}/link-to-foreign`;
  await Deno.symlink(foreign, link);
  const wideConf = `${d.path}/wide.fwdconf.yml`;
  await Deno.writeTextFile(wideConf, "baseUnreservedIP: 10.0.0.1\nserviceConfigurations: []\n", {
    mode: 0o600,
  });
  const sneakyConf = `${d.path}/sneaky.fwdconf.yml`;
  await Deno.writeTextFile(
    sneakyConf,
    "baseUnreservedIP: 127.3.27.1\nserviceConfigurations:\n- name: x\n  ip: 127.0.0.1\n",
    { mode: 0o600 },
  );
  if (isRoot) await Deno.chown(foreign, OTHER_UID, OTHER_UID);
  const cases: [string[], RegExp][] = [
    [[], /first argument must be svc/],
    [["svcs", "-n", "a", ...ok], /first argument must be svc/],
    [["version"], /first argument must be svc/],
    [["svc", "-n", "a", ...ok, "--hosts-path", "/etc/sudoers"], /--hosts-path: only /],
    [["svc", "-n", "a", ...ok, "--hosts-path=/etc/shadow"], /--hosts-path: only /],
    [["svc", "-n", "a", ...ok, "--api"], /argument not allowed: --api/],
    [["svc", "-n", "a", ...ok, "--tui"], /argument not allowed: --tui/],
    [["svc", "-n", "a", ...ok, "-p"], /argument not allowed: -p/],
    [["svc", "-n", "a", ...ok, "--purge-stale-ips"], /argument not allowed/],
    [["svc", "-n", "a", ...ok, "-av"], /argument not allowed: -av/],
    [["svc", "-na", ...ok], /argument not allowed: -na/],
    [["svc", "-n=a", ...ok], /argument not allowed: -n=a/],
    [["svc", "-n", "a", ...ok, "--"], /argument not allowed: --/],
    [["svc", "-n", "a", ...ok, "extra"], /argument not allowed: extra/],
    [["svc", "-n", "a", ...ok, "-a=false"], /argument not allowed: -a=false/],
    [["svc", "-n", "a", ...ok, "--auto-reconnect=false"], /takes no value/],
    [["svc", "-n", "a", ...ok, "-x"], /-x needs a value/],
    [["svc", "-n", "--hosts-path=/etc/shadow", ...ok], /must not start with '-'/],
    [["svc", "-n", "Bad_NS", ...ok], /not a namespace name/],
    [["svc", "-n", "a\nb", ...ok], /not a namespace name/],
    [["svc", "-n", "a", ...ok, "-x", "ctx\u001b]0;x\u0007"], /not a context name/],
    [["svc", "-n", "a", ...ok, "-l", "a=b;rm -rf /"], /not a selector/],
    [["svc", "-n", "a", ...ok, "-d", "evil.com/../x"], /not a domain name/],
    [["svc", "-n", "a", ...ok, "-m", "80:8080;x"], /not a port mapping/],
    [["svc", "-n", "a", ...ok, "-t", "1e9"], /not a number of seconds/],
    [["svc", "-n", "a", ...ok, "--retry-interval", "10 s"], /not a duration/],
    [["svc", "-n", "a", ...ok, "-r", "api:10.0.0.5"], /not a reservation inside/],
    [["svc", "-n", "a", "-z", s.fwdconf], /exactly one -c/],
    [["svc", "-n", "a", ...ok, "-c", s.kubeconfig], /exactly one -c/],
    [["svc", "-n", "a", "-c", s.kubeconfig], /exactly one -z/],
    [["svc", ...ok], /at least one -n/],
    [
      ["svc", "-n", "a", "-c", "relative/kubeconfig", "-z", s.fwdconf],
      /-c: not an absolute path of a regular file/,
    ],
    [["svc", "-n", "a", "-c", "/etc", "-z", s.fwdconf], /-c: not an absolute path of a regular file/],
    [["svc", "-n", "a", "-c", groupWritable, "-z", s.fwdconf], /-c: not an absolute path of a regular file/],
    [["svc", "-n", "a", "-c", s.kubeconfig, "-z", wideConf], /baseUnreservedIP must be inside/],
    [["svc", "-n", "a", "-c", s.kubeconfig, "-z", sneakyConf], /every address in it must be inside/],
  ];
  if (isRoot) {
    cases.push(
      [
        ["svc", "-n", "a", "-c", foreign, "-z", s.fwdconf],
        /-c: not an absolute path of a regular file owned by uid/,
      ],
      [
        ["svc", "-n", "a", "-c", link, "-z", s.fwdconf],
        /-c: not an absolute path of a regular file owned by uid/,
      ],
      [["svc", "-n", "a", "-c", s.kubeconfig, "-z", foreign], /-z: not an absolute path of a regular file/],
    );
  }
  for (const [argv, reason] of cases) {
    const r = await helper(s, ["check", ...argv]);
    assert.equal(r.code, 64, `${JSON.stringify(argv)} was accepted: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^Error: kubefwd-daemon root helper refused: /, JSON.stringify(argv));
    assert.match(r.stderr, reason, JSON.stringify(argv));
    assert.equal(r.stdout, "");
  }
});

Deno.test("root helper: a caller that is another user cannot pass the caller's own files", {
  ignore: !isRoot,
}, async () => {
  await using d = await tempDir("kfd_helper_");
  const s = await sandbox(d.path);
  const r = await helper(s, ["check", "svc", "-n", "a", "-c", s.kubeconfig, "-z", s.fwdconf], {
    SUDO_UID: String(OTHER_UID),
  });
  // The sandbox's files are root's: root's files count as trusted, so only a third user's are refused.
  assert.equal(r.code, 0, r.stderr);
  await Deno.chown(s.kubeconfig, 4242, 4242);
  const refused = await helper(s, ["check", "svc", "-n", "a", "-c", s.kubeconfig, "-z", s.fwdconf], {
    SUDO_UID: String(OTHER_UID),
  });
  assert.equal(refused.code, 64);
  assert.match(refused.stderr, /-c: not an absolute path of a regular file owned by uid 65534/);
  const bad = await helper(s, ["check", "svc"], { SUDO_UID: "0;id" });
  assert.match(bad.stderr, /SUDO_UID is not a number/);
});

Deno.test("root helper run: execs the installed kubefwd with the checked argv and a fixed environment", async () => {
  await using d = await tempDir("kfd_helper_");
  const s = await sandbox(d.path);
  // A kubefwd that prints its arguments and environment (a script: run never looks at /proc/PID/exe).
  await Deno.writeTextFile(s.kubefwd, '#!/bin/sh\nprintf "%s\\n" "$@"\necho ---\nenv | sort\n', {
    mode: 0o755,
  });
  const argv = ["svc", "-n", "dev", "-c", s.kubeconfig, "-z", s.fwdconf, "-l", "a in (x, y)"];
  const r = await helper(s, ["run", ...argv], {
    KUBECONFIG: "/tmp/evil",
    LD_PRELOAD: "/tmp/evil.so",
    HTTPS_PROXY: "http://evil",
    HOME: "/home/someone",
  });
  assert.equal(r.code, 0, r.stderr);
  const [args, env] = r.stdout.split("---\n");
  assert.deepEqual(args.trimEnd().split("\n"), argv);
  const vars = env.trim().split("\n").filter((l) =>
    !l.startsWith("PWD=") && !l.startsWith("SHLVL=") && !l.startsWith("_=")
  );
  assert.deepEqual(vars, [
    `HOME=${s.home}`,
    `KUBEFWD_DAEMON_UID=${uid}`,
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
  ]);
  assert.equal((await Deno.stat(s.home)).mode! & 0o777, 0o700);
  const refused = await helper(s, ["run", "svc", "-n", "dev", "-c", s.kubeconfig, "-z", s.fwdconf, "--api"]);
  assert.equal(refused.code, 64);
  assert.equal(refused.stdout, "", "nothing ran");
});

Deno.test("root helper kill: only a kubefwd it started for the same caller", async () => {
  await using d = await tempDir("kfd_helper_");
  const s = await sandbox(d.path);
  const spawn = (program: string, env: Record<string, string>) =>
    new Deno.Command(program, { args: ["60"], env, clearEnv: true, stdout: "null", stderr: "null" }).spawn();
  const ours = spawn(s.kubefwd, { KUBEFWD_DAEMON_UID: String(uid) });
  const otherUsers = spawn(s.kubefwd, { KUBEFWD_DAEMON_UID: String(uid + 1) });
  const notKubefwd = spawn(Deno.realPathSync(which("sleep")!), { KUBEFWD_DAEMON_UID: String(uid) });
  try {
    for (
      const [pid, reason] of [
        [otherUsers.pid, /was not started by this helper for uid/],
        [notKubefwd.pid, /is not /],
        [999_999_999, /no process/],
      ] as const
    ) {
      const r = await helper(s, ["kill", String(pid)]);
      assert.equal(r.code, 64, `pid ${pid}`);
      assert.match(r.stderr, reason);
    }
    for (const arg of ["-1", "0", "1 2", "$(id)", "01"]) {
      assert.match((await helper(s, ["kill", arg])).stderr, /not a pid/, arg);
    }
    assert.match((await helper(s, ["kill"])).stderr, /usage: kill PID/);
    const r = await helper(s, ["kill", String(ours.pid)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await ours.status).signal, "SIGKILL");
  } finally {
    for (const c of [ours, otherUsers, notKubefwd]) {
      try {
        c.kill("SIGKILL");
      } catch {
        // already gone
      }
      await c.status;
    }
  }
});

Deno.test("root helper hosts-remove: only lines of addresses inside the ranges, the rest byte for byte", async () => {
  await using d = await tempDir("kfd_helper_");
  const s = await sandbox(d.path);
  const original = [
    "127.0.0.1 localhost",
    "::1 localhost ip6-localhost",
    "# 127.3.27.1 a comment stays",
    "",
    "127.3.27.1 echo-a echo-a.dev",
    "\t127.3.27.2\techo-b\t# tabbed",
    "127.3.27.20 other",
    "10.1.2.3 intranet",
    "127.1.27.1 kubefwd-default",
  ].join("\n") + "\n";
  await Deno.writeTextFile(s.hosts, original);
  const inode = (await Deno.stat(s.hosts)).ino;
  const r = await helper(s, ["hosts-remove", "127.3.27.1", "127.3.27.2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    await Deno.readTextFile(s.hosts),
    original.replace("127.3.27.1 echo-a echo-a.dev\n", "").replace("\t127.3.27.2\techo-b\t# tabbed\n", ""),
  );
  assert.equal((await Deno.stat(s.hosts)).ino, inode, "written in place");
  for (
    const ip of [
      "127.0.0.1",
      "::1",
      "10.1.2.3",
      "127.1.27.1",
      "127.2.27.1",
      "127.3.27.01",
      "127.256.1.1",
      "localhost",
      "127.3.27.1 127.0.0.1",
    ]
  ) {
    const before = await Deno.readTextFile(s.hosts);
    const refused = await helper(s, ["hosts-remove", "127.3.27.20", ip]);
    assert.equal(refused.code, 64, ip);
    assert.match(refused.stderr, /outside kubefwd-daemon's ranges/, ip);
    assert.equal(
      await Deno.readTextFile(s.hosts),
      before,
      `${ip}: nothing removed, not even the valid address`,
    );
  }
});

Deno.test("root helper hosts-remove: the file's length follows its content (last line without newline, all removed)", async () => {
  await using d = await tempDir("kfd_helper_");
  const s = await sandbox(d.path);
  // The padding comment that protects the edit is cut off again: nothing of it stays.
  await Deno.writeTextFile(s.hosts, "127.3.27.1 echo-a\n10.1.2.3 intranet");
  assert.equal((await helper(s, ["hosts-remove", "127.3.27.1"])).code, 0);
  assert.equal(await Deno.readTextFile(s.hosts), "10.1.2.3 intranet\n");
  await Deno.writeTextFile(s.hosts, "127.3.27.1 echo-a\n127.3.27.2 echo-b\n");
  assert.equal((await helper(s, ["hosts-remove", "127.3.27.1", "127.3.27.2"])).code, 0);
  assert.equal(await Deno.readTextFile(s.hosts), "");
});

Deno.test("root helper: unknown verbs are refused", async () => {
  await using d = await tempDir("kfd_helper_");
  const s = await sandbox(d.path);
  for (const args of [[], ["sh"], ["tee", "/etc/hosts"], ["RUN", "svc"]]) {
    const r = await helper(s, args);
    assert.equal(r.code, 64, JSON.stringify(args));
    assert.match(r.stderr, /usage: run\|check/);
  }
});

Deno.test("renderRootHelper fixes the values as single-quoted words; parseInstalledHelper reads them back", () => {
  const text = renderRootHelper(template, {
    kubefwd: "/opt/k'fwd/kubefwd",
    hosts: "/etc/hosts",
    home: "/var/lib/x",
  });
  assert.match(text, /^KFD_KUBEFWD='\/opt\/k'\\''fwd\/kubefwd'$/m);
  assert.doesNotMatch(text, /@KUBEFWD@|@HOSTS@|@HOME@|@SELF@|@BROKER@/);
  assert.match(text, /^KFD_SELF='\/usr\/local\/libexec\/kubefwd-daemon\/kubefwd-root'$/m);
  assert.match(text, /^KFD_BROKER='1'$/m);
  const plain = renderRootHelper(template, {
    kubefwd: "/usr/local/bin/kubefwd",
    hosts: "/etc/hosts",
    home: "/h",
  });
  assert.deepEqual(parseInstalledHelper(plain), {
    kubefwd: "/usr/local/bin/kubefwd",
    hosts: "/etc/hosts",
    broker: true,
  });
  const asIs = renderRootHelper(template, { kubefwd: "/k", hosts: "/etc/hosts", home: "/h", broker: false });
  assert.equal(parseInstalledHelper(asIs)?.broker, false);
  assert.equal(parseInstalledHelper(template), undefined);
  assert.throws(
    () => renderRootHelper(template, { kubefwd: "kubefwd", hosts: "/etc/hosts", home: "/h" }),
    SudoSetupError,
  );
  assert.throws(
    () => renderRootHelper(template, { kubefwd: "/a\nb", hosts: "/etc/hosts", home: "/h" }),
    SudoSetupError,
  );
  assert.equal(shellQuote("a'b"), `'a'\\''b'`);
});

Deno.test("sudoersFile: one NOPASSWD rule for the helper; odd user names refused", () => {
  assert.equal(
    sudoersFile("alice"),
    "# kubefwd-daemon: run kubefwd as root only through the root helper (written by `kubefwd-daemon sudoers`).\n" +
      "Defaults!/usr/local/libexec/kubefwd-daemon/kubefwd-root env_reset\n" +
      "alice ALL=(root) NOPASSWD: /usr/local/libexec/kubefwd-daemon/kubefwd-root\n",
  );
  assert.match(sudoersFile("#1000"), /^#1000 ALL=\(root\) NOPASSWD: /m);
  for (const bad of ["", "ALL", "alice ALL=(ALL) ALL\nbob", "a,b", "%sudo", "al ice"]) {
    if (bad === "ALL") continue; // a valid sudoers word, but never a default: the CLI passes the real user
    assert.throws(() => sudoersFile(bad), SudoSetupError, JSON.stringify(bad));
  }
});

const visudo = which("visudo") ?? ["/usr/sbin/visudo", "/usr/bin/visudo"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name: "the generated sudoers file passes visudo -c -f",
  ignore: visudo === undefined,
  fn: async () => {
    await using d = await tempDir("kfd_sudoers_");
    for (const user of ["alice", "#1000", "kfd-e2e-user"]) {
      const file = `${d.path}/kubefwd-daemon`;
      await Deno.writeTextFile(file, sudoersFile(user), { mode: 0o440 });
      const out = await new Deno.Command(visudo!, {
        args: ["-c", "-f", file],
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      assert.match(text, /parsed OK/);
    }
  },
});

Deno.test("installScript refuses a kubefwd that is not root's alone, before it changes anything", {
  ignore: !isRoot,
}, async () => {
  await using d = await tempDir("kfd_install_");
  const kubefwd = `${d.path}/kubefwd`;
  await Deno.writeTextFile(kubefwd, "#!/bin/sh\n", { mode: 0o755 });
  await Deno.chown(kubefwd, OTHER_UID, OTHER_UID);
  const helperPath = `${d.path}/libexec/kubefwd-root`;
  const sudoersPath = `${d.path}/sudoers.d/kubefwd-daemon`;
  const script = installScript({
    helper: "#!/bin/sh\n",
    sudoers: sudoersFile("alice"),
    kubefwd,
    helperPath,
    sudoersPath,
  });
  const out = await new Deno.Command("/bin/sh", { args: ["-c", script], stdout: "piped", stderr: "piped" })
    .output();
  assert.equal(out.code, 1);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /is not root's alone; whoever can replace it would run code as root/,
  );
  assert.ok(!(await Deno.stat(`${d.path}/libexec`).then(() => true, () => false)), "nothing installed");
});

Deno.test({
  name: "installScript installs the helper and a visudo-checked rule; a broken rule never goes live",
  ignore: !isRoot || visudo === undefined,
  fn: async () => {
    // Every directory above the install paths must be root's alone: /tmp is not (sticky, world-writable).
    const root = await Deno.makeTempDir({ dir: "/run", prefix: "kfd_install_" });
    try {
      const kubefwd = `${root}/bin/kubefwd`;
      await Deno.mkdir(`${root}/bin`, { mode: 0o755 });
      await Deno.writeTextFile(kubefwd, "#!/bin/sh\n", { mode: 0o755 });
      await Deno.chmod(root, 0o755);
      const helperPath = `${root}/libexec/kubefwd-root`;
      const sudoersPath = `${root}/sudoers.d/kubefwd-daemon`;
      await Deno.mkdir(`${root}/sudoers.d`, { mode: 0o755 });
      const helper = renderRootHelper(template, { kubefwd, hosts: "/etc/hosts", home: `${root}/home` });
      const run = (sudoers: string) =>
        new Deno.Command("/bin/sh", {
          args: ["-c", installScript({ helper, sudoers, kubefwd, helperPath, sudoersPath })],
          stdout: "piped",
          stderr: "piped",
        }).output();
      const broken = await run("alice ALL=(root NOPASSWD: /x\n");
      assert.equal(broken.code, 1);
      assert.match(new TextDecoder().decode(broken.stderr), /visudo rejected the rule/);
      assert.deepEqual([...Deno.readDirSync(`${root}/sudoers.d`)], [], "no rule, not even the temp file");
      const ok = await run(sudoersFile("alice", helperPath));
      assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
      assert.equal(await Deno.readTextFile(helperPath), helper);
      assert.equal((await Deno.stat(helperPath)).mode! & 0o7777, 0o755);
      assert.equal((await Deno.stat(sudoersPath)).mode! & 0o7777, 0o440);
      assert.equal(await Deno.readTextFile(sudoersPath), sudoersFile("alice", helperPath));
      assert.deepEqual(parseInstalledHelper(await Deno.readTextFile(helperPath))?.kubefwd, kubefwd);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
