/**
 * The daemon role: wires config, state, supervisor, log and the control socket together and owns the
 * shutdown order (reply first, stop children, flush state, close the socket, remove pid file, unlock).
 * The Supervisor is the single owner of runtime state; this module only routes requests to it.
 */
import { realClock } from "../clock.ts";
import { defaultConfigPath, defaultDaemonSettings } from "../config/paths.ts";
import { defaultKubefwdSettings } from "../config/defaults.ts";
import { formatDiagnosticLine } from "../config/format.ts";
import type { Diagnostic, ResolvedConfig } from "../config/types.ts";
import { UserError } from "../errors.ts";
import { type HandlerContext, startIpcServer } from "../ipc/server.ts";
import { MAX_FRAME_BYTES, type Request, type ResultMap, type StatusResult } from "../ipc/protocol.ts";
import { DaemonLog } from "../log/logger.ts";
import { acquireLock } from "../state/lock.ts";
import { StateStore } from "../state/store.ts";
import { Supervisor } from "../supervisor/supervisor.ts";
import { DenoSpawner } from "../supervisor/spawner.ts";
import { killOrphans } from "../supervisor/process_control.ts";
import { TcpProber } from "../health/tcp_probe.ts";
import { FileHostsFile, type HostsFile, SudoHostsFile } from "../kubefwd/hosts.ts";
import { SubprocessServiceLister } from "../kubefwd/exclude.ts";
import type { KubefwdSettings } from "../config/types.ts";
import type { LogEntry } from "../supervisor/types.ts";
import { VERSION } from "../version.ts";
import { ConfigSourceError, resolveConfigViaSubprocess } from "./config_source.ts";
import { LinuxMemoryTrimmer, TrimScheduler } from "./memory_trim.ts";

