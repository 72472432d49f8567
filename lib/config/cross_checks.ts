/**
 * Checks of a validated config against the world outside the file: each profile's kubeconfig and context
 * (warnings: the file may appear later), and enabled profiles that would forward the same namespace of the
 * same context (an error: their hosts names would overwrite each other). load.ts supplies what it read.
 */
import { didYouMean, suggest } from "./did_you_mean.ts";
import { namespaceOverlaps, overlapMessage } from "./overlap.ts";
import type { Diagnostic } from "./types.ts";
import { keyPosition, valuePosition } from "./locate.ts";
import type { Validation } from "./validate.ts";

/** What reading one kubeconfig found; produced by load.ts, consumed by the checks below. */
export type KubeconfigStatus =
  | { ok: true; currentContext?: string; contexts: string[] }
  | { ok: false; problem: "missing" | "unreadable" | "invalid"; detail: string };

/** `~/…` for paths under home: shorter messages, and the user wrote them that way. */
export function displayPath(path: string, home: string): string {
  return path === home ? "~" : path.startsWith(home + "/") ? "~" + path.slice(home.length) : path;
}

/**
 * Warnings about each profile's kubeconfig and context. Warnings, not errors: the kubeconfig may be
 * created later (cloud CLIs write it on login), and the daemon retries failed profiles on changes.
 */
export function checkKubeconfigs(
  v: Validation,
  statusOf: (kubeconfig: string) => KubeconfigStatus | undefined,
  home: string,
): void {
  const reported = new Set<string>();
  for (const p of v.config.profiles) {
    const status = statusOf(p.kubeconfig);
    if (!status) continue;
    const kcPath = ["profiles", p.name, "kubeconfig"];
    const kcPos = v.explicitKubeconfig.has(p.name)
      ? valuePosition(v.root, kcPath)
      : keyPosition(v.root, ["profiles", p.name]);
    const shown = displayPath(p.kubeconfig, home);
    if (!status.ok) {
      // One warning per kubeconfig, at its first user: five profiles sharing a missing file is one problem.
      if (reported.has(p.kubeconfig)) continue;
      reported.add(p.kubeconfig);
      const users = v.config.profiles.filter((q) => q.kubeconfig === p.kubeconfig).map((q) => q.name);
      const what = status.problem === "missing"
        ? "does not exist"
        : status.problem === "unreadable"
        ? `cannot be read (${status.detail})`
        : `is not usable: ${status.detail}`;
      const also = users.length > 1 ? ` (used by profiles ${users.join(", ")})` : "";
      v.warnings.push({ path: kcPath, ...kcPos, message: `kubeconfig ${shown} ${what}${also}` });
      continue;
    }
    if (p.context !== undefined) {
      if (!status.contexts.includes(p.context)) {
        const ctxPath = ["profiles", p.name, "context"];
        const available = status.contexts.length === 0
          ? "it defines no contexts"
          : `available: ${status.contexts.slice(0, 8).join(", ")}${status.contexts.length > 8 ? ", …" : ""}`;
        v.warnings.push({
          path: ctxPath,
          ...valuePosition(v.root, ctxPath),
          message: `context "${p.context}" not found in kubeconfig ${shown}${
            didYouMean(suggest(p.context, status.contexts))
          }; ${available}`,
        });
      }
    } else if (status.currentContext === undefined) {
      v.warnings.push({
        path: ["profiles", p.name],
        ...keyPosition(v.root, ["profiles", p.name]),
        message: `no context set and kubeconfig ${shown} has no current-context; set "context"`,
      });
    }
  }
}

/**
 * Two enabled profiles forwarding the same namespace of the same context would write the same
 * /etc/hosts names, each kubefwd overwriting the other's entries (the rule: lib/config/overlap.ts).
 */
export function checkContextConflicts(
  v: Validation,
  currentContextOf: (kubeconfig: string) => string | undefined,
): void {
  for (const o of namespaceOverlaps(v.config.profiles.filter((p) => p.enabled), currentContextOf)) {
    const path = ["profiles", o.profile, "namespaces", o.index];
    v.errors.push({ path, ...valuePosition(v.root, path), message: overlapMessage(o) });
  }
}

/** Orders diagnostics by position (position-less ones first), keeping discovery order for ties. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (a.d.line ?? 0) - (b.d.line ?? 0) || (a.d.column ?? 0) - (b.d.column ?? 0) || a.i - b.i)
    .map(({ d }) => d);
}
