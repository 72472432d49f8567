/**
 * Entry of the daemon role. Parses its few flags by hand (commander would cost memory for the whole
 * daemon lifetime) and runs the daemon until it shuts down.
 */
import { type EarlySignals, runDaemon } from "./daemon.ts";

/**
 * `daemon --help`, written by hand: `deno task start` runs with `--no-config`, where the CLI's commander
 * cannot even be imported, and the daemon role never loads it anyway.
 */
export const DAEMON_USAGE = `Usage: kubefwd-daemon daemon [options]
       kubefwd-daemon [--config PATH] [--socket PATH] daemon [--detached]

Run the daemon in the foreground (for systemd/launchd); logs to stderr and the log file.
\`deno task start\` runs exactly this, with the default config.

Options:
  --config PATH  config file (default: $KUBEFWD_DAEMON_CONFIG, else ~/.config/kubefwd-daemon/config.yaml;
                 only that default may be missing: the daemon then runs with no profiles)
  --socket PATH  control socket (default: from the config, else $XDG_RUNTIME_DIR/kubefwd-daemon/daemon.sock)
  --detached     internal: started by \`kubefwd-daemon start\`, logs only to the log file
  -h, --help     this help

Every other verb is the CLI's: deno run -A main.ts --help`;

/** Parse `[--config P] [--socket P] [--detached]` and run; returns the exit code. */
export async function runDaemonFromArgs(args: string[], earlySignals?: EarlySignals): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    earlySignals?.take();
    console.log(DAEMON_USAGE);
    return 0;
  }
  let configPath: string | undefined;
  let socketPath: string | undefined;
  let detached = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--config") configPath = value();
    else if (a.startsWith("--config=")) configPath = a.slice(9);
    else if (a === "--socket") socketPath = value();
    else if (a.startsWith("--socket=")) socketPath = a.slice(9);
    else if (a === "--detached") detached = true;
    else if (a === "--json" || a === "--no-color") continue;
    else {
      console.error(
        `error: unknown daemon option ${a} (usage: kubefwd-daemon [--config PATH] [--socket PATH] daemon)`,
      );
      return 2;
    }
  }
  return await runDaemon({ configPath, socketPath, detached, earlySignals });
}
