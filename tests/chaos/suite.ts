/**
 * The chaos suite's frame: each fault class is one Deno test with its own environment; each injection of
 * the fault is a run followed by every invariant check (invariants.ts); the daemon is stopped at the end
 * and checked once more. One table (markdown, for the README) sums it all up after the last test.
 */
import { ChaosEnv, type ChaosEnvOptions } from "./chaos_env.ts";
import { checkAll, type Expectation, type Invariant, INVARIANTS } from "./invariants.ts";

/** One row of the table. */
interface Row {
  fault: string;
  runs: number;
  failures: number;
  held: Record<Invariant, { runs: number; held: number; items: number }>;
  notes: string[];
  problems: string[];
}

const rows: Row[] = [];

/** What a fault body gets. */
export interface FaultContext {
  env: ChaosEnv;
  /**
   * One injection: `body` injects the fault and checks the fault's own expectations (throwing when one
   * fails); then every invariant is checked. Whatever `body` returns is scanned for secrets too.
   */
  run(label: string, body: () => Promise<string[] | void>, expect?: Partial<Expectation>): Promise<void>;
  /** A remark for the table (which mechanism was used, what was measured). */
  note(text: string): void;
}

/** Options of a fault class. */
export interface FaultOptions extends ChaosEnvOptions {
  /** Cleanup that must run even when the fault fails (unmount). */
  finally?: (env: ChaosEnv) => Promise<void>;
}

/** Registers one fault class as a test. */
export function fault(
  name: string,
  body: (ctx: FaultContext) => Promise<void>,
  options: FaultOptions = {},
): void {
  const row: Row = {
    fault: name,
    runs: 0,
    failures: 0,
    held: Object.fromEntries(INVARIANTS.map((i) => [i, { runs: 0, held: 0, items: 0 }])) as Row["held"],
    notes: [],
    problems: [],
  };
  rows.push(row);
  Deno.test({
    name: `chaos: ${name}`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      let env: ChaosEnv | undefined;
      try {
        env = await ChaosEnv.create(options);
        const ctx = context(env, row);
        await body(ctx);
        if (env.daemonAlive) {
          await ctx.run("stop at the end", async () => {
            const code = await env!.stopDaemon();
            if (code !== 0) throw new Error(`the daemon exited ${code} on stop`);
          }, { daemonRunning: false });
        }
      } catch (e) {
        row.failures++;
        row.problems.push(`fault aborted: ${(e as Error).stack ?? e}`);
      } finally {
        if (env) {
          await options.finally?.(env).catch((e) => row.problems.push(`cleanup: ${(e as Error).message}`));
          await env.cleanup();
        }
      }
      if (row.failures > 0 || row.runs === 0) {
        throw new Error(`${name}: ${row.failures} of ${row.runs} runs failed:\n${row.problems.join("\n")}`);
      }
    },
  });
}

function context(env: ChaosEnv, row: Row): FaultContext {
  return {
    env,
    note: (text) => row.notes.push(text),
    run: async (label, body, expect = {}) => {
      row.runs++;
      const problems: string[] = [];
      let extra: string[] = [];
      try {
        extra = (await body()) ?? [];
      } catch (e) {
        problems.push(`${label}: ${(e as Error).stack ?? e}`);
      }
      const results = await checkAll(env, { daemonRunning: true, ...expect }, extra);
      for (const r of results) {
        const cell = row.held[r.invariant];
        cell.runs++;
        cell.items += r.checked;
        if (r.ok) cell.held++;
        else problems.push(`${label}: ${r.invariant}: ${r.detail}`);
      }
      if (problems.length > 0) {
        row.failures++;
        row.problems.push(...problems);
      }
    },
  };
}

/** The table as markdown; `n/m (k)`: held in n of m runs, k items checked (outputs, lines, pids, profiles). */
export function renderTable(): string {
  const header = ["fault class", "runs", "failures", ...INVARIANTS, "notes"];
  const lines = [header, header.map(() => "---")];
  for (const r of rows) {
    lines.push([
      r.fault,
      String(r.runs),
      String(r.failures),
      ...INVARIANTS.map((i) => {
        const c = r.held[i];
        return c.runs === 0 ? "not run" : `${c.held}/${c.runs} (${c.items})`;
      }),
      r.notes.join("; "),
    ]);
  }
  return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** Prints the table (and writes it to $CHAOS_TABLE when set) once every test has run. */
export function printTableAtExit(): void {
  globalThis.addEventListener("unload", () => {
    const table = renderTable();
    const legend =
      "n/m (k): the invariant held in n of m checks; k = items checked (CLI and daemon outputs and " +
      "files scanned for secrets, hosts lines, simulator processes, profiles)";
    console.log(`\nchaos suite\n\n${table}\n\n${legend}`);
    const file = Deno.env.get("CHAOS_TABLE");
    if (file) Deno.writeTextFileSync(file, `${table}\n\n${legend}\n`);
  });
}
