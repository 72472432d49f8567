/**
 * A minimal Kubernetes API client for one job: list the service names of a namespace, so exclude_services
 * globs can be resolved before kubefwd starts. CLI-side (it reads the kubeconfig with yaml through
 * kubeconfig.ts); the daemon reaches it through the hidden `kube list-services` verb. Plain `fetch` with
 * `Deno.createHttpClient` covers client certificates, CA bundles, bearer tokens, basic auth and exec
 * credential plugins; what it cannot do (insecure-skip-tls-verify, tls-server-name, legacy auth-provider)
 * fails with a message saying so.
 */
import { type KubeCluster, type Kubeconfig, type KubeUser, readKubeconfig } from "./kubeconfig.ts";
import { type CommandResult, runCommand } from "../run_command.ts";
import { dirname } from "../util/path.ts";
import { NamedError } from "../errors.ts";

/** What to list. `context` defaults to the kubeconfig's current-context. */
export interface ListServicesOptions {
  /** Absolute path of the kubeconfig to use. */
  kubeconfig: string;
  /** Context to use; default the kubeconfig's current-context. */
  context?: string;
  /** Namespace whose services are listed. */
  namespace: string;
  /** Label selector, as kubefwd's `-l` gets it, so the same services are seen. */
  labelSelector?: string;
  /** Whole-request budget, exec plugin included (default 20 s). */
  timeoutMs?: number;
}

/**
 * A failure to list services, phrased for the user (it ends up as the profile's start error). `cause` keeps
 * the underlying network or TLS error.
 */
export class KubeApiError extends NamedError {}

/** Credentials and TLS material resolved from a kubeconfig user and cluster. */
export interface ResolvedAuth {
  /** API server URL. */
  server: string;
  /** PEM CA certificates to trust (empty: the system store). */
  caCerts: string[];
  /** PEM client certificate. */
  cert?: string;
  /** PEM client key. */
  key?: string;
  /** Value of the Authorization header, if any. */
  authorization?: string;
  /** HTTPS proxy from the kubeconfig's `proxy-url`. */
  proxyUrl?: string;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function decodeBase64(data: string, what: string): string {
  try {
    const bin = atob(data.replace(/\s+/g, ""));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes);
  } catch (e) {
    throw new KubeApiError(`${what} is not valid base64`, { cause: e });
  }
}

/** kubeconfig file references are relative to the kubeconfig's own directory. */
function resolvePath(baseDir: string, p: string): string {
  return p.startsWith("/") ? p : `${baseDir}/${p}`;
}

