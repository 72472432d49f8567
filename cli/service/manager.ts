/**
 * Installs, removes and inspects the login service through the platform's service manager: `systemctl
 * --user` for the systemd user unit, `launchctl` (domain `gui/<uid>`) for the launchd agent. The
 * manager's commands run through an injected runner, so the logic is the same in tests (recording fakes on
 * PATH) and for real.
 */
import { dirname } from "../../lib/util/path.ts";
import { LAUNCHD_LABEL, launchdPlist, type ServicePlan, SYSTEMD_UNIT, systemdUnit } from "./units.ts";

/** The platforms with a service definition. */
export const PLATFORMS = ["linux", "darwin"] as const;
/** One of {@link PLATFORMS}. */
export type Platform = typeof PLATFORMS[number];

/** What a service-manager command printed. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The outside world of the service verbs. */
export interface ServiceHost {
  /** The user's home directory. */
  home: string;
  /** The user's uid (launchd's `gui/<uid>` domain). */
  uid: number;
  /** An environment variable. */
  env(name: string): string | undefined;
  /** Run a service-manager command; a missing program throws Deno.errors.NotFound. */
  run(argv: string[]): Promise<RunResult>;
}

/** Where the service definition of `platform` lives for this user. */
export function serviceFilePath(platform: Platform, host: Pick<ServiceHost, "home" | "env">): string {
  if (platform === "darwin") return `${host.home}/Library/LaunchAgents/${LAUNCHD_LABEL}.plist`;
  const xdg = host.env("XDG_CONFIG_HOME");
  const base = xdg?.startsWith("/") ? xdg : `${host.home}/.config`;
  return `${base}/systemd/user/${SYSTEMD_UNIT}`;
}

/** The definition's text for `platform`. */
export function serviceFileText(platform: Platform, plan: ServicePlan): string {
  return platform === "darwin" ? launchdPlist(plan) : systemdUnit(plan);
}

/** A failed manager command, with what it said. */
export class ServiceManagerError extends Error {
  constructor(argv: string[], result: RunResult | undefined, hint = "") {
    const said = result ? (result.stderr || result.stdout).trim() : "";
    const what = result ? `exited with code ${result.code}` : "is not installed";
    super(`\`${argv.join(" ")}\` ${what}${said ? `: ${said}` : ""}${hint}`);
    this.name = "ServiceManagerError";
  }
}

async function mustRun(host: ServiceHost, argv: string[]): Promise<RunResult> {
  let result: RunResult;
  try {
    result = await host.run(argv);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ServiceManagerError(argv, undefined, ` (${argv[0]} not found on PATH)`);
    }
    throw e;
  }
  if (result.code !== 0) {
    const noSession = argv[0] === "systemctl" && /connect to bus/i.test(result.stderr);
    throw new ServiceManagerError(
      argv,
      result,
      noSession
        ? " (no systemd user session here: `systemctl --user` needs a login session, or `loginctl enable-linger`)"
        : "",
    );
  }
  return result;
}

