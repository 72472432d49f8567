/**
 * What `bench:e2e` measured and how it is printed: one line per fault and runner as each finishes, and at the
 * end two Markdown tables (faults; soak) that the README can take verbatim.
 */
import { KNOBS, STABLE_MS } from "./bench_knobs.ts";

/** One fault round: recovery time, requests lost, daemon restarts (needed or not). */
export interface Round {
  recoveryMs?: number;
  /** An outage: ms from the apiserver's return (its last silent poll) to the first successful request. */
  fromApiMs?: number;
  lost: number;
  sent: number;
  restarts: number;
  needed: number;
}

/** The faults, in the order of the summary's columns. */
export type FaultKind = "pod" | "gap" | "kill" | "killUp" | "outage";

/** Column titles of the faults. */
export function faultTitle(kind: FaultKind): string {
  return {
    pod: "pod replacement",
    gap: `pod gone ${KNOBS.gapMs / 1000} s`,
    kill: "kill -9 back-to-back",
    killUp: `kill -9 after ${STABLE_MS / 1000} s up`,
    outage: `apiserver ${KNOBS.outageMode === "stop" ? "down" : "frozen"} ${
      KNOBS.outageMs / 1000
    } s (from /readyz)`,
  }[kind];
}

/** The rounds of one fault for one runner under one load. */
interface FaultResult {
  version: string;
  load: string;
  runner: "daemon" | "bare";
  label: string;
  kind: FaultKind;
  rounds: Round[];
}

/** One soak of the daemon (see bench_soak.ts). */
export interface SoakResult {
  version: string;
  load: string;
  seconds: number;
  requests: number;
  failed: number;
  restarts: number;
  /** Forward observations (one per forward per poll) in a state other than up, by state; `absent`: not listed. */
  notUp: Record<string, number>;
  /** Episodes: a forward going from up to any other state, by the state it went to. */
  notUpEpisodes: Record<string, number>;
  polls: number;
  forwards: number;
  /** Per forward: `host:port`, its probe kind and probe traffic per minute. */
  probeTraffic: string[];
  /** The 1-minute load average's range during the soak. */
  loadAvg: string;
  /** The profile's health settings (KFD_BENCH_SOAK_HEALTH). */
  health: string;
}

const faults: FaultResult[] = [];
const soaks: SoakResult[] = [];

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const secs = (ms: number) => (ms / 1000).toFixed(2);

function recoveryCell(rounds: Round[]): string {
  const ok = rounds.map((r) => r.recoveryMs).filter((x): x is number => x !== undefined);
  const never = rounds.length - ok.length;
  if (ok.length === 0) return `never (0/${rounds.length} within ${KNOBS.capMs / 1000} s)`;
  const api = rounds.map((r) => r.fromApiMs).filter((x): x is number => x !== undefined);
  return `${secs(percentile(ok, 50))} / ${secs(percentile(ok, 95))} s${
    never ? ` (${never}/${rounds.length} never)` : ""
  }${
    api.length
      ? ` (from its first answer: ${secs(percentile(api, 50))} / ${secs(percentile(api, 95))} s)`
      : ""
  }`;
}

const sum = (rounds: Round[], k: "lost" | "sent" | "restarts" | "needed") =>
  rounds.reduce((n, r) => n + r[k], 0);

/** Records a fault's rounds and prints its line at once. */
export function reportFault(
  version: string,
  load: string,
  runner: "daemon" | "bare",
  label: string,
  kind: FaultKind,
  rounds: Round[],
): void {
  if (rounds.length === 0) return;
  faults.push({ version, load, runner, label, kind, rounds });
  const lost = sum(rounds, "lost");
  const restarts = sum(rounds, "restarts");
  const needed = sum(rounds, "needed");
  console.log(
    `${label.padEnd(34)} ${faultTitle(kind).padEnd(28)} n=${rounds.length}  ${recoveryCell(rounds)}  lost ${
      (lost / rounds.length).toFixed(1)
    } req/fault (${lost}/${sum(rounds, "sent")})${
      runner === "daemon" ? `  daemon restarts ${restarts} (needed ${needed})` : ""
    }`,
  );
}

