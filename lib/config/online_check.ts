/**
 * `config validate --online`: what only the cluster can tell, asked the cheap way (one service list per
 * namespace, with the profile's own kubeconfig, context and labels, as kubefwd will see it). A profile whose
 * namespaces or labels match no service would start, forward nothing and be reported `degraded` by the
 * daemon; here the user hears it before starting. Findings are warnings: the cluster may change.
 */
import type { Diagnostic, ProfileSpec, ResolvedConfig } from "./types.ts";
import { matchesGlob, type ServiceLister } from "../kubefwd/exclude.ts";

/**
 * One warning per namespace of an enabled profile (without `allow_empty`) in which no service matches its
 * labels once `exclude_services` is applied, and one per namespace that could not be checked.
 */
export async function checkProfilesOnline(
  config: ResolvedConfig,
  lister: ServiceLister,
): Promise<Diagnostic[]> {
  const checks = config.profiles
    .filter((p) => p.enabled && !(p.allowEmpty ?? false))
    .flatMap((p) => p.namespaces.map((namespace, index) => checkNamespace(lister, p, namespace, index)));
  return (await Promise.all(checks)).filter((d) => d !== undefined);
}

async function checkNamespace(
  lister: ServiceLister,
  profile: ProfileSpec,
  namespace: string,
  index: number,
): Promise<Diagnostic | undefined> {
  const path = ["profiles", profile.name, "namespaces", index];
  let names: string[];
  try {
    names = await lister.list(profile, namespace);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { path, message: `profile ${profile.name}: could not check namespace ${namespace}: ${message}` };
  }
  const kept = names.filter((n) => !matchesGlob(n, profile.excludeServices));
  if (kept.length > 0) return undefined;
  const labels = profile.labels.length > 0 ? ` with labels ${profile.labels.join(",")}` : "";
  const excluded = names.length > 0 ? ` (all ${names.length} excluded by exclude_services)` : "";
  const context = profile.context !== undefined ? ` of context ${profile.context}` : "";
  return {
    path,
    message: `profile ${profile.name}: no service${labels} in namespace ${namespace}${context}${excluded}; ` +
      "kubefwd would forward nothing from it (does the namespace exist? set allow_empty: true if that is expected)",
  };
}
