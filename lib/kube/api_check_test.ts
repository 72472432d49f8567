import assert from "node:assert/strict";
import { b64, kubeconfigYaml, makePki, startMockApiServer } from "../../tests/kube/mock_apiserver.ts";
import { HttpApiProbe, podPathAnswer, SubprocessApiProbeFactory } from "./api_check.ts";
import { resolveContextAuth } from "./services.ts";
import { testProfile } from "../testing/profile_spec.ts";

/** A mock apiserver that wants a bearer token, and a kubeconfig with a client certificate and that token. */
async function fixture() {
  const dir = await Deno.makeTempDir();
  const pki = await makePki(dir);
  const mock = startMockApiServer(pki, { ns: [["web", {}]] });
  mock.requireAuth = "Bearer s3cret";
  const kubeconfig = `${dir}/config`;
  await Deno.writeTextFile(
    kubeconfig,
    kubeconfigYaml(
      mock.url,
      `certificate-authority-data: ${b64(pki.caCert)}`,
      `    client-certificate-data: ${b64(pki.clientCert)}\n    client-key-data: ${b64(pki.clientKey)}\n` +
        "    token: s3cret",
    ),
  );
  return {
    mock,
    kubeconfig,
    [Symbol.asyncDispose]: async () => {
      await mock.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("HttpApiProbe: any answer but 401 is reachable (the mock's 404 for /api too); 401 says so; a hang times out", async () => {
  await using f = await fixture();
  const auth = await resolveContextAuth(f.kubeconfig, undefined);
  const probe = new HttpApiProbe(auth);
  try {
    assert.deepEqual(await probe.check(2000), { ok: true });
    assert.equal(f.mock.seen.at(-1)?.path, "/api");
    assert.equal(f.mock.seen.at(-1)?.authorization, "Bearer s3cret");
    f.mock.requireAuth = "Bearer other";
    assert.deepEqual(await probe.check(2000), {
      ok: false,
      why: "credentials rejected (401)",
      unauthorized: true,
    });
    f.mock.hang = true;
    assert.deepEqual(await probe.check(200), { ok: false, why: "no answer within 200 ms" });
  } finally {
    probe.close();
  }
});

Deno.test("HttpApiProbe.readyPods: the service's selector, then its Ready pods, with the profile's credentials", async () => {
  await using f = await fixture();
  const probe = new HttpApiProbe(await resolveContextAuth(f.kubeconfig, undefined));
  try {
    assert.deepEqual(await probe.readyPods("ns", "web", 2000), { kind: "pods", ready: 0 });
    f.mock.pods.ns = [{ name: "web-1", app: "web", ready: false }, {
      name: "other-1",
      app: "other",
      ready: true,
    }];
    assert.deepEqual(await probe.readyPods("ns", "web", 2000), { kind: "pods", ready: 0 });
    f.mock.pods.ns.push({ name: "web-2", app: "web", ready: true });
    assert.deepEqual(await probe.readyPods("ns", "web", 2000), { kind: "pods", ready: 1 });
    assert.deepEqual(
      f.mock.seen.map((s) => s.path),
      [
        "/api/v1/namespaces/ns/services/web",
        "/api/v1/namespaces/ns/pods",
        "/api/v1/namespaces/ns/pods",
        "/api/v1/namespaces/ns/pods",
      ],
      "the selector once, then one pod list per question",
    );
    assert.equal(f.mock.seen.at(-1)?.search, "?labelSelector=app%3Dweb&fieldSelector=status.phase%3DRunning");
    assert.ok(f.mock.seen.every((s) => s.authorization === "Bearer s3cret"));
    assert.deepEqual(await probe.readyPods("ns", "gone", 2000), { kind: "no_service" });
    f.mock.requireAuth = "Bearer other";
    assert.deepEqual(await probe.readyPods("ns", "other", 2000), {
      kind: "unknown",
      why: "service other: HTTP 401",
    });
  } finally {
    probe.close();
  }
});

Deno.test("HttpApiProbe: nothing listening is not reachable, with the error", async () => {
  const auth = { server: "https://127.0.0.1:9", caCerts: [] };
  const probe = new HttpApiProbe(auth);
  try {
    const result = await probe.check(2000);
    assert.equal(result.ok, false);
  } finally {
    probe.close();
  }
});

Deno.test("SubprocessApiProbeFactory: the real `kube auth` verb resolves the credentials; errors carry no secret", async () => {
  await using f = await fixture();
  const factory = new SubprocessApiProbeFactory();
  const probe = await factory.open(testProfile("p", { kubeconfig: f.kubeconfig, context: "mock" }));
  try {
    assert.deepEqual(await probe.check(2000), { ok: true });
  } finally {
    probe.close();
  }
  await assert.rejects(
    () => factory.open(testProfile("p", { kubeconfig: f.kubeconfig, context: "nope" })),
    (e: Error) => /context "nope" not found/.test(e.message) && !e.message.includes("s3cret"),
  );
});

Deno.test("podPathAnswer: the kubelet answering (even an error) is reachable; a failed connect is not; no permission or no pod cannot tell", () => {
  const rows: [number, string, boolean | undefined][] = [
    [200, "x", true],
    [404, "the server could not find the requested resource", true], // the node's own 404
    [400, 'container "echo" in pod "p" is waiting to start', true],
    [
      500,
      'Get "https://127.0.0.1:30250/containerLogs/ns/p/c": dial tcp 127.0.0.1:30250: connect: connection refused',
      false,
    ],
    [500, "error trying to reach service: EOF", false],
    [502, "proxy error: i/o timeout", false],
    [403, 'pods "p" is forbidden: User "dev" cannot get resource "pods/log"', undefined],
    [401, "Unauthorized", undefined],
    [404, 'pods "p" not found', undefined],
  ];
  for (const [status, body, want] of rows) {
    assert.equal(podPathAnswer(status, body, "p"), want, `${status} ${body}`);
  }
});
