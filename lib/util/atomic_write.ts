/**
 * Writing a file so that a crash never leaves it torn: a temp file beside it, fsync, rename, directory
 * fsync. A crash (kill -9, power loss) between create and rename leaves the temp file behind, with the
 * content that was being written; {@link removeStaleTempFiles} sweeps those when the next owner starts.
 */
import { dirname } from "./path.ts";

const encoder = new TextEncoder();

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Replace `path` atomically with `data`: a reader sees the old or the new content, and after return the
 * new content survives power loss. The temp file is created exclusively with `mode`, so the content is
 * never readable by others, not even briefly.
 */
export async function atomicWriteFile(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const tmp = tempPathFor(path, Deno.pid);
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: options.mode ?? 0o600 });
  try {
    let offset = 0;
    while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    await file.sync();
  } catch (err) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  file.close();
  try {
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  try {
    const dirFile = await Deno.open(dir, { read: true });
    try {
      await dirFile.sync();
    } finally {
      dirFile.close();
    }
  } catch {
    // Some filesystems cannot fsync a directory; the rename itself already happened.
  }
}

/** The temp file name of a write to `path` by process `pid`: `<path>.tmp-<pid>-<12 hex digits>`. */
function tempPathFor(path: string, pid: number): string {
  return `${path}.tmp-${pid}-${randomSuffix()}`;
}

const TEMP_NAME = /^(.+)\.tmp-(\d+)-[0-9a-f]{12}$/;

/**
 * The pid of the process whose write to a file named `base` the directory entry `name` is, or undefined when
 * `name` is no such temp file (see {@link tempPathFor}).
 */
export function tempFileWriter(base: string, name: string): number | undefined {
  const m = TEMP_NAME.exec(name);
  return m !== null && m[1] === base ? Number(m[2]) : undefined;
}

/**
 * Delete the temp files that writes of other processes left beside `path` (killed between create and
 * rename). Only the one owner of `path` may call this (the daemon holds the state dir's lock): a write of
 * this process is never touched. Returns the names removed; a file it cannot remove is left alone.
 */
export async function removeStaleTempFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const base = path.slice(dir.length + 1);
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const writer = tempFileWriter(base, entry.name);
    if (!entry.isFile || writer === undefined || writer === Deno.pid) continue;
    try {
      await Deno.remove(`${dir}/${entry.name}`);
      removed.push(entry.name);
    } catch {
      // Read-only or vanished: nothing to do, the next start tries again.
    }
  }
  return removed;
}