/** Options of one daemon run. */
export interface DaemonOptions {
  configPath?: string;
  socketPath?: string;
  /** Started by `start`: no human log on stderr (it goes to a file nobody reads). */
  detached: boolean;
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

type LoadOutcome =
  | { kind: "ok"; config: ResolvedConfig; warnings: Diagnostic[]; missing: boolean }
  | { kind: "invalid"; file: string; errors: Diagnostic[]; warnings: Diagnostic[] };

async function loadConfig(path: string, socketOverride?: string): Promise<LoadOutcome> {
  const result = await resolveConfigViaSubprocess(path);
  if (result === undefined) {
    const daemon = defaultDaemonSettings();
    if (socketOverride) daemon.socketPath = socketOverride;
    return {
      kind: "ok",
      config: { path, daemon, kubefwd: defaultKubefwdSettings(), profiles: [] },
      warnings: [],
      missing: true,
    };
  }
  if (!result.config || result.errors.length > 0) {
    return { kind: "invalid", file: result.file, errors: result.errors, warnings: result.warnings };
  }
  const config = result.config;
  if (socketOverride) config.daemon = { ...config.daemon, socketPath: socketOverride };
  return { kind: "ok", config, warnings: result.warnings, missing: false };
}

function hostsFileFor(settings: KubefwdSettings): HostsFile {
  const needsSudo = !isRoot() && settings.privilege !== "none";
  return needsSudo ? new SudoHostsFile(settings.hostsPath) : new FileHostsFile(settings.hostsPath);
}

/** The newest entries whose JSON fits well inside one protocol frame (the oldest are dropped first). */
export function fitInFrame(entries: LogEntry[], budget = MAX_FRAME_BYTES - 64 * 1024): LogEntry[] {
  let size = 0;
  let first = entries.length;
  while (first > 0) {
    const next = JSON.stringify(entries[first - 1]).length + 1;
    if (size + next > budget) break;
    size += next;
    first--;
  }
  return entries.slice(first);
}

/**
 * Stream past entries, then every new one, until the client goes away or the daemon stops. The
 * subscription starts before the first past entry is sent, so nothing logged meanwhile is lost.
 */
export async function followLog(
  log: Pick<DaemonLog, "subscribe">,
  profile: string | undefined,
  past: LogEntry[],
  ctx: HandlerContext,
): Promise<{ entries: LogEntry[] }> {
  const backlog = [...past];
  let live = false;
  const unsubscribe = log.subscribe((e) => {
    if (profile !== undefined && e.profile !== profile) return;
    if (live) void ctx.sendLog(e);
    else backlog.push(e);
  });
  try {
    for (let i = 0; i < backlog.length && !ctx.signal.aborted; i++) await ctx.sendLog(backlog[i]);
    live = true;
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    unsubscribe();
  }
  return { entries: [] };
}

/** Run the daemon until it is told to stop; returns the process exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const configPath = opts.configPath ?? defaultConfigPath();
  let outcome: LoadOutcome;
  try {
    outcome = await loadConfig(configPath, opts.socketPath);
  } catch (e) {
    console.error(`error: ${e instanceof ConfigSourceError ? e.message : String(e)}`);
    return 1;
  }
  if (outcome.kind === "invalid") {
    console.error(`error: config ${outcome.file} is invalid (${outcome.errors.length} errors):`);
    for (const d of outcome.errors) console.error(formatDiagnosticLine(outcome.file, d, "error"));
    return 4;
  }
  let config = outcome.config;
  const settings = config.daemon;
  await Deno.mkdir(settings.stateDir, { recursive: true, mode: 0o700 });

  let lock;
  try {
    lock = await acquireLock(settings.stateDir);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }

  const log = new DaemonLog({ file: settings.logFile, stderr: !opts.detached, level: settings.logLevel });
  // kubefwd prints kubeconfig paths in its errors; the log masks every configured one.
  log.setKubeconfigs(config.profiles.map((p) => p.kubeconfig));
  const info = (message: string, level: "debug" | "info" | "warn" | "error" = "info") =>
    log.write({ at: new Date().toISOString(), level, source: "daemon", message });

  const mb = (kb: number) => (kb / 1024).toFixed(1);
  const trims = new TrimScheduler(
    new LinuxMemoryTrimmer(),
    realClock,
    (r) => info(`released one-off code pages: RSS ${mb(r.rssBeforeKb)} → ${mb(r.rssAfterKb)} MB`, "debug"),
  );
  // Every state change of a child is logged as a daemon event: each is a burst of one-off work.
  const unsubscribeTrims = log.subscribe((e) => {
    if (e.source === "daemon" && e.profile !== undefined) trims.poke();
  });
  if (outcome.missing) {
    info(
      `no config file at ${configPath}: running with no profiles. Create one with \`kubefwd-daemon config init\` ` +
        "(or write it by hand), then run `kubefwd-daemon reload`.",
      "warn",
    );
  }
  for (const w of outcome.warnings) info(formatDiagnosticLine(configPath, w, "warning"), "warn");

  const store = new StateStore(`${settings.stateDir}/state.json`);
  const loaded = await store.load();
  for (const w of loaded.warnings) info(w, "warn");
  const state = loaded.state;

  const supervisor = new Supervisor({
    spawner: new DenoSpawner(),
    clock: realClock,
    log,
    prober: new TcpProber(),
    serviceLister: new SubprocessServiceLister(),
    hostsFile: hostsFileFor,
    readHosts: (path) => Deno.readTextFile(path),
    isRoot: isRoot(),
    stateDir: settings.stateDir,
    state,
    persist: () => store.scheduleSave(state),
  });

  const startedAt = new Date();
  let shuttingDown: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => resolveDone = r);

  const reload = async (): Promise<ResultMap["reload"]> => {
    const next = await loadConfig(configPath, opts.socketPath);
    if (next.kind === "invalid") {
      info(`reload rejected: ${next.errors.length} config errors; keeping the running config`, "error");
      for (const d of next.errors) info(formatDiagnosticLine(next.file, d, "error"), "error");
      throw new UserError(
        "config_invalid",
        `config ${next.file} has ${next.errors.length} error(s); nothing was changed`,
        { details: { file: next.file, errors: next.errors, warnings: next.warnings } },
      );
    }
    if (JSON.stringify(next.config.daemon) !== JSON.stringify(config.daemon)) {
      info(
        "daemon settings (socket, log, state paths) changed: they apply after `kubefwd-daemon restart`",
        "warn",
      );
    }
    config = { ...next.config, daemon: config.daemon };
    log.setKubeconfigs(config.profiles.map((p) => p.kubeconfig));
    const diff = supervisor.reconcile(config);
    trims.poke();
    info(
      `reloaded config: added [${diff.added}] removed [${diff.removed}] changed [${diff.changed}] unchanged [${diff.unchanged}]`,
    );
    return { ...diff, warnings: next.warnings };
  };

  const status = (profiles: string[]): StatusResult => {
    const now = Date.now();
    return {
      daemon: {
        pid: Deno.pid,
        version: VERSION,
        startedAt: startedAt.toISOString(),
        uptimeSeconds: Math.floor((now - startedAt.getTime()) / 1000),
        configPath,
        socketPath: settings.socketPath,
      },
      profiles: supervisor.status(profiles, { details: profiles.length === 1 }),
    };
  };

  const shutdown = (why: string): Promise<void> => {
    shuttingDown ??= (async () => {
      info(`shutting down (${why})`);
      unsubscribeTrims();
      trims.close();
      await supervisor.shutdown();
      await store.flush();
      await server.close();
      await Deno.remove(settings.pidFile).catch(() => {});
      info("daemon stopped");
      await log.close();
      await lock.release();
      resolveDone();
    })();
    return shuttingDown;
  };

  const handle = async (req: Request, ctx: HandlerContext): Promise<unknown> => {
    switch (req.type) {
      case "status":
        return status(req.profiles);
      case "start":
        return { results: await supervisor.start(req.profiles) };
      case "stop":
        return { results: await supervisor.stop(req.profiles) };
      case "restart":
        return { results: await supervisor.restart(req.profiles) };
      case "enable":
        return { results: await supervisor.setEnabled(req.profiles, true) };
      case "disable":
        return { results: await supervisor.setEnabled(req.profiles, false) };
      case "reload":
        return await reload();
      case "shutdown":
        setTimeout(() => shutdown("shutdown requested"), 0);
        return { stopping: true };
      case "logs": {
        if (req.profile !== undefined && !supervisor.hasProfile(req.profile)) {
          throw new UserError("unknown_profile", `unknown profile ${JSON.stringify(req.profile)}`);
        }
        const entries = log.tail(req.lines, req.profile);
        if (!req.follow) return { entries: fitInFrame(entries) };
        return await followLog(log, req.profile, entries, ctx);
      }
      default: {
        const never: never = req;
        throw new Error(`unhandled request ${JSON.stringify(never)}`);
      }
    }
  };

  let server: Awaited<ReturnType<typeof startIpcServer>>;
  try {
    server = await startIpcServer({
      socketPath: settings.socketPath,
      daemonVersion: VERSION,
      pid: Deno.pid,
      handle,
    });
  } catch (e) {
    info(`cannot open control socket ${settings.socketPath}: ${(e as Error).message}`, "error");
    await log.close();
    await lock.release();
    console.error(`error: cannot open control socket ${settings.socketPath}: ${(e as Error).message}`);
    return 1;
  }
  await Deno.writeTextFile(settings.pidFile, `${Deno.pid}\n`, { mode: 0o600 }).catch((e) =>
    info(`cannot write pid file ${settings.pidFile}: ${e.message}`, "warn")
  );
  info(`daemon ${VERSION} started (pid ${Deno.pid}, socket ${settings.socketPath}, config ${configPath})`);

  // A bug in one code path must not take supervision down with it: log it and keep running.
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    info(
      `internal error (unhandled rejection): ${
        e.reason instanceof Error ? e.reason.stack : String(e.reason)
      }`,
      "error",
    );
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    info(`internal error: ${e.error instanceof Error ? e.error.stack : e.message}`, "error");
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  globalThis.addEventListener("error", onError);

  const onTerm = () => void shutdown("SIGTERM");
  const onInt = () => void shutdown("SIGINT");
  const onHup = () => {
    reload().catch((e) => info(`reload on SIGHUP failed: ${(e as Error).message}`, "error"));
  };
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGHUP", onHup);

  // Children of a previous daemon that died without stopping them (kill -9, crash, power loss).
  // The socket is already up, so `start` does not time out while a stuck orphan takes its stop timeout.
  const orphans = Object.entries(state.profiles).filter(([, p]) => p.child);
  if (orphans.length > 0) {
    const hosts = hostsFileFor(config.kubefwd);
    for (const [name, profile] of orphans) {
      const child = profile.child!;
      const report = await killOrphans([child], { termWaitMs: config.kubefwd.stopTimeoutMs });
      info(
        `previous daemon left kubefwd of profile ${name} (pid ${child.pid}): ${JSON.stringify(report)}`,
        "warn",
      );
      // By IP only: kubefwd moves a hostname to its newest line, so a short name may now belong to
      // another profile's live line.
      if (child.announcedIps.length) {
        try {
          const removed = await hosts.removeEntries(child.announcedIps, []);
          info(`removed ${removed} stale hosts entries of profile ${name}`);
        } catch (e) {
          info(`could not clean hosts entries of profile ${name}: ${(e as Error).message}`, "error");
        }
      }
      delete profile.child;
    }
    await store.save(state);
  }

  supervisor.reconcile(config);
  trims.poke();
  await done;
  Deno.removeSignalListener("SIGTERM", onTerm);
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGHUP", onHup);
  globalThis.removeEventListener("unhandledrejection", onUnhandled);
  globalThis.removeEventListener("error", onError);
  return 0;
}
