/**
 * Everything decided before a kubefwd child is spawned, fresh for every start: which binary and version, the
 * services `exclude_services` expands to, the `-z` file with the profile's address range and the addresses
 * its forwards had before, the argv and the
 * privilege path. The result is a plan or a typed start error, so the runner only applies it.
 */
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import { buildKubefwdArgs, KubefwdArgsError, kubefwdArgsWarnings } from "../kubefwd/argv.ts";
import {
  buildExcludeFieldSelector,
  resolveExcludedServices,
  type ServiceLister,
} from "../kubefwd/exclude.ts";
import { writeFwdConf } from "../kubefwd/fwdconf.ts";
import {
  type AddressRecord,
  planReservations,
  type Reservation,
  userReservations,
} from "../kubefwd/reservations.ts";
import { isApiUnreachable } from "../kubefwd/output.ts";
import type { KubefwdVersion } from "../kubefwd/types.ts";
import type { ExitKind } from "./policy.ts";
import { isStandalone } from "../self_command.ts";
import { type InstalledRootHelper, readInstalledRootHelper } from "../sudo/root_helper.ts";
import {
  childEnvironment,
  dirExists,
  isExecutableFile,
  planInvocation,
  resolveExecutable,
} from "./privilege.ts";

/** The file-system side of planning, so runner tests need no files on disk. */
export interface LaunchFiles {
  /** Whether `path` is a file the daemon may run (kubefwd, sudo). */
  isExecutable(path: string): boolean;
  /** Whether `path` is a directory: only existing credential-plugin directories join the child's PATH. */
  dirExists(path: string): boolean;
  /** Writes the profile's `-z` file (range and reservations) and returns its path. */
  writeFwdConf(
    dir: string,
    profile: string,
    baseIp: string,
    reservations: readonly Reservation[],
  ): Promise<string>;
  /** The installed root helper (`kubefwd-daemon sudoers`), or undefined when there is none. */
  rootHelper(): InstalledRootHelper | undefined;
  /** `path` with symlinks resolved (the helper's kubefwd is recorded that way); `path` when that fails. */
  realPath(path: string): string;
}

