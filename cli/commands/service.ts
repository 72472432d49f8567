/**
 * `service install [--now] | uninstall | status | print`: the daemon as a login service — a systemd user
 * unit on Linux, a launchd agent on macOS (see cli/service/units.ts for what they contain and why).
 * `--platform` chooses the other platform's definition (`print` on Linux shows the macOS plist); the manager
 * commands then are that platform's, so it is for inspection and tests.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { type DaemonLocation, locateDaemon } from "../connect.ts";
import { connectDaemon, isDaemonRunning } from "../../lib/ipc/client.ts";
import { UserError } from "../../lib/errors.ts";
import { daemonCommand, isStandalone } from "../../lib/self_command.ts";
import { runCommand } from "../../lib/run_command.ts";
import { dirname } from "../../lib/util/path.ts";
import { VERSION } from "../../lib/version.ts";
import { valueOnTimeout, waitFor } from "../../lib/util/async.ts";
import type { ServicePlan } from "../service/units.ts";
import {
  currentPlatform,
  installService,
  type Platform,
  PLATFORMS,
  serviceFileText,
  type ServiceHost,
  ServiceManagerError,
  serviceState,
  uninstallService,
} from "../service/manager.ts";

/** Env var naming the command that runs this program (set by the launcher and the Nix wrapper). */
export const EXE_ENV_VAR = "KUBEFWD_DAEMON_EXE";
/** How long `install --now` waits for the started daemon's socket. */
const READY_TIMEOUT_MS = 10_000;

/** The real host: this process's environment, `systemctl`/`launchctl` as subprocesses. */
export function realServiceHost(): ServiceHost {
  const home = Deno.env.get("HOME");
  if (!home) throw new UserError("error", "HOME is not set");
  return {
    home,
    uid: Deno.uid() ?? 0,
    env: (name) => Deno.env.get(name),
    run: (argv) => runCommand(argv, { timeoutMs: 60_000 }),
  };
}

