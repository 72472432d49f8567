/**
 * Everything between "start kubefwd" and a running child: plan the launch afresh (launch_plan.ts), wait for
 * the start gate (one child start at a time: /etc/hosts has no lock), spawn. The runner decides what a
 * failure means; a start that became stale meanwhile (a stop or a newer start) is dropped here.
 */
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import type { KubefwdLine } from "../kubefwd/types.ts";
import { newRun, type Run } from "./child_run.ts";
import { type LaunchPlan, planLaunch, type StartError } from "./launch_plan.ts";
import type { RunnerDeps } from "./runner_deps.ts";

/** How a start attempt ended. */
export type SpawnOutcome =
  /** A child runs; `release` opens the start gate for the next profile (the runner decides when). */
  | { kind: "spawned"; run: Run; release: () => void }
  /** No child: planning or spawning failed. */
  | { kind: "failed"; error: Pick<StartError, "kind" | "message"> }
  /** Superseded while planning or waiting at the gate: nothing happened. */
  | { kind: "stale" };

/** What {@link spawnRun} needs. */
export interface SpawnInput {
  spec: ProfileSpec;
  settings: KubefwdSettings;
  deps: RunnerDeps;
  /** True once this start is superseded. */
  stale(): boolean;
  /** The plan, as soon as there is one (version, notes and warnings for the log). */
  onPlan(plan: LaunchPlan): void;
  /** Every assembled output line of the child. */
  onLine(run: Run, line: KubefwdLine): void;
}

/** Plans, passes the start gate and spawns one kubefwd child. */
export async function spawnRun(input: SpawnInput): Promise<SpawnOutcome> {
  const { spec, settings, deps, stale } = input;
  const { baseIp, addresses } = deps.record;
  const result = await planLaunch({ spec, settings, baseIp, addresses }, deps);
  if (stale()) return { kind: "stale" };
  if (!result.ok) return { kind: "failed", error: result.error };
  const plan = result.plan;
  input.onPlan(plan);
  const release = await deps.startGate();
  if (stale()) {
    release();
    return { kind: "stale" };
  }
  const run = newRun(plan, spec, deps.tuning, deps.clock, input.onLine);
  try {
    run.handle = deps.spawner.spawn({
      argv: plan.argv,
      env: plan.env,
      onOutput: (stream, chunk) => (stream === "stdout" ? run.stdout : run.stderr).push(chunk),
    });
  } catch (e) {
    release();
    run.stdout.close();
    run.stderr.close();
    return {
      kind: "failed",
      error: { kind: "transient", message: `cannot start ${plan.argv[0]}: ${(e as Error).message}` },
    };
  }
  return { kind: "spawned", run, release };
}
