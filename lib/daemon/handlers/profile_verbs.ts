/** The profile verbs: start, stop, restart, enable, disable and reset, each on the named profiles or all. */
import type { Request, ResultMap } from "../../ipc/protocol.ts";
import type { DaemonContext } from "./context.ts";

/** A request for one of the profile verbs; the router sends these to {@link handleProfileVerb}. */
export type VerbRequest = Extract<
  Request,
  { type: "start" | "stop" | "restart" | "enable" | "disable" | "reset" }
>;

/** Answers one profile verb through the Supervisor. */
export async function handleProfileVerb(
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
