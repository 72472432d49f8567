/**
 * The login service: the unit passes `systemd-analyze verify --user` with nothing on stderr, the plist parses
 * and has what launchd needs, and `service install/uninstall/status` plus `start` run against a temp HOME
 * with recording fakes of `systemctl` and `launchctl` on PATH. The fakes really start what the unit's
 * ExecStart / the plist's ProgramArguments say, so the daemon they start must answer the real CLI.
 */
import assert from "node:assert/strict";
import { hasTool, LAUNCHER, pinnedDenoVersion, ShSandbox, verifyUnit } from "./sh_env.ts";
import { parsePlist, type PlistValue } from "./plist.ts";
import {
  launchdPlist,
  type ServicePlan,
  systemdExecStart,
  systemdQuote,
  systemdUnit,
} from "../../cli/service/units.ts";
import { servicePlan } from "../../cli/commands/service.ts";

const HAVE_ANALYZE = hasTool("systemd-analyze");
if (!HAVE_ANALYZE) {
  console.log("service: systemd-analyze is not installed here (apt-get install systemd); verify skipped");
}

function dict(v: PlistValue | undefined): Record<string, PlistValue> {
  assert.ok(
    v !== undefined && typeof v === "object" && !Array.isArray(v),
    `not a dict: ${JSON.stringify(v)}`,
  );
  return v as Record<string, PlistValue>;
}

Deno.test("service: systemd quoting of words with spaces, quotes, % and $", () => {
  assert.equal(systemdQuote("/usr/bin/x"), "/usr/bin/x");
  assert.equal(systemdQuote("/a b/c"), '"/a b/c"');
  assert.equal(systemdQuote("100%"), "100%%");
  assert.equal(systemdQuote("$HOME"), '"$$HOME"');
  assert.equal(systemdQuote('say "hi"\\'), '"say \\"hi\\"\\\\"');
  assert.equal(systemdExecStart(["/a b/$x%", "--config", "/c d"]), '"/a b/$x%%" --config "/c d"');
  assert.throws(() => systemdExecStart(["/it's/kfd"]), /cannot run a program whose path contains quotes/);
});

