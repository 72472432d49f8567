/**
 * The `reload` request and SIGHUP: re-read the config and apply it as a diff. The one owner of the daemon's
 * current config; an invalid config changes nothing.
 */
import { formatDiagnosticLine } from "../../config/format.ts";
import type { Diagnostic, ResolvedConfig } from "../../config/types.ts";
import { UserError } from "../../errors.ts";
import type { ResultMap } from "../../ipc/protocol.ts";
import type { DaemonLog } from "../../log/logger.ts";
import type { Supervisor } from "../../supervisor/supervisor.ts";
import type { LoadOutcome } from "../load_config.ts";

/** What a {@link ConfigReloader} works with. */
export interface ReloaderDeps {
  /** The config file the daemon was started with. */
  configPath: string;
  /** Reads and validates the config file again. */
  load: () => Promise<LoadOutcome>;
  /** Gets each new config to reconcile. */
  supervisor: Pick<Supervisor, "reconcile">;
  /** Gets the reload's log lines and the profiles' kubeconfigs (whose paths it masks). */
  log: Pick<DaemonLog, "write" | "setKubeconfigs">;
}

/** Holds the config in effect and replaces it on reload. */
export class ConfigReloader {
  readonly #deps: ReloaderDeps;
  #config: ResolvedConfig;
  /** The config in effect is the built-in default of a config file that did not exist. */
  #fromMissingFile: boolean;
  /** The reload running now, and the one queued behind it (later callers share the queued one). */
  #running: Promise<ResultMap["reload"]> | undefined;
  #queued: Promise<ResultMap["reload"]> | undefined;

  /**
   * Starts with `initial`, the config the daemon loaded at startup (`initialMissing`: the defaults of a
   * config file that did not exist; then a reload that still finds no file is no change, not an error).
   */
  constructor(deps: ReloaderDeps, initial: ResolvedConfig, initialMissing = false) {
    this.#deps = deps;
    this.#config = initial;
    this.#fromMissingFile = initialMissing;
  }

  /** The config in effect. */
  get config(): ResolvedConfig {
    return this.#config;
  }

  /**
   * Loads the config again and reconciles the Supervisor with it. Daemon settings apply after a restart.
   * A config that is invalid, unreadable, or gone (when the daemon runs from a file) changes nothing.
   *
   * Reloads run one at a time (each runs a `config resolve` subprocess): a reload asked for while one runs
   * waits for it, and every request arriving meanwhile shares that one queued reload, which reads the file
   * as it is after all of them were made.
   */
  reload(): Promise<ResultMap["reload"]> {
    if (this.#running === undefined) return this.#start();
    this.#queued ??= this.#running.catch(() => {}).then(() => {
      this.#queued = undefined;
      return this.#start();
    });
    return this.#queued;
  }

  #start(): Promise<ResultMap["reload"]> {
    const run = this.#reloadOnce().finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #reloadOnce(): Promise<ResultMap["reload"]> {
    let next: LoadOutcome;
    try {
      next = await this.#deps.load();
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.#say("error", `reload rejected: ${why}; keeping the running config`);
      throw new UserError("config_invalid", `${why}; nothing was changed`, {
        details: { file: this.#deps.configPath },
      });
    }
    if (next.kind === "ok" && next.missing && !this.#fromMissingFile) {
      const message = `config file ${this.#deps.configPath} is missing; nothing was changed ` +
        "(restore it, or stop the profiles explicitly)";
      this.#say("error", `reload rejected: ${message}`);
      throw new UserError("config_invalid", message, { details: { file: this.#deps.configPath } });
    }
    if (next.kind === "invalid") {
      this.#say("error", `reload rejected: ${next.errors.length} config errors; keeping the running config`);
      for (const d of next.errors) this.#say("error", formatDiagnosticLine(next.file, d, "error"));
      throw new UserError(
        "config_invalid",
        `config ${next.file} has ${next.errors.length} error(s); nothing was changed`,
        { details: { file: next.file, errors: next.errors, warnings: next.warnings } },
      );
    }
    if (JSON.stringify(next.config.daemon) !== JSON.stringify(this.#config.daemon)) {
      this.#say(
        "warn",
        "daemon settings (socket, log, state paths) changed: they apply after `kubefwd-daemon restart`",
      );
    }
    const kept = keepProfilesWithLostContext(next.config, this.#config, next.warnings);
    for (const w of kept.warnings) this.#say("warn", w.message);
    this.#config = { ...kept.config, daemon: this.#config.daemon };
    this.#fromMissingFile = next.missing;
    this.#deps.log.setKubeconfigs(this.#config.profiles.map((p) => p.kubeconfig));
    const diff = this.#deps.supervisor.reconcile(this.#config);
    this.#say(
      "info",
      `reloaded config: added [${diff.added}] removed [${diff.removed}] changed [${diff.changed}] unchanged [${diff.unchanged}]`,
    );
    const refused: Diagnostic[] = (diff.refused ?? []).map((r) => ({
      path: ["profiles", r.profile, "namespaces"],
      message: r.message,
    }));
    for (const w of refused) this.#say("warn", w.message);
    const { refused: _, ...changes } = diff;
    return {
      ...changes,
      masked: diff.masked ?? [],
      warnings: [...next.warnings, ...kept.warnings, ...refused],
    };
  }

  #say(level: "info" | "warn" | "error", message: string): void {
    this.#deps.log.write({ at: new Date().toISOString(), level, source: "daemon", message });
  }
}

/**
 * A reload that changes a profile's context to one its kubeconfig does not have would restart working
 * forwards into a kubefwd that cannot start. Such a profile keeps its running config (with a warning that
 * says why); every other change applies. Validation only warns about unknown contexts because the
 * kubeconfig may change later; for a profile that already runs, keeping it running is the safer reading.
 */
export function keepProfilesWithLostContext(
  next: ResolvedConfig,
  current: ResolvedConfig,
  warnings: readonly Diagnostic[],
): { config: ResolvedConfig; warnings: Diagnostic[] } {
  const lost = new Set(
    warnings.filter((w) =>
      w.path[0] === "profiles" && w.path[2] === "context" && / not found in kubeconfig /.test(w.message)
    ).map((w) => String(w.path[1])),
  );
  const out: Diagnostic[] = [];
  const profiles = next.profiles.map((spec) => {
    const old = current.profiles.find((p) => p.name === spec.name);
    if (!lost.has(spec.name) || old === undefined || old.context === spec.context) return spec;
    out.push({
      path: ["profiles", spec.name, "context"],
      message:
        `profile ${spec.name} keeps running with its previous config: context "${spec.context}" is not ` +
        "in its kubeconfig (fix the context, then reload)",
    });
    return old;
  });
  return { config: { ...next, profiles }, warnings: out };
}
