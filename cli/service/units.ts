/**
 * The login-service definitions, as pure functions of a {@link ServicePlan}: a systemd user unit (Linux)
 * and a launchd agent property list (macOS). Both run the daemon in the foreground (`… daemon`) under the
 * manager, restart it only when it failed, and give it a stop timeout long enough for its own orderly stop.
 *
 * Readiness: systemd's `Type=notify` needs an `sd_notify` datagram on $NOTIFY_SOCKET. Stable Deno 2.9 has no
 * unix datagram sockets (`Deno.listenDatagram`/`DatagramConn` exist only under `--unstable-net`) and FFI to
 * libsystemd would be a native dependency, so the unit is `Type=exec`: systemd counts the service started
 * once the program has been exec'd, and `service install --now` (like `start`) waits until the socket answers.
 */

/** Everything a service definition depends on; computed once by the caller, so tests state it literally. */
export interface ServicePlan {
  /** argv that runs the daemon in the foreground, absolute program path first. */
  argv: string[];
  /** PATH of the daemon: finds kubefwd, sudo and the tools the daemon runs. */
  path: string;
  /** Where the daemon's stdout/stderr go under launchd (the file `start` uses for the same purpose). */
  stdioLog: string;
  /** The user's home: the agent's working directory. */
  home: string;
}

/** Name of the systemd user unit. */
export const SYSTEMD_UNIT = "kubefwd-daemon.service";
/** Label of the launchd agent (also its file name, `<label>.plist`). */
export const LAUNCHD_LABEL = "kubefwd-daemon";
/**
 * Seconds the manager waits after SIGTERM before killing: the daemon stops every kubefwd (10 s
 * `stop_timeout`, a second SIGTERM, then SIGKILL) and sweeps the hosts file; `kubefwd-daemon stop` waits as long.
 */
export const STOP_TIMEOUT_SECONDS = 60;
/** Exit codes after which restarting cannot help: usage error (2) and invalid config (4). */
export const NO_RESTART_EXIT_CODES = [2, 4];

/** One word of a systemd command line or assignment: `%` and `$` escaped, quoted when needed. */
export function systemdQuote(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/**
 * The ExecStart command line. systemd takes the executable's name literally (no `$` expansion, so no `$$`)
 * and refuses quotes and backslashes in it: such a path cannot be a unit's program at all.
 */
export function systemdExecStart(argv: string[]): string {
  const [program, ...args] = argv;
  if (/["'\\\n]/.test(program)) {
    throw new Error(`systemd cannot run a program whose path contains quotes or backslashes: ${program}`);
  }
  const escaped = program.replaceAll("%", "%%");
  return [/\s/.test(escaped) ? `"${escaped}"` : escaped, ...args.map(systemdQuote)].join(" ");
}

/** The systemd user unit. */
export function systemdUnit(plan: ServicePlan): string {
  return `# Written by \`kubefwd-daemon service install\`; \`kubefwd-daemon service uninstall\` removes it.
[Unit]
Description=kubefwd-daemon: keeps kubefwd port-forwards alive

[Service]
# Type=exec, not notify: stable Deno has no unix datagram socket for sd_notify.
Type=exec
ExecStart=${systemdExecStart(plan.argv)}
ExecReload=/bin/kill -HUP $MAINPID
Environment=${systemdQuote(`PATH=${plan.path}`)}
Environment=DENO_NO_UPDATE_CHECK=1
# SIGTERM to the daemon only: it stops its kubefwd children itself (hosts file cleaned); SIGKILL to all after
# TimeoutStopSec. A stop by \`kubefwd-daemon stop\` exits 0 and stays stopped.
KillMode=mixed
TimeoutStopSec=${STOP_TIMEOUT_SECONDS}
Restart=on-failure
RestartSec=5
RestartPreventExitStatus=${NO_RESTART_EXIT_CODES.join(" ")}

[Install]
WantedBy=default.target
`;
}

function xml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );
}

/** The launchd agent property list. */
export function launchdPlist(plan: ServicePlan): string {
  const args = plan.argv.map((a) => `    <string>${xml(a)}</string>`).join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by \`kubefwd-daemon service install\`; \`kubefwd-daemon service uninstall\` removes it. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>PATH</key>
    <string>${xml(plan.path)}</string>
    <key>DENO_NO_UPDATE_CHECK</key>
    <string>1</string>
  </dict>
  <key>WorkingDirectory</key>
  <string>${xml(plan.home)}</string>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>ExitTimeOut</key>
  <integer>${STOP_TIMEOUT_SECONDS}</integer>
  <key>StandardOutPath</key>
  <string>${xml(plan.stdioLog)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(plan.stdioLog)}</string>
</dict>
</plist>
`;
}
