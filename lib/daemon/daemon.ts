/**
 * The daemon role: composes config, state, supervisor, log and the control socket, and owns the shutdown
 * order (reply first, stop children, flush state, close the socket, remove the pid file, unlock). Requests
 * go to one handler per type (handlers/); the Supervisor is the single owner of runtime state.
 */
import { realClock } from "../clock.ts";
import { CONFIG_ENV_VAR, defaultConfigPath, processEnv } from "../config/paths.ts";
import { formatDiagnosticLine } from "../config/format.ts";
import type { KubefwdSettings } from "../config/types.ts";
import { SocketProber } from "../health/socket_prober.ts";
import { WakeDetector } from "../health/wake_detector.ts";
import { SubprocessApiProbeFactory } from "../kube/api_check.ts";
import { type IpcServer, startIpcServer } from "../ipc/server.ts";
import { SubprocessServiceLister } from "../kubefwd/exclude.ts";
import { FileHostsFile, type HostsFile, SudoHostsFile } from "../kubefwd/hosts.ts";
import { readInstalledRootHelper } from "../sudo/root_helper.ts";
import { DaemonLog } from "../log/logger.ts";
import type { LogEntry } from "../supervisor/types.ts";
import { acquireLock } from "../state/lock.ts";
import { StateStore } from "../state/store.ts";
import { DenoSpawner } from "../supervisor/spawner.ts";
import { Supervisor } from "../supervisor/supervisor.ts";
import { deadline, isTimeoutError } from "../util/async.ts";
import { unsafeDaemonPaths } from "../util/path_safety.ts";
import { VERSION } from "../version.ts";
import { ConfigSourceError } from "./config_source.ts";
import { ConfigReloader } from "./handlers/reload.ts";
import { requestRouter } from "./handlers/router.ts";
import { startEventObservers } from "./event_observers.ts";
import { loadConfig } from "./load_config.ts";
import { LinuxMemoryTrimmer, TrimScheduler } from "./memory_trim.ts";
import { EndpointControl } from "../metrics/endpoint_control.ts";
import { renderExposition } from "../metrics/exposition.ts";
import { MetricsModel } from "../metrics/model.ts";
import { TimedProber } from "../metrics/probe_timing.ts";
import { processMemory } from "../metrics/process_memory.ts";

/** Longest the shutdown waits for the children beyond 3 stop timeouts (each child's own escalation is shorter). */
const SHUTDOWN_STOP_LIMIT_MS = 60_000;
/** Longest the shutdown waits for one file or socket step (a hung disk must not keep the daemon alive). */
const SHUTDOWN_IO_LIMIT_MS = 5_000;

/** Options of one daemon run. */
export interface DaemonOptions {
  /** The config file (`--config`); default: the per-user config path. */
  configPath?: string;
  /** The control socket (`--socket`); replaces the one the config names. */
  socketPath?: string;
  /** Started by `start`: no human log on stderr (it goes to a file nobody reads). */
  detached: boolean;
  /** Signals caught from the process's first moments (main.ts), handed over once the real handlers run. */
  earlySignals?: EarlySignals;
}

