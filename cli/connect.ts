/**
 * How the CLI finds the daemon: the socket path comes from --socket, then $KUBEFWD_DAEMON_SOCKET, then
 * the config file's daemon.socket_path, then the XDG default. The config is parsed only when it exists
 * and no explicit socket was given, so `status` stays fast.
 */
import { connectDaemon, type DaemonClient } from "../lib/ipc/client.ts";
import { defaultConfigPath, defaultDaemonSettings } from "../lib/config/paths.ts";
import type { DaemonSettings } from "../lib/config/types.ts";
import { VERSION } from "../lib/version.ts";
import { UserError } from "../lib/errors.ts";
import type { CliContext } from "./context.ts";

/** Where the daemon of this CLI invocation lives. */
export interface DaemonLocation {
  configPath: string;
  settings: DaemonSettings;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Resolve config path and daemon settings for this invocation. */
export async function locateDaemon(ctx: CliContext): Promise<DaemonLocation> {
  const g = ctx.globals();
  const configPath = g.config ?? defaultConfigPath();
  let settings = defaultDaemonSettings();
  const envSocket = Deno.env.get("KUBEFWD_DAEMON_SOCKET");
  const needConfig = g.socket === undefined && envSocket === undefined || g.config !== undefined;
  if (needConfig && await exists(configPath)) {
    const { loadConfigFile } = await import("../lib/config/load.ts");
    const result = await loadConfigFile(configPath, { checkEnvironment: false });
    if (result.config) settings = result.config.daemon;
  }
  const socketPath = g.socket ?? envSocket ?? settings.socketPath;
  return { configPath, settings: { ...settings, socketPath } };
}

/** Connect to the running daemon or fail with exit code 3. */
export async function connect(ctx: CliContext, location?: DaemonLocation): Promise<DaemonClient> {
  const loc = location ?? await locateDaemon(ctx);
  return await connectDaemon(loc.settings.socketPath, { clientVersion: VERSION });
}

/** Run `fn` with a connected client and always close it. */
export async function withClient<T>(
  ctx: CliContext,
  fn: (client: DaemonClient) => Promise<T>,
  location?: DaemonLocation,
): Promise<T> {
  const client = await connect(ctx, location);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/**
 * Runs `fn` with a connected client, or `offline` when no daemon is running (only then: an error after the
 * connection stands). `logs` and `events` read their files in `offline`, which gets the not-running error to
 * rethrow when reading cannot answer the request.
 */
export async function withClientOrOffline(
  ctx: CliContext,
  location: DaemonLocation,
  fn: (client: DaemonClient) => Promise<void>,
  offline: (notRunning: UserError) => Promise<void>,
): Promise<void> {
  let connected = false;
  try {
    await withClient(ctx, (client) => {
      connected = true;
      return fn(client);
    }, location);
  } catch (e) {
    if (connected || !(e instanceof UserError && e.code === "daemon_not_running")) throw e;
    await offline(e);
  }
}
