/**
 * A tiny HTTPS Kubernetes API stand-in for tests: a throwaway CA and server certificate made with openssl,
 * Deno.serve with TLS on 127.0.0.1, and `GET /api/v1/namespaces/<ns>/services` answered from a map; one
 * service (`services/<name>`, selector `app=<name>`) and the pods of a selector from the same map and `pods`.
 * Also writes kubeconfigs that point at it with the different credential styles.
 */

/** PEM material generated for one test run. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
}

/** Generates a CA, a server certificate for 127.0.0.1 and a client certificate, all in `dir`. */
export async function makePki(dir: string): Promise<TestPki> {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=test-ca",
  ]);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(dir, [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  ]);
  await Deno.writeTextFile(`${dir}/client.ext`, "extendedKeyUsage=clientAuth\n");
  await openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "client.key",
    "-out",
    "client.csr",
    "-subj",
    "/CN=dev-user/O=system:masters",
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "client.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "client.crt",
    "-days",
    "2",
    "-extfile",
    "client.ext",
  ]);
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  return {
    dir,
    caCert: await read("ca.crt"),
    serverCert: await read("server.crt"),
    serverKey: await read("server.key"),
    clientCert: await read("client.crt"),
    clientKey: await read("client.key"),
  };
}

/** One request the mock saw. */
export interface SeenRequest {
  path: string;
  search: string;
  authorization: string | null;
}

/** A running mock API server. */
export interface MockApiServer {
  url: string;
  seen: SeenRequest[];
  /** Set to make every request hang until close() (for timeout tests). */
  hang: boolean;
  /** Required Authorization header value; others get 401. Undefined = anyone. */
  requireAuth: string | undefined;
  /** Pods per namespace, with their `app` label: `GET pods?labelSelector=app=X` lists those of app X. */
  pods: Record<string, { name: string; app: string; ready: boolean }[]>;
  close(): Promise<void>;
}

/** Starts the mock on a free port. `services` maps namespace → [name, labels][]. */
export function startMockApiServer(
  pki: TestPki,
  services: Record<string, [string, Record<string, string>][]>,
): MockApiServer {
  const releases: (() => void)[] = [];
  const state: MockApiServer = {
    url: "",
    seen: [],
    hang: false,
    requireAuth: undefined,
    pods: {},
    close: async () => {},
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: pki.serverCert, key: pki.serverKey, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      state.seen.push({
        path: url.pathname,
        search: url.search,
        authorization: req.headers.get("authorization"),
      });
      if (state.hang) await new Promise<void>((r) => releases.push(r));
      if (state.requireAuth !== undefined && req.headers.get("authorization") !== state.requireAuth) {
        return Response.json({ kind: "Status", status: "Failure", message: "Unauthorized", code: 401 }, {
          status: 401,
        });
      }
      const one = /^\/api\/v1\/namespaces\/([^/]+)\/(services|pods)\/?([^/]*)$/.exec(url.pathname);
      if (one && (one[2] === "pods" || one[3] !== "")) return podsAnswer(one, url, services, state.pods);
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/services$/.exec(url.pathname);
      if (!m) return Response.json({ kind: "Status", message: "not found", code: 404 }, { status: 404 });
      const ns = decodeURIComponent(m[1]);
      if (ns === "forbidden") {
        return Response.json({
          kind: "Status",
          message:
            `services is forbidden: User "dev" cannot list resource "services" in API group "" in the namespace "forbidden"`,
          code: 403,
        }, { status: 403 });
      }
      const selector = url.searchParams.get("labelSelector");
      const terms = selector ? selector.split(",").map((t) => t.split("=")) : [];
      const items = (services[ns] ?? [])
        .filter(([, labels]) => terms.every(([k, v]) => labels[k] === v))
        .map(([name, labels]) => ({ metadata: { name, namespace: ns, labels } }));
      return Response.json({ kind: "ServiceList", apiVersion: "v1", items });
    },
  );
  state.url = `https://127.0.0.1:${server.addr.port}`;
  state.close = async () => {
    for (const r of releases) r();
    await server.shutdown();
  };
  return state;
}

/** `services/<name>` (selector app=<name>, 404 when unknown) and `pods?labelSelector=app=X`. */
function podsAnswer(
  match: RegExpExecArray,
  url: URL,
  services: Record<string, [string, Record<string, string>][]>,
  pods: MockApiServer["pods"],
): Response {
  const ns = decodeURIComponent(match[1]);
  if (match[2] === "services") {
    const name = decodeURIComponent(match[3]);
    if (!(services[ns] ?? []).some(([n]) => n === name)) {
      return Response.json({ kind: "Status", message: `services "${name}" not found`, code: 404 }, {
        status: 404,
      });
    }
    return Response.json({
      kind: "Service",
      metadata: { name, namespace: ns },
      spec: { selector: { app: name } },
    });
  }
  const app = (url.searchParams.get("labelSelector") ?? "").replace(/^app=/, "");
  const items = (pods[ns] ?? []).filter((p) => p.app === app).map((p) => ({
    metadata: { name: p.name, namespace: ns, labels: { app: p.app } },
    status: { phase: "Running", conditions: [{ type: "Ready", status: p.ready ? "True" : "False" }] },
  }));
  return Response.json({ kind: "PodList", apiVersion: "v1", items });
}

/** Kubeconfig YAML for the mock with the given user block (already indented for `user:`). */
export function kubeconfigYaml(
  server: string,
  caLine: string,
  userBlock: string,
  extraContexts = "",
): string {
  return `apiVersion: v1
kind: Config
current-context: mock
clusters:
- name: mock
  cluster:
    server: ${server}
    ${caLine}
contexts:
- name: mock
  context:
    cluster: mock
    user: dev
${extraContexts}users:
- name: dev
  user:
${userBlock}
`;
}

/** base64 of a string (for the *-data fields). */
export function b64(s: string): string {
  return btoa(s);
}
