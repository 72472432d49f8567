/**
 * The least-privilege sudo setup (README § Security): instead of a rule for kubefwd with any arguments (which
 * is root for anyone who can run it: `--hosts-path` writes any file, a planted `-c`/`-z` reads any file) plus
 * unrestricted `kill` and `tee /etc/hosts`, the rule allows one root-owned script, the root helper
 * (`kubefwd_root_helper.sh`). It runs only the kubefwd fixed at install time, only with the argv shape the
 * daemon produces (every flag on an allowlist, every value checked, files the caller's own), in a fixed
 * environment; kills only a kubefwd it started for the same user; removes hosts lines only inside the daemon's
 * address ranges. This module renders the helper, the sudoers file and the script that installs both.
 */

/** Where the helper is installed: a root-owned directory, so nobody but root can replace it. */
export const ROOT_HELPER_PATH = "/usr/local/libexec/kubefwd-daemon/kubefwd-root";
/**
 * Names a helper installed elsewhere (the NixOS module's, in /etc): the daemon's service sets it. It only
 * says where to look: {@link readInstalledRootHelper} trusts the file no more than one at the default path.
 */
export const ROOT_HELPER_ENV = "KUBEFWD_DAEMON_ROOT_HELPER";
/** The helper's PATH (it trusts none of its caller's): the usual system directories. */
export const ROOT_HELPER_DEFAULT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
/** The root kubefwd's HOME (its hosts backup `hosts.original` goes there): root's, never the user's. */
export const ROOT_HELPER_HOME = "/var/lib/kubefwd-daemon";
/** The sudoers drop-in the install script writes. */
export const SUDOERS_PATH = "/etc/sudoers.d/kubefwd-daemon";

/** The helper's source, next to this module (read, not imported: it is a shell script). */
export const ROOT_HELPER_TEMPLATE_URL = new URL("./kubefwd_root_helper.sh", import.meta.url);

/** The values fixed into an installed helper. */
export interface RootHelperValues {
  /**
   * The kubefwd the helper runs: an absolute path (`sudoers` resolves symlinks; the helper's `kill` compares
   * /proc/PID/exe with the file behind it, so a Nix store's `bin/kubefwd` link works too).
   */
  kubefwd: string;
  /** The hosts file kubefwd edits and `hosts-remove` edits. */
  hosts: string;
  /** HOME of the root kubefwd. */
  home: string;
  /** Where the helper itself is installed: the generated kubeconfigs name it as their exec plugin. */
  self?: string;
  /**
   * The credential broker (default true): root kubefwd reads a kubeconfig the helper writes, never the
   * caller's, and credentials are resolved as the caller. False: kubefwd reads the caller's kubeconfig as is
   * (`sudoers --kubeconfig-as-is`; root for the caller through exec plugins, README § Security).
   */
  broker?: boolean;
  /**
   * The helper's PATH, for the tools it runs (grep, sed, awk, find, setpriv, …): the system directories by
   * default; on NixOS, where those are empty, the store's bin directories of those packages.
   */
  path?: string;
}

/** What the daemon reads back from an installed helper. */
export interface InstalledRootHelper {
  /** Where it is installed: what the daemon runs through `sudo -n`. */
  path: string;
  /** The kubefwd the helper runs. */
  kubefwd: string;
  /** The hosts file it edits. */
  hosts: string;
  /** Whether it runs the credential broker (then it needs `--user-command`). */
  broker: boolean;
}

/** A string as one single-quoted shell word. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Raised for values that cannot go into the helper or the sudoers file. */
export class SudoSetupError extends Error {}

