/**
 * Stopping kubefwd without leftovers (docs/kubefwd-compatibility.md#signals-and-shutdown): SIGTERM to the
 * process we spawned (its whole group when direct; sudo alone when via sudo, which relays it), wait
 * stop_timeout, a second SIGTERM (v1.23+: forced exit that still cleans hosts), wait, then SIGKILL of kubefwd
 * itself (SIGKILL of sudo would orphan the root kubefwd). Never SIGHUP. Also: finding and killing the
 * children a crashed daemon left behind, verified by /proc cmdline, never by name.
 */
import type { Clock } from "../clock.ts";
import type { OwnedChild } from "../state/types.ts";
import type { ChildHandle, ExitStatus } from "./spawner.ts";
import { valueOnTimeout, waitFor } from "../util/async.ts";
import { runCommand } from "../run_command.ts";
import { readInstalledRootHelper, rootHelperKillArgv } from "../sudo/root_helper.ts";

/** Wait after the second SIGTERM before SIGKILL. */
export const DEFAULT_SECOND_TERM_WAIT_MS = 3000;
/** Wait after SIGKILL before giving up on the exit. */
export const DEFAULT_KILL_WAIT_MS = 5000;

/** SIGKILLs a root kubefwd (default {@link sudoKillPid}); true when it succeeded. Injectable for tests. */
export type SudoKill = (pid: number) => Promise<boolean>;

/** Options of {@link stopChild}. */
export interface StopOptions {
  /** Timers of the escalation (fake in tests). */
  clock: Clock;
  /** The child is sudo: signal sudo only (it relays), SIGKILL kubefwd itself. */
  viaSudo: boolean;
  /** Wait after the first SIGTERM (KubefwdSettings.stopTimeoutMs). */
  stopTimeoutMs: number;
  /** Wait after the second SIGTERM (default {@link DEFAULT_SECOND_TERM_WAIT_MS}). */
  secondTermWaitMs?: number;
  /** Wait after SIGKILL (default {@link DEFAULT_KILL_WAIT_MS}). */
  killWaitMs?: number;
  /** How to SIGKILL root kubefwd under sudo (default: `sudo -n kill -KILL <pid>`). */
  sudoKill?: SudoKill;
  /** The kubefwd pids under a sudo pid (default {@link kubefwdPidsUnder}, from /proc). */
  findChildren?: (pid: number) => number[];
  /** Progress notes for the daemon log ("sent second SIGTERM", …). */
  onStep?: (message: string) => void;
}

/** How a stop went. */
export interface StopResult {
  /** The exit status, or null when the child did not exit even after SIGKILL. */
  exit: ExitStatus | null;
  /** The last step that was needed. */
  escalation: "term" | "second_term" | "kill";
}

/** Resolves with the promise's value, or `undefined` after `ms` on `clock`; the timer never outlives it. */
function within<T>(promise: Promise<T>, clock: Clock, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = clock.setTimeout(() => {
      if (settled) return;
      settled = true;
      resolve(undefined);
    }, ms);
    promise.then((v) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      resolve(v);
    });
  });
}

/**
 * Stops one spawned child with the escalation above. Resolves once it has exited (or after the SIGKILL
 * wait, with `exit: null`, if even that failed — e.g. root kubefwd and no sudo rule for kill).
 */
export async function stopChild(child: ChildHandle, opts: StopOptions): Promise<StopResult> {
  const { clock, viaSudo } = opts;
  const note = opts.onStep ?? (() => {});
  // Direct: the group, so credential-plugin subprocesses go too. Via sudo: sudo only; it relays to kubefwd.
  const term = () => child.kill("SIGTERM", { group: !viaSudo });
  term();
  let exit = await within(child.exited, clock, opts.stopTimeoutMs);
  if (exit) return { exit, escalation: "term" };

  note(
    `kubefwd (pid ${child.pid}) still running ${opts.stopTimeoutMs} ms after SIGTERM: sending a second SIGTERM`,
  );
  term();
  exit = await within(child.exited, clock, opts.secondTermWaitMs ?? DEFAULT_SECOND_TERM_WAIT_MS);
  if (exit) return { exit, escalation: "second_term" };

  if (viaSudo) {
    const kids = (opts.findChildren ?? kubefwdPidsUnder)(child.pid);
    const sudoKill = opts.sudoKill ?? sudoKillPid;
    note(`kubefwd under sudo (pid ${child.pid}) ignored two SIGTERMs: SIGKILL of kubefwd pid(s) [${kids}]`);
    let killed = kids.length > 0;
    for (const pid of kids) killed = (await sudoKill(pid)) && killed;
    if (!killed) {
      // Last resort: without a sudo rule for kill, SIGKILL sudo itself so the daemon is not stuck. This
      // may orphan a root kubefwd; say so.
      note(`could not SIGKILL kubefwd under sudo (pid ${child.pid}); killing sudo (kubefwd may be orphaned)`);
      child.kill("SIGKILL", { group: true });
    }
  } else {
    note(`kubefwd (pid ${child.pid}) ignored two SIGTERMs: SIGKILL of its process group`);
    child.kill("SIGKILL", { group: true });
  }
  exit = await within(child.exited, clock, opts.killWaitMs ?? DEFAULT_KILL_WAIT_MS);
  return { exit: exit ?? null, escalation: "kill" };
}

