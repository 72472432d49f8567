/**
 * What a user verb did to one profile, as data: the Supervisor decides on the kind (e.g. "already running"
 * makes `enable` say so) and the text is rendered once, for the protocol.
 */

/** The result of start, stop, restart or a config update on one profile. */
export type ActionOutcome =
  | { kind: "started"; was?: "failed" | "backoff" | "disabled_in_config" }
  | { kind: "already"; state: "starting" | "running" | "stopped" | "disabled" }
  | { kind: "stopped" }
  | { kind: "restarted" }
  | { kind: "disabled" }
  | { kind: "updated" }
  | { kind: "shutting_down" };

/** The text the CLI shows for an outcome. */
export function describeOutcome(outcome: ActionOutcome): string {
  switch (outcome.kind) {
    case "started":
      if (outcome.was === "failed") return "started (was failed)";
      if (outcome.was === "backoff") return "started now (was waiting to retry)";
      if (outcome.was === "disabled_in_config") {
        return "started (disabled in config: until stopped or the daemon restarts)";
      }
      return "started";
    case "already":
      return `already ${outcome.state}`;
    case "shutting_down":
      return "shutting down";
    default:
      return outcome.kind;
  }
}
