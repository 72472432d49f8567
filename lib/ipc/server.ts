/**
 * The daemon side of the control socket. It owns everything a handler should not have to think about:
 * socket placement and permissions (socket_file.ts), the connection cap, and an orderly close; each client
 * is a Connection (connection.ts: handshake, limits, timeouts, error mapping).
 *
 * Single instance is NOT decided here: take the state-directory lock (lib/state/lock.ts) before calling
 * {@link startIpcServer}, so two daemons starting at once cannot both replace the same stale socket.
 */
import { delay } from "../util/async.ts";
import {
  atMost,
  Connection,
  type ConnectionSettings,
  GOODBYE_WRITE_MS,
  type RequestHandler,
} from "./connection.ts";
import { encodeFrame, writeAll } from "./framing.ts";
import type { Request } from "./protocol.ts";
import { listenPrivately, removeIfSocket } from "./socket_file.ts";

export type { HandlerContext, RequestHandler } from "./connection.ts";

/** Options of {@link startIpcServer}. */
export interface IpcServerOptions {
  /** Where to listen; the parent directory is created private to the user. */
  socketPath: string;
  /** Sent in the hello reply. */
  daemonVersion: string;
  /** Sent in the hello reply. */
  pid: number;
  /** Runs one request; a thrown UserError becomes an error reply with its code. */
  handle: RequestHandler;
  /** Close a connection that sends no frame for this long while no request of it is running; default 30 s. */
  idleTimeoutMs?: number;
  /** Close a connection that does not say hello within this long; default 5 s. */
  handshakeTimeoutMs?: number;
  /** Connections beyond this are answered with an error and closed; default {@link DEFAULT_MAX_CONNECTIONS}. */
  maxConnections?: number;
  /** How long `close()` lets running requests finish and replies drain; default 1 s. */
  closeGraceMs?: number;
  /** Called for handler failures that are not UserErrors (bugs) and for accept errors, to log them. */
  onError?: (error: unknown, request?: Request) => void;
}

/** A running control server. */
export interface IpcServer {
  /**
   * Stop accepting, abort handler signals, give running requests {@link IpcServerOptions.closeGraceMs} to
   * reply, close every connection and remove the socket file. Idempotent.
   */
  close(): Promise<void>;
  /** Open connections right now (for tests and diagnostics). */
  readonly connections: number;
  /** The socket path it listens on. */
  readonly socketPath: string;
}

/** Default connection cap: far above any real CLI use, far below the file-descriptor limit. */
export const DEFAULT_MAX_CONNECTIONS = 1000;

/**
 * Listen on the control socket and serve until `close()`. Throws a UserError when another daemon answers
 * on the socket, when the directory belongs to another user, or when the path is not a socket.
 */
export async function startIpcServer(options: IpcServerOptions): Promise<IpcServer> {
  const { socketPath } = options;
  const listener = await listenPrivately(socketPath);

  const settings: ConnectionSettings = {
    daemonVersion: options.daemonVersion,
    pid: options.pid,
    handle: options.handle,
    idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
    onError: options.onError,
  };
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const closeGraceMs = options.closeGraceMs ?? 1_000;
  const connections = new Set<Connection>();
  const tasks = new Set<Promise<void>>();
  let closing = false;

  const track = (task: Promise<void>) => {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  };

  const refuse = (conn: Deno.Conn) => {
    const bytes = encodeFrame({
      id: 0,
      ok: false,
      error: { code: "error", message: `too many connections (limit ${maxConnections})` },
    });
    track(
      atMost(writeAll(conn, bytes), GOODBYE_WRITE_MS).catch(() => {}).finally(() => {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }),
    );
  };

  const acceptLoop = (async () => {
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closing || err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) {
          return;
        }
        options.onError?.(err);
        // e.g. out of file descriptors: back off instead of spinning.
        await delay(100);
        continue;
      }
      if (closing) {
        conn.close();
        return;
      }
      if (connections.size >= maxConnections) {
        refuse(conn);
        continue;
      }
      const connection = new Connection(conn, settings);
      connections.add(connection);
      track(connection.serve().finally(() => connections.delete(connection)));
    }
  })();

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      try {
        listener.close();
      } catch {
        // already closed
      }
      await acceptLoop;
      for (const c of connections) c.drain();
      await atMost(Promise.all([...connections].map((c) => c.settled())), closeGraceMs);
      for (const c of connections) c.shutdown();
      while (tasks.size > 0) await Promise.all(tasks);
      await removeIfSocket(socketPath);
    })();
    return closed;
  };

  return {
    close,
    get connections() {
      return connections.size;
    },
    socketPath,
  };
}