/** First executable `name` on `path` (a PATH value), or undefined. */
export function which(name: string, path: string): string | undefined {
  if (name.includes("/")) return name;
  for (const dir of path.split(":")) {
    if (!dir) continue;
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0o755) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The fixed part of the service's PATH, after the directories of kubefwd, sudo and Deno. */
const SYSTEM_PATH: Record<Platform, string[]> = {
  linux: ["/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin"],
  darwin: ["/opt/homebrew/bin", "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"],
};

/** Inputs of {@link servicePlan} that come from the machine. */
export interface PlanInputs {
  platform: Platform;
  configPath: string;
  stateDir: string;
  home: string;
  /** The config's `kubefwd.path` (default `kubefwd`). */
  kubefwd: string;
  /** The PATH to find kubefwd and sudo on. */
  searchPath: string;
  /** argv prefix that runs this program's daemon verb (ends with `daemon`). */
  daemonArgv: string[];
  /** Directory of the Deno running this (so the launcher finds the same one); none for a compiled binary. */
  denoDir?: string;
}

/**
 * What the service runs: the daemon in the foreground with the config path fixed at install time, and a
 * PATH with kubefwd's and sudo's directories (as found now) ahead of the system's, plus Deno's.
 */
export function servicePlan(inputs: PlanInputs): ServicePlan {
  const dirs: string[] = [];
  const kubefwd = which(inputs.kubefwd, inputs.searchPath);
  if (kubefwd) dirs.push(dirname(kubefwd));
  const sudo = which("sudo", inputs.searchPath);
  if (sudo) dirs.push(dirname(sudo));
  if (inputs.denoDir) dirs.push(inputs.denoDir);
  dirs.push(...SYSTEM_PATH[inputs.platform]);
  return {
    argv: [...inputs.daemonArgv, "--config", inputs.configPath],
    path: [...new Set(dirs)].join(":"),
    stdioLog: `${inputs.stateDir}/daemon.out`,
    home: inputs.home,
  };
}

/** argv that runs this program's daemon: the launcher or wrapper when known, else this very process. */
export function selfDaemonArgv(): string[] {
  const exe = Deno.env.get(EXE_ENV_VAR);
  if (exe) return [exe, "daemon"];
  if (isStandalone()) return [Deno.execPath(), "daemon"];
  return daemonCommand();
}

async function planFor(ctx: CliContext, platform: Platform, home: string): Promise<ServicePlan> {
  const loc = await locateDaemon(ctx);
  let kubefwd = "kubefwd";
  try {
    const { loadConfigFile } = await import("../../lib/config/load.ts");
    const result = await loadConfigFile(loc.configPath, { checkEnvironment: false });
    if (result.config) kubefwd = result.config.kubefwd.path;
  } catch {
    // no config yet: the default kubefwd
  }
  return servicePlan({
    platform,
    configPath: loc.configPath,
    stateDir: loc.settings.stateDir,
    home,
    kubefwd,
    searchPath: Deno.env.get("PATH") ?? "",
    daemonArgv: selfDaemonArgv(),
    ...(isStandalone() ? {} : { denoDir: dirname(Deno.execPath()) }),
  });
}

function platformOf(opts: { platform?: string }): Platform {
  const p = (opts.platform ?? currentPlatform()) as Platform | undefined;
  if (!p) {
    throw new UserError("usage", `no login service on ${Deno.build.os}; --platform linux|darwin prints one`);
  }
  return p;
}

function managerError(e: unknown): never {
  if (e instanceof ServiceManagerError) throw new UserError("error", e.message, { cause: e });
  throw e;
}

/** Ask a daemon that was not started by the service to shut down, and wait until its socket is gone. */
async function stopForeignDaemon(ctx: CliContext, loc: DaemonLocation, servicePid?: number): Promise<void> {
  if (!(await isDaemonRunning(loc.settings.socketPath))) return;
  const client = await connectDaemon(loc.settings.socketPath, { clientVersion: VERSION });
  const pid = client.daemonPid;
  try {
    if (pid === servicePid) return;
    ctx.err(`stopping the daemon started outside the service (pid ${pid}): the service runs it from now on`);
    await client.request({ type: "shutdown" });
  } finally {
    await client.close();
  }
  await waitFor(async () => !(await isDaemonRunning(loc.settings.socketPath)), 60_000, { step: 100 });
}

/** Register `service` and its verbs. */
export function registerServiceCommands(
  program: Command,
  ctx: CliContext,
  deps: { host?: () => ServiceHost } = {},
): void {
  const host = deps.host ?? realServiceHost;
  const service = program.command("service")
    .description("run the daemon at login: a systemd user unit (Linux) or a launchd agent (macOS)");
  const platformOption = (cmd: Command) =>
    cmd.addOption(
      cmd.createOption("--platform <platform>", "linux or darwin (default: this machine's)").choices(
        PLATFORMS,
      ),
    );

  platformOption(
    service.command("print").description("print the unit (linux) or plist (darwin) that `install` writes"),
  ).action(async (opts: { platform?: string }) => {
    const platform = platformOf(opts);
    const h = host();
    ctx.out(serviceFileText(platform, await planFor(ctx, platform, h.home)).trimEnd());
  });

  platformOption(
    service.command("install")
      .description("write the unit/agent and enable it at login (idempotent); --now also (re)starts it")
      .option("--now", "also start (or restart) it now and wait until the daemon answers"),
  ).action(async (opts: { platform?: string; now?: boolean }) => {
    const platform = platformOf(opts);
    const h = host();
    const plan = await planFor(ctx, platform, h.home);
    const loc = await locateDaemon(ctx);
    if (opts.now) await stopForeignDaemon(ctx, loc, (await serviceState(h, platform)).pid);
    const outcome = await installService(h, { platform, plan, now: opts.now === true }).catch(managerError);
    let pid: number | undefined;
    if (opts.now) {
      const ready = await waitFor(() => isDaemonRunning(loc.settings.socketPath), READY_TIMEOUT_MS, {
        step: 100,
      })
        .then(() => true, valueOnTimeout(false));
      if (!ready) {
        const where = platform === "linux" ? "journalctl --user -u kubefwd-daemon" : plan.stdioLog;
        throw new UserError(
          "error",
          `the service started but the daemon did not answer within ${
            READY_TIMEOUT_MS / 1000
          }s (see ${where})`,
        );
      }
      pid = (await serviceState(h, platform)).pid;
    }
    if (ctx.globals().json) {
      return ctx.json({
        installed: true,
        platform,
        path: outcome.path,
        changed: outcome.changed,
        started: !!opts.now,
      });
    }
    ctx.out(`${outcome.changed ? "wrote" : "unchanged:"} ${outcome.path}`);
    ctx.out(
      opts.now
        ? `the service runs the daemon now${pid ? ` (pid ${pid})` : ""} and at every login`
        : "the daemon starts at your next login (`kubefwd-daemon service install --now` starts it now)",
    );
  });

  platformOption(
    service.command("uninstall").description("stop the service, disable it and remove its file"),
  ).action(async (opts: { platform?: string }) => {
    const platform = platformOf(opts);
    const outcome = await uninstallService(host(), platform).catch(managerError);
    if (ctx.globals().json) return ctx.json({ removed: outcome.removed ?? null, stopped: outcome.stopped });
    if (!outcome.removed) return ctx.out("the service was not installed");
    ctx.out(
      outcome.stopped
        ? `removed ${outcome.removed} (service stopped and disabled)`
        : `removed ${outcome.removed}; the service manager did not answer, so a running daemon was not stopped ` +
          "(`kubefwd-daemon stop` stops it)",
    );
  });

  platformOption(
    service.command("status").description("is the service installed, enabled, running; which pid"),
  ).action(async (opts: { platform?: string }) => {
    const platform = platformOf(opts);
    const state = await serviceState(host(), platform);
    if (ctx.globals().json) return ctx.json(state);
    if (!state.installed) {
      ctx.out(`not installed (${state.path} does not exist; \`kubefwd-daemon service install\` writes it)`);
      return;
    }
    ctx.out(`installed: ${state.path}`);
    ctx.out(`${state.enabled}, ${state.active}${state.pid ? ` (pid ${state.pid})` : ""}`);
  });
}
