/**
 * Entry of the daemon role. Parses its few flags by hand (commander would cost memory for the whole
 * daemon lifetime) and runs the daemon until it shuts down.
 */
import { type EarlySignals, runDaemon } from "./daemon.ts";

/** Parse `[--config P] [--socket P] [--detached]` and run; returns the exit code. */
export async function runDaemonFromArgs(args: string[], earlySignals?: EarlySignals): Promise<number> {
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
