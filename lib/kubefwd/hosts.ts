/**
 * Hosts-file cleanup after an unclean kubefwd exit (SIGKILL, crash, a 1.22.x forward that died): kubefwd
 * leaves its `127.x.y.z name…` lines behind and never restores its backup
 * (docs/kubefwd-compatibility.md#hosts-cleanup). The daemon removes exactly the lines of the IPs that child
 * announced, and leaves every other byte of the file alone. Writes are in place: a rename would break
 * bind-mounted hosts files (containers) and lose the file's owner and mode. Unlike kubefwd's truncate +
 * write, the file is never shorter than its new content at any moment (see {@link inPlaceImage}), so a
 * daemon killed mid-edit cannot leave an empty hosts file.
 */
import { runCommand } from "../run_command.ts";
import { NamedError } from "../errors.ts";

/** Removes a child's entries from a hosts file through the configured privilege path. */
export interface HostsFile {
  /**
   * Removes every line whose address is in `ips`. Returns the number of names those lines carried; 0
   * means the file was not written.
   */
  removeEntries(ips: string[]): Promise<number>;
}

/** Result of {@link removeHostsEntries}. */
export interface HostsEdit {
  /** The new file content. */
  text: string;
  /** Names removed (all names of removed IP lines plus individually removed names). */
  removed: number;
}

/**
 * Pure edit of hosts-file text. Comments, blank lines, tabs and unrelated lines stay byte-for-byte; a line
 * whose address is in `ips` is dropped whole (with its end of line); names in `hostnames` (compared
 * case-insensitively) are cut from other lines together with the whitespace before them, and a line left
 * with no names is dropped. Lines whose first field is not an IP address are never touched.
 */
export function removeHostsEntries(text: string, ips: string[], hostnames: string[] = []): HostsEdit {
  const ipSet = new Set(ips.map(normalizeIp));
  const nameSet = new Set(hostnames.map((h) => h.toLowerCase()));
  if (ipSet.size === 0 && nameSet.size === 0) return { text, removed: 0 };
  let removed = 0;
  let out = "";
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    const end = nl < 0 ? text.length : nl + 1;
    const segment = text.slice(pos, end);
    pos = end;
    const edit = editLine(segment, ipSet, nameSet);
    removed += edit.removed;
    if (edit.line !== null) out += edit.line;
  }
  return { text: out, removed };
}

/** Splits a line segment into its body, its comment (`#…`) and its end-of-line (`\n`, `\r\n` or nothing). */
function splitSegment(segment: string): { body: string; comment: string; eol: string } {
  let eol = "";
  let rest = segment;
  if (rest.endsWith("\r\n")) {
    eol = "\r\n";
    rest = rest.slice(0, -2);
  } else if (rest.endsWith("\n")) {
    eol = "\n";
    rest = rest.slice(0, -1);
  }
  const hash = rest.indexOf("#");
  if (hash < 0) return { body: rest, comment: "", eol };
  return { body: rest.slice(0, hash), comment: rest.slice(hash), eol };
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%\S+)?$/;

function normalizeIp(ip: string): string {
  return ip.trim().toLowerCase();
}

function editLine(
  segment: string,
  ips: Set<string>,
  names: Set<string>,
): { line: string | null; removed: number } {
  const { body, comment, eol } = splitSegment(segment);
  const tokens = [...body.matchAll(/(\s*)(\S+)/g)];
  if (tokens.length === 0) return { line: segment, removed: 0 };
  const address = tokens[0][2];
  if (!IPV4.test(address) && !IPV6.test(address)) return { line: segment, removed: 0 };
  const hostTokens = tokens.slice(1);
  if (ips.has(normalizeIp(address))) return { line: null, removed: hostTokens.length };
  if (names.size === 0) return { line: segment, removed: 0 };
  const kept = hostTokens.filter((t) => !names.has(t[2].toLowerCase()));
  const removed = hostTokens.length - kept.length;
  if (removed === 0) return { line: segment, removed: 0 };
  if (kept.length === 0) return { line: null, removed };
  const trailing = body.slice((tokens[tokens.length - 1].index ?? 0) + tokens[tokens.length - 1][0].length);
  const rebuilt = tokens[0][0] + kept.map((t) => t[0]).join("") + trailing + comment + eol;
  return { line: rebuilt, removed };
}

/** A hosts file the daemon may write directly (daemon runs as root, or a test file). */
export class FileHostsFile implements HostsFile {
  /** The hosts file this instance edits. */
  readonly path: string;

  /** `path` is the hosts file to edit (kubefwd.hosts_path). */
  constructor(path: string) {
    this.path = path;
  }

  async removeEntries(ips: string[]): Promise<number> {
    const old = await Deno.readFile(this.path);
    const edit = removeHostsEntries(new TextDecoder().decode(old), ips);
    if (edit.removed === 0) return 0;
    const next = new TextEncoder().encode(edit.text);
    // The existing inode, never truncated before the new content is there: owner, mode and lines kept.
    using file = await Deno.open(this.path, { write: true });
    const image = inPlaceImage(old.length, next);
    for (let off = 0; off < image.length;) off += await file.write(image.subarray(off));
    await file.truncate(next.length);
    return edit.removed;
  }
}

