/**
 * Structured events parsed from kubefwd's output (see docs/kubefwd-compatibility.md#runtime-events).
 * Shared by the output parser, the simulator tests and the supervisor.
 */

/** logrus level prefixes kubefwd prints (after ANSI stripping). */
export type KubefwdLevel = "INFO" | "WARN" | "ERRO" | "FATA" | "DEBU";

/** Which pipe a line came from. */
export type OutputStream = "stdout" | "stderr";

/** One logical output line: ANSI stripped, continuation lines joined with "\n". */
export interface KubefwdLine {
  /** The pipe it came from: only stdout lines have a level. */
  stream: OutputStream;
  /** The logrus level; absent on stderr and for bare lines without a prefix. */
  level?: KubefwdLevel;
  /** kubefwd's own local HH:MM:SS, when present. */
  clock?: string;
  /** The message, trailing padding removed. */
  message: string;
}

/** A `Port-Forward:` line: kubefwd is *attempting* this forward (not proof it is up). */
export interface ForwardAnnouncement {
  /** The local address kubefwd chose. */
  ip: string;
  /** The hostname written to the hosts file (`svc`, `svc.ns`, `pod.svc`…). */
  hostname: string;
  /** The local port (after `-m`). */
  localPort: number;
  /** The pod being forwarded to. */
  pod: string;
  /** The pod's port, a number or a port name. */
  podPort: string;
}

/** What a line means to the supervisor. `other` lines are only logged. */
export type KubefwdEvent =
  | { kind: "version"; version: string }
  | { kind: "forward"; forward: ForwardAnnouncement }
  /** `Pod <pod> deleted|marked for deletion, resyncing the <svc>.<ns>.<ctx> service pods.` */
  | { kind: "pod_deleted"; pod: string; serviceKey: string; markedOnly: boolean }
  /** v1.23+: `Lost connection to <ns>/<pod>: <err>`; 1.22.x: `Runtime: lost connection to pod` (no pod). */
  | { kind: "lost_connection"; namespace?: string; pod?: string; error: string }
  | { kind: "portforward_error"; namespace?: string; pod: string; error: string }
  | { kind: "stopped_forwarding"; pod: string; serviceKey: string }
  | { kind: "reconnect_scheduled"; serviceKey: string; delay: string }
  | { kind: "reconnect_attempt"; serviceKey: string }
  | { kind: "no_running_pods"; serviceKey: string }
  | { kind: "pods_available"; serviceKey: string }
  /** `unable to listen on any of the requested ports` / `address already in use`. */
  | { kind: "listen_conflict"; error: string; namespace?: string; pod?: string }
  | { kind: "ip_exhausted"; message: string }
  | { kind: "list_failed"; message: string }
  | { kind: "fatal"; message: string }
  /** The multi-line "requires superuser privileges" text (kubefwd then exits 0). */
  | { kind: "not_root" }
  | { kind: "shutting_down" }
  | { kind: "clean_exit" }
  | { kind: "other" };

/** A parsed kubefwd version; `0.0.0` (source build) is treated as newest. */
export interface KubefwdVersion {
  /** The version as printed, without a `v`. */
  raw: string;
  /** Major version. */
  major: number;
  /** Minor version: 22 to 25 decide the feature gates. */
  minor: number;
  /** Patch version. */
  patch: number;
  /** True for `0.0.0`. */
  sourceBuild: boolean;
}
