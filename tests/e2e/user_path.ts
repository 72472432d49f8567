/**
 * The machinery of the user-path e2e (user_path_e2e_test.ts): an unprivileged user with its own HOME, XDG
 * dirs and Deno cache, a copy of this checkout it owns, and the CLI run as that user through the launcher
 * exactly as the README says (`./kubefwd-daemon …`). The test process itself is root inside isolate.sh's mount
 * namespace (so the hosts file is the temp one), and switches to the user with setpriv for every CLI call:
 * the daemon the user starts inherits the namespace, and root can still inject faults.
 */
import { env } from "./e2e_helpers.ts";

/** The unprivileged user (created when missing; its home is rebuilt on every run). */
export const USER = "kfd-e2e-user";
/** Its home: only the launcher's own caches (Deno, npm packages) come from earlier runs, never root's. */
export const HOME = `/home/${USER}`;
/** The user's copy of this checkout, from which it runs `./kubefwd-daemon`. */
export const CHECKOUT = `${HOME}/kubefwd-daemon`;
/** Root-owned copies of the cached kubefwd binaries (root's cache is not readable by the user). */
const KUBEFWD_ROOT = "/opt/kubefwd-daemon-e2e";
/** Where `kubefwd-daemon sudoers | sudo sh` puts the rule (lib/sudo/root_helper.ts). */
export const SUDOERS_FILE = "/etc/sudoers.d/kubefwd-daemon";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const dec = new TextDecoder();

/** Output of a finished command. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command as root (the test process); throws on a failure unless `allowFailure`. */
export async function root(
  argv: string[],
  opts: { input?: string; allowFailure?: boolean } = {},
): Promise<Ran> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: opts.input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.input));
    await w.close();
  }
  const out = await child.output();
  const ran = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (ran.code !== 0 && !opts.allowFailure) {
    throw new Error(`${argv.join(" ")} failed (${ran.code}): ${ran.stderr}${ran.stdout}`);
  }
  return ran;
}

/** The machine's TLS and proxy settings (the launcher may fetch npm packages once); nothing else of root's. */
const PASSED_THROUGH = [
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "HTTPS_PROXY",
  "https_proxy",
  "HTTP_PROXY",
  "http_proxy",
  "NO_PROXY",
  "no_proxy",
];

/** The user's environment, as a login would give it: its own HOME and XDG dirs, a system PATH. */
export function userEnv(): Record<string, string> {
  const e: Record<string, string> = {
    HOME,
    USER,
    LOGNAME: USER,
    SHELL: "/bin/sh",
    PATH: "/usr/local/bin:/usr/bin:/bin",
    XDG_CONFIG_HOME: `${HOME}/.config`,
    XDG_STATE_HOME: `${HOME}/.local/state`,
    XDG_CACHE_HOME: `${HOME}/.cache`,
    XDG_RUNTIME_DIR: `${HOME}/.run`,
    NO_COLOR: "1",
  };
  for (const k of PASSED_THROUGH) {
    const v = Deno.env.get(k);
    if (v) e[k] = v;
  }
  return e;
}

/** Runs `argv` as the user (setpriv: real and effective ids, its groups), in its home, with {@link userEnv}. */
export async function asUser(argv: string[], opts: { input?: string } = {}): Promise<Ran> {
  const child = new Deno.Command("setpriv", {
    args: ["--reuid", USER, "--regid", USER, "--init-groups", "--", ...argv],
    cwd: HOME,
    env: userEnv(),
    clearEnv: true,
    stdin: opts.input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.input));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The CLI as the user, through the launcher of its checkout (`./kubefwd-daemon VERB …`). */
export function cli(...args: string[]): Promise<Ran> {
  return asUser([`${CHECKOUT}/kubefwd-daemon`, ...args]);
}

/** The user's uid and gid. */
export async function userIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await root(["id", "-u", USER])).stdout.trim());
  const gid = Number((await root(["id", "-g", USER])).stdout.trim());
  return { uid, gid };
}

