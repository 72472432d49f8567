/**
 * What every CLI verb gets: the global options and output helpers that honour `--json` and colour
 * rules. Verbs print only through this, so `--json` output stays a single JSON document and tests can
 * capture output.
 */

/** Global options of the CLI contract. */
export interface GlobalOptions {
  config?: string;
  socket?: string;
  json: boolean;
  color: boolean;
}

/** Output and options shared by all verbs. */
export interface CliContext {
  globals(): GlobalOptions;
  /** One line (or block) of human output on stdout. */
  out(text: string): void;
  /** One line of human output on stderr (notes, warnings). */
  err(text: string): void;
  /** A JSON document on stdout (pretty when on a TTY, compact otherwise). */
  json(value: unknown): void;
}

const encoder = new TextEncoder();

function writeAllSync(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const data = encoder.encode(text);
  let off = 0;
  try {
    while (off < data.length) off += file.writeSync(data.subarray(off));
  } catch (e) {
    // The reader went away (`logs -f | head`): nothing left to do, and nothing to complain about.
    if (e instanceof Deno.errors.BrokenPipe) Deno.exit(0);
    throw e;
  }
}

/**
 * Colour is used only when stdout is a terminal, NO_COLOR is unset (any value disables it, per
 * no-color.org) and `--no-color` was not given.
 */
export function colorAllowed(noColorFlag: boolean): boolean {
  if (noColorFlag) return false;
  if ((Deno.env.get("NO_COLOR") ?? "") !== "") return false;
  return Deno.stdout.isTerminal();
}

/** A context writing to the process's stdout/stderr. `getGlobals` is read lazily (after parsing). */
export function createCliContext(getGlobals: () => GlobalOptions): CliContext {
  return {
    globals: getGlobals,
    out: (text) => writeAllSync(Deno.stdout, text.endsWith("\n") ? text : text + "\n"),
    err: (text) => writeAllSync(Deno.stderr, text.endsWith("\n") ? text : text + "\n"),
    json: (value) =>
      writeAllSync(Deno.stdout, JSON.stringify(value, null, Deno.stdout.isTerminal() ? 2 : 0) + "\n"),
  };
}
