/**
 * Minimal kubeconfig reader (CLI side only: it imports `yaml`). It reads just enough structure for
 * `config validate` (does the context exist?), `config init` (which contexts can the user pick?) and
 * the Kubernetes API client that resolves credentials next to this file.
 */
import { parse } from "yaml";
import { isRecord } from "../util/is_record.ts";
import { NamedError } from "../errors.ts";

/** One `contexts[]` entry: the (cluster, user, namespace) triple a context names. */
export interface KubeContext {
  /** The context's name, as `-x` and `context:` in a profile name it. */
  name: string;
  /** Name of the `clusters[]` entry it uses. */
  cluster: string;
  /** Name of the `users[]` entry it uses. */
  user: string;
  /** The context's default namespace, when set. */
  namespace?: string;
}

/** One `clusters[]` entry. Fields are kept raw so the API client can interpret them. */
export interface KubeCluster {
  /** The cluster's name. */
  name: string;
  /** API server URL. */
  server?: string;
  /** Path of a CA bundle file. */
  certificateAuthority?: string;
  /** Base64 CA bundle. */
  certificateAuthorityData?: string;
  /** Skip TLS verification (the API client refuses this rather than ignoring it). */
  insecureSkipTlsVerify?: boolean;
  /** The whole `cluster:` mapping as parsed, for fields this reader does not name. */
  raw: Record<string, unknown>;
}

/** One `users[]` entry. Credentials are kept raw; resolving them is the API client's job. */
export interface KubeUser {
  /** The user's name. */
  name: string;
  /** The whole `user:` mapping as parsed (token, client-certificate, exec, …). */
  raw: Record<string, unknown>;
}

/** The parts of a kubeconfig the daemon's CLI needs. */
export interface Kubeconfig {
  /** Absolute or caller-given path the file was read from. */
  path: string;
  /** The `current-context`, used when a profile names no context. */
  currentContext?: string;
  /** Every `contexts[]` entry. */
  contexts: KubeContext[];
  /** Every `clusters[]` entry. */
  clusters: KubeCluster[];
  /** Every `users[]` entry. */
  users: KubeUser[];
}

/**
 * Raised when the file exists but is not a kubeconfig at all (not YAML, not a mapping). `cause` keeps the
 * parser's error.
 */
export class KubeconfigError extends NamedError {}

function asRecord(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function namedEntries(value: unknown): { name: string; body: Record<string, unknown> }[] {
  if (!Array.isArray(value)) return [];
  const out: { name: string; body: Record<string, unknown> }[] = [];
  for (const item of value) {
    const rec = asRecord(item);
    const name = asString(rec.name);
    if (name === undefined) continue;
    out.push({ name, body: rec });
  }
  return out;
}

/**
 * Parses kubeconfig text. Entries without a name are skipped (kubectl ignores them too); a document
 * that is empty yields an empty kubeconfig, because kubectl treats an empty file as "no contexts".
 */
export function parseKubeconfig(text: string, path = "<memory>"): Kubeconfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new KubeconfigError(`${path}: not valid YAML: ${(e as Error).message.split("\n")[0]}`, {
      cause: e,
    });
  }
  if (doc === null || doc === undefined) return { path, contexts: [], clusters: [], users: [] };
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new KubeconfigError(`${path}: not a kubeconfig (top level is not a mapping)`);
  }
  const root = doc as Record<string, unknown>;
  const contexts: KubeContext[] = namedEntries(root.contexts).map(({ name, body }) => {
    const ctx = asRecord(body.context);
    const namespace = asString(ctx.namespace);
    return {
      name,
      cluster: asString(ctx.cluster) ?? "",
      user: asString(ctx.user) ?? "",
      ...(namespace !== undefined ? { namespace } : {}),
    };
  });
  const clusters: KubeCluster[] = namedEntries(root.clusters).map(({ name, body }) => {
    const c = asRecord(body.cluster);
    const cluster: KubeCluster = { name, raw: c };
    const server = asString(c.server);
    if (server !== undefined) cluster.server = server;
    const ca = asString(c["certificate-authority"]);
    if (ca !== undefined) cluster.certificateAuthority = ca;
    const caData = asString(c["certificate-authority-data"]);
    if (caData !== undefined) cluster.certificateAuthorityData = caData;
    if (typeof c["insecure-skip-tls-verify"] === "boolean") {
      cluster.insecureSkipTlsVerify = c["insecure-skip-tls-verify"];
    }
    return cluster;
  });
  const users: KubeUser[] = namedEntries(root.users).map(({ name, body }) => ({
    name,
    raw: asRecord(body.user),
  }));
  const currentContext = asString(root["current-context"]);
  return { path, ...(currentContext !== undefined ? { currentContext } : {}), contexts, clusters, users };
}

/**
 * Reads and parses a kubeconfig file. Rejects with the Deno error (NotFound, PermissionDenied) when the
 * file cannot be read, and with {@link KubeconfigError} when it is not a kubeconfig, so callers can tell
 * "missing" from "broken" when they phrase a warning.
 */
export async function readKubeconfig(path: string): Promise<Kubeconfig> {
  const text = await Deno.readTextFile(path);
  return parseKubeconfig(text, path);
}

/** Looks up a context by name; undefined when the kubeconfig does not define it. */
export function findContext(config: Kubeconfig, name: string): KubeContext | undefined {
  return config.contexts.find((c) => c.name === name);
}
