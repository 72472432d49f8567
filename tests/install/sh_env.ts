/**
 * A sandbox for running the launcher and other shell scripts the way a new user would: a temp HOME, and a
 * PATH of the machine's tools without Deno, npm and node (each test adds its own fakes in front).
 */
import { join } from "node:path";

/** The repository's root directory (no trailing slash). */
export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** The launcher script at the repository root. */
export const LAUNCHER = `${ROOT}/kubefwd-daemon`;
/** The real Deno running these tests (the launcher's tests point the cache at it: no network). */
export const REAL_DENO = Deno.execPath();

/** Tools a user without Deno does not have. */
const HIDDEN = new Set(["deno", "npm", "npx", "node", "nodejs", "corepack", "curl", "wget"]);

/** Result of one script run. */
export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One sandbox: `home`, `tools` (the PATH without Deno) and `fakes` (first on PATH, for recording fakes). */
export class ShSandbox {
  private constructor(
    readonly dir: string,
    readonly home: string,
    readonly tools: string,
    readonly fakes: string,
  ) {}

  /** A fresh sandbox in a temp directory; `dispose` removes it. */
  static async create(): Promise<ShSandbox> {
    const dir = await Deno.makeTempDir({ prefix: "kfd-sh-" });
    const box = new ShSandbox(dir, join(dir, "home"), join(dir, "tools"), join(dir, "fakes"));
    await Deno.mkdir(box.home);
    await Deno.mkdir(box.tools);
    await Deno.mkdir(box.fakes);
    for (const bin of ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/sbin", "/bin"]) {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(bin));
      } catch {
        continue;
      }
      for (const e of entries) {
        if (HIDDEN.has(e.name)) continue;
        await Deno.symlink(join(bin, e.name), join(box.tools, e.name)).catch(() => {/* first one wins */});
      }
    }
    return box;
  }

  /** PATH of a user without Deno: the fakes, then the machine's tools. */
  get path(): string {
    return `${this.fakes}:${this.tools}`;
  }

  /** The launcher's Deno cache directory for `version` under this HOME. */
  denoCache(version: string): string {
    return `${this.home}/.cache/kubefwd-daemon/deno-${version}`;
  }

  /** Put the real Deno where the launcher's cache keeps it (as Deno's installer lays it out). */
  async seedCache(version: string): Promise<string> {
    const bin = `${this.denoCache(version)}/bin`;
    await Deno.mkdir(bin, { recursive: true });
    await Deno.symlink(REAL_DENO, `${bin}/deno`);
    return `${bin}/deno`;
  }

  /** Write an executable script `name` into the fakes directory. */
  async fake(name: string, script: string): Promise<string> {
    const path = join(this.fakes, name);
    await Deno.writeTextFile(path, script, { mode: 0o755 });
    return path;
  }

  /** Run `sh -c script` (or `argv` with sh) with only HOME, PATH and `env` set. */
  async run(
    argv: string[],
    opts: { env?: Record<string, string>; cwd?: string; signal?: AbortSignal } = {},
  ): Promise<ShResult> {
    const out = await new Deno.Command(join(this.tools, "sh"), {
      args: argv,
      cwd: opts.cwd ?? this.home,
      clearEnv: true,
      env: { HOME: this.home, PATH: this.path, ...opts.env },
      stdin: "null",
      signal: opts.signal,
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /** Remove the sandbox. */
  async dispose(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** True when `tool` is on this machine's PATH (the real-shell tests skip, saying so, without it). */
export function hasTool(tool: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** The Deno version the launcher pins (its `KFD_DENO_VERSION=` line). */
export async function pinnedDenoVersion(): Promise<string> {
  const text = await Deno.readTextFile(LAUNCHER);
  const m = text.match(/^KFD_DENO_VERSION=([0-9.]+)$/m);
  if (!m) throw new Error("no KFD_DENO_VERSION= line in the launcher");
  return m[1];
}

/** `systemd-analyze verify --user` of `unitText` saved as kubefwd-daemon.service; returns its stderr. */
export async function verifyUnit(unitText: string): Promise<{ code: number; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "kfd-verify-" });
  try {
    await Deno.mkdir(`${dir}/run`, { mode: 0o700 });
    await Deno.writeTextFile(`${dir}/kubefwd-daemon.service`, unitText);
    const out = await new Deno.Command("systemd-analyze", {
      args: ["verify", "--user", `${dir}/kubefwd-daemon.service`],
      env: { XDG_RUNTIME_DIR: `${dir}/run`, SYSTEMD_LOG_COLOR: "0" },
      cwd: dir,
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