async function tryRun(host: ServiceHost, argv: string[]): Promise<RunResult | undefined> {
  try {
    return await host.run(argv);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Write `text` to `path` atomically (temp file + rename), creating the directory. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp.${Deno.pid}`;
  await Deno.writeTextFile(tmp, text, { mode: 0o644 });
  await Deno.rename(tmp, path);
}

/** What `install` did. */
export interface InstallOutcome {
  path: string;
  /** False when the file already had this content. */
  changed: boolean;
  /** True when it was (re)started now. */
  started: boolean;
}

const launchdTarget = (host: ServiceHost) => `gui/${host.uid}/${LAUNCHD_LABEL}`;

/**
 * Write the definition and register it with the manager so it starts at login; with `now`, also (re)start
 * it now. Idempotent: run again, it rewrites the same file and repeats the same manager commands.
 */
export async function installService(
  host: ServiceHost,
  opts: { platform: Platform; plan: ServicePlan; now: boolean },
): Promise<InstallOutcome> {
  const path = serviceFilePath(opts.platform, host);
  const text = serviceFileText(opts.platform, opts.plan);
  const changed = (await readText(path)) !== text;
  if (changed) await writeAtomic(path, text);
  if (opts.platform === "linux") {
    await mustRun(host, ["systemctl", "--user", "daemon-reload"]);
    await mustRun(host, ["systemctl", "--user", "enable", SYSTEMD_UNIT]);
    if (opts.now) await mustRun(host, ["systemctl", "--user", "restart", SYSTEMD_UNIT]);
  } else {
    // The agent's log directory must exist before launchd opens StandardOutPath.
    await Deno.mkdir(dirname(opts.plan.stdioLog), { recursive: true, mode: 0o700 });
    await tryRun(host, ["launchctl", "enable", launchdTarget(host)]);
    if (opts.now) {
      // bootout first: launchd keeps the old definition of a loaded agent. It fails when none is loaded.
      await tryRun(host, ["launchctl", "bootout", launchdTarget(host)]);
      await mustRun(host, ["launchctl", "bootstrap", `gui/${host.uid}`, path]);
    }
  }
  return { path, changed, started: opts.now };
}

/** What `uninstall` did: the removed file, and whether the manager stopped and disabled the service. */
export interface UninstallOutcome {
  /** The removed file, or undefined when there was none. */
  removed?: string;
  /** False when the manager could not be reached or refused (the file is removed anyway). */
  stopped: boolean;
}

/** Stop and unregister the service and remove its file (the file goes even when the manager fails). */
export async function uninstallService(host: ServiceHost, platform: Platform): Promise<UninstallOutcome> {
  const path = serviceFilePath(platform, host);
  const present = (await readText(path)) !== undefined;
  let stopped = true;
  if (platform === "linux") {
    if (present) {
      stopped = (await tryRun(host, ["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT]))?.code === 0;
    }
    if (present) await Deno.remove(path);
    await tryRun(host, ["systemctl", "--user", "daemon-reload"]);
    await tryRun(host, ["systemctl", "--user", "reset-failed", SYSTEMD_UNIT]);
  } else {
    // bootout fails when the agent is not loaded: nothing to stop then.
    await tryRun(host, ["launchctl", "bootout", launchdTarget(host)]);
    if (present) await Deno.remove(path);
  }
  return present ? { removed: path, stopped } : { stopped };
}

/** The service as the manager sees it. */
export interface ServiceState {
  platform: Platform;
  path: string;
  installed: boolean;
  /** systemd: `enabled`/`disabled`…; launchd: `loaded`/`not loaded`. */
  enabled: string;
  /** systemd: `active`/`inactive`/`failed`…; launchd: `running`/`not running`. */
  active: string;
  /** The daemon's pid according to the manager, when it runs. */
  pid?: number;
}

/** Ask the manager about the service (never throws for a manager that is missing or says no). */
export async function serviceState(host: ServiceHost, platform: Platform): Promise<ServiceState> {
  const path = serviceFilePath(platform, host);
  const installed = (await readText(path)) !== undefined;
  if (platform === "linux") {
    const word = async (argv: string[]) =>
      (await tryRun(host, argv))?.stdout.trim().split("\n")[0] || "unknown";
    const enabled = await word(["systemctl", "--user", "is-enabled", SYSTEMD_UNIT]);
    const active = await word(["systemctl", "--user", "is-active", SYSTEMD_UNIT]);
    const pidText = await word([
      "systemctl",
      "--user",
      "show",
      "--property=MainPID",
      "--value",
      SYSTEMD_UNIT,
    ]);
    const pid = Number(pidText);
    return { platform, path, installed, enabled, active, ...(pid > 0 ? { pid } : {}) };
  }
  const printed = await tryRun(host, ["launchctl", "print", launchdTarget(host)]);
  const loaded = printed !== undefined && printed.code === 0;
  const state = loaded ? printed.stdout.match(/^\s*state = (\S+)/m)?.[1] : undefined;
  const pid = loaded ? Number(printed.stdout.match(/^\s*pid = (\d+)/m)?.[1] ?? 0) : 0;
  return {
    platform,
    path,
    installed,
    enabled: loaded ? "loaded" : "not loaded",
    active: state ?? "not running",
    ...(pid > 0 ? { pid } : {}),
  };
}

/** Start the installed service now (for `start`): systemctl start, or launchctl kickstart / bootstrap. */
export async function startService(host: ServiceHost, platform: Platform): Promise<void> {
  if (platform === "linux") {
    await mustRun(host, ["systemctl", "--user", "start", SYSTEMD_UNIT]);
    return;
  }
  const kick = await tryRun(host, ["launchctl", "kickstart", launchdTarget(host)]);
  if (kick?.code === 0) return;
  await mustRun(host, ["launchctl", "bootstrap", `gui/${host.uid}`, serviceFilePath(platform, host)]);
}

/** This machine's platform, when it has a service definition. */
export function currentPlatform(): Platform | undefined {
  const os = Deno.build.os;
  return os === "linux" || os === "darwin" ? os : undefined;
}

/** The installed service of this machine, if any (for `start`: the service runs the daemon then). */
export async function installedService(
  host: Pick<ServiceHost, "home" | "env">,
): Promise<Platform | undefined> {
  const platform = currentPlatform();
  if (!platform) return undefined;
  return (await readText(serviceFilePath(platform, host))) !== undefined ? platform : undefined;
}
