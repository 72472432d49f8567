/**
 * Two profiles forwarding the same namespace of the same context write the same /etc/hosts names, each
 * kubefwd overwriting the other's entries (and a stopped one deleting names the other owns). One rule, used
 * by `config validate` (lib/config/validate.ts, for enabled profiles) and by the daemon when `enable`,
 * `start` or `reset` would run a profile next to the others. Pure and free of parser imports, so the daemon
 * can load it.
 */

/** Literal used when neither the profile nor its kubeconfig names a context. */
export const UNRESOLVED_CONTEXT = "(current)";

/** What the overlap rule looks at in a profile. */
export interface NamespaceClaim {
  /** The profile's name. */
  name: string;
  /** Its own context; absent: the kubeconfig's current one. */
  context?: string;
  /** Its kubeconfig, to look up the current context. */
  kubeconfig: string;
  /** The namespaces it forwards. */
  namespaces: readonly string[];
}

/** One namespace a later profile shares with an earlier one. */
export interface Overlap {
  /** The later profile. */
  profile: string;
  /** Index of the namespace in the later profile's `namespaces`. */
  index: number;
  /** The shared namespace. */
  namespace: string;
  /** The context both forward it from. */
  context: string;
  /** The earlier profile that forwards it already. */
  owner: string;
}

/**
 * Every namespace of `profiles` (in order) that an earlier profile of the list already forwards in the
 * same context. The context is the profile's own, else `currentContextOf(kubeconfig)` when known, else
 * {@link UNRESOLVED_CONTEXT}.
 */
export function namespaceOverlaps(
  profiles: readonly NamespaceClaim[],
  currentContextOf: (kubeconfig: string) => string | undefined,
): Overlap[] {
  const owners = new Map<string, string>();
  const found: Overlap[] = [];
  for (const p of profiles) {
    const context = p.context ?? currentContextOf(p.kubeconfig) ?? UNRESOLVED_CONTEXT;
    p.namespaces.forEach((namespace, index) => {
      const key = `${context}\u0000${namespace}`;
      const owner = owners.get(key);
      if (owner === undefined) owners.set(key, p.name);
      else if (owner !== p.name) found.push({ profile: p.name, index, namespace, context, owner });
    });
  }
  return found;
}

/** The one-sentence explanation of an overlap (validate's diagnostic, the daemon's refusal). */
export function overlapMessage(o: Overlap): string {
  return `namespace "${o.namespace}" of context "${o.context}" is also forwarded by enabled profile "${o.owner}"; ` +
    "their /etc/hosts entries would overwrite each other (disable one or split the namespaces)";
}
