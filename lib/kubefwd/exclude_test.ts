import assert from "node:assert/strict";
import type { ProfileSpec } from "../config/types.ts";
import { b64, kubeconfigYaml, makePki, startMockApiServer } from "../../tests/kube/mock_apiserver.ts";
import { selfCommand, type SelfRunResult } from "../self_command.ts";
import {
  buildExcludeFieldSelector,
  globToRegExp,
  isGlob,
  matchesGlob,
  resolveExcludedServices,
  ServiceListError,
  SubprocessServiceLister,
} from "./exclude.ts";
import { FakeServiceLister } from "../testing/fake_service_lister.ts";

function profile(over: Partial<ProfileSpec> = {}): ProfileSpec {
  return {
    name: "dev",
    enabled: true,
    kubeconfig: "/k/config",
    namespaces: ["default"],
    labels: [],
    excludeServices: [],
    mappings: [],
    extraArgs: [],
    retry: { initialDelayMs: 1, maxDelayMs: 1, multiplier: 2, maxAttempts: 0, jitter: 0, resetAfterMs: 1 },
    health: { intervalMs: 1, timeoutMs: 1, failureThreshold: 1 },
    forwardFailures: { maxFailures: 1, windowMs: 1, debounceMs: 1 },
    ...over,
  };
}

Deno.test("globToRegExp / matchesGlob", () => {
  const rows: [string, string, boolean][] = [
    ["web", "web", true],
    ["web", "web2", false],
    ["web*", "web-api", true],
    ["*-db", "orders-db", true],
    ["*-db", "orders-db2", false],
    ["*", "anything", true],
    ["we?", "web", true],
    ["we?", "we", false],
    ["db-[0-9]", "db-7", true],
    ["db-[0-9]", "db-x", false],
    ["db-[abc]", "db-b", true],
    ["db-[!abc]", "db-b", false],
    ["db-[!abc]", "db-d", true],
    ["db-[^a]", "db-b", true],
    ["a.b", "a.b", true],
    ["a.b", "axb", false],
    ["a+b(c)", "a+b(c)", true],
    ["x$", "x$", true],
    ["*mid*", "a-mid-b", true],
  ];
  for (const [pattern, name, want] of rows) {
    assert.equal(globToRegExp(pattern).test(name), want, `${pattern} ~ ${name}`);
  }
  assert.equal(matchesGlob("orders-db", ["web", "*-db"]), true);
  assert.equal(matchesGlob("orders", ["web", "*-db"]), false);
  assert.equal(matchesGlob("x", []), false);
  assert.equal(isGlob("web"), false);
  assert.equal(isGlob("web-*"), true);
});

Deno.test("buildExcludeFieldSelector", () => {
  assert.equal(buildExcludeFieldSelector([]), undefined);
  assert.equal(buildExcludeFieldSelector(["b", "a", "b", ""]), "metadata.name!=a,metadata.name!=b");
  assert.equal(buildExcludeFieldSelector(["odd,name=x"]), "metadata.name!=odd\\,name\\=x");
});

Deno.test("resolveExcludedServices: literal names need no listing, globs list every namespace", async () => {
  const lister = new FakeServiceLister({
    default: ["web", "db-primary", "db-replica"],
    other: ["db-cache", "api"],
  });
  assert.deepEqual(await resolveExcludedServices(lister, profile({ excludeServices: ["web", "ghost"] })), [
    "ghost",
    "web",
  ]);
  assert.equal(lister.calls.length, 0, "literal patterns never touch the API");
  const p = profile({ namespaces: ["default", "other"], excludeServices: ["db-*", "api"] });
  assert.deepEqual(await resolveExcludedServices(lister, p), ["api", "db-cache", "db-primary", "db-replica"]);
  assert.deepEqual(lister.calls, [{ profile: "dev", namespace: "default" }, {
    profile: "dev",
    namespace: "other",
  }]);
  lister.failWith = "cannot reach API";
  await assert.rejects(resolveExcludedServices(lister, p), ServiceListError);
});

