/**
 * The completion scripts for bash, zsh and fish, generated from a {@link CompletionSpec}. bash and zsh share
 * one candidates function written in the syntax both shells understand (`local`, `case`, `shift`); only
 * the glue to each shell's completion system differs. Profile names come from the config at completion
 * time through the hidden `__profiles` verb, run as the command the user typed (so `./kubefwd-daemon` in a
 * checkout completes too) with the `--config` already on the line.
 */
import {
  type ArgKind,
  type CommandSpec,
  type CompletionSpec,
  type OptionSpec,
  PROFILES_VERB,
  valueOptions,
} from "./spec.ts";

/** Shells with a completion script. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
/** One of {@link SHELLS}. */
export type Shell = typeof SHELLS[number];

/** The script for `shell`. */
export function completionScript(shell: Shell, spec: CompletionSpec): string {
  switch (shell) {
    case "bash":
      return bashScript(spec);
    case "zsh":
      return zshScript(spec);
    case "fish":
      return fishScript(spec);
  }
}

/** `'text'` for sh, with embedded quotes escaped. */
function shQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The program name as a shell function name part. */
function ident(program: string): string {
  return program.replace(/[^A-Za-z0-9_]/g, "_");
}

function flagWords(opts: OptionSpec[]): string[] {
  return opts.flatMap((o) => o.names.filter((n) => n.startsWith("--")));
}

/** One completion scope: a verb path (`""`, `status`, `config/validate`), its flags and its positionals. */
interface Scope {
  key: string;
  flags: string[];
  args: ArgKind;
}

function scopes(spec: CompletionSpec): Scope[] {
  const globals = [...flagWords(spec.globals), "--help"];
  const out: Scope[] = [{
    key: "/",
    flags: globals,
    args: { kind: "choices", choices: spec.commands.map((c) => c.name) },
  }];
  const add = (prefix: string, c: CommandSpec) => {
    const flags = [...flagWords(c.options), ...globals];
    if (c.subcommands.length > 0) {
      out.push({
        key: `${prefix}/`,
        flags,
        args: { kind: "choices", choices: c.subcommands.map((s) => s.name) },
      });
      for (const s of c.subcommands) {
        out.push({ key: `${prefix}/${s.name}`, flags: [...flagWords(s.options), ...globals], args: s.args });
      }
    } else {
      out.push({ key: `${prefix}/`, flags, args: c.args });
    }
  };
  for (const c of spec.commands) add(c.name, c);
  return out;
}

/** The candidates function shared by bash and zsh. Sets `kfd_kind` (words | files | none) and `kfd_words`. */
function candidatesFunction(spec: CompletionSpec): string {
  const fn = `_${ident(spec.program)}_candidates`;
  const byKind = new Map<string, string[]>();
  for (const [name, value] of valueOptions(spec)) {
    if (name === "--config") continue; // its own case: remembered for `__profiles`
    const key = value.kind === "choices" ? `words ${value.choices.join(" ")}` : value.kind;
    byKind.set(key, [...(byKind.get(key) ?? []), name]);
  }
  const valueCases = [...byKind].map(([kind, names]) => {
    const action = kind === "file"
      ? "kfd_kind=files"
      : kind === "text"
      ? "kfd_kind=none"
      : `kfd_words=${shQuote(kind.slice("words ".length))}`;
    return `      ${names.join("|")}) if [ $# -eq 0 ]; then ${action}; return 0; fi; shift; continue ;;`;
  });
  valueCases.unshift(
    `      --config) if [ $# -eq 0 ]; then kfd_kind=files; return 0; fi; config=$1; shift; continue ;;`,
  );
  const withSubs = spec.commands.filter((c) => c.subcommands.length > 0).map((c) => c.name);
  const scopeCases = scopes(spec).map((s) => {
    const pos = s.args.kind === "choices" ? `pos=${shQuote(s.args.choices.join(" "))}` : `pos=${s.args.kind}`;
    return `    ${shQuote(s.key)}) flags=${shQuote(s.flags.join(" "))}; ${pos} ;;`;
  });
  const profiles = `if [ -n "$config" ]; then command "$kfd_prog" --config "$config" ${PROFILES_VERB}; ` +
    `else command "$kfd_prog" ${PROFILES_VERB}; fi 2>/dev/null`;
  return `# Candidates for the word being completed ($1), given the words before it ($2...).
${fn}() {
  local cur=$1 verb= sub= config= npos=0 w flags= pos=none
  shift
  kfd_kind=words
  kfd_words=
  while [ $# -gt 0 ]; do
    w=$1
    shift
    case $w in
${valueCases.join("\n")}
      -*) continue ;;
    esac
    if [ -z "$verb" ]; then
      verb=$w
    elif [ -z "$sub" ] && case $verb in ${
    withSubs.length ? withSubs.join("|") : "''"
  }) true ;; *) false ;; esac; then
      sub=$w
    else
      npos=$((npos + 1))
    fi
  done
  case "$verb/$sub" in
${scopeCases.join("\n")}
    *) return 0 ;;
  esac
  case $cur in
    -*) kfd_words=$flags; return 0 ;;
  esac
  case $pos in
    profiles) kfd_words=$(${profiles}) ;;
    profile) if [ "$npos" -eq 0 ]; then kfd_words=$(${profiles}); fi ;;
    file) if [ "$npos" -eq 0 ]; then kfd_kind=files; else kfd_kind=none; fi ;;
    none) kfd_kind=none ;;
    *) if [ -n "$sub" ] || [ "$npos" -eq 0 ]; then kfd_words=$pos; fi ;;
  esac
}`;
}

