import assert from "node:assert/strict";
import { MASK, maskPath, maskSecrets } from "./mask.ts";

const HOME = "/home/ana";
const JWT =
  "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLXBhcnQ";
const B64 = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBd2dIZ0p2dDZzZEZyUk5x";

const SECRET_CASES: [string, string, string][] = [
  ["bearer header", "Authorization: Bearer abc.def-123_xyz", "Authorization: Bearer ***"],
  ["basic header", "Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"],
  ["lower-case bearer in error", "failed with bearer token: s3cr3t", "failed with bearer token: ***"],
  ["token colon", "token: abcdef123456", "token: ***"],
  ["token equals", "using token=abcdef", "using token=***"],
  ["json token", '{"token":"abc123","user":"x"}', '{"token":"***","user":"x"}'],
  ["yaml token quoted", "    token: 'abc123'", "    token: '***'"],
  ["--token=", "kubectl --token=abc123 get pods", "kubectl --token=*** get pods"],
  ["--token space", "kubectl --token abc123 get pods", "kubectl --token *** get pods"],
  ["--password", "login --password hunter2 now", "login --password *** now"],
  [
    "api key env",
    "env KUBEFWD_API_KEY=0123456789abcdef0123456789abcdef kubefwd svc",
    "env KUBEFWD_API_KEY=*** kubefwd svc",
  ],
  [
    "other secret env",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI GITHUB_TOKEN=ghp_x",
    "AWS_SECRET_ACCESS_KEY=*** GITHUB_TOKEN=***",
  ],
  ["quoted env", 'DB_PASSWORD="a b c" next', "DB_PASSWORD=*** next"],
  [
    "kubefwd generated API key",
    "API key (generated): 9f86d081884c7d659a2feaa0c55ad015",
    "API key (generated): ***",
  ],
  [
    "kubefwd generated API key with logrus prefix",
    'time="2026-01-01T00:00:00Z" level=info msg="API key (generated): 9f86d081884c7d659a2feaa0c55ad015"',
    'time="2026-01-01T00:00:00Z" level=info msg="API key (generated): ***',
  ],
  [
    "API key from env is kept",
    "API key: using KUBEFWD_API_KEY from environment",
    "API key: using KUBEFWD_API_KEY from environment",
  ],
  ["jwt alone", `sa token ${JWT} expired`, "sa token eyJ*** expired"],
  ["jwt in url param", `?access_token=${JWT}&x=1`, "?access_token=***&x=1"],
  ["client-key-data", `    client-key-data: ${B64}`, "    client-key-data: ***"],
  ["client-certificate-data json", `"client-certificate-data":"${B64}"`, '"client-certificate-data":"***"'],
  [
    "certificate-authority-data short",
    "certificate-authority-data: LS0tdGVzdA==",
    "certificate-authority-data: ***",
  ],
  ["bare base64 blob", `got ${B64} here`, `got ${MASK} here`],
  [
    "pem block on one line",
    "key -----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY----- end",
    "key -----BEGIN RSA PRIVATE KEY----- *** -----END RSA PRIVATE KEY----- end",
  ],
  [
    "url password",
    "proxy http://bob:pa55w0rd@proxy.local:3128 failed",
    "proxy http://bob:***@proxy.local:3128 failed",
  ],
  ["id-token", "id-token: abc.def", "id-token: ***"],
  ["refresh_token json", '{"refresh_token": "r-123"}', '{"refresh_token": "***"}'],
];

const UNTOUCHED: string[] = [
  "Port-Forward:       127.1.27.1 ledgers:80 to pod ledgers-7dbb48d674-sqmsf:8080",
  "Pod api-5d8f7c9b6-x2x4z deleted, resyncing the api.default.kind-dev service pods.",
  "Lost connection to default/api-5d8f7c9b6-x2x4z: lost connection to pod",
  "Scheduling reconnection for api.default.ctx in 4s",
  "restart 3 after exit code 1 (tokens are not mentioned here)",
  "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  "sh -c 'echo hi'",
  "Starting watcher for namespace default in context kind-dev",
  "",
];

