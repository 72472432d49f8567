/** The profile verbs: start, stop, restart, enable, disable and reset, each on the named profiles or all. */
import type { Request, ResultMap } from "../../ipc/protocol.ts";
import type { DaemonContext } from "./context.ts";

/** A request for one of the profile verbs; the router sends these to {@link handleProfileVerb}. */
export type VerbRequest = Extract<
  Request,
  { type: "start" | "stop" | "restart" | "enable" | "disable" | "reset" }
>;

/** What every verb reply says while the state file cannot be written; empty when it can. */
export function persistenceWarnings(daemon: Partial<Pick<DaemonContext, "persistence">>): string[] {
  const p = daemon.persistence?.();
  if (p === undefined || p.ok) return [];
  return [
    `persistence failing since ${p.since}: ${p.error} — changes are kept in memory only and are lost when the daemon stops`,
  ];
}

/** Answers one profile verb through the Supervisor, with the persistence warning when saves fail. */
export async function handleProfileVerb(
  daemon: Pick<DaemonContext, "supervisor"> & Partial<Pick<DaemonContext, "persistence">>,
  req: VerbRequest,
): Promise<ResultMap[VerbRequest["type"]]> {
  const reply = await runVerb(daemon, req);
  const warnings = persistenceWarnings(daemon);
  return warnings.length > 0 ? { ...reply, warnings } : reply;
}

async function runVerb(
  daemon: Pick<DaemonContext, "supervisor">,
  req: VerbRequest,
): Promise<ResultMap[VerbRequest["type"]]> {
  const supervisor = daemon.supervisor;
  switch (req.type) {
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
    case "reset":
      return { results: await supervisor.resetEnabled(req.profiles) };
  }
}
