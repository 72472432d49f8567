/**
 * How the program runs itself as a subprocess. The daemon delegates work that needs CLI-only libraries
 * (yaml for kubeconfigs) to a short-lived child of the same program, so those libraries never occupy the
 * daemon's memory. Under `deno run` that child is `deno run -A --no-prompt <main.ts>`; in a `deno compile`
 * binary it is the binary itself.
 */

/** True when running as a `deno compile` binary rather than under `deno run`. */
export function isStandalone(): boolean {
  const build = Deno.build as { standalone?: boolean };
  if (typeof build.standalone === "boolean") return build.standalone;
  const base = Deno.execPath().split("/").pop() ?? "";
  return base !== "deno" && base !== "deno.exe";
}

/** Absolute path of this program's main.ts (next to lib/). */
export function mainModulePath(): string {
  return decodeURIComponent(new URL("../main.ts", import.meta.url).pathname);
}

/**
 * The argv prefix that runs this program again; append the verb and its options. `--no-prompt` makes a
 * missing permission an error instead of a blocking prompt on a terminal.
 */
export function selfCommand(): string[] {
  if (isStandalone()) return [Deno.execPath()];
  return [Deno.execPath(), "run", "-A", "--no-prompt", mainModulePath()];
}

/**
 * V8 flags of the daemon: it idles most of the time, so V8's memory-saving lite mode (no optimizing
 * compilers) and a 1 MB young generation cost nothing noticeable and save ~2.5 MB of RSS. `deno compile`
 * bakes the same flags into the binary (deno.json `compile` task).
 */
export const DAEMON_V8_FLAGS = "--lite-mode,--max-semi-space-size=1";

/**
 * The argv that starts the daemon role. Under `deno run` it adds `--no-config`: the daemon imports no npm
 * package, and skipping deno.json (import map, npm resolver, lockfile) saves another ~2.5 MB of RSS.
 */
export function daemonCommand(): string[] {
  if (isStandalone()) return [Deno.execPath(), "daemon"];
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--no-prompt",
    "--no-config",
    `--v8-flags=${DAEMON_V8_FLAGS}`,
    mainModulePath(),
    "daemon",
  ];
}