Deno.test("SubprocessServiceLister: argv and output handling", async () => {
  const seen: string[][] = [];
  let reply: SelfRunResult = { code: 0, stdout: '{"services":["a","b"]}\n', stderr: "" };
  const lister = new SubprocessServiceLister({
    command: ["/bin/self"],
    run: (argv) => {
      seen.push(argv);
      return Promise.resolve(reply);
    },
  });
  const p = profile({ context: "kind", labels: ["app=web", "tier=x"] });
  assert.deepEqual(await lister.list(p, "ns1"), ["a", "b"]);
  assert.deepEqual(seen[0], [
    "/bin/self",
    "kube",
    "list-services",
    "--kubeconfig",
    "/k/config",
    "--context",
    "kind",
    "--namespace",
    "ns1",
    "--selector",
    "app=web,tier=x",
  ]);
  assert.deepEqual(lister.argv(profile(), "x"), [
    "/bin/self",
    "kube",
    "list-services",
    "--kubeconfig",
    "/k/config",
    "--namespace",
    "x",
  ]);
  reply = { code: 1, stdout: "", stderr: 'error: context "kind" not found in /k/config\n' };
  await assert.rejects(lister.list(p, "ns1"), /exit 1\): context "kind" not found/);
  reply = { code: 0, stdout: "not json", stderr: "" };
  await assert.rejects(lister.list(p, "ns1"), /not JSON/);
  reply = { code: 0, stdout: '{"services":[1]}', stderr: "" };
  await assert.rejects(lister.list(p, "ns1"), /unexpected output shape/);
  reply = { code: 137, stdout: "", stderr: "", timedOut: true };
  await assert.rejects(
    lister.list(p, "ns1"),
    /^ServiceListError: listing services timed out after 30000 ms$/,
  );
  const unstartable = new SubprocessServiceLister({
    command: ["/bin/self"],
    run: () => Promise.reject(new Deno.errors.NotFound("No such file or directory")),
  });
  await assert.rejects(unstartable.list(p, "ns1"), /^ServiceListError: cannot run \/bin\/self: No such file/);
});

Deno.test("SubprocessServiceLister end to end: `main.ts kube list-services` against a mock apiserver", async () => {
  await using cleanup = new AsyncDisposableStack();
  const dir = cleanup.adopt(await Deno.makeTempDir(), (d) => Deno.remove(d, { recursive: true }));
  const pki = await makePki(dir);
  const mock = cleanup.adopt(
    startMockApiServer(pki, {
      default: [["web", { app: "web" }], ["db-1", { app: "db" }], ["db-2", { app: "db" }]],
    }),
    (m) => m.close(),
  );
  const kc = `${dir}/config`;
  await Deno.writeTextFile(
    kc,
    kubeconfigYaml(mock.url, `certificate-authority-data: ${b64(pki.caCert)}`, "    token: t0k"),
  );
  assert.equal(selfCommand()[0], Deno.execPath());
  assert.ok(selfCommand()[selfCommand().length - 1].endsWith("/main.ts"));
  const lister = new SubprocessServiceLister({ timeoutMs: 60_000 });
  const p = profile({ kubeconfig: kc, excludeServices: ["db-*"] });
  assert.deepEqual(await resolveExcludedServices(lister, p), ["db-1", "db-2"]);
  assert.equal(mock.seen[0].authorization, "Bearer t0k");
  assert.deepEqual(await lister.list(profile({ kubeconfig: kc, labels: ["app=db"] }), "default"), [
    "db-1",
    "db-2",
  ]);
  await assert.rejects(
    lister.list(profile({ kubeconfig: kc, context: "missing" }), "default"),
    (e: Error) => e instanceof ServiceListError && /context "missing" not found/.test(e.message),
  );
});
