/**
 * Builds kubefwd's argv from a profile. The result is an array handed to the spawner (never a shell), so
 * profile fields with shell metacharacters stay single arguments. Flags the detected kubefwd lacks are
 * never emitted: an unknown flag is a cobra usage error (exit 1) that would put the profile in `failed`.
 * See docs/kubefwd-compatibility.md#flags.
 */
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import type { KubefwdVersion } from "./types.ts";
import { kubefwdAtLeast, kubefwdSupports } from "./version.ts";
import { NamedError } from "../errors.ts";

/** The hosts file kubefwd edits when `--hosts-path` is not given. */
export const DEFAULT_HOSTS_PATH = "/etc/hosts";

/**
 * Raised when a profile or extra_args cannot be turned into a safe kubefwd command line. `message` is shown
 * as the profile's start error.
 */
export class KubefwdArgsError extends NamedError {}

/** What {@link buildKubefwdArgs} needs besides the profile: the generated `-z` file and the exclude selector. */
export interface KubefwdArgsExtra {
  /** Path of the profile's generated `-z` file. */
  fwdConfPath: string;
  /** `metadata.name!=a,…` from the resolved exclude globs; omitted when nothing is excluded. */
  fieldSelector?: string;
}

/** Flags a supervised kubefwd must never get, with the reason shown to the user. */
const FORBIDDEN: { long: string; short?: string; why: string }[] = [
  {
    long: "--purge-stale-ips",
    short: "p",
    why: "it deletes every hosts entry in 127.1.27.0+ including other profiles' entries",
  },
  { long: "--tui", why: "the full-screen UI needs a terminal and hides the log output the daemon parses" },
  { long: "--api", why: "the API binds the fixed address 127.2.27.1:80, which only one process can own" },
  {
    long: "--fwd-conf",
    short: "z",
    why: "it would replace the daemon's own -z file, which keeps the profile in its own address range and " +
      "its services on their previous addresses; reserve an address with -r NAME:IP instead",
  },
];

/** Flags that exist only from a given release (docs/kubefwd-compatibility.md#versions). */
const VERSIONED: { long: string; short?: string; since: [number, number, number] }[] = [
  { long: "--timeout", short: "t", since: [1, 23, 0] },
  { long: "--hosts-path", since: [1, 23, 0] },
  { long: "--refresh-backup", short: "b", since: [1, 23, 0] },
  { long: "--auto-reconnect", short: "a", since: [1, 24, 0] },
  { long: "--resync-interval", since: [1, 24, 0] },
  { long: "--retry-interval", since: [1, 24, 0] },
  { long: "--theme", since: [1, 25, 12] },
];

/** kubefwd `svc` shorthand flags that take a value (the rest of a combined `-xyz` group is that value). */
export const SHORT_WITH_VALUE = new Set(["c", "x", "n", "l", "f", "d", "m", "r", "z", "t"]);
/** kubefwd `svc` long flags that take a value as the next argument when not written `--flag=value`. */
export const LONG_WITH_VALUE = new Set([
  "--kubeconfig",
  "--context",
  "--namespace",
  "--selector",
  "--field-selector",
  "--domain",
  "--mapping",
  "--reserve",
  "--fwd-conf",
  "--timeout",
  "--hosts-path",
  "--resync-interval",
  "--retry-interval",
  "--theme",
]);

function versionText(v: KubefwdVersion): string {
  return v.sourceBuild ? "0.0.0 (source build)" : v.raw;
}

/**
 * Lists the flags used in an extra_args array, understanding pflag syntax: `--flag=value`, `--flag value`,
 * combined booleans `-ab`, and `-nvalue`. Values are skipped so that e.g. `-l --tui` (label `--tui`) is not
 * mistaken for the flag.
 */
export function flagsInArgs(args: string[]): { long?: string; short?: string; arg: string }[] {
  const found: { long?: string; short?: string; arg: string }[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const long = eq >= 0 ? arg.slice(0, eq) : arg;
      found.push({ long, arg });
      if (eq < 0 && LONG_WITH_VALUE.has(long)) i++;
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const ch = arg[j];
        found.push({ short: ch, arg });
        if (SHORT_WITH_VALUE.has(ch)) {
          if (j === arg.length - 1) i++;
          break;
        }
      }
    }
  }
  return found;
}

/**
 * The first flag of `args` the daemon never passes to kubefwd, as the sentence both `config validate` and
 * the launch use ("--api is not allowed under kubefwd-daemon (…)"), or undefined.
 */
export function forbiddenFlagMessage(args: string[]): string | undefined {
  for (const flag of flagsInArgs(args)) {
    const bad = FORBIDDEN.find((f) =>
      flag.long === f.long || (flag.short !== undefined && flag.short === f.short)
    );
    if (bad) return `${flag.arg} is not allowed under kubefwd-daemon (${bad.long}: ${bad.why})`;
  }
  return undefined;
}

/** Throws {@link KubefwdArgsError} when extra args contain a forbidden flag or one this kubefwd lacks. */
export function checkExtraArgs(args: string[], version: KubefwdVersion, origin: string): void {
  const forbidden = forbiddenFlagMessage(args);
  if (forbidden) throw new KubefwdArgsError(`${origin}: ${forbidden}`);
  for (const flag of flagsInArgs(args)) {
    const gated = VERSIONED.find((f) =>
      flag.long === f.long || (flag.short !== undefined && flag.short === f.short)
    );
    if (gated && !kubefwdAtLeast(version, ...gated.since)) {
      throw new KubefwdArgsError(
        `${origin}: ${flag.arg} needs kubefwd >= ${gated.since.join(".")}, but the installed kubefwd is ${
          versionText(version)
        }`,
      );
    }
  }
}

