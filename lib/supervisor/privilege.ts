/**
 * How kubefwd gets root, and the environment it runs in
 * (docs/kubefwd-compatibility.md#privileges-and-environment, #not-root). kubefwd needs root for /etc/hosts
 * and low ports. We never use `sudo -E` (it needs a sudoers SETENV tag, otherwise sudo refuses with "not
 * allowed to set the following environment variables"): every path kubefwd needs is passed as a flag (`-c`,
 * `-z`, `--hosts-path`), so plain `sudo -n` with a NOPASSWD rule is enough.
 */
import type { KubefwdSettings } from "../config/types.ts";
import { ROOT_HELPER_PATH, sudoersRuleLine } from "../sudo/root_helper.ts";

/** The command prefix that runs kubefwd with the right privilege. */
export interface Invocation {
  /** Arguments before the kubefwd path, e.g. `["sudo", "-n"]`, or empty. */
  prefix: string[];
  /** True when kubefwd runs through sudo: signals then go to sudo, SIGKILL through `sudo -n kill`. */
  viaSudo: boolean;
  /** The root helper kubefwd runs through (`sudo -n <helper> run`), when one is installed. */
  rootHelper?: string;
}

/**
 * `auto`: direct when the daemon is root, else `sudo -n` (non-interactive: a missing NOPASSWD rule fails
 * at once instead of waiting for a password nobody can type); `sudo`: always; `none`: never (kubefwd then
 * reports that it needs root, which becomes an actionable `failed`). Through sudo, the installed root helper
 * (`kubefwd-daemon sudoers`) when there is one: `sudo -n <helper> run <kubefwd args>`; its kubefwd is fixed.
 */
export function planInvocation(settings: KubefwdSettings, isRoot: boolean, rootHelper?: string): Invocation {
  const sudo = settings.privilege === "sudo" || (settings.privilege === "auto" && !isRoot);
  if (!sudo) return { prefix: [], viaSudo: false };
  if (rootHelper !== undefined) {
    return { prefix: ["sudo", "-n", rootHelper, "run"], viaSudo: true, rootHelper };
  }
  return { prefix: ["sudo", "-n"], viaSudo: true };
}

/** Directories every kubefwd needs on PATH: `id` for its root check, `ip`/`ifconfig`, sudo itself. */
export const SYSTEM_PATH_DIRS = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/**
 * Where kubeconfig exec credential plugins usually live (aws, gke-gcloud-auth-plugin, kubectl-oidc_login,
 * kubelogin); `~` is the user's home. Added only when they exist.
 */
export const CREDENTIAL_PLUGIN_DIRS = [
  "~/.krew/bin",
  "~/google-cloud-sdk/bin",
  "~/.local/bin",
  "~/bin",
  "~/go/bin",
  "~/.nix-profile/bin",
  "/opt/homebrew/bin",
  "/usr/local/google-cloud-sdk/bin",
  "/usr/lib/google-cloud-sdk/bin",
  "/snap/bin",
  "/nix/var/nix/profiles/default/bin",
  "/run/current-system/sw/bin",
];

/** Daemon-only variables that must not leak into kubefwd (systemd activation, Deno internals). */
const DROPPED_ENV =
  /^(NOTIFY_SOCKET|LISTEN_FDS|LISTEN_PID|LISTEN_FDNAMES|WATCHDOG_USEC|WATCHDOG_PID|DENO_.*)$/;

