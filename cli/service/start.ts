/**
 * How `start` and `restart` share the daemon with the login service: when the service is installed, the
 * service manager starts the daemon (so there is never a second one beside it: the state-directory lock
 * would refuse it anyway, and the service would keep failing), and `start` says when the running daemon is
 * the service's.
 */
import type { DaemonLocation } from "../connect.ts";
import { isDaemonRunning } from "../../lib/ipc/client.ts";
import { UserError } from "../../lib/errors.ts";
import { valueOnTimeout, waitFor } from "../../lib/util/async.ts";
import {
  installedService,
  type ServiceHost,
  ServiceManagerError,
  serviceState,
  startService,
} from "./manager.ts";

/** How long `start` waits for a daemon the service manager started. */
const SERVICE_START_TIMEOUT_MS = 10_000;

/** Text appended to "daemon already running (pid N)" when the login service runs that daemon. */
export async function serviceNote(host: ServiceHost, pid: number): Promise<string> {
  const platform = await installedService(host);
  if (!platform) return "";
  const state = await serviceState(host, platform);
  return state.pid === pid ? " — run by the login service (`kubefwd-daemon service status`)" : "";
}

/**
 * Start the daemon through the installed login service and wait for its socket; returns its pid, or
 * undefined when no service is installed (then the caller starts the daemon itself).
 */
export async function startThroughService(
  host: ServiceHost,
  loc: DaemonLocation,
): Promise<number | undefined> {
  const platform = await installedService(host);
  if (!platform) return undefined;
  try {
    await startService(host, platform);
  } catch (e) {
    if (e instanceof ServiceManagerError) throw new UserError("error", e.message, { cause: e });
    throw e;
  }
  const ready = await waitFor(() => isDaemonRunning(loc.settings.socketPath), SERVICE_START_TIMEOUT_MS, {
    step: 100,
  }).then(() => true, valueOnTimeout(false));
  if (!ready) {
    throw new UserError(
      "error",
      `the login service was started but the daemon did not answer within ${
        SERVICE_START_TIMEOUT_MS / 1000
      }s ` +
        "(`kubefwd-daemon service status`)",
    );
  }
  return (await serviceState(host, platform)).pid ?? 0;
}
