/**
 * The user's side of the root helper's credential broker (README § Security). Root kubefwd never reads the
 * user's kubeconfig: the helper asks this program, run as the user, for the cluster's address and CA
 * (`kube broker-cluster`), writes a root-owned kubeconfig from those checked values alone, and gives it one
 * user: an exec plugin that is the helper itself, which drops back to the user and asks this program for a
 * credential (`kube broker-credential`). So exec plugins, token files and client keys are run and read as the
 * user, never as root; root kubefwd gets only the resulting token or certificate.
 */
import { readKubeconfig } from "../kube/kubeconfig.ts";
import { KubeApiError, resolveAuth, type ResolvedAuth, selectContext } from "../kube/services.ts";
import { childEnvironment } from "../supervisor/privilege.ts";

/** What `kube broker-cluster` prints: one `key=value` per line, the only cluster facts the helper uses. */
export function clusterLines(auth: ResolvedAuth): string {
  const lines = [`server=${auth.server}`];
  if (auth.caCerts.length > 0) lines.push(`certificate-authority-data=${base64(auth.caCerts.join(""))}`);
  if (auth.proxyUrl) lines.push(`proxy-url=${auth.proxyUrl}`);
  return lines.join("\n") + "\n";
}

/** What `kube broker-credential` prints: a v1 ExecCredential with a bearer token or a client certificate. */
export function execCredential(auth: ResolvedAuth, context: string): Record<string, unknown> {
  let status: Record<string, string>;
  if (auth.authorization?.startsWith("Bearer ")) {
    status = { token: auth.authorization.slice("Bearer ".length) };
  } else if (auth.authorization !== undefined) {
    throw new KubeApiError(
      `context ${context} uses basic authentication, which the root helper cannot pass to kubefwd`,
    );
  } else if (auth.cert !== undefined && auth.key !== undefined) {
    status = { clientCertificateData: auth.cert, clientKeyData: auth.key };
  } else {
    throw new KubeApiError(
      `context ${context} has no credentials (no token, client certificate or exec plugin)`,
    );
  }
  return { apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status };
}

function base64(text: string): string {
  return btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(""));
}

async function load(kubeconfig: string, context: string | undefined) {
  try {
    return selectContext(await readKubeconfig(kubeconfig), context);
  } catch (e) {
    if (e instanceof KubeApiError) throw e;
    throw new KubeApiError(`cannot load kubeconfig ${kubeconfig}: ${(e as Error).message}`, { cause: e });
  }
}

/** The cluster facts of `context` (no credential is resolved: no plugin runs). */
export async function brokerCluster(kubeconfig: string, context: string | undefined): Promise<string> {
  const { cluster } = await load(kubeconfig, context);
  return clusterLines(await resolveAuth(cluster, undefined, kubeconfig));
}

/** The credential of `context`, resolved as the user running this (its exec plugin runs here). */
export async function brokerCredential(
  kubeconfig: string,
  context: string | undefined,
): Promise<Record<string, unknown>> {
  const { contextName, cluster, user } = await load(kubeconfig, context);
  // The helper starts this with a login's PATH: add the usual plugin directories, as the daemon does for
  // kubefwd (gke-gcloud-auth-plugin, kubelogin, aws in ~/.local/bin, …).
  const env = Deno.env.toObject();
  if (env.HOME) Deno.env.set("PATH", childEnvironment(env, env.HOME).PATH);
  return execCredential(await resolveAuth(cluster, user, kubeconfig), contextName);
}
