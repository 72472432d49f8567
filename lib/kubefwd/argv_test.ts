import assert from "node:assert/strict";
import type { KubefwdSettings, ProfileSpec } from "../config/types.ts";
import {
  DEFAULT_FORWARD_FAILURES,
  DEFAULT_HEALTH,
  DEFAULT_RETRY,
  defaultKubefwdSettings,
} from "../config/defaults.ts";
import {
  buildKubefwdArgs,
  checkExtraArgs,
  flagsInArgs,
  KubefwdArgsError,
  kubefwdArgsWarnings,
} from "./argv.ts";
import { parseKubefwdVersion } from "./version.ts";

function profile(over: Partial<ProfileSpec> = {}): ProfileSpec {
  return {
    name: "dev",
    enabled: true,
    kubeconfig: "/home/u/.kube/config",
    namespaces: ["default"],
    labels: [],
    excludeServices: [],
    mappings: [],
    extraArgs: [],
    retry: { ...DEFAULT_RETRY },
    health: { ...DEFAULT_HEALTH },
    forwardFailures: { ...DEFAULT_FORWARD_FAILURES },
    ...over,
  };
}

function settings(over: Partial<KubefwdSettings> = {}): KubefwdSettings {
  return { ...defaultKubefwdSettings(), ...over };
}

const V122 = parseKubefwdVersion("1.22.5");
const V123 = parseKubefwdVersion("1.23.2");
const V124 = parseKubefwdVersion("1.24.0");
const V125 = parseKubefwdVersion("1.25.16");
const SRC = parseKubefwdVersion("0.0.0");

Deno.test("buildKubefwdArgs: full profile, per version", () => {
  const p = profile({
    namespaces: ["a", "b"],
    labels: ["app=web", "tier!=db"],
    context: "kind-dev",
    domain: "local",
    mappings: ["80:8080", "443:8443"],
    extraArgs: ["-v"],
  });
  const s = settings({ hostsPath: "/tmp/hosts", extraArgs: ["--retry-interval", "5s"] });
  const z = { fwdConfPath: "/state/dev.fwdconf.yml", fieldSelector: "metadata.name!=x" };
  const base = [
    "svc",
    "-n",
    "a",
    "-n",
    "b",
    "-l",
    "app=web,tier!=db",
    "-c",
    "/home/u/.kube/config",
    "-x",
    "kind-dev",
  ];
  const tail = ["-d", "local", "-m", "80:8080", "-m", "443:8443"];
  const rows: [string, typeof V125, string[], string[]][] = [
    ["1.23", V123, [], []],
    // The user's --retry-interval replaces the daemon's 2 s; --resync-interval is the daemon's 1 s.
    ["1.24", V124, ["-a", "--resync-interval", "1s", "--hosts-path", "/tmp/hosts"], [
      "--retry-interval",
      "5s",
    ]],
    ["1.25", V125, ["-a", "--resync-interval", "1s", "--hosts-path", "/tmp/hosts"], [
      "--retry-interval",
      "5s",
    ]],
    ["0.0.0", SRC, ["-a", "--resync-interval", "1s", "--hosts-path", "/tmp/hosts"], [
      "--retry-interval",
      "5s",
    ]],
  ];
  for (const [label, v, gated, extras] of rows) {
    if (label === "1.23") {
      // --retry-interval does not exist before 1.24: rejected, never passed.
      assert.throws(() => buildKubefwdArgs(p, s, v, z), /--retry-interval needs kubefwd >= 1.24.0/);
      const args = buildKubefwdArgs(p, settings({ hostsPath: "/tmp/hosts" }), v, z);
      assert.deepEqual(args, [
        ...base,
        "-z",
        z.fwdConfPath,
        "-f",
        z.fieldSelector,
        "--hosts-path",
        "/tmp/hosts",
        ...tail,
        "-v",
      ]);
      continue;
    }
    assert.deepEqual(buildKubefwdArgs(p, s, v, z), [
      ...base,
      "-z",
      z.fwdConfPath,
      "-f",
      z.fieldSelector,
      ...gated,
      ...tail,
      ...extras,
      "-v",
    ], label);
  }
});

Deno.test("buildKubefwdArgs: 1.22.x gets no -a, -t, --hosts-path", () => {
  const args = buildKubefwdArgs(profile(), settings({ hostsPath: "/tmp/hosts" }), V122, {
    fwdConfPath: "/z.yml",
  });
  assert.deepEqual(args, ["svc", "-n", "default", "-c", "/home/u/.kube/config", "-z", "/z.yml"]);
  for (const flag of ["-a", "-t", "--hosts-path", "--auto-reconnect", "--timeout=30", "-b"]) {
    assert.throws(
      () =>
        buildKubefwdArgs(profile({ extraArgs: [flag, ...(flag === "-t" ? ["30"] : [])] }), settings(), V122, {
          fwdConfPath: "/z",
        }),
      KubefwdArgsError,
      flag,
    );
  }
  assert.deepEqual(kubefwdArgsWarnings(settings({ hostsPath: "/tmp/hosts" }), V122).length, 1);
  assert.deepEqual(kubefwdArgsWarnings(settings(), V122), []);
  assert.deepEqual(kubefwdArgsWarnings(settings({ hostsPath: "/tmp/hosts" }), V125), []);
});

