/**
 * One daemon per state directory. Two daemons on one state directory would both spawn every profile's
 * kubefwd and overwrite each other's state file, so the daemon takes an exclusive flock on
 * `<stateDir>/daemon.lock` before anything else and holds it for its lifetime. flock is released by the
 * kernel when the process dies, so a crashed daemon never leaves a lock behind (no stale-pid guessing),
 * and Deno opens files close-on-exec, so kubefwd children never inherit it.
 */
import { UserError } from "../errors.ts";

/** The lock file's name inside the state directory. */
export const LOCK_FILE_NAME = "daemon.lock";

/** A held lock; `release()` on shutdown (the kernel releases it anyway if the process dies). */
export interface Lock {
  /** The lock file. */
  readonly path: string;
  /** This process's pid, also written into the lock file for humans. */
  readonly pid: number;
  /** Unlocks and closes the file. */
  release(): Promise<void>;
}

const encoder = new TextEncoder();

/** Parse the holder pid written in the lock file; undefined if unreadable (e.g. mid-write). */
async function readHolderPid(path: string): Promise<number | undefined> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    const pid = Number(text);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Take the state directory's lock without waiting. Creates the directory (0700) if needed. Throws a
 * UserError naming the holder's pid when another daemon has it.
 */
export async function acquireLock(dir: string, pid: number = Deno.pid): Promise<Lock> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = `${dir}/${LOCK_FILE_NAME}`;
  // No truncate: the holder's pid must stay readable for the error message.
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  let locked = false;
  try {
    locked = await file.tryLock(true);
    if (!locked) {
      const holder = await readHolderPid(path);
      const who = holder === undefined ? "another daemon" : `another daemon (pid ${holder})`;
      throw new UserError(
        "error",
        `${who} already uses the state directory ${dir} (lock ${path}) — stop it with: kubefwd-daemon stop`,
        { details: { holderPid: holder ?? null, lockPath: path } },
      );
    }
    await file.truncate(0);
    const bytes = encoder.encode(`${pid}\n`);
    let offset = 0;
    while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
  } catch (err) {
    if (locked) await file.unlock().catch(() => {});
    file.close();
    throw err;
  }

  let released = false;
  return {
    path,
    pid,
    /** Never rejects: it runs last in shutdown, and the kernel drops the lock with the process anyway. */
    async release() {
      if (released) return;
      released = true;
      try {
        await file.truncate(0);
        await file.unlock();
      } catch {
        // closing the file below releases the flock too
      } finally {
        file.close();
      }
    },
  };
}