/** Signal listeners installed before anything slow; `take` removes them and returns what they caught. */
export interface EarlySignals {
  /** Stops holding the signals and returns those that arrived, in no particular order. */
  take(): Deno.Signal[];
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

function hostsFileFor(settings: KubefwdSettings): HostsFile {
  const needsSudo = !isRoot() && settings.privilege !== "none";
  if (!needsSudo) return new FileHostsFile(settings.hostsPath);
  // The root helper edits only the hosts file it was installed for.
  const helper = readInstalledRootHelper();
  return new SudoHostsFile(
    settings.hostsPath,
    helper?.hosts === settings.hostsPath ? { rootHelper: helper.path } : {},
  );
}

/** Runs the daemon until it is told to stop; returns the process exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const configPath = opts.configPath ?? defaultConfigPath();
  const load = () => loadConfig(configPath, opts.socketPath);
  let outcome;
  try {
    outcome = await load();
  } catch (e) {
    console.error(`error: ${e instanceof ConfigSourceError ? e.message : String(e)}`);
    return e instanceof ConfigSourceError && e.unreadable ? 4 : 1;
  }
  if (outcome.kind === "invalid") {
    console.error(`error: config ${outcome.file} is invalid (${outcome.errors.length} errors):`);
    for (const d of outcome.errors) console.error(formatDiagnosticLine(outcome.file, d, "error"));
    return 4;
  }
  // Only the default file may be missing (a fresh install); a path someone named must exist.
  const builtin = defaultConfigPath({ get: (k) => k === CONFIG_ENV_VAR ? undefined : processEnv.get(k) });
  if (outcome.missing && configPath !== builtin) {
    console.error(
      `error: config file ${configPath} does not exist (only the default ${builtin} may be missing); ` +
        `create it with: kubefwd-daemon --config ${configPath} config init`,
    );
    return 4;
  }
  const settings = outcome.config.daemon;
  const unsafe = await unsafeDaemonPaths(settings);
  if (unsafe.length > 0) {
    for (const problem of unsafe) console.error(`error: ${problem}`);
    return 1;
  }
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
  log.setKubeconfigs(outcome.config.profiles.map((p) => p.kubeconfig));
  const info = (message: string, level: LogEntry["level"] = "info") =>
    log.write({ at: new Date().toISOString(), level, source: "daemon", message });
  if (outcome.missing) {
    info(
      `no config file at ${configPath}: running with no profiles. Create one with \`kubefwd-daemon config init\` ` +
        "(or write it by hand), then run `kubefwd-daemon reload`.",
      "warn",
    );
  }
  for (const w of outcome.warnings) info(formatDiagnosticLine(configPath, w, "warning"), "warn");

  const store = new StateStore(`${settings.stateDir}/state.json`, {
    onHealthChange: (h) =>
      h.ok
        ? info(`state file ${settings.stateDir}/state.json is written again: persistence restored`)
        : info(`persistence failing: ${h.error} (choices and counters are kept in memory only)`, "error"),
  });
  const loaded = await store.load();
  for (const w of loaded.warnings) info(w, "warn");
  const state = loaded.state;
  const startedAt = new Date();
  const prober = new TimedProber(new SocketProber(), realClock.now);
  const supervisor = new Supervisor({
    spawner: new DenoSpawner(),
    clock: realClock,
    log,
    prober,
    apiProbes: new SubprocessApiProbeFactory(),
    serviceLister: new SubprocessServiceLister(),
    hostsFile: hostsFileFor,
    readHosts: (path) => Deno.readTextFile(path),
    isRoot: isRoot(),
    stateDir: settings.stateDir,
    state,
    persist: () => store.scheduleSave(state),
    saveNow: () => store.save(state),
    mask: (text) => log.maskText(text),
  });

  // Every state change of a child is a burst of one-off work: release its code pages once quiet.
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  const trims = new TrimScheduler(
    new LinuxMemoryTrimmer(),
    realClock,
    (r) => info(`released one-off code pages: RSS ${mb(r.rssBeforeKb)} → ${mb(r.rssAfterKb)} MB`, "debug"),
  );
  const unsubscribeTrims = supervisor.onEvent(() => trims.poke());

  const wakes = new WakeDetector(realClock, () => performance.now(), (sleptMs) => {
    info(
      `woke up after ${Math.round(sleptMs / 1000)} s asleep (suspend or stop): re-verifying every forward`,
      "warn",
    );
    supervisor.wake(sleptMs);
  });

  let server: IpcServer | undefined;
  const metrics: MetricsModel = new MetricsModel({
    clock: realClock,
    startedAt,
    version: VERSION,
    sources: {
      status: (names) => supervisor.status(names),
      probe: (ip, port) => prober.timing(ip, port),
      memory: () => processMemory(),
      connections: () => server?.connections ?? 0,
      endpoint: (): string | null => endpoint.address,
    },
  });
  const unsubscribeMetrics = supervisor.onEvent((e) => metrics.onEvent(e));
  const endpoint = new EndpointControl({
    render: () => renderExposition(metrics.snapshot()),
    log: (level, message) => info(message, level),
  });
  const reloader = new ConfigReloader(
    { configPath, load, supervisor, log, applyMetrics: (next) => endpoint.apply(next) },
    outcome.config,
    outcome.missing,
  );
  const observers = startEventObservers({
    supervisor,
    stateDir: settings.stateDir,
    notifications: () => reloader.config.daemon.notifications,
    log: info,
  });
  const reload = async () => {
    const result = await reloader.reload();
    trims.poke();
    return result;
  };

  let shuttingDown: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => resolveDone = resolve);
  let recovery: Promise<void> = Promise.resolve();
  const shutdown = (why: string): Promise<void> => {
    shuttingDown ??= (async () => {
      info(`shutting down (${why})`);
      unsubscribeTrims();
      unsubscribeMetrics();
      wakes.stop();
      trims.close();
      // Every step is guarded and bounded: a failing or hung disk must never keep the daemon from exiting.
      const step = async (what: string, work: () => Promise<unknown>, timeoutMs: number) => {
        try {
          await deadline(work(), timeoutMs);
        } catch (e) {
          const text = isTimeoutError(e) ? `did not finish within ${timeoutMs} ms` : (e as Error).message;
          info(`shutdown: ${what}: ${text}`, "error");
        }
      };
      try {
        const stopLimitMs = SHUTDOWN_STOP_LIMIT_MS + 3 * reloader.config.kubefwd.stopTimeoutMs;
        // A shutdown during orphan recovery waits for it: the lock must not go while this process still
        // kills the previous daemon's children and edits the hosts file.
        await step("recovering the previous daemon's children", () => recovery, stopLimitMs);
        await step("stopping the profiles", () => supervisor.shutdown(), stopLimitMs);
        await step("saving the state file", () => store.close(), SHUTDOWN_IO_LIMIT_MS);
        await step("closing the metrics endpoint", () => endpoint.close(), SHUTDOWN_IO_LIMIT_MS);
        await step(
          "saving the event history",
          () => observers.close(SHUTDOWN_IO_LIMIT_MS),
          SHUTDOWN_IO_LIMIT_MS,
        );
        await step("closing the control socket", async () => await server?.close(), SHUTDOWN_IO_LIMIT_MS);
        await Deno.remove(settings.pidFile).catch(() => {});
        info("daemon stopped");
        await step("closing the log", () => log.close(), SHUTDOWN_IO_LIMIT_MS);
        await step("releasing the lock", () => lock.release(), SHUTDOWN_IO_LIMIT_MS);
      } finally {
        resolveDone();
      }
    })();
    return shuttingDown;
  };

  try {
    server = await startIpcServer({
      socketPath: settings.socketPath,
      daemonVersion: VERSION,
      pid: Deno.pid,
      handle: requestRouter({
        supervisor,
        log,
        history: observers.history,
        configPath,
        socketPath: settings.socketPath,
        startedAt,
        persistence: () => ({ ...store.health, stateFile: store.path }),
        reload,
        requestShutdown: (why) => void shutdown(why),
        metrics: () => metrics.snapshot(),
      }),
      // A request handler's bug is an error; a client that broke its connection is not.
      onError: (error, request) => {
        const text = error instanceof Error ? error.stack ?? error.message : String(error);
        if (request) info(`${request.type} request failed: ${text}`, "error");
        else info(`control connection closed on an error: ${text}`, "debug");
      },
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
  // A port in use costs the endpoint, never the supervision (the error is logged and `metrics` shows it off).
  await endpoint.apply(settings.metrics);

  const signalHandlers: Partial<Record<Deno.Signal, () => void>> = {
    SIGTERM: () => void shutdown("SIGTERM"),
    SIGINT: () => void shutdown("SIGINT"),
    SIGHUP: () =>
      void reload().catch((e) => info(`reload on SIGHUP failed: ${(e as Error).message}`, "error")),
  };
  const removeGuards = installGuards(info, signalHandlers);
  const early = opts.earlySignals?.take() ?? [];

  // What arrived while starting: a stop request wins (nothing is started), a SIGHUP reloads afterwards.
  const stopSignal = early.find((s) => s === "SIGTERM" || s === "SIGINT");
  if (stopSignal) signalHandlers[stopSignal]!();
  else {
    // The socket is already up, so `start` does not time out while a stuck orphan takes its stop timeout.
    // Nothing in the recovery (a failing disk, a hosts file it cannot edit) may keep the profiles from starting.
    recovery = supervisor.recoverOrphans(reloader.config.kubefwd).catch((e) =>
      info(`recovering the previous daemon's children failed: ${(e as Error).message}`, "error")
    );
    await recovery;
    if (shuttingDown === undefined) supervisor.reconcile(reloader.config); // a SIGTERM may have come meanwhile
    trims.poke();
    if (early.includes("SIGHUP") && shuttingDown === undefined) {
      info("SIGHUP received during startup: reloading the config");
      signalHandlers.SIGHUP!();
    }
  }
  await done;
  removeGuards();
  return 0;
}

/**
 * Signal handlers, and the last line of defence: a bug in one code path must not take supervision down
 * with it, so uncaught errors and rejections are logged and the daemon keeps running. Returns the undo.
 */
function installGuards(
  info: (message: string, level: LogEntry["level"]) => void,
  signals: Partial<Record<Deno.Signal, () => void>>,
): () => void {
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    const reason = e.reason instanceof Error ? e.reason.stack : String(e.reason);
    info(`internal error (unhandled rejection): ${reason}`, "error");
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    info(`internal error: ${e.error instanceof Error ? e.error.stack : e.message}`, "error");
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  globalThis.addEventListener("error", onError);
  const entries = Object.entries(signals) as [Deno.Signal, () => void][];
  for (const [signal, handler] of entries) Deno.addSignalListener(signal, handler);
  return () => {
    for (const [signal, handler] of entries) Deno.removeSignalListener(signal, handler);
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
    globalThis.removeEventListener("error", onError);
  };
}
