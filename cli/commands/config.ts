/**
 * `config validate | show | init` and the hidden `config resolve` the daemon runs as a subprocess.
 *
 * Failure contract: an invalid config exits 4. `validate` prints its own report (human or the single
 * validate JSON object) and then throws `UserError("config_invalid", …, {details: {alreadyPrinted: true}})`
 * so the top-level handler sets the exit code without printing a second document.
 */
import type { Command } from "commander";
import { stringify } from "yaml";
import type { CliContext } from "../context.ts";
import { UserError } from "../../lib/errors.ts";
import { formatHuman, toValidateJson } from "../../lib/config/format.ts";
import { loadConfigFileWithSource, type LoadOutcome } from "../../lib/config/load.ts";
import { maskPath } from "../../lib/config/mask.ts";
import { defaultConfigPath, type EnvLike, homeDir, processEnv, resolvePath } from "../../lib/config/paths.ts";
import { maskConfig, toFileShape } from "../../lib/config/show.ts";
import { dirname } from "../../lib/util/path.ts";
import { starterConfig } from "../../lib/config/starter.ts";
import { displayPath } from "../../lib/config/cross_checks.ts";
import { type Kubeconfig, readKubeconfig } from "../../lib/kube/kubeconfig.ts";
import type { ProfileSpec } from "../../lib/config/types.ts";

/** Environment seams of the config verbs; tests pass a fake home instead of mutating the process env. */
export interface ConfigCommandOptions {
  env?: EnvLike;
}

interface Deps {
  env: EnvLike;
  home: () => string;
}

/** The config file this invocation means: argument, then --config, then env/XDG default. */
function configPathFor(ctx: CliContext, deps: Deps, arg?: string): string {
  return arg ?? ctx.globals().config ?? defaultConfigPath(deps.env, deps.home());
}

/**
 * Turns "cannot read the file at all" into an error with a hint (missing: exit 1; a directory or unreadable:
 * exit 4), leaving invalid content to the caller.
 */
function requireReadable(outcome: LoadOutcome, path: string): void {
  if (!outcome.readError) return;
  if (outcome.readError instanceof Deno.errors.NotFound) {
    throw new UserError(
      "error",
      `config file not found: ${path} (create one with \`kubefwd-daemon config init\`)`,
      {
        cause: outcome.readError,
      },
    );
  }
  // It exists but is no config file the daemon could use (a directory, no permission): the config is invalid.
  throw new UserError("config_invalid", `cannot read config file ${path}: ${outcome.readError.message}`, {
    cause: outcome.readError,
  });
}

/** Resolve the config path, load it, and fail with a clear message when it cannot be read at all. */
async function loadForVerb(
  ctx: CliContext,
  deps: Deps,
  checkEnvironment: boolean,
  pathArg?: string,
): Promise<{ path: string; outcome: LoadOutcome }> {
  const path = configPathFor(ctx, deps, pathArg);
  const outcome = await loadConfigFileWithSource(path, {
    env: deps.env,
    home: deps.home(),
    checkEnvironment,
  });
  requireReadable(outcome, path);
  return { path, outcome };
}

/** Where `config init` looks for contexts: the first file of $KUBECONFIG, else ~/.kube/config. */
function userKubeconfigPath(env: EnvLike, home: string): string {
  const fromEnv = (env.get("KUBECONFIG") ?? "").split(":").find((p) => p !== "");
  return fromEnv ? resolvePath(fromEnv, Deno.cwd(), home) : `${home}/.kube/config`;
}

async function validateAction(
  ctx: CliContext,
  deps: Deps,
  pathArg: string | undefined,
  online: boolean,
): Promise<void> {
  const g = ctx.globals();
  const { path, outcome } = await loadForVerb(ctx, deps, true, pathArg);
  const { result } = outcome;
  if (online && result.config) {
    // Loaded only here: `config resolve`, which the daemon runs, needs none of the API client.
    const { checkProfilesOnline } = await import("../../lib/config/online_check.ts");
    const { listServiceNames } = await import("../../lib/kube/services.ts");
    const lister = {
      list: (p: ProfileSpec, namespace: string) =>
        listServiceNames({
          kubeconfig: p.kubeconfig,
          context: p.context || undefined,
          namespace,
          labelSelector: p.labels.filter((l) => l !== "").join(",") || undefined,
          timeoutMs: 10_000,
        }),
    };
    result.warnings.push(...await checkProfilesOnline(result.config, lister));
  }
  if (g.json) ctx.json(toValidateJson(result));
  else {
    const report = formatHuman(result, { color: g.color, source: outcome.source });
    if (result.errors.length > 0) ctx.err(report);
    else ctx.out(report);
  }
  if (result.errors.length > 0) {
    throw new UserError(
      "config_invalid",
      `${result.errors.length} error${result.errors.length === 1 ? "" : "s"} in ${path}`,
      { details: { alreadyPrinted: true } },
    );
  }
}

