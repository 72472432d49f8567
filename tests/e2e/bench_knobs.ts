/**
 * Every knob of `deno task bench:e2e`, read once from the environment, so each bench module sees the same
 * values and tests/e2e/README.md can list them from one place.
 */

const num = (name: string, fallback: number): number => {
  const raw = Deno.env.get(name);
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw}: expected a number >= 0`);
  return n;
};
const words = (name: string, fallback: string): string[] =>
  (Deno.env.get(name) ?? fallback).split(/\s+/).filter(Boolean);

/** One CPU load a bench run repeats everything under. */
export type Load = "idle" | "busy";

const loads = words("KFD_BENCH_LOADS", "idle");
for (const l of loads) {
  if (l !== "idle" && l !== "busy") throw new Error(`KFD_BENCH_LOADS: "${l}" is neither idle nor busy`);
}
const outageMode = Deno.env.get("KFD_BENCH_OUTAGE_MODE") ?? "stop";
if (outageMode !== "stop" && outageMode !== "freeze") {
  throw new Error(`KFD_BENCH_OUTAGE_MODE=${outageMode}: expected stop or freeze`);
}
const only = Deno.env.get("KFD_BENCH_ONLY") ?? "";
if (only !== "" && only !== "daemon" && only !== "bare") {
  throw new Error(`KFD_BENCH_ONLY=${only}: expected daemon or bare`);
}

/** The bench's settings (see tests/e2e/README.md § bench:e2e). */
export const KNOBS = {
  /** Rounds of pod replacement and of each kill -9 variant. */
  rounds: num("KFD_BENCH_ROUNDS", 10),
  /** A round without a successful request this long after the fault counts as "never". */
  capMs: num("KFD_BENCH_CAP_S", 20) * 1000,
  /** CPU loads to repeat everything under, in order. */
  loads: loads as Load[],
  /** Rounds of a pod gone for `gapMs` before its replacement appears. */
  gapRounds: num("KFD_BENCH_GAP_ROUNDS", 0),
  gapMs: num("KFD_BENCH_GAP_S", 20) * 1000,
  /** Rounds of an apiserver outage, daemon and bare. */
  outageRounds: num("KFD_BENCH_OUTAGE_ROUNDS", 2),
  /** How long the apiserver is out (stopped, or frozen) before it is brought back. */
  outageMs: num("KFD_BENCH_OUTAGE_S", 20) * 1000,
  /** `stop` (the process is stopped and started: connections reset) or `freeze` (SIGSTOP/SIGCONT: a blackhole). */
  outageMode: outageMode as "stop" | "freeze",
  /** Soak seconds per load and version (daemon only); 0: no soak. */
  soakMs: num("KFD_BENCH_SOAK_S", 0) * 1000,
  /**
   * The soak profile's `health`: `default` (the product's defaults: no health key), `bench` (the fault
   * rounds' interval 1 s, timeout 1 s, threshold 2), or a flow mapping used as is.
   */
  soakHealth: Deno.env.get("KFD_BENCH_SOAK_HEALTH") || "default",
  /** Only the daemon or only bare kubefwd (the soak is daemon-only either way). */
  only: only as "" | "daemon" | "bare",
  /** More kubefwd flags for the bare runs. */
  bareArgs: words("KFD_BENCH_BARE_ARGS", ""),
  /** kubefwd versions, set by run.sh. */
  versions: words("KFD_E2E_KUBEFWD_VERSIONS", ""),
};

/** Healthy run before an isolated kill: the bench profile's `reset_after`, so the kill is not a crash loop. */
export const STABLE_MS = 5000;