/** Whether `path` is a directory (the real file system). */
export function dirExists(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/**
 * The child's environment: the daemon's own (so credential plugins see AWS_PROFILE, CLOUDSDK_* and the like,
 * and KUBECONFIG passes through), minus daemon-only variables, with HOME set (kubefwd fails at its hosts
 * backup without it) and PATH = daemon PATH + system dirs + existing credential-plugin dirs, deduplicated in
 * that order. `exists` is injectable for tests.
 */
export function childEnvironment(
  base: Record<string, string>,
  home: string,
  exists: (dir: string) => boolean = dirExists,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (!DROPPED_ENV.test(k)) env[k] = v;
  env.HOME = home;
  const dirs: string[] = [];
  const add = (d: string) => {
    if (d !== "" && !dirs.includes(d)) dirs.push(d);
  };
  for (const d of (base.PATH ?? "").split(":")) add(d);
  for (const d of SYSTEM_PATH_DIRS) add(d);
  const user = base.USER ?? base.LOGNAME;
  // NixOS installs users.users.<name>.packages and home-manager's packages into the per-user profile.
  const perUser = user && /^[A-Za-z0-9._-]+$/.test(user) ? [`/etc/profiles/per-user/${user}/bin`] : [];
  for (const d of [...CREDENTIAL_PLUGIN_DIRS, ...perUser]) {
    const dir = d.startsWith("~/") ? `${home.replace(/\/+$/, "")}${d.slice(1)}` : d;
    if (exists(dir)) add(dir);
  }
  env.PATH = dirs.join(":");
  return env;
}

/** Whether `path` is a file with an execute bit (the real file system). */
export function isExecutableFile(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && (st.mode === null || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/**
 * The absolute path of `command` as PATH lookup would find it, or undefined. Paths with a slash are only
 * checked. Needed because sudo searches its own secure_path (not ours), because the sudoers hint needs an
 * absolute path, and because orphan detection compares /proc cmdlines with what we spawned.
 */
export function resolveExecutable(
  command: string,
  path: string,
  isExecutable: (p: string) => boolean = isExecutableFile,
): string | undefined {
  if (command.includes("/")) return isExecutable(command) ? command : undefined;
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    const candidate = `${dir.replace(/\/+$/, "")}/${command}`;
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Who the daemon runs as, for the sudoers hint: a name, or `#uid` (sudoers accepts both). */
export function currentUserName(env: Record<string, string>): string {
  const name = env.USER ?? env.LOGNAME;
  if (name && /^[A-Za-z0-9._-]+$/.test(name)) return name;
  const uid = Deno.uid();
  return uid === null ? "<user>" : `#${uid}`;
}

/** What a user runs to set up least-privilege sudo (README § Security). */
export const SUDOERS_SETUP_COMMAND = "kubefwd-daemon sudoers | sudo sh";

/**
 * The `failed` message after kubefwd reported it is not root, or sudo refused to run it. It says what
 * happened and exactly what to change, per privilege setting: the least-privilege setup (`kubefwd-daemon
 * sudoers`: a root-owned helper and one rule for it), with the rule it installs for this user.
 */
export function notRootMessage(opts: {
  settings: KubefwdSettings;
  viaSudo: boolean;
  user: string;
  kubefwdPath: string;
  /** The sudo or kubefwd text that triggered it, when there is one beyond the standard not-root text. */
  detail?: string;
  /** A helper path from the environment: a system module (NixOS) manages the helper and its rule. */
  managedHelper?: string;
}): string {
  const { settings, viaSudo, user, kubefwdPath, detail, managedHelper } = opts;
  const setup = managedHelper
    ? `let the system allow ${user} its helper ${managedHelper}: on NixOS, ` +
      `\`services.kubefwd-daemon.sudoRule = true;\` with ${user} in \`services.kubefwd-daemon.users\` ` +
      `(README, section Nix)`
    : `run \`${SUDOERS_SETUP_COMMAND}\` (it installs a root-owned helper that runs only ${kubefwdPath} ` +
      `with the daemon's arguments, and the rule \`${sudoersRuleLine(user, ROOT_HELPER_PATH)}\`; ` +
      `README, section Security)`;
  const suffix = detail ? ` (${detail})` : "";
  if (viaSudo) {
    return `kubefwd could not get root through \`sudo -n\`${suffix}. Allow it without a password: ${setup}` +
      ` — then run \`kubefwd-daemon start <profile>\`.`;
  }
  if (settings.privilege === "none") {
    return `kubefwd requires superuser privileges and kubefwd.privilege is "none"${suffix}. Either run the ` +
      `daemon as root, or set kubefwd.privilege to "auto" and ${setup}.`;
  }
  return `kubefwd requires superuser privileges but reported it is not root${suffix}. Check that ` +
    `${kubefwdPath} is not a wrapper that drops privileges, or set kubefwd.privilege to "sudo" and ${setup}.`;
}