Deno.test("service: the plan's PATH finds kubefwd and sudo first, then Deno's and the system's directories", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const d of ["k", "s"]) await Deno.mkdir(`${dir}/${d}`);
    await Deno.writeTextFile(`${dir}/k/kubefwd`, "", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/s/sudo`, "", { mode: 0o755 });
    const plan = servicePlan({
      platform: "linux",
      configPath: "/h/.config/kubefwd-daemon/config.yaml",
      stateDir: "/h/.local/state/kubefwd-daemon",
      home: "/h",
      kubefwd: "kubefwd",
      searchPath: `/nowhere:${dir}/k:${dir}/s:/usr/bin`,
      daemonArgv: ["/src/kubefwd-daemon", "daemon"],
      denoDir: "/opt/deno/bin",
    });
    assert.deepEqual(plan.argv, [
      "/src/kubefwd-daemon",
      "daemon",
      "--config",
      "/h/.config/kubefwd-daemon/config.yaml",
    ]);
    assert.equal(
      plan.path,
      `${dir}/k:${dir}/s:/opt/deno/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin`,
    );
    assert.equal(plan.stdioLog, "/h/.local/state/kubefwd-daemon/daemon.out");
    // An absolute kubefwd.path is taken as is; macOS adds Homebrew's directory.
    const mac = servicePlan({
      platform: "darwin",
      configPath: "/c",
      stateDir: "/s",
      home: "/h",
      kubefwd: "/opt/kf/kubefwd",
      searchPath: "",
      daemonArgv: ["/bin/kfd", "daemon"],
    });
    assert.equal(mac.path, "/opt/kf:/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "service: `service print --platform linux` passes systemd-analyze verify --user with no warnings",
  ignore: !HAVE_ANALYZE,
  fn: async () => {
    const box = await ShSandbox.create();
    try {
      await box.seedCache(await pinnedDenoVersion());
      const r = await box.run([LAUNCHER, "service", "print", "--platform", "linux"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.match(
        r.stdout,
        new RegExp(
          `^ExecStart=${LAUNCHER} daemon --config ${box.home}/\\.config/kubefwd-daemon/config\\.yaml$`,
          "m",
        ),
      );
      for (
        const line of [
          "Type=exec",
          "Restart=on-failure",
          "KillMode=mixed",
          "TimeoutStopSec=60",
          "WantedBy=default.target",
        ]
      ) {
        assert.match(r.stdout, new RegExp(`^${line}$`, "m"));
      }
      const v = await verifyUnit(r.stdout);
      assert.equal(v.stderr, "");
      assert.equal(v.code, 0);

      // Awkward paths (space, %, $) are quoted so that verify still finds the program.
      const odd = `${box.dir}/odd dir %1 $x`;
      await Deno.mkdir(odd);
      await Deno.writeTextFile(`${odd}/kubefwd-daemon`, "#!/bin/sh\n", { mode: 0o755 });
      const plan: ServicePlan = {
        argv: [`${odd}/kubefwd-daemon`, "daemon", "--config", `${odd}/config.yaml`],
        path: `${odd}:/usr/bin`,
        stdioLog: `${odd}/daemon.out`,
        home: box.home,
      };
      const v2 = await verifyUnit(systemdUnit(plan));
      assert.equal(v2.stderr, "");
      assert.equal(v2.code, 0);
      // And verify does complain about a unit that is wrong (the check is real).
      const v3 = await verifyUnit(
        systemdUnit(plan).replace("KillMode=mixed", "KillMode=mixed\nStopMode=soft"),
      );
      assert.match(v3.stderr, /Unknown key 'StopMode'/);
    } finally {
      await box.dispose();
    }
  },
});

Deno.test("service: `service print --platform darwin` is a plist with Label, ProgramArguments, RunAtLoad, KeepAlive", async () => {
  const box = await ShSandbox.create();
  try {
    await box.seedCache(await pinnedDenoVersion());
    const r = await box.run([LAUNCHER, "service", "print", "--platform", "darwin"]);
    assert.equal(r.code, 0, r.stderr);
    const p = dict(parsePlist(r.stdout));
    assert.equal(p.Label, "kubefwd-daemon");
    assert.deepEqual(p.ProgramArguments, [
      LAUNCHER,
      "daemon",
      "--config",
      `${box.home}/.config/kubefwd-daemon/config.yaml`,
    ]);
    assert.equal(p.RunAtLoad, true);
    assert.deepEqual(p.KeepAlive, { SuccessfulExit: false });
    assert.equal(p.ExitTimeOut, 60);
    assert.equal(p.StandardErrorPath, `${box.home}/.local/state/kubefwd-daemon/daemon.out`);
    assert.match(String(dict(p.EnvironmentVariables).PATH), /\/usr\/bin/);
    // XML escaping of awkward paths, and the checker rejects broken XML.
    const odd = launchdPlist({ argv: ["/a&b/<x>", "daemon"], path: "/p", stdioLog: "/l", home: "/h" });
    assert.deepEqual(dict(parsePlist(odd)).ProgramArguments, ["/a&b/<x>", "daemon"]);
    assert.throws(() => parsePlist(odd.replace("</array>", "")), /does not close|not closed/);
    assert.throws(() => parsePlist(odd.replace("&amp;", "&")), /bare &/);
  } finally {
    await box.dispose();
  }
});

/** Shell functions of both fakes: is the daemon they started alive; SIGTERM it and wait until it is gone. */
const FAKE_RUNNING = `running() { [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }
`;
const FAKE_STOP = `stop() {
  if running; then
    pid=$(cat "$state/pid"); kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  fi
  rm -f "$state/pid"
}
`;

/** The recording fake of `systemctl --user`: it starts ExecStart of the unit in the background. */
const FAKE_SYSTEMCTL = `#!/bin/sh
echo "systemctl $*" >>"$KFD_FAKE_DIR/calls"
state=$KFD_FAKE_DIR
unit="\${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/kubefwd-daemon.service"
${FAKE_RUNNING}launch() {
  [ -f "$unit" ] || { echo "Unit kubefwd-daemon.service not found." >&2; exit 5; }
  cmd=$(sed -n 's/^ExecStart=//p' "$unit")
  eval "set -- $cmd"
  "$@" </dev/null >>"$state/daemon.out" 2>&1 &
  echo $! >"$state/pid"
}
${FAKE_STOP}[ "$1" = --user ] || { echo "fake systemctl: only --user" >&2; exit 1; }
shift
case $1 in
daemon-reload | reset-failed) ;;
enable) touch "$state/enabled" ;;
disable) rm -f "$state/enabled"; [ "$2" = --now ] && stop ;;
is-enabled) if [ -f "$state/enabled" ]; then echo enabled; else echo disabled; exit 1; fi ;;
is-active) if running; then echo active; else echo inactive; exit 3; fi ;;
show) if running; then cat "$state/pid"; else echo 0; fi ;;
start) running || launch ;;
restart) stop; launch ;;
stop) stop ;;
*) echo "fake systemctl: $1?" >&2; exit 1 ;;
esac
`;

/** The recording fake of `launchctl`: bootstrap/kickstart start the plist's ProgramArguments. */
const FAKE_LAUNCHCTL = `#!/bin/sh
echo "launchctl $*" >>"$KFD_FAKE_DIR/calls"
state=$KFD_FAKE_DIR
plist="$HOME/Library/LaunchAgents/kubefwd-daemon.plist"
${FAKE_RUNNING}launch() {
  set --
  for a in $(sed -n '/<array>/,/<\\/array>/s/.*<string>\\(.*\\)<\\/string>.*/\\1/p' "$plist"); do set -- "$@" "$a"; done
  "$@" </dev/null >>"$state/daemon.out" 2>&1 &
  echo $! >"$state/pid"
}
${FAKE_STOP}case $1 in
enable | disable) ;;
bootout)
  [ -f "$state/loaded" ] || { echo "Boot-out failed: 3: No such process" >&2; exit 3; }
  stop; rm -f "$state/loaded" ;;