// ---------------------------------------------------------------------------------------------------------
// /proc helpers

/** The raw /proc/<pid>/cmdline (arguments each followed by NUL), or null when there is no such process. */
export function readCmdline(pid: number): string | null {
  try {
    return new TextDecoder().decode(Deno.readFileSync(`/proc/${pid}/cmdline`));
  } catch {
    return null;
  }
}

/** A cmdline in the form stored in {@link OwnedChild.cmdline}: arguments joined with NUL. */
export function cmdlineOf(argv: string[]): string {
  return argv.join("\0");
}

function normalizeCmdline(s: string): string {
  return s.replace(/\0+$/, "");
}

const KUBEFWD_VERBS = new Set(["svc", "svcs", "services"]);

/**
 * Whether a /proc cmdline is the recorded spawn. Wrappers exec away after the spawn (`setpriv … --`, a
 * shell script that execs the binary), so an exact match is not required: the current arguments must end
 * with the recorded kubefwd arguments from the `svc` verb on, which include the profile's own `-z` file
 * path and so cannot match another program or another profile.
 */
export function sameCommand(currentCmdline: string, recordedCmdline: string): boolean {
  const current = normalizeCmdline(currentCmdline);
  const recorded = normalizeCmdline(recordedCmdline);
  if (current === recorded) return true;
  const recordedArgs = recorded.split("\0");
  const verb = recordedArgs.findIndex((a) => KUBEFWD_VERBS.has(a));
  if (verb < 0) return false;
  const tail = recordedArgs.slice(verb);
  if (!tail.some((a) => a.endsWith(".fwdconf.yml"))) return false;
  const currentArgs = current.split("\0");
  if (currentArgs.length < tail.length) return false;
  return currentArgs.slice(currentArgs.length - tail.length).every((a, i) => a === tail[i]);
}

/** Whether /proc shows `pid` running the recorded command (zombies and reused pids do not). */
export function isSameProcess(pid: number, recordedCmdline: string): boolean {
  const current = readCmdline(pid);
  if (current === null || current === "") return false;
  return sameCommand(current, recordedCmdline);
}

function parseStat(text: string): { ppid: number; pgrp: number; state: string } | null {
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const f = text.slice(close + 2).split(" ");
  return { state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]) };
}

/**
 * Direct children of `pid`: /proc/<pid>/task/<tid>/children when the kernel has it, else a /proc scan by
 * parent pid. Used to find the root kubefwd under sudo.
 */
