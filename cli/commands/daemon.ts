/**
 * Daemon lifecycle verbs: `daemon` (foreground), `start`, `stop`, `restart` — each without profiles
 * acting on the daemon, with profiles acting on those profiles' children (transiently).
 */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { connect, type DaemonLocation, locateDaemon, withClient } from "../connect.ts";
import { connectDaemon, isDaemonRunning } from "../../lib/ipc/client.ts";
import { VERSION } from "../../lib/version.ts";
import { UserError } from "../../lib/errors.ts";
import { daemonCommand } from "../../lib/self_command.ts";
import { valueOnTimeout, waitFor } from "../../lib/util/async.ts";
import { runProfileVerb } from "./profile_verbs.ts";
import { serviceNote, startThroughService } from "../service/start.ts";
import { realServiceHost } from "./service.ts";

/**
 * How long `start` waits for the socket to answer before it gives up and stops the daemon. Normally it
 * answers in ~0.3 s; on a machine whose cores are all busy (two Deno processes start: the daemon and its
 * config reader) 5 s was seen not to be enough in CI, and a slow daemon must not be reported failed and killed.
 */
const START_TIMEOUT_MS = 15_000;
/** How long `stop` waits for the daemon and its children to be gone. */
const STOP_TIMEOUT_MS = 60_000;

/** File that catches the detached daemon's stdout/stderr (crashes before its logger is up). */
export function stdioLogPath(loc: DaemonLocation): string {
  return `${loc.settings.stateDir}/daemon.out`;
}

async function readTail(path: string, maxLines: number): Promise<string[]> {
  try {
    const text = await Deno.readTextFile(path);
    return text.trimEnd().split("\n").slice(-maxLines);
  } catch {
    return [];
  }
}

function pidAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound);
  }
}

/** The daemon a `start` found answering: the one it spawned, or one started by someone else meanwhile. */
export interface StartOutcome {
  /** The pid of the daemon answering on the socket. */
  pid: number;
  /** False when another `start` won the race: the daemon spawned here exited (the state lock was taken). */
  started: boolean;
}