bootstrap)
  [ -f "$3" ] || { echo "Bootstrap failed: 5: Input/output error" >&2; exit 5; }
  [ -f "$state/loaded" ] && { echo "Bootstrap failed: 37: Operation already in progress" >&2; exit 37; }
  touch "$state/loaded"; launch ;;
kickstart) [ -f "$state/loaded" ] || exit 113; running || launch ;;
print)
  [ -f "$state/loaded" ] || { echo "Could not find service" >&2; exit 113; }
  if running; then printf '\\tstate = running\\n\\tpid = %s\\n' "$(cat "$state/pid")"; else printf '\\tstate = not running\\n'; fi ;;
*) echo "fake launchctl: $1?" >&2; exit 1 ;;
esac
`;

/** Every file under `dir`, relative, sorted. */
async function files(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...await files(`${dir}/${e.name}`, `${prefix}${e.name}/`));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

async function serviceBox(): Promise<
  { box: ShSandbox; env: Record<string, string>; calls(): Promise<string[]>; kill(): Promise<void> }
> {
  const box = await ShSandbox.create();
  await box.seedCache(await pinnedDenoVersion());
  await box.fake("systemctl", FAKE_SYSTEMCTL);
  await box.fake("launchctl", FAKE_LAUNCHCTL);
  await box.fake("kubefwd-daemon", `#!/bin/sh\nexec '${LAUNCHER}' "$@"\n`);
  const state = `${box.dir}/fake-state`;
  await Deno.mkdir(state);
  await Deno.mkdir(`${box.dir}/run`, { mode: 0o700 });
  return {
    box,
    env: { KFD_FAKE_DIR: state, XDG_RUNTIME_DIR: `${box.dir}/run` },
    async calls() {
      const text = await Deno.readTextFile(`${state}/calls`).catch(() => "");
      await Deno.writeTextFile(`${state}/calls`, "");
      return text.split("\n").filter(Boolean);
    },
    async kill() {
      const pid = Number(await Deno.readTextFile(`${state}/pid`).catch(() => "0"));
      if (pid > 0) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
    },
  };
}

