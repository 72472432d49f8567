/**
 * Everything decided before a kubefwd child is spawned, fresh for every start: which binary and version, the
 * services `exclude_services` expands to, the `-z` file with the profile's address range, the argv and the
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
import type { KubefwdVersion } from "../kubefwd/types.ts";
import type { ExitKind } from "./policy.ts";
import {
  childEnvironment,
  dirExists,
  isExecutableFile,
  planInvocation,
  resolveExecutable,
} from "./privilege.ts";

/** The file-system side of planning, so runner tests need no files on disk. */
export interface LaunchFiles {
  isExecutable(path: string): boolean;
  dirExists(path: string): boolean;
  /** Writes the profile's `-z` file and returns its path. */
  writeFwdConf(dir: string, profile: string, baseIp: string): Promise<string>;
}

/** The real file system. */
export const realLaunchFiles: LaunchFiles = { isExecutable: isExecutableFile, dirExists, writeFwdConf };

/** What planning reads besides the profile. */
export interface LaunchDeps {
  files: LaunchFiles;
  serviceLister: ServiceLister;
  /** Version of the kubefwd at an absolute path. */
  resolveVersion: (path: string) => Promise<KubefwdVersion>;
  isRoot: boolean;
  /** The daemon's environment, the base of the child's. */
  env: Record<string, string>;
  home: string;
  /** Directory of the generated `-z` files. */
  fwdConfDir: string;
}

/** The profile being launched. */
export interface LaunchInput {
  spec: ProfileSpec;
  settings: KubefwdSettings;
  /** The profile's stable address range. */
  baseIp: string | undefined;
}

/** A ready-to-spawn child. */
export interface LaunchPlan {
  argv: string[];
  env: Record<string, string>;
  kubefwdPath: string;
  version: KubefwdVersion;
  viaSudo: boolean;
  /** Things the user should know (deprecated flags, version caveats). */
  warnings: string[];
  /** Details for the debug log. */
  notes: string[];
}

/** A start that failed before the spawn; `kind` says how the restart policy treats it. */
export class StartError extends Error {
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
  const fwdConfPath = await attempt(
    () => files.writeFwdConf(deps.fwdConfDir, spec.name, baseIp),
    "cannot write the -z file",
  );
  let args: string[];
  try {
    args = buildKubefwdArgs(spec, settings, version, { fwdConfPath, fieldSelector });
  } catch (e) {
    if (e instanceof KubefwdArgsError) throw new StartError("permanent", e.message);
    throw e;
  }
  const invocation = planInvocation(settings, deps.isRoot);
  let argv = [kubefwdPath, ...args];
  if (invocation.viaSudo) {
    const sudo = resolveExecutable("sudo", env.PATH, (p) => files.isExecutable(p));
    if (sudo === undefined) {
      throw new StartError(
        "not_root",
        `kubefwd needs root and sudo was not found on PATH (${env.PATH}); install sudo or run the daemon as root`,
      );
    }
    argv = [sudo, ...invocation.prefix.slice(1), ...argv];
  }
  return {
    argv,
    env,
    kubefwdPath,
    version,
    viaSudo: invocation.viaSudo,
    warnings: kubefwdArgsWarnings(settings, version),
    notes,
  };
}

/** Runs one planning step; its failure is a transient start error prefixed with `what`. */
async function attempt<T>(step: () => Promise<T>, what: string): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw new StartError("transient", `${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