/** Records a soak and prints its line at once. */
export function reportSoak(r: SoakResult): void {
  soaks.push(r);
  console.log(
    `soak daemon + kubefwd ${r.version} (${r.load}, load avg ${r.loadAvg}, health ${r.health}) ${r.seconds} s: requests ${r.requests}, failed ${r.failed}, ` +
      `daemon restarts ${r.restarts}, forwards shown not up ${notUpCell(r)}`,
  );
  for (const t of r.probeTraffic) console.log(`  probe traffic ${t}`);
}

function notUpCell(r: SoakResult): string {
  const states = Object.keys(r.notUp);
  if (states.length === 0) return `0 (${r.polls} polls × ${r.forwards} forwards)`;
  return states.map((s) => `${s} ${r.notUpEpisodes[s] ?? 0}× (${r.notUp[s]} forward-polls)`).join(", ") +
    ` of ${r.polls} polls × ${r.forwards} forwards`;
}

/** Per-forward probe traffic, folded to one entry when every forward got the same. */
function probeCell(perForward: string[]): string {
  const rates = perForward.map((t) => t.replace(/^\S+ /, ""));
  return rates.every((r) => r === rates[0])
    ? `${rates[0]} per forward (all ${rates.length})`
    : perForward.join("; ");
}

/** The two Markdown tables: faults (one row per version, load and runner) and soaks. */
export function printSummary(): void {
  const kinds = (["pod", "gap", "kill", "killUp", "outage"] as FaultKind[])
    .filter((k) => faults.some((f) => f.kind === k));
  if (kinds.length > 0) {
    console.log(
      `\n### Recovery (fault → first successful request through the forwarded hostname; 10 requests/s; ` +
        `p50 / p95; cap ${KNOBS.capMs / 1000} s)\n`,
    );
    const head = ["kubefwd", "load", "runner", ...kinds.map(faultTitle), "lost req/fault", "daemon restarts"];
    console.log(`| ${head.join(" | ")} |`);
    console.log(`| ${head.map(() => "---").join(" | ")} |`);
    const keys = [...new Set(faults.map((f) => `${f.version}\u0000${f.load}\u0000${f.label}`))];
    for (const key of keys) {
      const [version, load, label] = key.split("\u0000");
      const mine = faults.filter((f) => f.version === version && f.load === load && f.label === label);
      const of = (k: FaultKind) => mine.find((f) => f.kind === k);
      const lost = kinds.map((k) => {
        const f = of(k);
        return f ? (sum(f.rounds, "lost") / f.rounds.length).toFixed(1) : "–";
      }).join(" · ");
      const all = mine.flatMap((f) => f.rounds);
      const restarts = mine[0].runner === "daemon"
        ? `${sum(all, "needed")} needed / ${sum(all, "restarts") - sum(all, "needed")} not`
        : "–";
      const runner = label.replace(/ \((idle|busy)\)$/, "");
      const cells = kinds.map((k) => (of(k) ? recoveryCell(of(k)!.rounds) : "–"));
      console.log(`| ${[version, load, runner, ...cells, lost, restarts].join(" | ")} |`);
    }
    console.log(`\nlost req/fault: ${kinds.map(faultTitle).join(" · ")}`);
  }
  if (soaks.length > 0) {
    console.log(`\n### Soak (healthy cluster, 1 request/s through every forward, daemon + kubefwd)\n`);
    console.log(
      "| kubefwd | load (1-min avg) | health | time | requests | failed | daemon restarts | forwards shown not up | probe traffic |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of soaks) {
      console.log(
        `| ${r.version} | ${r.load} (${r.loadAvg}) | ${r.health} | ${r.seconds} s | ${r.requests} | ${r.failed} | ${r.restarts} | ${
          notUpCell(r)
        } | ${probeCell(r.probeTraffic)} |`,
      );
    }
  }
}