Deno.test("buildKubefwdArgs: default hosts path is not passed; minimal profile", () => {
  assert.deepEqual(buildKubefwdArgs(profile(), settings(), V125, { fwdConfPath: "/z.yml" }), [
    "svc",
    "-n",
    "default",
    "-c",
    "/home/u/.kube/config",
    "-z",
    "/z.yml",
    "-a",
    "--retry-interval",
    "2s",
    "--resync-interval",
    "1s",
  ]);
  // an empty field selector is not passed
  assert.ok(
    !buildKubefwdArgs(profile(), settings(), V125, { fwdConfPath: "/z", fieldSelector: "" }).includes("-f"),
  );
});

Deno.test("buildKubefwdArgs: rejects no namespace, relative kubeconfig, -p/--tui/--api in extra args", () => {
  assert.throws(
    () => buildKubefwdArgs(profile({ namespaces: [] }), settings(), V125, { fwdConfPath: "/z" }),
    /at least one namespace/,
  );
  assert.throws(
    () => buildKubefwdArgs(profile({ kubeconfig: "kube/config" }), settings(), V125, { fwdConfPath: "/z" }),
    /absolute/,
  );
  const forbidden = [
    ["-p"],
    ["--purge-stale-ips"],
    ["--tui"],
    ["--api"],
    ["--api=true"],
    ["-ap"],
    ["-vp"],
    ["-z", "my.yml"],
    ["--fwd-conf=my.yml"],
  ];
  for (const extra of forbidden) {
    assert.throws(
      () => buildKubefwdArgs(profile({ extraArgs: extra }), settings(), V125, { fwdConfPath: "/z" }),
      /not allowed/,
      extra.join(" "),
    );
    assert.throws(
      () => buildKubefwdArgs(profile(), settings({ extraArgs: extra }), V125, { fwdConfPath: "/z" }),
      /kubefwd.extra_args/,
    );
  }
  // values that merely look like the flags are fine: -l --tui is a label value, -np is namespace "p"
  assert.doesNotThrow(() => checkExtraArgs(["-l", "--tui", "-np", "--selector", "-p"], V125, "x"));
});

Deno.test("buildKubefwdArgs: a user -f would override the exclusions", () => {
  assert.throws(
    () =>
      buildKubefwdArgs(profile({ extraArgs: ["-f", "metadata.name=a"] }), settings(), V125, {
        fwdConfPath: "/z",
        fieldSelector: "metadata.name!=b",
      }),
    /override the field selector/,
  );
  assert.doesNotThrow(() =>
    buildKubefwdArgs(profile({ extraArgs: ["-f", "metadata.name=a"] }), settings(), V125, {
      fwdConfPath: "/z",
    })
  );
});

Deno.test("buildKubefwdArgs: shell metacharacters stay single argv elements", () => {
  const evil = ["$(rm -rf /)", "a;b", "`id`", "with space", "x|y", "'q'", '"dq"', "&& true", "\n"];
  for (const e of evil) {
    const p = profile({
      namespaces: [e],
      labels: [`app=${e}`],
      context: e,
      kubeconfig: `/tmp/${e}`,
      domain: e,
      mappings: [e],
      extraArgs: ["-r", e],
    });
    const args = buildKubefwdArgs(p, settings(), V125, {
      fwdConfPath: `/z/${e}`,
      fieldSelector: `metadata.name!=${e}`,
    });
    for (
      const [flag, value] of [
        ["-n", e],
        ["-l", `app=${e}`],
        ["-x", e],
        ["-c", `/tmp/${e}`],
        ["-z", `/z/${e}`],
        ["-f", `metadata.name!=${e}`],
        ["-d", e],
        ["-m", e],
        ["-r", e],
      ]
    ) {
      const i = args.indexOf(flag);
      assert.ok(i >= 0, `${flag} present`);
      assert.equal(args[i + 1], value, `${flag} value for ${JSON.stringify(e)}`);
    }
  }
});

Deno.test("flagsInArgs: pflag syntax", () => {
  assert.deepEqual(
    flagsInArgs(["-v", "--timeout=3", "--hosts-path", "/x", "-nfoo", "-ab", "--", "-p"]).map((f) =>
      f.long ?? f.short
    ),
    [
      "v",
      "--timeout",
      "--hosts-path",
      "n",
      "a",
      "b",
    ],
  );
});

Deno.test("buildKubefwdArgs: 1.24+ reads a service's pods on the first pod event after 1 s and every 2 s without one, unless extra_args say otherwise", () => {
  const z = { fwdConfPath: "/z.yml" };
  const flags = (extraArgs: string[]) =>
    buildKubefwdArgs(profile({ extraArgs }), settings(), V125, z).filter((a) => a.includes("-interval"));
  assert.deepEqual(flags([]), ["--retry-interval", "--resync-interval"]);
  assert.deepEqual(flags(["--resync-interval=30s"]), ["--retry-interval", "--resync-interval=30s"]);
  assert.deepEqual(flags(["--resync-interval", "1m", "--retry-interval", "5s"]), [
    "--resync-interval",
    "--retry-interval",
  ]);
  assert.ok(!buildKubefwdArgs(profile(), settings(), V122, z).some((a) => a.includes("interval")));
});
