import assert from "node:assert/strict";
import {
  b64,
  kubeconfigYaml,
  makePki,
  type MockApiServer,
  startMockApiServer,
  type TestPki,
} from "../../tests/kube/mock_apiserver.ts";
import { KubeApiError, listServiceNames, servicesUrl } from "./services.ts";

const SERVICES: Record<string, [string, Record<string, string>][]> = {
  default: [["web", { app: "web" }], ["api", { app: "api" }], ["db-primary", { app: "db" }], ["db-replica", {
    app: "db",
  }]],
  "team-a": [["svc-1", {}]],
};

/** A temp dir, a test PKI and a mock apiserver serving SERVICES; `await using` stops and removes them. */
async function mockApiServer(): Promise<
  { pki: TestPki; mock: MockApiServer; dir: string } & AsyncDisposable
> {
  const dir = await Deno.makeTempDir();
  const pki = await makePki(dir);
  const mock = startMockApiServer(pki, SERVICES);
  return {
    pki,
    mock,
    dir,
    [Symbol.asyncDispose]: async () => {
      await mock.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function writeKubeconfig(dir: string, text: string, name = "config"): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("servicesUrl encodes namespace and selector", () => {
  assert.equal(
    servicesUrl("https://h:6443/", "default"),
    "https://h:6443/api/v1/namespaces/default/services",
  );
  assert.equal(
    servicesUrl("https://h/k8s/clusters/c-1", "a b", "app=web,tier!=db"),
    "https://h/k8s/clusters/c-1/api/v1/namespaces/a%20b/services?labelSelector=app%3Dweb%2Ctier!%3Ddb",
  );
});

Deno.test("listServiceNames: client certificate data + CA data, label selector", async () => {
  await using fixture = await mockApiServer();
  const { pki, mock, dir } = fixture;
  const kc = await writeKubeconfig(
    dir,
    kubeconfigYaml(
      mock.url,
      `certificate-authority-data: ${b64(pki.caCert)}`,
      `    client-certificate-data: ${b64(pki.clientCert)}\n    client-key-data: ${b64(pki.clientKey)}`,
    ),
  );
  assert.deepEqual(await listServiceNames({ kubeconfig: kc, namespace: "default" }), [
    "api",
    "db-primary",
    "db-replica",
    "web",
  ]);
  assert.deepEqual(
    await listServiceNames({ kubeconfig: kc, namespace: "default", labelSelector: "app=db" }),
    ["db-primary", "db-replica"],
  );
  assert.deepEqual(await listServiceNames({ kubeconfig: kc, namespace: "empty" }), []);
  assert.equal(mock.seen[1].search, "?labelSelector=app%3Ddb");
  assert.equal(mock.seen[0].authorization, null);
});

Deno.test("listServiceNames: CA and key files relative to the kubeconfig, bearer token, token file, basic auth", async () => {
  await using fixture = await mockApiServer();
  const { mock, dir } = fixture;
  await Deno.mkdir(`${dir}/sub`);
  await Deno.writeTextFile(`${dir}/sub/token`, "file-token\n");
  const rows: [string, string][] = [
    ["    token: abc.def", "Bearer abc.def"],
    ["    tokenFile: token", "Bearer file-token"],
    ["    username: admin\n    password: s3cret", `Basic ${btoa("admin:s3cret")}`],
    [
      "    client-certificate: ../client.crt\n    client-key: ../client.key\n    token: both",
      "Bearer both",
    ],
    // client-go: with both, the file's content is sent; `token` only when the file cannot be read
    ["    token: inline\n    tokenFile: token", "Bearer file-token"],
    ["    token: inline\n    tokenFile: no-such-file", "Bearer inline"],
  ];
  for (const [user, auth] of rows) {
    const kc = await writeKubeconfig(
      `${dir}/sub`,
      kubeconfigYaml(mock.url, "certificate-authority: ../ca.crt", user),
    );
    mock.requireAuth = auth;
    assert.deepEqual(await listServiceNames({ kubeconfig: kc, namespace: "team-a" }), ["svc-1"], user);
  }
  mock.requireAuth = "Bearer other";
  const kc = await writeKubeconfig(
    `${dir}/sub`,
    kubeconfigYaml(mock.url, "certificate-authority: ../ca.crt", "    token: wrong"),
  );
  await assert.rejects(
    listServiceNames({ kubeconfig: kc, namespace: "default" }),
    /HTTP 401: Unauthorized/,
  );
});

Deno.test("listServiceNames: exec credential plugin token", async () => {
  await using fixture = await mockApiServer();
  const { pki, mock, dir } = fixture;
  const plugin = `${dir}/get-token`;
  await Deno.writeTextFile(
    plugin,
    `#!/bin/sh
case "$KUBERNETES_EXEC_INFO" in *'"interactive":false'*) ;; *) echo "no exec info" >&2; exit 5;; esac
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-%s-%s"}}' "$1" "$MY_ENV"
`,
  );
  await Deno.chmod(plugin, 0o755);
  const user = `    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./get-token
      args: ["arg1"]
      env:
      - name: MY_ENV
        value: val
      interactiveMode: Never`;
  const kc = await writeKubeconfig(
    dir,
    kubeconfigYaml(mock.url, `certificate-authority-data: ${b64(pki.caCert)}`, user),
  );
  mock.requireAuth = "Bearer exec-arg1-val";
  assert.deepEqual(await listServiceNames({ kubeconfig: kc, namespace: "team-a" }), ["svc-1"]);

  const missing = user.replace("./get-token", "kubefwd-daemon-no-such-plugin");
  const kc2 = await writeKubeconfig(
    dir,
    kubeconfigYaml(mock.url, `certificate-authority-data: ${b64(pki.caCert)}`, missing),
    "c2",
  );
  await assert.rejects(listServiceNames({ kubeconfig: kc2, namespace: "team-a" }), /not found on PATH/);

  await Deno.writeTextFile(
    `${dir}/fail`,
    "#!/bin/sh\necho 'token expired, run aws sso login' >&2\nexit 1\n",
  );
  await Deno.chmod(`${dir}/fail`, 0o755);
  const kc3 = await writeKubeconfig(
    dir,
    kubeconfigYaml(
      mock.url,
      `certificate-authority-data: ${b64(pki.caCert)}`,
      user.replace("./get-token", "./fail"),
    ),
    "c3",
  );
  await assert.rejects(
    listServiceNames({ kubeconfig: kc3, namespace: "team-a" }),
    /failed \(exit 1\): token expired/,
  );
});

Deno.test("listServiceNames: exec plugin API version must match; provideClusterInfo passes the cluster", async () => {
  await using fixture = await mockApiServer();
  const { pki, mock, dir } = fixture;
  const plugin = `${dir}/plugin`;
  // Prints its KUBERNETES_EXEC_INFO to a file, answers with the API version given as $1.
  await Deno.writeTextFile(
    plugin,
    `#!/bin/sh
printf '%s' "$KUBERNETES_EXEC_INFO" > "${dir}/exec-info.json"
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"tok"}}' "$1"
`,
  );
  await Deno.chmod(plugin, 0o755);
  const user = (configured: string, returned: string, extra = "") =>
    `    exec:\n      apiVersion: ${configured}\n      command: ./plugin\n      args: ["${returned}"]${extra}`;
  const v1 = "client.authentication.k8s.io/v1";
  const v1beta1 = "client.authentication.k8s.io/v1beta1";
  const ca = `certificate-authority-data: ${b64(pki.caCert)}`;
  mock.requireAuth = "Bearer tok";

  const mismatch = await writeKubeconfig(dir, kubeconfigYaml(mock.url, ca, user(v1beta1, v1)), "mismatch");
  await assert.rejects(
    listServiceNames({ kubeconfig: mismatch, namespace: "team-a" }),
    /configured to use API version client\.authentication\.k8s\.io\/v1beta1, plugin returned version client\.authentication\.k8s\.io\/v1$/,
  );

  const plain = await writeKubeconfig(dir, kubeconfigYaml(mock.url, ca, user(v1beta1, v1beta1)), "plain");
  assert.deepEqual(await listServiceNames({ kubeconfig: plain, namespace: "team-a" }), ["svc-1"]);
  const noCluster = JSON.parse(await Deno.readTextFile(`${dir}/exec-info.json`));
  assert.deepEqual(noCluster, {
    apiVersion: v1beta1,
    kind: "ExecCredential",
    spec: { interactive: false },
  });

  // CA from a file: spec.cluster carries its bytes (base64), like client-go's ConfigToExecCluster.
  await Deno.writeTextFile(`${dir}/ca-file.crt`, pki.caCert);
  const withInfo = await writeKubeconfig(
    dir,
    kubeconfigYaml(
      mock.url,
      "certificate-authority: ca-file.crt\n    extensions:\n    - name: client.authentication.k8s.io/exec\n" +
        "      extension: {audience: kfd}",
      user(v1, v1, "\n      provideClusterInfo: true"),
    ),
    "info",
  );
  assert.deepEqual(await listServiceNames({ kubeconfig: withInfo, namespace: "team-a" }), ["svc-1"]);
  const info = JSON.parse(await Deno.readTextFile(`${dir}/exec-info.json`));
  assert.equal(info.spec.cluster.server, mock.url);
  assert.equal(atob(info.spec.cluster["certificate-authority-data"]), pki.caCert);
  assert.deepEqual(info.spec.cluster.config, { audience: "kfd" });
});

Deno.test("listServiceNames: errors are explicit (context, CA, RBAC, unsupported features, timeout)", async () => {
  await using fixture = await mockApiServer();
  const { pki, mock, dir } = fixture;
  const good = kubeconfigYaml(mock.url, `certificate-authority-data: ${b64(pki.caCert)}`, "    token: t");
  const kc = await writeKubeconfig(dir, good);
  await assert.rejects(
    listServiceNames({ kubeconfig: kc, context: "nope", namespace: "default" }),
    /context "nope" not found/,
  );
  await assert.rejects(
    listServiceNames({ kubeconfig: kc, namespace: "forbidden" }),
    /HTTP 403: services is forbidden/,
  );
  await assert.rejects(
    listServiceNames({ kubeconfig: `${dir}/missing`, namespace: "default" }),
    /cannot load kubeconfig/,
  );

  const noCa = await writeKubeconfig(dir, kubeconfigYaml(mock.url, "", "    token: t"), "noca");
  await assert.rejects(
    listServiceNames({ kubeconfig: noCa, namespace: "default" }),
    (e: Error) => e instanceof KubeApiError && /cannot reach the API server/.test(e.message),
  );

  for (
    const [caLine, user, re] of [
      ["insecure-skip-tls-verify: true", "    token: t", /insecure-skip-tls-verify/],
      [
        `certificate-authority-data: ${b64(pki.caCert)}\n    tls-server-name: foo`,
        "    token: t",
        /tls-server-name/,
      ],
      [
        `certificate-authority-data: ${b64(pki.caCert)}`,
        "    auth-provider:\n      name: gcp",
        /auth-provider/,
      ],
    ] as const
  ) {
    const p = await writeKubeconfig(dir, kubeconfigYaml(mock.url, caLine, user), "unsupported");
    await assert.rejects(listServiceNames({ kubeconfig: p, namespace: "default" }), re);
  }

  mock.hang = true;
  const started = Date.now();
  await assert.rejects(
    listServiceNames({ kubeconfig: kc, namespace: "default", timeoutMs: 300 }),
    /timed out after 300 ms/,
  );
  assert.ok(Date.now() - started < 5000);
});