Deno.test("service: install / status / start / uninstall on Linux with a recording systemctl", async () => {
  const { box, env, calls, kill } = await serviceBox();
  try {
    const kfd = (...args: string[]) => box.run(["-c", 'kubefwd-daemon "$@"', "sh", ...args], { env });
    const before = await files(box.home);
    const unit = `${box.home}/.config/systemd/user/kubefwd-daemon.service`;

    let r = await kfd("service", "install");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `wrote ${unit}\nthe daemon starts at your next login (\`kubefwd-daemon service install --now\` starts it now)\n`,
    );
    assert.deepEqual(await calls(), [
      "systemctl --user daemon-reload",
      "systemctl --user enable kubefwd-daemon.service",
    ]);
    const printed = await kfd("service", "print");
    assert.equal(await Deno.readTextFile(unit), printed.stdout);

    // Idempotent: the same file, the same commands.
    r = await kfd("service", "install");
    assert.match(r.stdout, /^unchanged: /);
    assert.deepEqual(await calls(), [
      "systemctl --user daemon-reload",
      "systemctl --user enable kubefwd-daemon.service",
    ]);

    r = await kfd("service", "status");
    assert.equal(r.stdout, `installed: ${unit}\nenabled, inactive\n`);
    await calls();

    // `start` goes through the service manager: no second daemon beside the service's.
    r = await kfd("start");
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(r.stdout.match(/^daemon started by the login service \(pid (\d+)\)$/m)?.[1]);
    assert.ok(pid > 0, r.stdout);
    assert.ok((await calls()).includes("systemctl --user start kubefwd-daemon.service"));
    r = await kfd("start");
    assert.equal(
      r.stdout,
      `daemon already running (pid ${pid}) — run by the login service (\`kubefwd-daemon service status\`)\n`,
    );
    r = await kfd("status");
    assert.equal(r.code, 0, r.stderr);

    // install --now restarts it under the (new) unit and waits for it.
    r = await kfd("service", "install", "--now");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^the service runs the daemon now \(pid \d+\) and at every login$/m);
    assert.ok((await calls()).includes("systemctl --user restart kubefwd-daemon.service"));
    r = await kfd("--json", "service", "status");
    const st = JSON.parse(r.stdout);
    assert.equal(st.active, "active");
    assert.equal(st.enabled, "enabled");
    await calls();

    r = await kfd("service", "uninstall");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `removed ${unit} (service stopped and disabled)\n`);
    assert.deepEqual((await calls()).slice(0, 2), [
      "systemctl --user disable --now kubefwd-daemon.service",
      "systemctl --user daemon-reload",
    ]);
    r = await kfd("service", "uninstall");
    assert.equal(r.stdout, "the service was not installed\n");
    // Nothing of the service is left (the daemon's state directory and Deno's cache are not the service's).
    const ours = (f: string) => !f.startsWith(".local/state/kubefwd-daemon/") && !f.startsWith(".cache/");
    assert.deepEqual((await files(box.home)).filter(ours), before.filter(ours));
    r = await kfd("status");
    assert.equal(r.code, 3, "the service's daemon is stopped");
  } finally {
    await kill();
    await box.dispose();
  }
});

Deno.test("service: install --now / uninstall on macOS with a recording launchctl", async () => {
  const { box, env, calls, kill } = await serviceBox();
  try {
    const kfd = (...args: string[]) => box.run(["-c", 'kubefwd-daemon "$@"', "sh", ...args], { env });
    const uid = Deno.uid();
    const plist = `${box.home}/Library/LaunchAgents/kubefwd-daemon.plist`;
    let r = await kfd("service", "install", "--platform", "darwin", "--now");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^the service runs the daemon now \(pid \d+\)/m);
    assert.deepEqual(await calls(), [
      `launchctl print gui/${uid}/kubefwd-daemon`,
      `launchctl enable gui/${uid}/kubefwd-daemon`,
      `launchctl bootout gui/${uid}/kubefwd-daemon`,
      `launchctl bootstrap gui/${uid} ${plist}`,
      `launchctl print gui/${uid}/kubefwd-daemon`,
    ]);
    dict(parsePlist(await Deno.readTextFile(plist)));
    r = await kfd("status");
    assert.equal(r.code, 0, r.stderr);

    // Again: the loaded agent is booted out and bootstrapped with the current file.
    r = await kfd("service", "install", "--platform", "darwin", "--now");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^unchanged: /);
    r = await kfd("service", "status", "--platform", "darwin");
    assert.match(r.stdout, /^loaded, running \(pid \d+\)$/m);

    r = await kfd("service", "uninstall", "--platform", "darwin");
    assert.equal(r.stdout, `removed ${plist} (service stopped and disabled)\n`);
    await assert.rejects(Deno.stat(plist));
    r = await kfd("service", "status", "--platform", "darwin");
    assert.match(r.stdout, /^not installed/);
  } finally {
    await kill();
    await box.dispose();
  }
});
