/**
 * Recovery from a daemon that died without stopping its children (kill -9, crash, power loss): the kubefwd
 * processes its state file still records are killed (verified by cmdline: process_control.ts) and their
 * hosts lines removed, by address only: kubefwd moves a hostname to its newest line, so a short name may now
 * belong to another profile's live line.
 */
import type { KubefwdSettings } from "../config/types.ts";
import type { HostsFile } from "../kubefwd/hosts.ts";
import type { PersistedProfile } from "../state/types.ts";
import type { killOrphans, OrphanReport } from "./process_control.ts";
import type { ProfileRecord } from "./profile_record.ts";

/** What orphan recovery needs from the Supervisor. */
export interface OrphanRecoveryDeps {
  /** The persisted profiles, as the previous daemon left them. */
  profiles: Record<string, PersistedProfile>;
  /** Kills the recorded children. */
  kill: typeof killOrphans;
  /** The hosts file, restricted to the range of the profile whose base address is `baseIp`. */
  hostsOf: (name: string, baseIp: string | undefined) => HostsFile;
  /** The profile's record, where a child that is gone is forgotten. */
  record: (name: string) => ProfileRecord;
  /** The daemon's log. */
  log: (level: "info" | "warn" | "error", message: string) => void;
}

/**
 * Kills every recorded child of a previous daemon and removes its hosts lines. A child that cannot be
 * stopped keeps its lines and stays recorded for the next daemon start.
 */
export async function recoverOrphans(settings: KubefwdSettings, deps: OrphanRecoveryDeps): Promise<void> {
  const orphans = Object.entries(deps.profiles).filter(([, p]) => p.child);
  for (const [name, profile] of orphans) {
    const hosts = deps.hostsOf(name, profile.baseIp);
    const child = profile.child!;
    let report: OrphanReport[];
    try {
      report = await deps.kill([child], { termWaitMs: settings.stopTimeoutMs });
    } catch (e) {
      deps.log(
        "error",
        `could not stop the kubefwd (pid ${child.pid}) profile ${name} left: ${(e as Error).message}`,
      );
      continue;
    }
    deps.log(
      "warn",
      `previous daemon left kubefwd of profile ${name} (pid ${child.pid}): ${JSON.stringify(report)}`,
    );
    if (report.some((r) => r.outcome === "kill_failed")) {
      // Still running: its hosts lines are live and it stays recorded for the next daemon start.
      deps.log(
        "error",
        `kubefwd pid ${child.pid} of profile ${name} could not be stopped; its hosts lines stay and it stays ` +
          "recorded (stop it by hand: sudo kill)",
      );
      continue;
    }
    if (child.announcedIps.length > 0) {
      try {
        const removed = await hosts.removeEntries(child.announcedIps);
        deps.log("info", `removed ${removed} stale hosts entries of profile ${name}`);
      } catch (e) {
        deps.log("error", `could not clean hosts entries of profile ${name}: ${(e as Error).message}`);
      }
    }
    deps.record(name).childGone(child.pid);
  }
}
