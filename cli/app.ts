/**
 * The client role: parses the command line with commander, runs one verb, and maps every failure to
 * the CLI contract (exit codes, `error: …` on stderr, or one JSON error object on stdout with --json).
 */
import { Command, CommanderError } from "commander";
import { ExitCode, type ExitCodeValue, UserError } from "../lib/errors.ts";
import { VERSION } from "../lib/version.ts";
import { type CliContext, colorAllowed, createCliContext, type GlobalOptions } from "./context.ts";
import { registerConfigCommands } from "./commands/config.ts";
import { registerKubeCommands } from "./commands/kube.ts";
import { registerDaemonCommands } from "./commands/daemon.ts";
import { registerStatusCommand } from "./commands/status.ts";
import { registerLogsCommand } from "./commands/logs.ts";
import { registerMetricsCommand } from "./commands/metrics.ts";
import { registerEventsCommand } from "./commands/events.ts";
import { registerProfileCommands } from "./commands/profile_verbs.ts";
import { registerReloadCommand } from "./commands/reload.ts";
import { registerCompletionsCommands } from "./commands/completions.ts";
import { registerServiceCommands } from "./commands/service.ts";
import { registerSudoersCommand } from "./commands/sudoers.ts";

/** Commander error codes that mean "the command line was wrong" (exit 2). */
const USAGE_CODES = new Set([
  "commander.unknownOption",
  "commander.unknownCommand",
  "commander.missingArgument",
  "commander.missingMandatoryOptionValue",
  "commander.optionMissingArgument",
  "commander.excessArguments",
  "commander.invalidArgument",
  "commander.conflictingOption",
  "commander.help",
]);

/** Build the program; exported so tests can inspect the command tree. */
export function buildProgram(ctx: CliContext, jsonRequested: boolean): Command {
  const program = new Command("kubefwd-daemon")
    .description("Keeps kubefwd port-forwards alive: one supervised kubefwd per profile.")
    .option(
      "--config <path>",
      "config file (default: $KUBEFWD_DAEMON_CONFIG or ~/.config/kubefwd-daemon/config.yaml)",
    )
    .option("--socket <path>", "daemon control socket (default: from the config, else $XDG_RUNTIME_DIR)")
    .option("--json", "machine-readable output")
    .option("--no-color", "never colour the output")
    .addHelpText(
      "after",
      "\nIn a checkout, the launcher ./kubefwd-daemon also has `install` (puts a kubefwd-daemon command into " +
        "~/.local/bin)\nand `test` (the whole test suite, as `deno task test`).",
    )
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out(s.replace(/\n$/, "")),
      writeErr: (s) => ctx.err(s.replace(/\n$/, "")),
      // With --json the top-level handler prints the error as JSON instead.
      outputError: (s, write) => {
        if (!jsonRequested) write(s);
      },
    });
  program.command("version").description("print the program version").action(() => {
    if (ctx.globals().json) ctx.json({ version: VERSION });
    else ctx.out(VERSION);
  });
  registerDaemonCommands(program, ctx);
  registerProfileCommands(program, ctx);
  registerStatusCommand(program, ctx);
  registerReloadCommand(program, ctx);
  registerLogsCommand(program, ctx);
  registerMetricsCommand(program, ctx);
  registerEventsCommand(program, ctx);
  registerConfigCommands(program, ctx);
  registerKubeCommands(program, ctx);
  registerServiceCommands(program, ctx);
  registerSudoersCommand(program, ctx);
  registerCompletionsCommands(program, ctx);
  // Every subcommand inherits exitOverride and the output configuration.
  for (const cmd of program.commands) applyErrorHandling(cmd, program);
  return program;
}

function applyErrorHandling(cmd: Command, root: Command): void {
  cmd.exitOverride();
  cmd.configureOutput(root.configureOutput());
  for (const sub of cmd.commands) applyErrorHandling(sub, root);
}

/** Turn any thrown value into an exit code, printing it per the CLI contract. */
export function reportError(err: unknown, ctx: CliContext, json: boolean): ExitCodeValue {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return ExitCode.Ok;
    if (err.code === "commander.help") return ExitCode.Usage; // help shown because no verb was given
    const exit = USAGE_CODES.has(err.code) ? ExitCode.Usage : ExitCode.Error;
    if (json) {
      ctx.json({
        error: { code: exit === ExitCode.Usage ? "usage" : "error", message: stripPrefix(err.message) },
      });
    }
    return exit;
  }
  if (err instanceof UserError) {
    const details = err.details as { alreadyPrinted?: boolean } | undefined;
    if (details?.alreadyPrinted) return err.exitCode;
    if (json) ctx.json({ error: { code: err.code, message: err.message } });
    else ctx.err(`error: ${err.message}`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (json) ctx.json({ error: { code: "error", message } });
  else {
    ctx.err(`error: ${message}`);
    if (Deno.env.get("KUBEFWD_DAEMON_DEBUG") && err instanceof Error && err.stack) ctx.err(err.stack);
  }
  return ExitCode.Error;
}

function stripPrefix(message: string): string {
  return message.replace(/^error: /, "");
}

/** Run the CLI with the given arguments; returns the process exit code. */
export async function runCli(args: string[]): Promise<ExitCodeValue> {
  const jsonRequested = args.includes("--json");
  let program: Command | undefined;
  const globals = (): GlobalOptions => {
    const o = program?.opts() ?? {};
    return {
      config: o.config as string | undefined,
      socket: o.socket as string | undefined,
      json: o.json === true,
      color: colorAllowed(o.color === false),
    };
  };
  const ctx = createCliContext(globals);
  try {
    program = buildProgram(ctx, jsonRequested);
    if (args.length === 0) {
      program.outputHelp({ error: true });
      return ExitCode.Usage;
    }
    await program.parseAsync(args, { from: "user" });
    return ExitCode.Ok;
  } catch (err) {
    return reportError(err, ctx, jsonRequested);
  }
}
