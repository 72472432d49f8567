/**
 * Where the daemon writes must not be open to other users: a daemon (often root) that writes its state or
 * log in a world-writable directory (/tmp, sticky or not) can be made to write through another user's
 * symlink, or to obey a state file someone else planted. The daemon refuses such paths at start with a
 * clear message; the log file is never opened through a symlink.
 */
import { dirname } from "./path.ts";

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Why the directory holding `path` is no safe place for the daemon's files, or undefined when it is. */
async function worldWritableParent(path: string, what: string): Promise<string | undefined> {
  const parent = dirname(path);
  const info = await Deno.stat(parent).catch(() => undefined);
  if (info?.mode != null && (info.mode & 0o002) !== 0) {
    const sticky = (info.mode & 0o1000) !== 0 ? ", sticky like /tmp" : "";
    return `${what} ${path} is in ${parent}, which every user can write (mode ${
      octal(info.mode)
    }${sticky}); ` +
      "choose a private directory (the default is under ~/.local/state)";
  }
  return undefined;
}

/** A problem of an existing file or directory: a symlink, another owner, or writable by every user. */
function foreignOrOpen(
  path: string,
  info: Deno.FileInfo,
  what: string,
  uid: number | null,
): string | undefined {
  if (info.isSymlink) return `${what} ${path} is a symbolic link; refusing to follow it`;
  if (uid !== null && info.uid !== null && info.uid !== uid) {
    return `${what} ${path} belongs to uid ${info.uid}, not to this daemon's user (uid ${uid})`;
  }
  if (info.mode !== null && (info.mode & 0o002) !== 0) {
    return `${what} ${path} is writable by every user (mode ${octal(info.mode)})`;
  }
  return undefined;
}

/**
 * Every reason the state directory and the log file are unsafe (empty when they are fine): either inside a
 * world-writable directory, the log file a symlink, or either of them owned by another user.
 */
export async function unsafeDaemonPaths(
  paths: { stateDir: string; logFile: string },
  uid: number | null = Deno.uid(),
): Promise<string[]> {
  const problems: string[] = [];
  const stateDir = paths.stateDir.replace(/\/+$/, "") || "/";
  const parentProblem = await worldWritableParent(stateDir, "state_dir");
  if (parentProblem) problems.push(parentProblem);
  const dirInfo = await lstatOrUndefined(stateDir);
  if (dirInfo !== undefined) {
    const p = dirInfo.isSymlink
      ? undefined // a symlinked state directory is the user's choice; what it points to is checked below
      : foreignOrOpen(stateDir, dirInfo, "state_dir", uid);
    if (p) problems.push(p);
    if (dirInfo.isSymlink) {
      const target = await Deno.stat(stateDir).catch(() => undefined);
      const q = target && foreignOrOpen(stateDir, { ...target, isSymlink: false }, "state_dir", uid);
      if (q) problems.push(q);
    }
  }
  const logParent = await worldWritableParent(paths.logFile, "log_file");
  if (logParent) problems.push(logParent);
  const logInfo = await lstatOrUndefined(paths.logFile);
  if (logInfo !== undefined) {
    const p = foreignOrOpen(paths.logFile, logInfo, "log_file", uid);
    if (p) problems.push(p);
  }
  return problems;
}

/**
 * Opens `path` for appending without following a symlink at its last component (O_NOFOLLOW, which Deno
 * does not offer): refused when it is a symlink before the open, and when what was opened is not what
 * `lstat` sees at that path afterwards (swapped in between).
 */
export async function openAppendNoFollow(path: string, mode = 0o600): Promise<Deno.FsFile> {
  const before = await lstatOrUndefined(path);
  if (before?.isSymlink) {
    throw new Deno.errors.PermissionDenied(`${path} is a symbolic link; refusing to open it`);
  }
  if (before !== undefined && !before.isFile) {
    throw new Deno.errors.PermissionDenied(`${path} is not a regular file`);
  }
  const file = await Deno.open(path, { append: true, create: true, mode });
  try {
    const opened = await file.stat();
    const after = await Deno.lstat(path);
    if (after.isSymlink || after.ino !== opened.ino || after.dev !== opened.dev) {
      throw new Deno.errors.PermissionDenied(`${path} was replaced while it was opened; refusing it`);
    }
    return file;
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Why a state file must not be obeyed (a symlink, owned by another user, writable by group or others), or
 * undefined when it is the daemon's own. Missing files are fine.
 */
export async function untrustedStateFile(
  path: string,
  uid: number | null = Deno.uid(),
): Promise<string | undefined> {
  const info = await lstatOrUndefined(path);
  if (info === undefined) return undefined;
  if (info.isSymlink) return "is a symbolic link";
  if (!info.isFile) return "is not a regular file";
  if (uid !== null && info.uid !== null && info.uid !== uid) {
    return `belongs to uid ${info.uid}, not to this daemon's user (uid ${uid})`;
  }
  if (info.mode !== null && (info.mode & 0o022) !== 0) {
    return `is writable by other users (mode ${octal(info.mode)})`;
  }
  return undefined;
}
