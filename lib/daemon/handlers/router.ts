/**
 * Routes each control request to its handler, one per request type (as the CLI has one file per verb).
 * Exhaustive over the protocol's request types: a new type does not compile until it has a handler.
 */
import type { HandlerContext, RequestHandler } from "../../ipc/server.ts";
import type { Request } from "../../ipc/protocol.ts";
import type { DaemonContext } from "./context.ts";
import { handleEvents } from "./events.ts";
import { handleLogs } from "./logs.ts";
import { handleProfileVerb } from "./profile_verbs.ts";
import { handleStatus } from "./status.ts";

/** The socket server's request handler for this daemon. */
export function requestRouter(daemon: DaemonContext): RequestHandler {
  return async (req: Request, ctx: HandlerContext): Promise<unknown> => {
    switch (req.type) {
      case "status":
        return handleStatus(daemon, req);
      case "start":
      case "stop":
      case "restart":
      case "enable":
      case "disable":
      case "reset":
        return await handleProfileVerb(daemon, req);
      case "reload":
        return await daemon.reload();
      case "shutdown":
        // Replied to first: the shutdown closes this very connection.
        setTimeout(() => daemon.requestShutdown("shutdown requested"), 0);
        return { stopping: true };
      case "logs":
        return await handleLogs(daemon, req, ctx);
      case "metrics":
        return daemon.metrics();
      case "events":
        return await handleEvents(daemon, req, ctx);
      default: {
        const never: never = req;
        throw new Error(`unhandled request ${JSON.stringify(never)}`);
      }
    }
  };
}
