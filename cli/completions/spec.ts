/**
 * What shell completion needs to know about the CLI, read from the commander tree itself so that a new
 * verb or flag is completed without anyone remembering to update three shell scripts.
 */
import type { Command, Option } from "commander";

/** What follows an option that takes a value. */
export type ValueKind = { kind: "file" } | { kind: "text" } | { kind: "choices"; choices: string[] };

/** One option: its spellings (`-f`, `--follow`), its value (none for a flag) and help. */
export interface OptionSpec {
  names: string[];
  value?: ValueKind;
  description: string;
}

/**
 * What the positional arguments of a command are: `profiles` (any number of profile names), `profile`
 * (one), `file` (one path), `choices` (one of a list) or nothing worth completing.
 */
export type ArgKind =
  | { kind: "profiles" }
  | { kind: "profile" }
  | { kind: "file" }
  | { kind: "choices"; choices: string[] }
  | { kind: "none" };

/** One visible command with its options, positional arguments and subcommands. */
export interface CommandSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  args: ArgKind;
  subcommands: CommandSpec[];
}

/** The whole CLI: program name, global options, verbs. */
export interface CompletionSpec {
  program: string;
  globals: OptionSpec[];
  commands: CommandSpec[];
}

/** The hidden verb the scripts run to list the config's profile names (one per line). */
export const PROFILES_VERB = "__profiles";

function isHidden(cmd: Command): boolean {
  return (cmd as unknown as { _hidden?: boolean })._hidden === true;
}

function optionSpec(o: Option): OptionSpec | undefined {
  // Internal options (`daemon --detached`) are not for people to type.
  if (o.hidden || /^internal\b/i.test(o.description ?? "")) return undefined;
  const names = [o.short, o.long].filter((n): n is string => typeof n === "string");
  const spec: OptionSpec = { names, description: o.description ?? "" };
  if (o.required || o.optional) {
    if (o.argChoices?.length) spec.value = { kind: "choices", choices: [...o.argChoices] };
    else if (/<path>|<file>|<dir>/.test(o.flags)) spec.value = { kind: "file" };
    else spec.value = { kind: "text" };
  }
  return spec;
}

function argKind(cmd: Command): ArgKind {
  const arg = cmd.registeredArguments[0];
  if (!arg) return { kind: "none" };
  if (arg.argChoices?.length) return { kind: "choices", choices: [...arg.argChoices] };
  if (arg.name() === "profiles") return { kind: "profiles" };
  if (arg.name() === "profile") return { kind: "profile" };
  if (arg.name() === "path" || arg.name() === "file") return { kind: "file" };
  return { kind: "none" };
}

function commandSpec(cmd: Command): CommandSpec {
  return {
    name: cmd.name(),
    description: cmd.description(),
    options: cmd.options.map(optionSpec).filter((o): o is OptionSpec => o !== undefined),
    args: argKind(cmd),
    subcommands: cmd.commands.filter((c) => !isHidden(c)).map(commandSpec),
  };
}

/** The completion spec of `program` (the root command); hidden commands and internal options are left out. */
export function completionSpec(program: Command): CompletionSpec {
  return {
    program: program.name(),
    globals: program.options.map(optionSpec).filter((o): o is OptionSpec => o !== undefined),
    commands: program.commands.filter((c) => !isHidden(c)).map(commandSpec),
  };
}

/** Every option of the tree that takes a value, by spelling (the first declaration of a name wins). */
export function valueOptions(spec: CompletionSpec): Map<string, ValueKind> {
  const out = new Map<string, ValueKind>();
  const add = (opts: OptionSpec[]) => {
    for (const o of opts) {
      if (!o.value) continue;
      for (const n of o.names) if (!out.has(n)) out.set(n, o.value);
    }
  };
  add(spec.globals);
  const walk = (cmds: CommandSpec[]) => {
    for (const c of cmds) {
      add(c.options);
      walk(c.subcommands);
    }
  };
  walk(spec.commands);
  return out;
}