async function showAction(ctx: CliContext, deps: Deps): Promise<void> {
  const g = ctx.globals();
  const { path, outcome } = await loadForVerb(ctx, deps, false);
  const { result } = outcome;
  if (!result.config) {
    if (!g.json) ctx.err(formatHuman(result, { color: g.color, source: outcome.source }));
    throw new UserError(
      "config_invalid",
      `${path} is invalid (${result.errors.length} error${result.errors.length === 1 ? "" : "s"}); ` +
        "run `kubefwd-daemon config validate` for details",
      { details: { alreadyPrinted: !g.json, ...toValidateJson(result) } },
    );
  }
  const masked = maskConfig(result.config, deps.home());
  if (g.json) return ctx.json(masked);
  ctx.out(
    `# Effective configuration from ${result.config.path}\n` +
      "# (defaults merged into every profile; kubeconfig paths masked)\n" +
      stringify(toFileShape(masked), { lineWidth: 0 }).trimEnd(),
  );
}

async function initAction(ctx: CliContext, deps: Deps): Promise<void> {
  const g = ctx.globals();
  const home = deps.home();
  const path = resolvePath(configPathFor(ctx, deps), Deno.cwd(), home);
  const kubeconfigPath = userKubeconfigPath(deps.env, home);
  let kube: Kubeconfig | undefined;
  try {
    kube = await readKubeconfig(kubeconfigPath);
  } catch {
    kube = undefined; // the starter then says it found no kubeconfig
  }
  const text = starterConfig({
    kubeconfig: displayPath(kubeconfigPath, home),
    kubeconfigFound: kube !== undefined,
    contexts: (kube?.contexts ?? []).map((c) => ({
      name: c.name,
      ...(c.namespace !== undefined ? { namespace: c.namespace } : {}),
    })),
    ...(kube?.currentContext !== undefined ? { currentContext: kube.currentContext } : {}),
  });
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    // createNew = O_EXCL: never overwrite, even if the file appears between a check and the write.
    await Deno.writeTextFile(path, text, { createNew: true, mode: 0o600 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new UserError(
        "error",
        `${path} already exists; not overwriting it (check it with \`kubefwd-daemon config validate\`)`,
      );
    }
    throw e;
  }
  await Deno.chmod(path, 0o600); // the umask may not be what we assume; 0600 keeps kubeconfig paths private
  const contexts = (kube?.contexts ?? []).map((c) => c.name);
  if (g.json) {
    return ctx.json({
      path,
      kubeconfig: maskPath(kubeconfigPath, home),
      contexts,
      currentContext: kube?.currentContext ?? null,
    });
  }
  ctx.out(`wrote ${path} (mode 0600)`);
  if (kube === undefined) {
    ctx.out(
      `no kubeconfig found at ${
        displayPath(kubeconfigPath, home)
      }; edit the profile's kubeconfig and context`,
    );
  } else if (contexts.length === 0) ctx.out(`${displayPath(kubeconfigPath, home)} defines no contexts`);
  else {
    ctx.out(`contexts in ${displayPath(kubeconfigPath, home)}:`);
    for (const name of contexts) ctx.out(`  ${name}${name === kube.currentContext ? " (current)" : ""}`);
  }
  ctx.out("the example profile is disabled: edit it, then `kubefwd-daemon config validate`");
}

async function resolveAction(ctx: CliContext, deps: Deps, pathArg?: string): Promise<void> {
  const { outcome } = await loadForVerb(ctx, deps, true, pathArg);
  // Always one compact line, whatever the terminal: the daemon parses it.
  ctx.out(JSON.stringify(outcome.result));
}

/** Registers `config validate|show|init` and the hidden `config resolve`. */
export function registerConfigCommands(
  program: Command,
  ctx: CliContext,
  options: ConfigCommandOptions = {},
): void {
  const env = options.env ?? processEnv;
  // Lazily: HOME is only required when a verb actually runs, not to build the command tree for --help.
  const deps: Deps = { env, home: () => homeDir(env) };
  const config = program.command("config").description("check, show or create the config file");
  config.command("validate [path]")
    .description("check a config file; prints file:line:col for every problem and exits 4 if it is invalid")
    .option(
      "--online",
      "also ask the cluster (one service list per namespace) whether each enabled profile forwards anything",
    )
    .addHelpText(
      "after",
      "\nExit codes: 0 valid, 4 invalid, 1 the file cannot be read.\n" +
        'With the global --json: one object {"valid":bool,"errors":[{"path","line","column","message"}],"warnings":[…]}.',
    )
    .action((path: string | undefined, opts: { online?: boolean }) =>
      validateAction(ctx, deps, path, opts.online ?? false)
    );
  config.command("show")
    .description("print the effective config (defaults merged, kubeconfig paths masked)")
    .addHelpText(
      "after",
      "\nWith the global --json: the resolved config as JSON (durations in ms, paths absolute).",
    )
    .action(() => showAction(ctx, deps));
  config.command("init")
    .description("write a commented starter config (mode 0600) at the config path; never overwrites")
    .action(() => initAction(ctx, deps));
  config.command("resolve [path]", { hidden: true })
    .description("internal: print the validated, resolved config as one JSON line (used by the daemon)")
    .action((path?: string) => resolveAction(ctx, deps, path));
}
