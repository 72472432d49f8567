/**
 * The end of a CLI verb that runs until the user stops it (`logs -f`, `events -f`, `status --watch`): Ctrl-C
 * aborts the signal, and the verb ends normally (exit 0) instead of being killed mid-line.
 */

/** Runs `run` with a signal that SIGINT aborts; the listener is gone again when `run` ends. */
export async function untilInterrupted<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    return await run(stop.signal);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}