const NEWLINE = 0x0a;

/**
 * What to write at offset 0 of a file of `oldLength` bytes so that it holds `next` without ever losing a
 * line: `next`, then padding up to the old length as a comment line ("#   …") that resolvers skip; the
 * caller truncates to `next.length` afterwards. Killed between the write and the truncate, the file has
 * every line of `next` and a harmless comment. The write itself is one call, which the kernel does not
 * split for a file of up to one page (4 KiB; a larger hosts file could be cut at a page boundary, and is
 * still never empty).
 */
export function inPlaceImage(oldLength: number, next: Uint8Array): Uint8Array {
  const missing = oldLength - next.length;
  if (missing <= 0) return next;
  const image = new Uint8Array(oldLength);
  image.set(next);
  let at = next.length;
  if (at > 0 && next[at - 1] !== NEWLINE) image[at++] = NEWLINE; // the comment starts its own line
  if (at < oldLength) image[at++] = "#".charCodeAt(0);
  image.fill(" ".charCodeAt(0), at, oldLength);
  if (oldLength - at > 0) image[oldLength - 1] = NEWLINE;
  return image;
}

/** Options of {@link SudoHostsFile}. */
export interface SudoHostsFileOptions {
  /** sudo binary (default `sudo`, found on PATH). */
  sudo?: string;
  /** Deadline of one sudo call (default 15 s): sudo must never hang the daemon. */
  timeoutMs?: number;
  /**
   * The installed root helper (`kubefwd-daemon sudoers`): lines are then removed with its `hosts-remove`,
   * which only takes addresses inside the daemon's ranges, instead of `sudo -n tee`.
   */
  rootHelper?: string;
}

/** Raised when the privileged read or write of the hosts file fails. `cause` keeps the underlying error. */
export class HostsFileError extends NamedError {}

/**
 * A root-owned hosts file edited by a non-root daemon: read directly (hosts files are world-readable;
 * falls back to `sudo -n cat`), written with `sudo -n tee <path>` taking the new content on stdin (tee
 * truncates and writes in place). `-n` never prompts: a missing sudoers rule is an error, not a hang.
 */
export class SudoHostsFile implements HostsFile {
  /** The hosts file this instance edits. */
  readonly path: string;
  readonly #sudo: string;
  readonly #timeoutMs: number;
  readonly #rootHelper: string | undefined;

  /** `path` is the root-owned hosts file; `opts` replaces sudo or its deadline, or names the root helper. */
  constructor(path: string, opts: SudoHostsFileOptions = {}) {
    this.path = path;
    this.#sudo = opts.sudo ?? "sudo";
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#rootHelper = opts.rootHelper;
  }

  async removeEntries(ips: string[]): Promise<number> {
    const text = await this.#read();
    const edit = removeHostsEntries(text, ips);
    if (edit.removed === 0) return 0;
    if (this.#rootHelper !== undefined) {
      const present = ips.filter((ip) => removeHostsEntries(text, [ip]).removed > 0);
      const result = await this.#sudoRun([this.#rootHelper, "hosts-remove", ...present], undefined, false);
      if (result.code !== 0) {
        throw new HostsFileError(
          `sudo -n ${this.#rootHelper} hosts-remove failed (exit ${result.code}): ${result.stderr.trim()}`,
        );
      }
      return edit.removed;
    }
    const result = await this.#sudoRun(["tee", this.path], new TextEncoder().encode(edit.text), false);
    if (result.code !== 0) {
      throw new HostsFileError(
        `sudo -n tee ${this.path} failed (exit ${result.code}): ${result.stderr.trim()}`,
      );
    }
    return edit.removed;
  }

  async #read(): Promise<string> {
    try {
      return await Deno.readTextFile(this.path);
    } catch (e) {
      if (!(e instanceof Deno.errors.PermissionDenied)) throw e;
    }
    const result = await this.#sudoRun(["cat", this.path], undefined, true);
    if (result.code !== 0) {
      throw new HostsFileError(
        `sudo -n cat ${this.path} failed (exit ${result.code}): ${result.stderr.trim()}`,
      );
    }
    return result.stdout;
  }

  async #sudoRun(
    args: string[],
    input: Uint8Array | undefined,
    wantStdout: boolean,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const out = await runCommand([this.#sudo, "-n", ...args], {
      timeoutMs: this.#timeoutMs,
      input,
      discardStdout: !wantStdout,
    });
    if (out.timedOut) {
      throw new HostsFileError(`sudo ${args.join(" ")} timed out after ${this.#timeoutMs} ms`);
    }
    return { code: out.code, stdout: out.stdout, stderr: out.stderr };
  }
}

/**
 * The addresses that have a line with at least one name in a hosts file. A forward whose address has no
 * line cannot be reached by name, whatever its listener says: another kubefwd rewrote the file from a stale
 * read (no lock between processes) and dropped it.
 */
export function addressesWithNames(text: string): Set<string> {
  const found = new Set<string>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const fields = line.split(/\s+/);
    if (fields.length >= 2) found.add(fields[0]);
  }
  return found;
}
