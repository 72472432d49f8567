/**
 * What a reload means for a profile that is in the config before and after it: pure, so the Supervisor only
 * applies the answer. A spec or kubefwd-settings change restarts, a change of the effective `enabled`
 * starts or stops, and a config `enabled` change that the CLI's override hides is only remembered.
 */
import type { ProfileSpec } from "../config/types.ts";
import type { MaskedEnabled } from "../ipc/protocol.ts";
import { isRecord } from "../util/is_record.ts";
import { maskedEnabled } from "./enabled_choice.ts";

/** JSON with sorted keys, so two specs compare equal whatever their key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      isRecord(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  );
}

/** Spec equality ignoring `enabled` (handled separately: it starts/stops rather than restarts). */
export function sameSpec(a: ProfileSpec, b: ProfileSpec): boolean {
  return stableJson({ ...a, enabled: null }) === stableJson({ ...b, enabled: null });
}

/** A profile as the reload finds it: its current spec and its effective `enabled`. */
export interface ProfileBefore {
  /** The spec it runs with now. */
  spec: ProfileSpec;
  /** Its effective `enabled` now (the CLI's override, else the config's). */
  enabled: boolean;
}

/** What a reload does to one kept profile. */
export interface ProfileChange {
  /**
   * `unchanged`: nothing to do. `remember`: only the config's `enabled` changed and the CLI's override hides
   * it; the runner takes the new spec and nothing else happens. `changed`: the runner applies the change.
   */
  kind: "unchanged" | "remember" | "changed";
  /** The spec or the kubefwd settings changed: a running child restarts. */
  specChanged: boolean;
  /** The effective `enabled` flipped: the profile starts or stops. */
  enabledChanged: boolean;
  /** The config's `enabled` change the override masks, for the reload's report. */
  masked?: MaskedEnabled;
}

/**
 * The change `next` makes to the profile `before`, given the CLI's persisted override and whether the
 * kubefwd settings changed (they apply to every profile).
 */
export function profileChange(
  before: ProfileBefore,
  next: ProfileSpec,
  override: boolean | undefined,
  settingsChanged: boolean,
): ProfileChange {
  const specChanged = settingsChanged || !sameSpec(before.spec, next);
  const enabledChanged = before.enabled !== (override ?? next.enabled);
  const masked = maskedEnabled(next.name, before.spec.enabled, next.enabled, override);
  const kind = specChanged || enabledChanged
    ? "changed"
    : before.spec.enabled === next.enabled
    ? "unchanged"
    : "remember";
  return { kind, specChanged, enabledChanged, ...(masked ? { masked } : {}) };
}
