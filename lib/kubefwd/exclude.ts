/**
 * exclude_services: kubefwd has no exclude flag, so the daemon resolves the profile's glob patterns against
 * the services that exist (same kubeconfig, context, namespaces and labels) at every (re)start and passes
 * the matches as a field selector `metadata.name!=a,metadata.name!=b`. If resolution fails the start fails:
 * excluded services must never be forwarded silently. Daemon-side: no yaml, the listing runs in a
 * short-lived CLI subprocess (`kube list-services`).
 */
import type { ProfileSpec } from "../config/types.ts";
import { runSelf, selfCommand, SelfCommandError, type SelfRunResult } from "../self_command.ts";
import { isRecord } from "../util/is_record.ts";
import { globToRegExp } from "../config/glob.ts";
import { NamedError } from "../errors.ts";

/** One glob dialect for validation and matching: the config validator rejects what this cannot compile. */
export { globToRegExp };

/** True when `pattern` contains glob syntax (so it needs the service list to resolve). */
export function isGlob(pattern: string): boolean {
  return /[*?\[]/.test(pattern);
}

/** True when `name` matches at least one of the glob `patterns`. */
export function matchesGlob(name: string, patterns: string[]): boolean {
  return patterns.some((p) => globToRegExp(p).test(name));
}

/** Escapes what apimachinery's `fields.EscapeValue` escapes in a field selector value: `\`, `,` and `=`. */
function escapeSelectorValue(value: string): string {
  return value.replace(/[\\,=]/g, (c) => "\\" + c);
}

/**
 * `metadata.name!=a,metadata.name!=b` for the given names (deduplicated and sorted so the argv is stable
 * across restarts), or undefined when there is nothing to exclude.
 */
export function buildExcludeFieldSelector(serviceNames: string[]): string | undefined {
  const names = [...new Set(serviceNames.filter((n) => n !== ""))].sort();
  if (names.length === 0) return undefined;
  return names.map((n) => `metadata.name!=${escapeSelectorValue(n)}`).join(",");
}

/** Lists service names in one namespace of a profile's cluster (the profile's labels applied). */
export interface ServiceLister {
  /** Service names in `namespace` that match the profile's labels; throws {@link ServiceListError}. */
  list(profile: ProfileSpec, namespace: string): Promise<string[]>;
}

/**
 * Raised when the services needed to apply exclude_services cannot be listed. `message` is shown as the
 * profile's start error.
 */
export class ServiceListError extends NamedError {}

/**
 * The service names a profile must not forward. Literal patterns are taken as they are (no API call);
 * glob patterns are matched against every namespace's services, listed through `lister`. Throws
 * {@link ServiceListError} when a listing fails.
 */
export async function resolveExcludedServices(
  lister: ServiceLister,
  profile: ProfileSpec,
): Promise<string[]> {
  const patterns = profile.excludeServices.filter((p) => p !== "");
  const literal = patterns.filter((p) => !isGlob(p));
  const globs = patterns.filter(isGlob);
  const out = new Set(literal);
  if (globs.length > 0) {
    const regexps = globs.map(globToRegExp);
    for (const ns of profile.namespaces) {
      let names: string[];
      try {
        names = await lister.list(profile, ns);
      } catch (e) {
        if (e instanceof ServiceListError) throw e;
        throw new ServiceListError(`listing services in ${ns}: ${(e as Error).message}`, { cause: e });
      }
      for (const name of names) if (regexps.some((r) => r.test(name))) out.add(name);
    }
  }
  return [...out].sort();
}

/** Options of {@link SubprocessServiceLister}. */
export interface SubprocessServiceListerOptions {
  /** argv prefix that runs this program (default {@link selfCommand}). */
  command?: string[];
  /** Deadline of one listing (default 30 s): a hung API must not hang a start. */
  timeoutMs?: number;
  /** Replaces the process runner (tests). */
  run?: (argv: string[], timeoutMs: number) => Promise<SelfRunResult>;
}

/** What `kube list-services` prints. */
interface ServiceListOutput {
  services: string[];
}

function isServiceListOutput(value: unknown): value is ServiceListOutput {
  return isRecord(value) && Array.isArray(value.services) &&
    value.services.every((s) => typeof s === "string");
}

/**
 * Lists services by running this program's hidden `kube list-services` verb, which loads the kubeconfig
 * (yaml) and queries the API in its own short-lived process and prints `{"services":[…]}`.
 */
export class SubprocessServiceLister implements ServiceLister {
  readonly #command: string[] | undefined;
  readonly #timeoutMs: number;
  readonly #run: SubprocessServiceListerOptions["run"];

  /** Defaults run this program's own `kube list-services` with a 30 s deadline. */
  constructor(opts: SubprocessServiceListerOptions = {}) {
    this.#command = opts.command;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#run = opts.run;
  }

  /** The full argv used for one listing (exposed for tests and logs). */
  argv(profile: ProfileSpec, namespace: string): string[] {
    return [...(this.#command ?? selfCommand()), ...this.#verb(profile, namespace)];
  }

  #verb(profile: ProfileSpec, namespace: string): string[] {
    const argv = ["kube", "list-services"];
    argv.push("--kubeconfig", profile.kubeconfig);
    if (profile.context !== undefined && profile.context !== "") argv.push("--context", profile.context);
    argv.push("--namespace", namespace);
    const labels = profile.labels.filter((l) => l !== "");
    if (labels.length > 0) argv.push("--selector", labels.join(","));
    return argv;
  }

  async list(profile: ProfileSpec, namespace: string): Promise<string[]> {
    const options = { timeoutMs: this.#timeoutMs, command: this.#command, run: this.#run };
    try {
      return (await runSelf(this.#verb(profile, namespace), isServiceListOutput, options)).services;
    } catch (e) {
      if (!(e instanceof SelfCommandError)) {
        const program = this.argv(profile, namespace)[0];
        throw new ServiceListError(`cannot run ${program}: ${(e as Error).message}`, { cause: e });
      }
      switch (e.reason) {
        case "timeout":
          throw new ServiceListError(`listing services timed out after ${this.#timeoutMs} ms`);
        case "exit": {
          const lines = e.stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
          const detail = (lines.find((l) => l.startsWith("error:")) ?? lines[lines.length - 1] ?? "")
            .replace(/^error:\s*/, "");
          throw new ServiceListError(
            `listing services in namespace ${namespace} failed (exit ${e.code})${
              detail ? `: ${detail}` : ""
            }`,
          );
        }
        case "not_json":
          throw new ServiceListError(`listing services in namespace ${namespace}: output is not JSON`);
        case "invalid":
          throw new ServiceListError(`listing services in namespace ${namespace}: unexpected output shape`);
      }
    }
  }
}
