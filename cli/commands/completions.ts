/**
 * `completions bash|zsh|fish` prints the completion script for a shell, and the hidden `__profiles` lists
 * the config's profile names for those scripts. `__profiles` must be fast and silent: it parses the file
 * (YAML or TOML) without validating it, so a half-edited config still completes, and prints nothing at all
 * when there is no readable config.
 */
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { parse as parseToml } from "smol-toml";
import type { CliContext } from "../context.ts";
import { defaultConfigPath, type EnvLike, processEnv } from "../../lib/config/paths.ts";
import { completionScript, type Shell, SHELLS } from "../completions/scripts.ts";
import { completionSpec, PROFILES_VERB } from "../completions/spec.ts";

/** Environment seam for tests. */
export interface CompletionsCommandOptions {
  env?: EnvLike;
}

/** The profile names of the config text (file order), or none when it does not parse. */
export function profileNames(text: string, toml: boolean): string[] {
  let doc: unknown;
  try {
    doc = toml ? parseToml(text) : parseYaml(text);
  } catch {
    return [];
  }
  const profiles = (doc as { profiles?: unknown } | null)?.profiles;
  if (profiles === null || typeof profiles !== "object" || Array.isArray(profiles)) return [];
  return Object.keys(profiles).filter((name) => /^[^\s'"\\]+$/.test(name));
}

/** Register `completions` and the hidden `__profiles`. */
export function registerCompletionsCommands(
  program: Command,
  ctx: CliContext,
  opts: CompletionsCommandOptions = {},
): void {
  const env = opts.env ?? processEnv;
  program.command("completions")
    .description("print the shell completion script (verbs, flags, profile names from the config)")
    .addArgument(
      program.createArgument("<shell>", "bash, zsh or fish").choices(SHELLS),
    )
    .addHelpText(
      "after",
      "\nbash:  kubefwd-daemon completions bash > ~/.local/share/bash-completion/completions/kubefwd-daemon" +
        '\nzsh:   kubefwd-daemon completions zsh > "${fpath[1]}/_kubefwd-daemon"   (or: source <(…))' +
        "\nfish:  kubefwd-daemon completions fish > ~/.config/fish/completions/kubefwd-daemon.fish",
    )
    .action((shell: Shell) => {
      let root = program;
      while (root.parent) root = root.parent;
      ctx.out(completionScript(shell, completionSpec(root)).trimEnd());
    });

  program.command(PROFILES_VERB, { hidden: true })
    .description("internal: the config's profile names, one per line (for the completion scripts)")
    .action(async () => {
      let path: string;
      let text: string;
      try {
        path = ctx.globals().config ?? defaultConfigPath(env);
        text = await Deno.readTextFile(path);
      } catch {
        return;
      }
      const names = profileNames(text, path.endsWith(".toml"));
      if (names.length > 0) ctx.out(names.join("\n"));
    });
}