/** The pid of the daemon answering on the socket (its hello), or undefined when none answers. */
async function answeringPid(socketPath: string): Promise<number | undefined> {
  try {
    const client = await connectDaemon(socketPath, { clientVersion: VERSION });
    const pid = client.daemonPid;
    await client.close();
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * Start the daemon detached and wait until its socket answers. Several `start` at once each spawn a
 * daemon, and only one gets the state lock: the daemon answering is asked for its pid, so only the `start`
 * whose daemon really runs says "started", the others that it was already running.
 */
export async function startDetachedDaemon(loc: DaemonLocation): Promise<StartOutcome> {
  await Deno.mkdir(loc.settings.stateDir, { recursive: true, mode: 0o700 });
  const outPath = stdioLogPath(loc);
  const outStart = await Deno.stat(outPath).then((s) => s.size).catch(() => 0);
  const args = [
    ...daemonCommand(),
    "--detached",
    "--config",
    loc.configPath,
    "--socket",
    loc.settings.socketPath,
  ];
  // sh redirects the daemon's stdio to a file: Deno.Command cannot, and a pipe would break when we exit.
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'exec "$@" </dev/null >>"$KFD_STDIO_LOG" 2>&1', "kubefwd-daemon", ...args],
    env: { KFD_STDIO_LOG: outPath },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  let exited: Deno.CommandStatus | undefined;
  child.status.then((s) => exited = s);
  child.unref();
  const ready = await waitFor(
    async () => exited !== undefined || await isDaemonRunning(loc.settings.socketPath),
    START_TIMEOUT_MS,
    { step: 50 },
  ).then(() => true, valueOnTimeout(false));
  if (ready) {
    const pid = await answeringPid(loc.settings.socketPath);
    if (pid !== undefined && pid !== child.pid) {
      // Another daemon answers: ours lost the race for the lock and is exiting (or already gone).
      await waitFor(() => exited !== undefined, START_TIMEOUT_MS, { step: 20 }).catch(() => {});
      return { pid, started: false };
    }
    if (exited === undefined) return { pid: child.pid, started: true };
  }
  // A byte offset: cut the bytes, then decode (slicing the decoded text by it lost the first characters).
  const bytes = await Deno.readFile(outPath).catch(() => new Uint8Array());
  const out = new TextDecoder().decode(bytes.subarray(Math.min(outStart, bytes.length))).trim().split("\n")
    .slice(
      -15,
    );
  const logTail = await readTail(loc.settings.logFile, 5);
  const reason = out.filter(Boolean).join("\n") || logTail.join("\n") || "no output";
  if (!ready) {
    try {
      Deno.kill(-child.pid, "SIGTERM");
    } catch { /* already gone */ }
  }
  const what = exited
    ? `daemon exited with code ${exited.code} during startup`
    : `daemon did not answer within ${START_TIMEOUT_MS / 1000}s`;
  throw new UserError(exited?.code === 4 ? "config_invalid" : "error", `${what}:\n${reason}`);
}

/** Make sure the daemon runs, starting it if needed; returns whether it was started now. */
async function ensureDaemon(loc: DaemonLocation): Promise<boolean> {
  if (await isDaemonRunning(loc.settings.socketPath)) return false;
  await startDetachedDaemon(loc);
  return true;
}

/** Ask the daemon to shut down and wait until it and its children are gone. */
async function stopDaemon(ctx: CliContext, loc: DaemonLocation): Promise<number | undefined> {
  if (!(await isDaemonRunning(loc.settings.socketPath))) return undefined;
  const client = await connect(ctx, loc);
  const pid = client.daemonPid;
  try {
    await client.request({ type: "shutdown" });
  } finally {
    await client.close();
  }
  const gone = await waitFor(() => !pidAlive(pid), STOP_TIMEOUT_MS, { step: 50 }).then(
    () => true,
    valueOnTimeout(false),
  );
  if (!gone) {
    throw new UserError("error", `daemon (pid ${pid}) is still running after ${STOP_TIMEOUT_MS / 1000}s`);
  }
  return pid;
}

/** The JSON document under `--json`, else the line of text. */
function report(ctx: CliContext, json: unknown, text: string): void {
  if (ctx.globals().json) ctx.json(json);
  else ctx.out(text);
}

/** What a lifecycle verb does, and its help. */
interface LifecycleVerb {
  description: string;
  profilesHelp: string;
  /** With profiles: start the daemon first when it is not running. */
  startsDaemon?: boolean;
  /** Without profiles: act on the daemon itself. */
  daemon(loc: DaemonLocation): Promise<void>;
}

/**
 * Register `start`, `stop` or `restart`: without profiles it acts on the daemon, with profiles it asks the
 * daemon to act on those profiles' children.
 */
function lifecycleVerb(
  program: Command,
  ctx: CliContext,
  type: "start" | "stop" | "restart",
  verb: LifecycleVerb,
): void {
  program.command(type)
    .description(verb.description)
    .argument("[profiles...]", verb.profilesHelp)
    .action(async (profiles: string[]) => {
      const loc = await locateDaemon(ctx);
      if (profiles.length === 0) return await verb.daemon(loc);
      if (verb.startsDaemon) await ensureDaemon(loc);
      await withClient(ctx, (client) => runProfileVerb(ctx, client, type, profiles), loc);
    });
}

/** Register `daemon`, `start`, `stop`, `restart`. */
export function registerDaemonCommands(program: Command, ctx: CliContext): void {
  program.command("daemon")
    .description("run the daemon in the foreground (for systemd/launchd); logs to stderr and the log file")
    .option("--detached", "internal: started by `start`, log only to the log file")
    .action(async () => {
      const { runDaemonFromArgs } = await import("../../lib/daemon/main.ts");
      const g = ctx.globals();
      const args = [...(g.config ? ["--config", g.config] : []), ...(g.socket ? ["--socket", g.socket] : [])];
      const code = await runDaemonFromArgs(args);
      if (code !== 0) {
        throw new UserError("error", `daemon exited with code ${code}`, {
          details: { alreadyPrinted: true },
        });
      }
    });

  lifecycleVerb(program, ctx, "start", {
    description: "start the daemon in the background, or start the given profiles now (transient)",
    profilesHelp: "profiles to start (the daemon is started first if needed)",
    startsDaemon: true,
    async daemon(loc) {
      const client = await isDaemonRunning(loc.settings.socketPath) ? await connect(ctx, loc) : undefined;
      if (client) {
        const pid = client.daemonPid;
        await client.close();
        report(
          ctx,
          { started: false, pid, socketPath: loc.settings.socketPath },
          `daemon already running (pid ${pid})${await serviceNote(realServiceHost(), pid)}`,
        );
        return;
      }
      const viaService = await startThroughService(realServiceHost(), loc);
      if (viaService !== undefined) {
        report(
          ctx,
          { started: true, pid: viaService, socketPath: loc.settings.socketPath, service: true },
          `daemon started by the login service (pid ${viaService})`,
        );
        return;
      }
      const { pid, started } = await startDetachedDaemon(loc);
      report(
        ctx,
        { started, pid, socketPath: loc.settings.socketPath },
        started
          ? `daemon started (pid ${pid}, socket ${loc.settings.socketPath})`
          : `daemon already running (pid ${pid})`,
      );
    },
  });

  lifecycleVerb(program, ctx, "stop", {
    description: "stop the daemon and all children, or stop the given profiles (transient)",
    profilesHelp: "profiles to stop",
    async daemon(loc) {
      const pid = await stopDaemon(ctx, loc);
      if (pid === undefined) report(ctx, { stopped: false }, "daemon is not running");
      else report(ctx, { stopped: true, pid }, `daemon stopped (pid ${pid})`);
    },
  });

  lifecycleVerb(program, ctx, "restart", {
    description: "restart the daemon, or just the given profiles' children",
    profilesHelp: "profiles to restart",
    async daemon(loc) {
      const oldPid = await stopDaemon(ctx, loc);
      const pid = await startThroughService(realServiceHost(), loc) ?? (await startDetachedDaemon(loc)).pid;
      report(ctx, { restarted: true, oldPid: oldPid ?? null, pid }, `daemon restarted (pid ${pid})`);
    },
  });
}