/**
 * The arguments after the kubefwd binary for one profile:
 * `svc -n <ns>… [-l <labels>] -c <kubeconfig> [-x <ctx>] -z <fwdconf> [-f <sel>] [-a] [--hosts-path <p>]
 * [-d <domain>] [-m <map>]… <settings.extraArgs> <profile.extraArgs>`.
 * `-n` is always present (v1.25 without `-n` enters idle API mode and forwards nothing); `-a` only on ≥ 1.24;
 * `--hosts-path` only on ≥ 1.23 and only for a non-default path.
 */
export function buildKubefwdArgs(
  profile: ProfileSpec,
  settings: KubefwdSettings,
  version: KubefwdVersion,
  extra: KubefwdArgsExtra,
): string[] {
  if (profile.namespaces.length === 0) {
    throw new KubefwdArgsError(`profile ${profile.name}: at least one namespace is required`);
  }
  for (const ns of profile.namespaces) {
    if (ns === "") throw new KubefwdArgsError(`profile ${profile.name}: empty namespace name`);
  }
  if (!profile.kubeconfig.startsWith("/")) {
    throw new KubefwdArgsError(
      `profile ${profile.name}: kubeconfig path must be absolute (got ${JSON.stringify(profile.kubeconfig)})`,
    );
  }
  if (extra.fwdConfPath === "") throw new KubefwdArgsError(`profile ${profile.name}: missing -z file path`);
  checkExtraArgs(settings.extraArgs, version, "kubefwd.extra_args");
  checkExtraArgs(profile.extraArgs, version, `profile ${profile.name} extra_args`);
  if (extra.fieldSelector !== undefined && extra.fieldSelector !== "") {
    const userSelector = flagsInArgs([...settings.extraArgs, ...profile.extraArgs]).find((f) =>
      f.short === "f" || f.long === "--field-selector"
    );
    if (userSelector) {
      // pflag keeps only the last -f, so a user selector would silently drop the exclusions.
      throw new KubefwdArgsError(
        `profile ${profile.name}: ${userSelector.arg} in extra_args would override the field selector that ` +
          `implements exclude_services; remove it or express it through labels`,
      );
    }
  }

  const args = ["svc"];
  for (const ns of profile.namespaces) args.push("-n", ns);
  const labels = profile.labels.filter((l) => l !== "");
  if (labels.length > 0) args.push("-l", labels.join(","));
  args.push("-c", profile.kubeconfig);
  if (profile.context !== undefined && profile.context !== "") args.push("-x", profile.context);
  args.push("-z", extra.fwdConfPath);
  if (extra.fieldSelector !== undefined && extra.fieldSelector !== "") args.push("-f", extra.fieldSelector);
  if (kubefwdSupports(version, "autoReconnect")) {
    args.push("-a");
    const extra = [...settings.extraArgs, ...profile.extraArgs];
    for (const [flag, value] of PROMPT_RESYNC) {
      if (!extra.some((a) => a === flag || a.startsWith(`${flag}=`))) args.push(flag, value);
    }
  }
  if (
    kubefwdSupports(version, "hostsPath") && settings.hostsPath !== "" &&
    settings.hostsPath !== DEFAULT_HOSTS_PATH
  ) {
    args.push("--hosts-path", settings.hostsPath);
  }
  if (profile.domain !== undefined && profile.domain !== "") args.push("-d", profile.domain);
  for (const mapping of profile.mappings) args.push("-m", mapping);
  args.push(...settings.extraArgs, ...profile.extraArgs);
  return args;
}

/**
 * kubefwd 1.24+ re-reads a service's pods on pod events, through a 5 s debounce unless `--resync-interval`
 * (default 5 min) has passed since its last read, and a service without a ready pod every `--retry-interval`
 * (default 10 s, through the same debounce). A pod that was gone for a while was picked up 10.3 s after its
 * replacement was Ready; with a 1 s resync the Ready event of a service kubefwd forwarded before is acted on
 * at once (0.3 s), and a service that had no pod when kubefwd started (it may have been restarted meanwhile)
 * is read every 2 s (docs/kubefwd-compatibility.md#pod-gone-and-back). The cost: one pod list per 2 s per
 * service without a ready pod, only while it has none, and one per pod event more than 1 s after the last.
 * A value in extra_args wins.
 */
const PROMPT_RESYNC: ReadonlyArray<readonly [string, string]> = [
  ["--retry-interval", "2s"],
  ["--resync-interval", "1s"],
];

/**
 * Non-fatal caveats of running this kubefwd with these settings, for the daemon log: a custom hosts path
 * that kubefwd 1.22.x cannot honour (it always edits the OS default file).
 */
export function kubefwdArgsWarnings(settings: KubefwdSettings, version: KubefwdVersion): string[] {
  const warnings: string[] = [];
  if (
    !kubefwdSupports(version, "hostsPath") && settings.hostsPath !== "" &&
    settings.hostsPath !== DEFAULT_HOSTS_PATH
  ) {
    warnings.push(
      `kubefwd ${
        versionText(version)
      } has no --hosts-path: it edits ${DEFAULT_HOSTS_PATH}, not ${settings.hostsPath}`,
    );
  }
  return warnings;
}
