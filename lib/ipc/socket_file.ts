/**
 * Where the control socket lives and who may reach it: a directory private to this user (never reachable
 * by another user, not even between listen and chmod), a stale socket of a crashed daemon replaced (never
 * anything that is not a socket), the socket itself 0600, and the file gone after close.
 */
import { UserError } from "../errors.ts";
import { dirname } from "../util/path.ts";
import { probeSocket } from "./client.ts";

/** Longest socket path the kernel accepts (sun_path is 108 bytes including the NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

/** A file mode as `ls` and chmod write it, for messages. */
function octal(mode: number): string {
  return "0" + (mode & 0o777).toString(8);
}

/**
 * Make sure the socket's directory exists, is a directory we own and is 0700. A directory owned by
 * someone else is refused: they could swap the socket under us.
 */
export async function prepareSocketDir(dir: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    info = await Deno.stat(dir);
  }
  if (!info.isDirectory) throw new UserError("error", `socket directory ${dir} is not a directory`);
  const uid = Deno.uid();
  if (uid !== null && info.uid !== null && info.uid !== uid) {
    throw new UserError(
      "error",
      `socket directory ${dir} belongs to uid ${info.uid}, not to us (uid ${uid}); choose another socket path`,
    );
  }
  if (info.mode !== null && (info.mode & 0o777) !== 0o700) {
    // Our own directory is tightened; a general one (say $HOME, or /tmp) is never re-moded behind the
    // user's back: the socket must not live there.
    if (!isOwnSocketDir(dir)) {
      throw new UserError(
        "error",
        `socket directory ${dir} is accessible by others (mode ${octal(info.mode)}); put socket_path in a ` +
          `private directory, e.g. ${dir.replace(/\/$/, "")}/kubefwd-daemon/daemon.sock`,
      );
    }
    await Deno.chmod(dir, 0o700);
  }
}

/** A directory this program owns by name (the XDG defaults end in `kubefwd-daemon`). */
function isOwnSocketDir(dir: string): boolean {
  return /(^|\/)kubefwd-daemon[^/]*\/?$/.test(dir);
}

/**
 * Clear the way for a new socket: refuse when a daemon answers on it, remove a stale socket file left by
 * a crashed daemon, and refuse to delete anything that is not a socket.
 */
async function clearStaleSocket(socketPath: string): Promise<void> {
  const probe = await probeSocket(socketPath);
  if (probe === "live") {
    throw new UserError("error", `daemon already running (socket ${socketPath} accepts connections)`);
  }
  if (probe === "absent") return;
  const info = await Deno.lstat(socketPath);
  if (info.isSocket !== true) {
    throw new UserError("error", `${socketPath} exists and is not a socket; refusing to replace it`);
  }
  await Deno.remove(socketPath);
}

/**
 * Listen on `socketPath`, reachable by this user only. Throws a UserError when another daemon answers on the
 * socket, when the directory belongs to another user, or when the path is not a socket.
 */
export async function listenPrivately(socketPath: string): Promise<Deno.Listener> {
  if (new TextEncoder().encode(socketPath).length > MAX_SOCKET_PATH_BYTES) {
    throw new UserError(
      "error",
      `socket path ${socketPath} is too long for a Unix socket (limit ${MAX_SOCKET_PATH_BYTES} bytes)`,
    );
  }
  await prepareSocketDir(dirname(socketPath));
  await clearStaleSocket(socketPath);

  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ transport: "unix", path: socketPath });
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new UserError("error", `daemon already running (socket ${socketPath} is in use)`, { cause: err });
    }
    throw err;
  }
  try {
    // Inside a 0700 directory the socket was never reachable by others; 0600 keeps it so if the
    // directory's mode is ever widened.
    await Deno.chmod(socketPath, 0o600);
  } catch (err) {
    listener.close();
    throw err;
  }
  const dirInfo = await Deno.stat(dirname(socketPath));
  if (dirInfo.mode !== null && (dirInfo.mode & 0o077) !== 0) {
    listener.close();
    throw new UserError("error", `socket directory mode changed to ${octal(dirInfo.mode)} while starting`);
  }
  return listener;
}

/** Deno unlinks the socket when the listener closes, but asynchronously if an accept was pending. */
export async function removeIfSocket(path: string): Promise<void> {
  try {
    const info = await Deno.lstat(path);
    if (info.isSocket === true) await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