function bashScript(spec: CompletionSpec): string {
  const id = ident(spec.program);
  return `# bash completion for ${spec.program}; generated by \`${spec.program} completions bash\`.
# Load it with: source <(${spec.program} completions bash)
# or install it: ${spec.program} completions bash > ~/.local/share/bash-completion/completions/${spec.program}
${candidatesFunction(spec)}

_${id}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} kfd_kind kfd_words kfd_prog=\${COMP_WORDS[0]}
  _${id}_candidates "$cur" "\${COMP_WORDS[@]:1:COMP_CWORD-1}"
  case $kfd_kind in
    files)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      ;;
    none) COMPREPLY=() ;;
    *) mapfile -t COMPREPLY < <(compgen -W "$kfd_words" -- "$cur") ;;
  esac
}
complete -F _${id} ${spec.program}
`;
}

function zshScript(spec: CompletionSpec): string {
  const id = ident(spec.program);
  return `#compdef ${spec.program}
# zsh completion for ${spec.program}; generated by \`${spec.program} completions zsh\`.
# Install it as _${spec.program} in a directory of $fpath, or load it with: source <(${spec.program} completions zsh)
${candidatesFunction(spec)}

_${id}() {
  local kfd_kind kfd_words kfd_prog=\${words[1]}
  _${id}_candidates "\${words[CURRENT]}" "\${(@)words[2,CURRENT-1]}"
  case $kfd_kind in
    files) _files ;;
    none) return 1 ;;
    *) compadd -- \${=kfd_words} ;;
  esac
}

if [ "\${funcstack[1]}" = "_${id}" ]; then
  _${id} "$@"
else
  compdef _${id} ${spec.program}
fi
`;
}

/** `'text'` for fish (backslash and quote escaped). */
function fishQuote(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function fishOption(prog: string, cond: string, o: OptionSpec): string {
  const parts = [`complete -c ${prog}`];
  if (cond) parts.push(`-n ${fishQuote(cond)}`);
  for (const n of o.names) parts.push(n.startsWith("--") ? `-l ${n.slice(2)}` : `-s ${n.slice(1)}`);
  if (o.value?.kind === "file") parts.push("-r -F");
  else if (o.value?.kind === "choices") parts.push(`-x -a ${fishQuote(o.value.choices.join(" "))}`);
  else if (o.value) parts.push("-x");
  if (o.description) parts.push(`-d ${fishQuote(firstLine(o.description))}`);
  return parts.join(" ");
}

function firstLine(text: string): string {
  return text.split("\n")[0];
}

function fishArgs(prog: string, cond: string, args: ArgKind, fn: string): string[] {
  switch (args.kind) {
    case "profiles":
    case "profile":
      return [`complete -c ${prog} -n ${fishQuote(cond)} -a '(${fn})'`];
    case "file":
      return [`complete -c ${prog} -n ${fishQuote(cond)} -F`];
    case "choices":
      return [`complete -c ${prog} -n ${fishQuote(cond)} -a ${fishQuote(args.choices.join(" "))}`];
    case "none":
      return [];
  }
}

function fishScript(spec: CompletionSpec): string {
  const prog = spec.program;
  const fn = `__${ident(prog)}_profiles`;
  const lines = [
    `# fish completion for ${prog}; generated by \`${prog} completions fish\`.`,
    `# Install it: ${prog} completions fish > ~/.config/fish/completions/${prog}.fish`,
    `complete -c ${prog} -f`,
    `function ${fn}`,
    "    set -l tokens (commandline -opc)",
    "    set -l config",
    "    set -l i (contains -i -- --config $tokens)",
    "    and set config --config $tokens[(math $i + 1)]",
    `    command $tokens[1] $config ${PROFILES_VERB} 2>/dev/null`,
    "end",
  ];
  for (const o of spec.globals) lines.push(fishOption(prog, "", o));
  for (const c of spec.commands) {
    lines.push(
      `complete -c ${prog} -n __fish_use_subcommand -a ${c.name} -d ${fishQuote(firstLine(c.description))}`,
    );
  }
  for (const c of spec.commands) {
    const inVerb = `__fish_seen_subcommand_from ${c.name}`;
    if (c.subcommands.length > 0) {
      const subs = c.subcommands.map((s) => s.name).join(" ");
      for (const s of c.subcommands) {
        lines.push(
          `complete -c ${prog} -n ${fishQuote(`${inVerb}; and not __fish_seen_subcommand_from ${subs}`)} ` +
            `-a ${s.name} -d ${fishQuote(firstLine(s.description))}`,
        );
        const inSub = `${inVerb}; and __fish_seen_subcommand_from ${s.name}`;
        for (const o of s.options) lines.push(fishOption(prog, inSub, o));
        lines.push(...fishArgs(prog, inSub, s.args, fn));
      }
    }
    for (const o of c.options) lines.push(fishOption(prog, inVerb, o));
    lines.push(...fishArgs(prog, inVerb, c.args, fn));
  }
  return lines.join("\n") + "\n";
}
