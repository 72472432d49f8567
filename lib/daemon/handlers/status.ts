/** The `status` request: the daemon's identity and the state of the named (or all) profiles. */
import type { Request, StatusResult } from "../../ipc/protocol.ts";
import { VERSION } from "../../version.ts";
import type { DaemonContext } from "./context.ts";

/** Answers a `status` request; one named profile gets its recent events too. */
export function handleStatus(
  daemon:
    & Pick<DaemonContext, "supervisor" | "configPath" | "socketPath" | "startedAt">
    & Partial<Pick<DaemonContext, "persistence" | "metrics" | "history">>,
  req: Extract<Request, { type: "status" }>,
): StatusResult {
  const profiles = daemon.supervisor.status(req.profiles, { details: req.profiles.length === 1 });
  // The metrics model adds what it knows; `status --json` keeps its documented fields and only gains these.
  const metrics = daemon.metrics?.();
  const byName = new Map(metrics?.profiles.map((p) => [p.name, p]));
  for (const p of profiles) {
    const m = byName.get(p.name);
    if (m) p.restartsByReason = m.restarts;
  }
  return {
    daemon: {
      pid: Deno.pid,
      version: VERSION,
      startedAt: daemon.startedAt.toISOString(),
      uptimeSeconds: Math.floor((Date.now() - daemon.startedAt.getTime()) / 1000),
      configPath: daemon.configPath,
      socketPath: daemon.socketPath,
      ...(daemon.persistence ? { persistence: daemon.persistence() } : {}),
      ...(metrics
        ? {
          residentMemoryBytes: metrics.daemon.residentMemoryBytes,
          privateMemoryBytes: metrics.daemon.privateMemoryBytes,
          controlConnections: metrics.daemon.controlConnections,
          metricsEndpoint: metrics.daemon.endpoint,
        }
        : {}),
      ...(daemon.history ? { eventHistory: daemon.history.health } : {}),
    },
    profiles,
  };
}