export function findChildPids(pid: number): number[] {
  const found = new Set<number>();
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`);
      for (const p of text.trim().split(/\s+/)) if (p !== "") found.add(Number(p));
    }
    return [...found];
  } catch {
    // No CONFIG_PROC_CHILDREN, or the process is gone: fall back to a scan.
  }
  try {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const st = parseStat(Deno.readTextFileSync(`/proc/${e.name}/stat`));
        if (st && st.ppid === pid) found.add(Number(e.name));
      } catch {
        // exited during the scan
      }
    }
  } catch {
    // no /proc (not Linux)
  }
  return [...found];
}

/** Pids of live (non-zombie) processes in process group `pgrp`, from /proc. */
export function processGroupMembers(pgrp: number): number[] {
  const out: number[] = [];
  try {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const st = parseStat(Deno.readTextFileSync(`/proc/${e.name}/stat`));
        if (st && st.pgrp === pgrp && st.state !== "Z") out.push(Number(e.name));
      } catch {
        // exited during the scan
      }
    }
  } catch {
    // no /proc
  }
  return out;
}

function isSudo(cmdline: string | null): boolean {
  const argv0 = cmdline?.split("\0")[0] ?? "";
  return argv0 === "sudo" || argv0.endsWith("/sudo");
}

/**
 * The kubefwd under a sudo pid: sudo's first descendants that are not sudo themselves. With `use_pty` (Debian's
 * default) sudo forks a monitor, itself `sudo …`, and kubefwd is the monitor's child; without it kubefwd is
 * sudo's child. `children` and `cmdline` are /proc by default (injectable for tests).
 */
export function kubefwdPidsUnder(
  pid: number,
  children: (pid: number) => number[] = findChildPids,
  cmdline: (pid: number) => string | null = readCmdline,
): number[] {
  let level = children(pid);
  for (let depth = 0; depth < 3 && level.length > 0; depth++) {
    const others = level.filter((p) => !isSudo(cmdline(p)));
    if (others.length > 0) return others;
    level = level.flatMap((p) => children(p));
  }
  return [];
}

/** kubefwd's own pid: the child itself, or, started through sudo, the kubefwd under it (null while none is). */
export function kubefwdPidOf(
  pid: number,
  viaSudo: boolean,
  findChildren: (pid: number) => number[] = kubefwdPidsUnder,
): number | null {
  return viaSudo ? findChildren(pid)[0] ?? null : pid;
}

async function succeeds(argv: string[]): Promise<boolean> {
  try {
    const out = await runCommand(argv, { timeoutMs: 10_000, discardStdout: true });
    return out.code === 0 && !out.timedOut;
  } catch {
    return false;
  }
}

/**
 * SIGKILL of a root kubefwd, each attempt bounded to 10 s: through the root helper's `kill` when one is
 * installed (it kills only a kubefwd it started for this user), else (or when that is refused) the older
 * broad rule's `sudo -n kill -KILL <pid>`.
 */
export async function sudoKillPid(pid: number): Promise<boolean> {
  const helper = readInstalledRootHelper();
  if (helper !== undefined && await succeeds(rootHelperKillArgv(pid, helper.path))) {
    return true;
  }
  return await succeeds(["sudo", "-n", "kill", "-KILL", String(pid)]);
}

function trySignal(pid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** What {@link killOrphans} did with one recorded child. */
export interface OrphanReport {
  /** The recorded pid. */
  pid: number;
  /**
   * gone: no such process; not_ours: the pid now runs something else (left alone); stopped: exited after
   * SIGTERM; killed: needed SIGKILL; kill_failed: still there after everything.
   */
  outcome: "gone" | "not_ours" | "stopped" | "killed" | "kill_failed";
  /** What was seen, for the daemon log. */
  detail?: string;
}

/** Options of {@link killOrphans}. */
export interface KillOrphansOptions {
  /** Wait after the first SIGTERM; default 10 s (kubefwd's graceful exit normally takes < 1 s). */
  termWaitMs?: number;
  /** Wait after the second SIGTERM. */
  secondTermWaitMs?: number;
  /** Wait after SIGKILL. */
  killWaitMs?: number;
  /** How often to check whether the process is gone. */
  pollMs?: number;
  /** How to SIGKILL a root kubefwd (default `sudo -n kill -KILL <pid>`). */
  sudoKill?: SudoKill;
}

/** True once `pid` no longer runs `cmdline`, false if it still does after `ms`. */
function waitGone(pid: number, cmdline: string, ms: number, pollMs: number): Promise<boolean> {
  return waitFor(() => !isSameProcess(pid, cmdline), ms, { step: pollMs }).then(
    () => true,
    valueOnTimeout(false),
  );
}

/**
 * Stops kubefwd children recorded by a daemon that died without stopping them (kill -9, crash). Each one is
 * touched only if /proc/<pid>/cmdline still equals the recorded command line, so a recycled pid is never
 * signalled. Same escalation as {@link stopChild}: SIGTERM (group when direct, sudo when via sudo), second
 * SIGTERM, SIGKILL of kubefwd itself. Children are handled in parallel. Needs /proc (Linux; `-A` in Deno).
 */
export function killOrphans(children: OwnedChild[], opts: KillOrphansOptions = {}): Promise<OrphanReport[]> {
  const termWait = opts.termWaitMs ?? 10_000;
  const secondWait = opts.secondTermWaitMs ?? DEFAULT_SECOND_TERM_WAIT_MS;
  const killWait = opts.killWaitMs ?? DEFAULT_KILL_WAIT_MS;
  const poll = opts.pollMs ?? 50;
  const sudoKill = opts.sudoKill ?? sudoKillPid;
  return Promise.all(children.map(async (child): Promise<OrphanReport> => {
    const { pid, cmdline } = child;
    const current = readCmdline(pid);
    if (current === null || current === "") return { pid, outcome: "gone" };
    if (!sameCommand(current, cmdline)) {
      return {
        pid,
        outcome: "not_ours",
        detail: `pid ${pid} now runs ${
          JSON.stringify(normalizeCmdline(current).replaceAll("\0", " ").slice(0, 120))
        }`,
      };
    }
    const term = () =>
      child.viaSudo ? trySignal(pid, "SIGTERM") : (trySignal(-pid, "SIGTERM") || trySignal(pid, "SIGTERM"));
    term();
    if (await waitGone(pid, cmdline, termWait, poll)) {
      return { pid, outcome: "stopped", detail: "after SIGTERM" };
    }
    term();
    if (await waitGone(pid, cmdline, secondWait, poll)) {
      return { pid, outcome: "stopped", detail: "after a second SIGTERM" };
    }
    if (child.viaSudo) {
      const kids = kubefwdPidsUnder(pid);
      for (const k of kids) await sudoKill(k);
      if (!(await waitGone(pid, cmdline, killWait, poll))) trySignal(pid, "SIGKILL");
    } else {
      if (!trySignal(-pid, "SIGKILL")) trySignal(pid, "SIGKILL");
    }
    if (await waitGone(pid, cmdline, killWait, poll)) return { pid, outcome: "killed", detail: "SIGKILL" };
    return { pid, outcome: "kill_failed", detail: "still running after SIGKILL" };
  }));
}