const PATH_CASES: [string, string, string][] = [
  [
    "-c flag",
    "kubefwd svc -c /home/ana/.kube/prod-config -n default",
    "kubefwd svc -c ~/.kube/*** -n default",
  ],
  ["--kubeconfig=", "--kubeconfig=/home/ana/clusters/eu.yaml", "--kubeconfig=~/clusters/***"],
  ["--kubeconfig space", "--kubeconfig /etc/k8s/admin.conf x", "--kubeconfig /etc/k8s/*** x"],
  ["--kubeconfig relative", "--kubeconfig prod.yaml x", "--kubeconfig *** x"],
  ["-c quoted", "-c '/home/ana/my cfg/prod'", "-c '~/my cfg/***'"],
  ["generic config name kept", "-c /home/ana/.kube/config", "-c ~/.kube/config"],
  ["KUBECONFIG list", "KUBECONFIG=/home/ana/.kube/a:/srv/b.yaml run", "KUBECONFIG=~/.kube/***:/srv/*** run"],
  ["yaml kubeconfig key", "kubeconfig: /home/ana/work/staging.yaml", "kubeconfig: ~/work/***"],
  ["json kubeconfig key", '{"kubeconfig":"/home/ana/k/prod"}', '{"kubeconfig":"~/k/***"}'],
  [
    "kubefwd fatal error",
    "Error in get rawConfig: stat /home/ana/.kube/prod-eu: no such file or directory",
    "Error in get rawConfig: stat ~/.kube/***: no such file or directory",
  ],
  ["file named kubeconfig-prod", "open /srv/kubeconfig-prod failed", "open /srv/*** failed"],
  ["other user's home", "read /home/bob/.kube/prod", "read /home/bob/.kube/***"],
  [
    "unrelated path untouched",
    "hosts file /etc/hosts backed up to /root/hosts.original",
    "hosts file /etc/hosts backed up to /root/hosts.original",
  ],
];

for (const [name, input, expected] of SECRET_CASES) {
  Deno.test(`mask secret: ${name}`, () => {
    assert.equal(maskSecrets(input, { home: HOME }), expected);
  });
}

for (const [name, input, expected] of PATH_CASES) {
  Deno.test(`mask path: ${name}`, () => {
    assert.equal(maskSecrets(input, { home: HOME }), expected);
  });
}

Deno.test("mask: ordinary kubefwd and daemon lines are untouched", () => {
  for (const line of UNTOUCHED) assert.equal(maskSecrets(line, { home: HOME }), line);
});

Deno.test("mask: idempotent on every case", () => {
  for (const [, input] of [...SECRET_CASES, ...PATH_CASES]) {
    const once = maskSecrets(input, { home: HOME });
    assert.equal(maskSecrets(once, { home: HOME }), once, input);
  }
});

Deno.test("mask: known kubeconfig paths are masked anywhere in the text", () => {
  const options = { home: HOME, kubeconfigs: ["/home/ana/secret-place/prod.yaml"] };
  assert.equal(
    maskSecrets("open /home/ana/secret-place/prod.yaml: permission denied", options),
    "open ~/secret-place/***: permission denied",
  );
  // a longer path that merely starts with a known one is left to the other rules
  assert.equal(
    maskSecrets("x /home/ana/secret-place/prod.yaml.bak y", options),
    "x /home/ana/secret-place/prod.yaml.bak y",
  );
});

Deno.test("mask: without home, paths keep their absolute form", () => {
  assert.equal(maskSecrets("-c /home/ana/.kube/prod"), "-c /home/ana/.kube/***");
});

const MASK_PATH_CASES: [string, string | undefined, string][] = [
  ["/home/ana/.kube/prod-config", HOME, "~/.kube/***"],
  ["/home/ana/.kube/prod-config", HOME + "/", "~/.kube/***"],
  ["/home/ana/.kube/config", HOME, "~/.kube/config"],
  ["/home/ana", HOME, "~"],
  ["/home/anabel/.kube/x", HOME, "/home/anabel/.kube/***"],
  ["/etc/kubernetes/admin.conf", HOME, "/etc/kubernetes/***"],
  ["prod.yaml", HOME, "***"],
  ["~/.kube/***", HOME, "~/.kube/***"],
  ["/srv/dir/", HOME, "/srv/dir/"],
  ["", HOME, ""],
  ["/home/ana/.kube/prod", undefined, "/home/ana/.kube/***"],
];

Deno.test("maskPath: table", () => {
  for (const [path, home, expected] of MASK_PATH_CASES) {
    assert.equal(maskPath(path, home), expected, `${path} (home ${home})`);
  }
});

Deno.test("mask: a long line stays fast (no catastrophic backtracking)", () => {
  // Each part once triggered quadratic scanning in a draft of a rule; linear scanning takes a few ms.
  for (const part of ["a".repeat(100_000), "/x".repeat(50_000), "Ab1+".repeat(25_000), "a-".repeat(50_000)]) {
    const start = performance.now();
    maskSecrets(`x ${part} token ${part}`, { home: HOME });
    const ms = performance.now() - start;
    assert.ok(ms < 300, `${part.slice(0, 4)}… took ${ms} ms`);
  }
});