function realPathOr(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/** The real file system. */
export const realLaunchFiles: LaunchFiles = {
  isExecutable: isExecutableFile,
  dirExists,
  writeFwdConf,
  rootHelper: () => readInstalledRootHelper(),
  realPath: realPathOr,
};

/** What planning reads besides the profile. */
export interface LaunchDeps {
  /** Where the executables are checked and the `-z` file is written. */
  files: LaunchFiles;
  /** Lists the services `exclude_services` expands to. */
  serviceLister: ServiceLister;
  /** Version of the kubefwd at an absolute path. */
  resolveVersion: (path: string) => Promise<KubefwdVersion>;
  /** The daemon runs as root: with `privilege = "auto"` kubefwd runs without sudo. */
  isRoot: boolean;
  /** The daemon's environment, the base of the child's. */
  env: Record<string, string>;
  /** The child's HOME; `~/` credential-plugin directories on its PATH are relative to it. */
  home: string;
  /** Directory of the generated `-z` files. */
  fwdConfDir: string;
}

/** The profile being launched. */
export interface LaunchInput {
  /** The profile: what kubefwd forwards and with which flags. */
  spec: ProfileSpec;
  /** How kubefwd is run: which binary, sudo or not, extra arguments. */
  settings: KubefwdSettings;
  /** The profile's stable address range. */
  baseIp: string | undefined;
  /** The addresses the profile's forwards had before: asked for again. */
  addresses?: readonly AddressRecord[];
}

/** A ready-to-spawn child. */
export interface LaunchPlan {
  /** The command line to spawn, `sudo` prefix included when needed. */
  argv: string[];
  /** The child's environment: HOME set, PATH extended so kubeconfig credential plugins are found. */
  env: Record<string, string>;
  /** The absolute path of the kubefwd binary, also named in the not-root hint. */
  kubefwdPath: string;
  /** The version of that binary: which flags and behaviours apply. */
  version: KubefwdVersion;
  /** The namespaces in the order kubefwd got them: its hostnames depend on the position. */
  namespaces: readonly string[];
  /** The argv starts with sudo: the child runs as root although the daemon does not. */
  viaSudo: boolean;
  /** Through sudo and the root helper at this path: its `kill` stops a stuck kubefwd. */
  rootHelper?: string;
  /** Things the user should know (deprecated flags, version caveats). */
  warnings: string[];
  /** Details for the debug log. */
  notes: string[];
}

/** A start that failed before the spawn; `kind` says how the restart policy treats it. */
export class StartError extends Error {
  /** A start error of `kind`; `message` is what the user sees. */
  constructor(readonly kind: ExitKind, message: string) {
    super(message);
  }
}

/** Either a plan or why there is none. */
export type LaunchResult = { ok: true; plan: LaunchPlan } | { ok: false; error: StartError };

/** Plans one start; never throws (an unexpected error is a transient start error). */
export async function planLaunch(input: LaunchInput, deps: LaunchDeps): Promise<LaunchResult> {
  try {
    return { ok: true, plan: await plan(input, deps) };
  } catch (e) {
    const error = e instanceof StartError
      ? e
      : new StartError("transient", `start failed: ${e instanceof Error ? e.message : String(e)}`);
    return { ok: false, error };
  }
}

async function plan(input: LaunchInput, deps: LaunchDeps): Promise<LaunchPlan> {
  const { spec, settings } = input;
  const { files } = deps;
  const env = childEnvironment(deps.env, deps.home, (dir) => files.dirExists(dir));
  const kubefwdPath = resolveExecutable(settings.path, env.PATH, (p) => files.isExecutable(p));
  if (kubefwdPath === undefined) {
    throw new StartError("transient", `kubefwd not found: ${settings.path} (PATH=${env.PATH})`);
  }
  const version = await attempt(
    () => deps.resolveVersion(kubefwdPath),
    "cannot detect the kubefwd version",
  );
  const notes: string[] = [];
  let fieldSelector: string | undefined;
  if (spec.excludeServices.length > 0) {
    const excluded = await attempt(
      () => resolveExcludedServices(deps.serviceLister, spec),
      "exclude_services could not be resolved, so kubefwd was not started",
    );
    fieldSelector = buildExcludeFieldSelector(excluded);
    notes.push(`exclude_services resolved to [${excluded.join(", ")}]`);
  }
  if (input.baseIp === undefined) throw new StartError("permanent", "internal: no IP range assigned");
  const baseIp = input.baseIp;
  const reservations = planReservations(input.addresses ?? [], {
    namespaces: spec.namespaces,
    context: spec.context || undefined,
    baseIp,
    userReservations: userReservations([...settings.extraArgs, ...spec.extraArgs]),
  });
  if (reservations.length > 0) notes.push(`-z file reserves ${reservations.length} remembered address(es)`);
  const fwdConfPath = await attempt(
    () => files.writeFwdConf(deps.fwdConfDir, spec.name, baseIp, reservations),
    "cannot write the -z file",
  );
  let args: string[];
  try {
    args = buildKubefwdArgs(spec, settings, version, { fwdConfPath, fieldSelector });
  } catch (e) {
    if (e instanceof KubefwdArgsError) throw new StartError("permanent", e.message);
    throw e;
  }
  // Through sudo, the installed root helper when there is one: it runs only its own kubefwd.
  const helper = planInvocation(settings, deps.isRoot).viaSudo ? files.rootHelper() : undefined;
  if (helper !== undefined && files.realPath(kubefwdPath) !== files.realPath(helper.kubefwd)) {
    throw new StartError(
      "not_root",
      `the root helper ${helper.path} runs ${helper.kubefwd}, but kubefwd.path is ${kubefwdPath}: set ` +
        `kubefwd.path to ${helper.kubefwd}, or run \`kubefwd-daemon sudoers | sudo sh\` again for this kubefwd`,
    );
  }
  const invocation = planInvocation(settings, deps.isRoot, helper?.path);
  // [sudo-less prefix…] then kubefwd's arguments; the helper's kubefwd is its own, so no path goes with it.
  const tail = invocation.rootHelper !== undefined
    ? [...brokerArgs(helper, deps.env), ...args]
    : [kubefwdPath, ...args];
  let argv = [...invocation.prefix.slice(1), ...tail];
  if (invocation.viaSudo) {
    const sudo = resolveExecutable("sudo", env.PATH, (p) => files.isExecutable(p));
    if (sudo === undefined) {
      throw new StartError(
        "not_root",
        `kubefwd needs root and sudo was not found on PATH (${env.PATH}); install sudo or run the daemon as root`,
      );
    }
    argv = [sudo, ...argv];
  }
  return {
    argv,
    env,
    kubefwdPath,
    version,
    namespaces: [...spec.namespaces],
    viaSudo: invocation.viaSudo,
    ...(invocation.rootHelper !== undefined ? { rootHelper: invocation.rootHelper } : {}),
    warnings: kubefwdArgsWarnings(settings, version),
    notes,
  };
}

/**
 * `--user-command <this program>` for a helper with the credential broker, which runs it as the user to read
 * the cluster and credentials (lib/sudo/credential_broker.ts): the launcher or wrapper that started the daemon,
 * or a compiled binary itself.
 */
function brokerArgs(helper: InstalledRootHelper | undefined, env: Record<string, string>): string[] {
  if (!helper?.broker) return [];
  const command = env.KUBEFWD_DAEMON_EXE ?? (isStandalone() ? Deno.execPath() : undefined);
  if (command === undefined) {
    throw new StartError(
      "permanent",
      "the root helper's credential broker runs this program as you, and the daemon does not know its command: " +
        "start the daemon with the ./kubefwd-daemon launcher (it sets KUBEFWD_DAEMON_EXE)",
    );
  }
  return ["--user-command", command];
}

/**
 * Runs one planning step; its failure is a start error prefixed with `what`: `unreachable` when the API
 * could not be reached (e.g. listing services for exclude_services during an outage), else transient.
 */
async function attempt<T>(step: () => Promise<T>, what: string): Promise<T> {
  try {
    return await step();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new StartError(isApiUnreachable(message) ? "unreachable" : "transient", `${what}: ${message}`);
  }
}
