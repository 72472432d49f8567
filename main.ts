/**
 * Single entry point. `daemon` runs the daemon role without loading any CLI code (argument parser,
 * tables, yaml, zod): the daemon's memory budget is 40 MB and those libraries cost ~25 MB. Every other
 * verb goes to the commander-based CLI.
 */

/** Global options that take a value, so the verb scan can skip their arguments. */
const VALUE_OPTIONS = new Set(["--config", "--socket"]);

/** Index of the first positional argument (the verb), or -1. */
function verbIndex(args: string[]): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (!a.startsWith("-")) return i;
  }
  return -1;
}

if (import.meta.main) {
  const args = Deno.args;
  const verb = verbIndex(args);
  // The daemon role answers --help itself: `deno task start` runs with --no-config, without commander.
  if (verb >= 0 && args[verb] === "daemon") {
    // Before anything slow (module loading, the config subprocess): a SIGHUP's default action kills the
    // process. Signals that arrive now are held and acted on once the daemon's own handlers are in place.
    const held = new Set<Deno.Signal>();
    const hold: [Deno.Signal, () => void][] = (["SIGHUP", "SIGTERM", "SIGINT"] as const).map((signal) => [
      signal,
      () => held.add(signal),
    ]);
    for (const [signal, handler] of hold) Deno.addSignalListener(signal, handler);
    const earlySignals = {
      take: () => {
        for (const [signal, handler] of hold) Deno.removeSignalListener(signal, handler);
        return [...held];
      },
    };
    const { runDaemonFromArgs } = await import("./lib/daemon/main.ts");
    Deno.exit(await runDaemonFromArgs(args.filter((_, i) => i !== verb), earlySignals));
  } else {
    const { runCli } = await import("./cli/app.ts");
    Deno.exit(await runCli(args));
  }
}
