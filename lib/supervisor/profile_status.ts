/**
 * The `status` snapshot of one profile, assembled from what its runner knows at that moment. Pure: the
 * runner hands in its state and its live run, so the shape users and scripts read is built in one place.
 */
import type { ProfileSpec } from "../config/types.ts";
import type { KubefwdVersion } from "../kubefwd/types.ts";
import type { Run } from "./child_run.ts";
import type { ProfileRecord } from "./profile_record.ts";
import { profileFacts, stateDetail } from "./run_view.ts";
import type { ProfileState, ProfileStatus } from "./types.ts";
import { isoTime } from "../util/iso_time.ts";

/** What {@link profileStatus} reads. */
export interface StatusInput {
  name: string;
  spec: ProfileSpec;
  /** Effective enabled (the CLI's override, else the config's). */
  enabled: boolean;
  state: ProfileState;
  /** The persisted slice: counters, events, the override, the base address. */
  record: ProfileRecord;
  /** The live child's run, if a child is alive. */
  run: Run | undefined;
  /** kubefwd's own pid (below sudo when started through it). */
  kubefwdPid: number | null;
  now: number;
  /** Before this much uptime an empty profile is still starting, not "forwards nothing". */
  startupGraceMs: number;
  /** The current failure and when it happened. */
  lastError: { text: string; at: number } | null;
  /** When a backoff ends. */
  nextRetryAt: number | null;
  /** The kubefwd version of the last plan. */
  version: KubefwdVersion | undefined;
  /** Reconnects kubefwd reported since the daemon started. */
  reconnects: number;
  /** Adds the last 20 transition events. */
  details: boolean;
}

/** The status of one profile as `status` and `status --json` show it. */
export function profileStatus(input: StatusInput): ProfileStatus {
  const { run, record, now, spec } = input;
  const current = run ? now - run.spawnedAt : 0;
  const facts = profileFacts(spec);
  const status: ProfileStatus = {
    name: input.name,
    enabled: input.enabled,
    enabledSource: record.enabledOverride !== undefined ? "cli" : "config",
    state: input.state,
    pid: run?.handle?.pid ?? null,
    kubefwdPid: input.kubefwdPid,
    startedAt: run ? isoTime(run.spawnedAt) : null,
    uptimeSeconds: Math.floor(current / 1000),
    restarts: record.counters.restarts,
    failures: record.counters.failures,
    lastError: input.lastError?.text ?? null,
    lastErrorAt: input.lastError ? isoTime(input.lastError.at) : null,
    stateDetail: stateDetail({
      state: input.state,
      forwards: run?.tracker.summary(),
      graceOver: run !== undefined && current >= input.startupGraceMs,
      forwardNamespaces: run?.tracker.statuses().map((f) => f.namespace),
      ...facts,
    }),
    allowEmpty: facts.allowEmpty,
    nextRetryAt: input.nextRetryAt === null ? null : isoTime(input.nextRetryAt),
    context: spec.context ?? null,
    namespaces: [...spec.namespaces],
    kubefwdVersion: input.version?.raw ?? null,
    forwards: run ? run.tracker.statuses() : [],
    totalUptimeSeconds: Math.floor((record.counters.totalUptimeMs + current) / 1000),
    reconnects: input.reconnects,
  };
  const apiserver = run?.health?.apiStatus();
  if (apiserver) status.apiserver = apiserver;
  if (record.baseIp !== undefined) status.baseIp = record.baseIp;
  if (input.details) status.events = record.events.slice(-20);
  return status;
}