async function readRef(baseDir: string, p: string, what: string): Promise<string> {
  const path = resolvePath(baseDir, p);
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new KubeApiError(`cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** What client-go puts into `spec.cluster` of KUBERNETES_EXEC_INFO when the plugin sets provideClusterInfo. */
function execClusterInfo(cluster: KubeCluster, caPem: string[]): Record<string, unknown> {
  const info: Record<string, unknown> = { server: cluster.server };
  for (const [from, to] of [["tls-server-name", "tls-server-name"], ["proxy-url", "proxy-url"]] as const) {
    const v = str(cluster.raw[from]);
    if (v) info[to] = v;
  }
  // client-go sends the CA bytes (base64 in JSON) whether the kubeconfig inlines them or names a file.
  if (caPem.length > 0) {
    info["certificate-authority-data"] = btoa(
      Array.from(new TextEncoder().encode(caPem.join("")), (b) => String.fromCharCode(b)).join(""),
    );
  }
  if (cluster.insecureSkipTlsVerify) info["insecure-skip-tls-verify"] = true;
  // kubeconfig `extensions: [{name: client.authentication.k8s.io/exec, extension: {...}}]` → spec.cluster.config
  const extensions = Array.isArray(cluster.raw.extensions) ? cluster.raw.extensions : [];
  for (const e of extensions) {
    const rec = e as Record<string, unknown> | null;
    if (rec?.name === "client.authentication.k8s.io/exec" && rec.extension !== undefined) {
      info.config = rec.extension;
    }
  }
  return info;
}

/** Runs a kubeconfig exec credential plugin and returns the ExecCredential status. */
async function runExecPlugin(
  exec: Record<string, unknown>,
  baseDir: string,
  timeoutMs: number,
  clusterInfo: () => Record<string, unknown>,
): Promise<{ token?: string; clientCertificateData?: string; clientKeyData?: string }> {
  const command = str(exec.command);
  if (!command) throw new KubeApiError("exec credential plugin has no command");
  const args = Array.isArray(exec.args) ? exec.args.filter((a): a is string => typeof a === "string") : [];
  const env: Record<string, string> = {};
  if (Array.isArray(exec.env)) {
    for (const e of exec.env) {
      const rec = e as Record<string, unknown>;
      const name = str(rec?.name);
      if (name !== undefined && typeof rec.value === "string") env[name] = rec.value;
    }
  }
  const apiVersion = str(exec.apiVersion) ?? "client.authentication.k8s.io/v1";
  env.KUBERNETES_EXEC_INFO = JSON.stringify({
    apiVersion,
    kind: "ExecCredential",
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo === true ? { cluster: clusterInfo() } : {}),
    },
  });
  // A relative command containing a slash is relative to the kubeconfig, like client-go does.
  const bin = command.includes("/") && !command.startsWith("/") ? resolvePath(baseDir, command) : command;
  let out: CommandResult;
  try {
    out = await runCommand([bin, ...args], { timeoutMs, env });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      const hint = str(exec.installHint);
      throw new KubeApiError(
        `exec credential plugin ${JSON.stringify(command)} not found on PATH${
          hint ? ` (${hint.trim()})` : ""
        }`,
        { cause: e },
      );
    }
    throw new KubeApiError(`cannot run exec credential plugin ${command}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (out.timedOut) {
    throw new KubeApiError(`exec credential plugin ${command} timed out after ${timeoutMs} ms`);
  }
  if (out.code !== 0) {
    const detail = out.stderr.trim().split("\n").slice(-1)[0] ?? "";
    throw new KubeApiError(
      `exec credential plugin ${command} failed (exit ${out.code})${detail ? `: ${detail}` : ""}`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(out.stdout);
  } catch {
    throw new KubeApiError(`exec credential plugin ${command} did not print an ExecCredential JSON document`);
  }
  // Like client-go: a plugin answering in another API version than configured is an error, not a guess.
  const returned = (doc as { apiVersion?: unknown })?.apiVersion;
  if (returned !== apiVersion) {
    throw new KubeApiError(
      `exec credential plugin ${command} is configured to use API version ${apiVersion}, ` +
        `plugin returned version ${typeof returned === "string" ? returned : "none"}`,
    );
  }
  const status = (doc as { status?: Record<string, unknown> })?.status ?? {};
  const token = str(status.token);
  const clientCertificateData = str(status.clientCertificateData);
  const clientKeyData = str(status.clientKeyData);
  if (!token && !(clientCertificateData && clientKeyData)) {
    throw new KubeApiError(
      `exec credential plugin ${command} returned neither a token nor a client certificate`,
    );
  }
  return { token, clientCertificateData, clientKeyData };
}

/**
 * Resolves TLS material and credentials for a (cluster, user) pair. Unsupported kubeconfig features are
 * errors, not silent fallbacks: a wrong listing would forward services the user excluded.
 */
export async function resolveAuth(
  cluster: KubeCluster,
  user: KubeUser | undefined,
  kubeconfigPath: string,
  timeoutMs = 20_000,
): Promise<ResolvedAuth> {
  const baseDir = dirname(kubeconfigPath);
  const server = cluster.server;
  if (!server) throw new KubeApiError(`cluster ${cluster.name} has no server`);
  if (cluster.insecureSkipTlsVerify) {
    throw new KubeApiError(
      `cluster ${cluster.name} uses insecure-skip-tls-verify, which kubefwd-daemon's API client does not ` +
        `support; use literal names (no globs) in exclude_services, or add the cluster's CA`,
    );
  }
  if (str(cluster.raw["tls-server-name"])) {
    throw new KubeApiError(
      `cluster ${cluster.name} uses tls-server-name, which kubefwd-daemon's API client does not support; ` +
        `use literal names (no globs) in exclude_services`,
    );
  }
  const auth: ResolvedAuth = { server: server.replace(/\/+$/, ""), caCerts: [] };
  if (cluster.certificateAuthorityData) {
    auth.caCerts.push(
      decodeBase64(cluster.certificateAuthorityData, `cluster ${cluster.name} certificate-authority-data`),
    );
  } else if (cluster.certificateAuthority) {
    auth.caCerts.push(await readRef(baseDir, cluster.certificateAuthority, "certificate-authority"));
  }
  const proxy = str(cluster.raw["proxy-url"]);
  if (proxy) auth.proxyUrl = proxy;
  if (!user) return auth;
  const u = user.raw;
  if (u["auth-provider"] !== undefined) {
    throw new KubeApiError(
      `user ${user.name} uses a legacy auth-provider, which kubefwd-daemon's API client does not support; ` +
        `use literal names (no globs) in exclude_services`,
    );
  }
  const certData = str(u["client-certificate-data"]);
  const keyData = str(u["client-key-data"]);
  const certFile = str(u["client-certificate"]);
  const keyFile = str(u["client-key"]);
  if (certData) auth.cert = decodeBase64(certData, `user ${user.name} client-certificate-data`);
  else if (certFile) auth.cert = await readRef(baseDir, certFile, "client-certificate");
  if (keyData) auth.key = decodeBase64(keyData, `user ${user.name} client-key-data`);
  else if (keyFile) auth.key = await readRef(baseDir, keyFile, "client-key");
  const token = str(u.token);
  const tokenFile = str(u.tokenFile);
  if (tokenFile) {
    // client-go sends the file's current content even when `token` is set too (the file is the one kept
    // fresh, e.g. a projected service account token); `token` is only the fallback when it cannot be read.
    try {
      auth.authorization = `Bearer ${(await readRef(baseDir, tokenFile, "tokenFile")).trim()}`;
    } catch (e) {
      if (!token) throw e;
      auth.authorization = `Bearer ${token}`;
    }
  } else if (token) auth.authorization = `Bearer ${token}`;
  else if (str(u.username) && typeof u.password === "string") {
    auth.authorization = `Basic ${btoa(`${u.username}:${u.password}`)}`;
  }
  const exec = u.exec;
  if (exec !== undefined && exec !== null && typeof exec === "object" && !auth.authorization && !auth.cert) {
    const cred = await runExecPlugin(
      exec as Record<string, unknown>,
      baseDir,
      timeoutMs,
      () => execClusterInfo(cluster, auth.caCerts),
    );
    if (cred.token) auth.authorization = `Bearer ${cred.token}`;
    else {
      auth.cert = cred.clientCertificateData;
      auth.key = cred.clientKeyData;
    }
  }
  if ((auth.cert === undefined) !== (auth.key === undefined)) {
    throw new KubeApiError(
      `user ${user.name} has a client certificate without a key, or a key without a certificate`,
    );
  }
  return auth;
}

/** Picks the context, cluster and user a listing uses, with user-facing errors for each gap. */
export function selectContext(
  config: Kubeconfig,
  context?: string,
): { contextName: string; cluster: KubeCluster; user: KubeUser | undefined } {
  const name = context ?? config.currentContext;
  if (!name) throw new KubeApiError(`${config.path} has no current-context; set a context in the profile`);
  const ctx = config.contexts.find((c) => c.name === name);
  if (!ctx) throw new KubeApiError(`context ${JSON.stringify(name)} not found in ${config.path}`);
  const cluster = config.clusters.find((c) => c.name === ctx.cluster);
  if (!cluster) throw new KubeApiError(`cluster ${JSON.stringify(ctx.cluster)} of context ${name} not found`);
  const user = ctx.user === "" ? undefined : config.users.find((u) => u.name === ctx.user);
  if (ctx.user !== "" && !user) {
    throw new KubeApiError(`user ${JSON.stringify(ctx.user)} of context ${name} not found`);
  }
  return { contextName: name, cluster, user };
}

/**
 * The credentials and TLS material of a kubeconfig's context (default: its current-context), resolved once
 * (exec plugins run) so that the daemon can check the API server itself (api_check.ts).
 */
export async function resolveContextAuth(
  kubeconfig: string,
  context: string | undefined,
  timeoutMs = 20_000,
): Promise<ResolvedAuth> {
  let config: Kubeconfig;
  try {
    config = await readKubeconfig(kubeconfig);
  } catch (e) {
    throw new KubeApiError(`cannot load kubeconfig ${kubeconfig}: ${(e as Error).message}`, { cause: e });
  }
  const { cluster, user } = selectContext(config, context);
  return await resolveAuth(cluster, user, kubeconfig, timeoutMs);
}

/** Builds the services list URL: `<server>/api/v1/namespaces/<ns>/services[?labelSelector=…]`. */
export function servicesUrl(server: string, namespace: string, labelSelector?: string): string {
  const base = `${server.replace(/\/+$/, "")}/api/v1/namespaces/${encodeURIComponent(namespace)}/services`;
  return labelSelector ? `${base}?labelSelector=${encodeURIComponent(labelSelector)}` : base;
}

/**
 * Lists the names of the services in one namespace (label selector applied server-side), using the
 * kubeconfig's credentials for the given or current context.
 */
export async function listServiceNames(opts: ListServicesOptions): Promise<string[]> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let config: Kubeconfig;
  try {
    config = await readKubeconfig(opts.kubeconfig);
  } catch (e) {
    throw new KubeApiError(`cannot load kubeconfig ${opts.kubeconfig}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const { contextName, cluster, user } = selectContext(config, opts.context);
  const auth = await resolveAuth(cluster, user, opts.kubeconfig, timeoutMs);
  const clientOptions: Deno.CreateHttpClientOptions = {};
  if (auth.caCerts.length > 0) clientOptions.caCerts = auth.caCerts;
  if (auth.proxyUrl) clientOptions.proxy = { url: auth.proxyUrl };
  const client = auth.cert && auth.key
    ? Deno.createHttpClient({ ...clientOptions, cert: auth.cert, key: auth.key })
    : Deno.createHttpClient(clientOptions);
  const url = servicesUrl(auth.server, opts.namespace, opts.labelSelector);
  const headers: Record<string, string> = { Accept: "application/json" };
  if (auth.authorization) headers.Authorization = auth.authorization;
  try {
    let res: Response;
    try {
      res = await fetch(url, { client, headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const err = e as Error;
      const why = err.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : err.message;
      throw new KubeApiError(
        `cannot reach the API server of context ${contextName} (${auth.server}): ${why}`,
        {
          cause: e,
        },
      );
    }
    const body = await res.text();
    if (!res.ok) {
      let detail = body.slice(0, 300);
      try {
        const status = JSON.parse(body) as { message?: string };
        if (status.message) detail = status.message;
      } catch {
        // not a Status object
      }
      throw new KubeApiError(
        `listing services in ${opts.namespace} (context ${contextName}) failed: HTTP ${res.status}${
          detail ? `: ${detail}` : ""
        }`,
      );
    }
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      throw new KubeApiError(`the API server returned a non-JSON service list`);
    }
    const items = (doc as { items?: unknown })?.items;
    if (!Array.isArray(items)) throw new KubeApiError(`the API server returned no items array`);
    const names: string[] = [];
    for (const item of items) {
      const name = (item as { metadata?: { name?: unknown } })?.metadata?.name;
      if (typeof name === "string") names.push(name);
    }
    return names.sort();
  } finally {
    client.close();
  }
}