function hasControlCharacter(s: string): boolean {
  return [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

function checkAbsolute(what: string, path: string): void {
  if (!path.startsWith("/") || hasControlCharacter(path)) {
    throw new SudoSetupError(
      `${what} must be an absolute path without control characters: ${JSON.stringify(path)}`,
    );
  }
}

/** The helper script with `values` fixed into it. */
export function renderRootHelper(template: string, values: RootHelperValues): string {
  checkAbsolute("the kubefwd path", values.kubefwd);
  checkAbsolute("the hosts path", values.hosts);
  checkAbsolute("the helper's HOME", values.home);
  const lines = template.split("\n");
  const set = (name: string, value: string) => {
    const i = lines.indexOf(`${name}=@${name.slice(4)}@`);
    if (i < 0) throw new SudoSetupError(`helper template has no ${name} line`);
    lines[i] = `${name}=${shellQuote(value)}`;
  };
  set("KFD_KUBEFWD", values.kubefwd);
  set("KFD_HOSTS", values.hosts);
  set("KFD_HOME", values.home);
  const self = values.self ?? ROOT_HELPER_PATH;
  checkAbsolute("the helper path", self);
  set("KFD_SELF", self);
  set("KFD_BROKER", values.broker === false ? "0" : "1");
  const path = values.path ?? ROOT_HELPER_DEFAULT_PATH;
  for (const dir of path.split(":")) checkAbsolute("each directory of the helper's PATH", dir);
  set("KFD_PATH", path);
  return lines.join("\n");
}

/**
 * The values an installed helper was rendered with, read from its text (the helper is world-readable), or
 * undefined when `text` is not an installed helper.
 */
export function parseInstalledHelper(text: string): Omit<InstalledRootHelper, "path"> | undefined {
  const value = (name: string) => {
    const m = new RegExp(`^${name}='([^'\\n]*)'$`, "m").exec(text);
    return m?.[1];
  };
  const kubefwd = value("KFD_KUBEFWD");
  const hosts = value("KFD_HOSTS");
  if (kubefwd === undefined || hosts === undefined) return undefined;
  return { kubefwd, hosts, broker: value("KFD_BROKER") !== "0" };
}

/** A sudoers user: a login name or `#uid`. */
export function checkSudoersUser(user: string): void {
  if (!/^([A-Za-z_][A-Za-z0-9._-]*|#\d+)$/.test(user)) {
    throw new SudoSetupError(`not a user name sudoers accepts: ${JSON.stringify(user)}`);
  }
}

/**
 * The sudoers drop-in: `user` may run the helper as root without a password, with sudo's environment reset
 * (whatever the machine's defaults say), and nothing else.
 */
export function sudoersFile(user: string, helperPath = ROOT_HELPER_PATH): string {
  checkSudoersUser(user);
  checkAbsolute("the helper path", helperPath);
  if (/[\s,:=\\]/.test(helperPath)) throw new SudoSetupError(`unusable helper path ${helperPath}`);
  return [
    "# kubefwd-daemon: run kubefwd as root only through the root helper (written by `kubefwd-daemon sudoers`).",
    `Defaults!${helperPath} env_reset`,
    sudoersRuleLine(user, helperPath),
    "",
  ].join("\n");
}

/** The one rule line (also shown in the not-root message). */
export function sudoersRuleLine(user: string, helperPath = ROOT_HELPER_PATH): string {
  return `${user} ALL=(root) NOPASSWD: ${helperPath}`;
}

/** What {@link installScript} installs. */
export interface InstallInputs {
  /** The rendered helper. */
  helper: string;
  /** The sudoers drop-in. */
  sudoers: string;
  /** The kubefwd the helper runs: the script refuses one that is not root's alone. */
  kubefwd: string;
  /** Where the helper goes. */
  helperPath?: string;
  /** Where the drop-in goes. */
  sudoersPath?: string;
}

function heredoc(tag: string, text: string): string {
  if (text.split("\n").includes(tag)) throw new SudoSetupError(`text contains the here-document tag ${tag}`);
  return `<<'${tag}'\n${text.endsWith("\n") ? text : text + "\n"}${tag}`;
}

/**
 * A POSIX sh script for root (`kubefwd-daemon sudoers | sudo sh`): refuses a kubefwd that is not owned by
 * root or that others can write (or whose directories are), because running it as root would make whoever
 * can replace it root; installs the helper root-owned (its directories checked the same way); checks the
 * drop-in with `visudo -c` before it goes live (a broken sudoers file can lock root out of sudo).
 */
export function installScript(inputs: InstallInputs): string {
  const helperPath = inputs.helperPath ?? ROOT_HELPER_PATH;
  const sudoersPath = inputs.sudoersPath ?? SUDOERS_PATH;
  checkAbsolute("the helper path", helperPath);
  checkAbsolute("the sudoers path", sudoersPath);
  checkAbsolute("the kubefwd path", inputs.kubefwd);
  const helperDir = helperPath.replace(/\/[^/]+$/, "") || "/";
  const sudoersDir = sudoersPath.replace(/\/[^/]+$/, "") || "/";
  return `#!/bin/sh
# Installs kubefwd-daemon's root helper and its sudoers rule (README § Security). Generated by
# \`kubefwd-daemon sudoers\`; read it, then run it as root: kubefwd-daemon sudoers | sudo sh
set -eu
umask 022
PATH=/usr/sbin:/usr/bin:/sbin:/bin
fail() { printf 'kubefwd-daemon sudoers: %s\\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run this as root: kubefwd-daemon sudoers | sudo sh"
command -v visudo >/dev/null 2>&1 || fail "visudo not found: is sudo installed?"
# root_only PATH: PATH and every directory above it belong to root and nobody else can write them.
root_only() {
  p=$1
  while :; do
    [ -n "$(find -H "$p" -prune -user 0 ! -perm -020 ! -perm -002 -print 2>/dev/null)" ] || return 1
    [ "$p" = / ] && return 0
    p=$(dirname "$p")
  done
}
kubefwd=${shellQuote(inputs.kubefwd)}
[ -f "$kubefwd" ] && [ -x "$kubefwd" ] || fail "$kubefwd is not an executable file"
root_only "$kubefwd" || fail "$kubefwd (or a directory above it) is not root's alone; whoever can replace it would run code as root. Install kubefwd root-owned (e.g. sudo install -o root -m 0755 $kubefwd /usr/local/bin/kubefwd) and pass --kubefwd"
mkdir -p ${shellQuote(helperDir)}
root_only ${shellQuote(helperDir)} || fail ${shellQuote(`${helperDir} is not root's alone`)}
tmp=$(mktemp ${shellQuote(`${helperDir}/.kubefwd-root.XXXXXX`)})
cat >"$tmp" ${heredoc("KFD_HELPER_EOF", inputs.helper)}
chmod 0755 "$tmp"
mv -f "$tmp" ${shellQuote(helperPath)}
root_only ${shellQuote(sudoersDir)} || fail ${shellQuote(`${sudoersDir} is not root's alone`)}
# sudo ignores files in ${sudoersDir} whose name contains a dot: the rule is not live until the rename.
rule=$(mktemp ${shellQuote(`${sudoersDir}/.kubefwd-daemon.XXXXXX`)})
cat >"$rule" ${heredoc("KFD_SUDOERS_EOF", inputs.sudoers)}
chmod 0440 "$rule"
if ! visudo -c -q -f "$rule"; then
  rm -f "$rule"
  fail "visudo rejected the rule; nothing was changed in ${sudoersDir}"
fi
mv -f "$rule" ${shellQuote(sudoersPath)}
echo ${shellQuote(`installed ${helperPath} (runs ${inputs.kubefwd}) and ${sudoersPath}`)}
`;
}

/** A script for root that removes what {@link installScript} installed. */
export function uninstallScript(helperPath = ROOT_HELPER_PATH, sudoersPath = SUDOERS_PATH): string {
  return `#!/bin/sh
# Removes kubefwd-daemon's sudoers rule and root helper. Generated by \`kubefwd-daemon sudoers --uninstall\`.
set -eu
[ "$(id -u)" = 0 ] || { echo "run this as root: kubefwd-daemon sudoers --uninstall | sudo sh" >&2; exit 1; }
rm -f ${shellQuote(sudoersPath)} ${shellQuote(helperPath)}
echo ${shellQuote(`removed ${sudoersPath} and ${helperPath}`)}
`;
}

/**
 * Where to look for the installed helper: {@link ROOT_HELPER_ENV} when it is set (the NixOS module installs
 * the helper in /etc and sets it for the daemon), else {@link ROOT_HELPER_PATH}.
 */
export function rootHelperPath(env: { get(name: string): string | undefined } = Deno.env): string {
  return env.get(ROOT_HELPER_ENV) || ROOT_HELPER_PATH;
}

/**
 * The helper installed at `path`, or undefined when there is none (or it is not one this program wrote, or
 * not root's alone). The daemon then runs kubefwd through it; without it, through `sudo -n <kubefwd>` as
 * before. The path may come from the environment, so the file (symlinks followed: a Nix store file is one's
 * target) must be an absolute path of a regular, executable file owned by root that nobody else can write,
 * as `kubefwd-daemon sudoers | sudo sh` and NixOS install it; sudo decides what actually runs as root.
 */
export function readInstalledRootHelper(path = rootHelperPath()): InstalledRootHelper | undefined {
  if (!path.startsWith("/")) return undefined;
  try {
    const st = Deno.statSync(path);
    if (!st.isFile || st.mode === null || (st.mode & 0o111) === 0) return undefined;
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) return undefined;
    const values = parseInstalledHelper(Deno.readTextFileSync(path));
    return values && { path, ...values };
  } catch {
    return undefined;
  }
}

/** The root helper's `kill` verb through `sudo -n`: SIGKILL of a kubefwd that it started for this user. */
export function rootHelperKillArgv(pid: number, helperPath = ROOT_HELPER_PATH): string[] {
  return ["sudo", "-n", helperPath, "kill", String(pid)];
}

/** The root helper's `hosts-remove` verb through `sudo -n`. */
export function rootHelperHostsRemoveArgv(ips: string[], helperPath = ROOT_HELPER_PATH): string[] {
  return ["sudo", "-n", helperPath, "hosts-remove", ...ips];
}