/**
 * Creates the user when missing and gives it a fresh home with: a copy of this checkout (no .git, no
 * node_modules: the launcher installs the npm dependencies as the user), the cluster's kubeconfig flattened
 * into `~/.kube/config` (mode 0600), and the runtime dir. The Deno and npm caches of earlier runs stay
 * (`~/.cache`), so only the first run pays for them.
 */
export async function prepareUser(): Promise<void> {
  if ((await root(["id", USER], { allowFailure: true })).code !== 0) {
    await root(["useradd", "--home-dir", HOME, "--shell", "/bin/sh", USER]);
  }
  const cache = `${HOME}/.cache`;
  const keep = await Deno.stat(cache).then(() => `/var/tmp/${USER}-cache`, () => undefined);
  if (keep) {
    await Deno.remove(keep, { recursive: true }).catch(() => {});
    await Deno.rename(cache, keep);
  }
  await Deno.remove(HOME, { recursive: true }).catch(() => {});
  await Deno.mkdir(HOME, { mode: 0o700 });
  if (keep) await Deno.rename(keep, cache);
  await Deno.mkdir(CHECKOUT);
  await root([
    "sh",
    "-c",
    'tar -C "$1" --exclude=./.git --exclude=./node_modules -cf - . | tar -C "$2" -xf -',
    "copy",
    REPO,
    CHECKOUT,
  ]);
  await Deno.mkdir(`${HOME}/.kube`, { mode: 0o700 });
  const flat = await root([
    env("KFD_E2E_KUBECTL"),
    "--kubeconfig",
    env("KUBECONFIG"),
    "config",
    "view",
    "--flatten",
    "--minify",
    "--raw",
  ]);
  await Deno.writeTextFile(`${HOME}/.kube/config`, flat.stdout, { mode: 0o600 });
  await Deno.mkdir(`${HOME}/.run`, { mode: 0o700 });
  await root(["chown", "-R", `${USER}:${USER}`, HOME]);
  await root(["chmod", "0700", HOME, `${HOME}/.run`]);
}

/**
 * A root-owned copy of the cached kubefwd `version` (root's cache under /root is not readable by the user,
 * and a kubefwd that runs as root must be root's alone: the sudoers script refuses anything else).
 */
export async function installKubefwd(version: string, cached: string): Promise<string> {
  const dir = `${KUBEFWD_ROOT}/kubefwd-${version}`;
  await root(["install", "-d", "-o", "root", "-g", "root", "-m", "0755", KUBEFWD_ROOT, dir]);
  await root(["install", "-o", "root", "-g", "root", "-m", "0755", cached, `${dir}/kubefwd`]);
  return `${dir}/kubefwd`;
}

/**
 * The README's setup: the user runs `kubefwd-daemon sudoers` (the program generates the script), root runs
 * what it printed (`… | sudo sh`). Returns the script's output.
 */
export async function installSudoers(kubefwd: string, ...flags: string[]): Promise<string> {
  const script = await cli("sudoers", "--kubefwd", kubefwd, ...flags);
  if (script.code !== 0) throw new Error(`kubefwd-daemon sudoers failed: ${script.stderr}`);
  return (await root(["sh"], { input: script.stdout })).stdout;
}

/** Removes the rule and the helper (the user's `sudoers --uninstall`, run by root). */
export async function uninstallSudoers(): Promise<void> {
  const script = await cli("sudoers", "--uninstall");
  await root(["sh"], { input: script.stdout, allowFailure: true });
}

/** The NUL-separated command line of a process, or null when it is gone. */
export function cmdline(pid: number): string | null {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return null;
  }
}

/** A field of /proc/PID/status (`Uid`, `State`), or null when the process is gone. */
export function procStatus(pid: number, field: string): string | null {
  try {
    const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").find((l) =>
      l.startsWith(`${field}:`)
    );
    return line?.slice(field.length + 1).trim() ?? null;
  } catch {
    return null;
  }
}

/** Whether `pid` is gone or a zombie (killed, not yet reaped). */
export function goneOrZombie(pid: number): boolean {
  const state = procStatus(pid, "State");
  return state === null || state.startsWith("Z");
}
