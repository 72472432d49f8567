/**
 * The Nix flake offline: every module (home-manager, NixOS, nix-darwin) evaluated with
 * `nix-instantiate --store dummy:// --eval --strict --json`, nixpkgs' lib from ../shared/third_party/ and stub
 * option declarations (tests/nix/eval.nix), for x86_64-linux and aarch64-darwin; golden JSON of the units,
 * agents and config (`UPDATE_GOLDEN=1` rewrites them); the generated config passes `config validate`; a wrong
 * type fails with the option's path; the package's npm hashes are deno.lock's; the flake has its outputs.
 * Skipped, with the reason printed, when nix-instantiate or the nixpkgs lib tarball is missing.
 */
import assert from "node:assert/strict";
import { hasTool, verifyUnit } from "../install/sh_env.ts";
import {
  parseInstalledHelper,
  renderRootHelper,
  ROOT_HELPER_ENV,
  ROOT_HELPER_HOME,
  ROOT_HELPER_TEMPLATE_URL,
  sudoersFile,
} from "../../lib/sudo/root_helper.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const HERE = `${ROOT}/tests/nix`;
const LIB_TARBALL = Deno.env.get("KUBEFWD_DAEMON_NIXPKGS_LIB") ??
  `${ROOT}/../shared/third_party/nixpkgs-lib-de42d442.tar.gz`;

function hasNix(): boolean {
  try {
    return new Deno.Command("nix-instantiate", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

const skipReason = !hasNix()
  ? "nix-instantiate is not installed (apt-get install nix-bin)"
  : !(await exists(LIB_TARBALL))
  ? `the nixpkgs lib tarball is missing (${LIB_TARBALL}; set KUBEFWD_DAEMON_NIXPKGS_LIB)`
  : undefined;
if (skipReason) console.log(`nix module tests skipped: ${skipReason}`);

/** The extracted nixpkgs lib (once per test run). */
let libDir: Promise<string> | undefined;
function nixpkgsLib(): Promise<string> {
  libDir ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "kfd-nixlib-" });
    const out = await new Deno.Command("tar", { args: ["-xzf", LIB_TARBALL, "-C", dir] }).output();
    if (!out.success) throw new Error(`tar: ${new TextDecoder().decode(out.stderr)}`);
    // Removed when the process exits; a test-scoped cleanup would race the parallel tests of this file.
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return `${dir}/nixpkgs-lib/lib`;
  })();
  return libDir;
}

interface NixResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function nixEval(file: string, args: string[]): Promise<NixResult> {
  const lib = await nixpkgsLib();
  const out = await new Deno.Command("nix-instantiate", {
    args: [
      "--store",
      "dummy://",
      "--eval",
      "--strict",
      "--json",
      file,
      "--arg",
      "lib",
      `import ${lib}`,
      ...args,
    ],
    env: { NIX_STATE_DIR: "/tmp/kfd-nix-state", NIX_LOG_DIR: "/tmp/kfd-nix-log" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** nix-instantiate arguments of tests/nix/eval.nix for one module, system and case of tests/nix/cases/. */
function moduleArgs(module: string, system: string, userCase: string): string[] {
  return [
    "--argstr",
    "module",
    module,
    "--argstr",
    "system",
    system,
    "--arg",
    "user",
    `${HERE}/cases/${userCase}.nix`,
  ];
}

async function evalModule(
  module: string,
  system: string,
  userCase: string,
  viaFlake = false,
): Promise<unknown> {
  const r = await nixEval(`${HERE}/eval.nix`, [
    ...moduleArgs(module, system, userCase),
    ...(viaFlake ? ["--arg", "viaFlake", "true"] : []),
  ]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function golden(name: string, value: unknown): Promise<void> {
  const path = `${HERE}/golden/${name}.json`;
  const text = JSON.stringify(value, null, 2) + "\n";
  if (Deno.env.get("UPDATE_GOLDEN")) {
    await Deno.mkdir(`${HERE}/golden`, { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  assert.equal(text, await Deno.readTextFile(path), `${path} (UPDATE_GOLDEN=1 rewrites it)`);
}

/** `kubefwd-daemon config validate` of a generated config text, in a temp HOME. */
async function validate(configText: string): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir({ prefix: "kfd-nixcfg-" });
  try {
    const file = `${dir}/config.yaml`;
    await Deno.writeTextFile(file, configText, { mode: 0o600 });
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${ROOT}/main.ts`, "--no-color", "config", "validate", file],
      env: { HOME: dir, NO_COLOR: "1" },
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const CASES: [module: string, system: string, userCase: string][] = [
  ["hm", "x86_64-linux", "example"],
  ["hm", "aarch64-darwin", "example"],
  ["nixos", "x86_64-linux", "example"],
  ["nixos", "x86_64-linux", "nixos-users"],
  ["darwin", "aarch64-darwin", "example"],
  ["hm", "x86_64-linux", "settings"],
];

/** Where the NixOS module installs the root helper (a real file in /etc, the sudo rule names it). */
const NIXOS_HELPER = "/etc/kubefwd-daemon/kubefwd-root";
/** The packages whose bin directories are the helper's PATH on NixOS (the stubs' "@name@" out paths). */
const NIXOS_HELPER_TOOLS = ["coreutils", "findutils", "gnugrep", "gnused", "gawk", "util-linux"];

/** The stub packages' "@name@" out paths as store-like absolute paths (renderRootHelper wants absolute ones). */
function storePaths(text: string): string {
  return text.replaceAll(/@([a-z][a-z-]*)@/g, "/nix/store/$1");
}

/**
 * The NixOS module's root helper, when it wrote one: byte for byte what `kubefwd-daemon sudoers` renders
 * (renderRootHelper) with the module's values; replaced by a marker for the golden file, which then does not
 * change with every edit of the helper script.
 */
async function checkNixosHelper(value: unknown): Promise<unknown> {
  const v = value as { etc?: Record<string, { text: string; mode?: string }> };
  const helper = v.etc?.[NIXOS_HELPER.slice("/etc/".length)];
  if (helper === undefined) return value;
  const want = renderRootHelper(await Deno.readTextFile(ROOT_HELPER_TEMPLATE_URL), {
    kubefwd: "/nix/store/kubefwd/bin/kubefwd",
    hosts: "/etc/hosts",
    home: ROOT_HELPER_HOME,
    self: NIXOS_HELPER,
    broker: true,
    path: NIXOS_HELPER_TOOLS.map((p) => `/nix/store/${p}/bin`).join(":"),
  });
  assert.equal(storePaths(helper.text), want);
  return {
    ...v,
    etc: {
      ...v.etc,
      [NIXOS_HELPER.slice("/etc/".length)]: { ...helper, text: "(checked: renderRootHelper's text)" },
    },
  };
}

/** The config text a module generated, wherever that module puts it. */
function configTextOf(value: unknown): string {
  const v = value as {
    configFiles?: Record<string, { text: string }>;
    etc?: Record<string, { text: string }>;
  };
  const text = v.configFiles?.["kubefwd-daemon/config.yaml"]?.text ??
    v.etc?.["kubefwd-daemon/config.yaml"]?.text;
  assert.ok(typeof text === "string", "no generated config");
  return text;
}

for (const [module, system, userCase] of CASES) {
  Deno.test({
    name: `nix: ${module} module on ${system}, ${userCase}: golden JSON; the config passes config validate`,
    ignore: skipReason !== undefined,
    fn: async () => {
      const value = await evalModule(module, system, userCase);
      await golden(`${module}-${system}-${userCase}`, await checkNixosHelper(value));
      const v = await validate(configTextOf(value));
      assert.equal(v.code, 0, v.out);
      assert.match(v.out, /: valid \(/);
    },
  });
}

Deno.test({
  name: "nix: the requirements' example, verbatim, through the flake's modules (its package by default)",
  ignore: skipReason !== undefined,
  fn: async () => {
    const example = await Deno.readTextFile(`${HERE}/cases/example.nix`);
    assert.ok(
      example.includes(
        'services.kubefwd-daemon = { enable = true; profiles.dev-services = { namespaces = [ "development" ' +
          '"shared-services" ]; context = "dev-cluster"; labels = [ "app.kubernetes.io/part-of=myapp" ]; }; };',
      ),
    );
    for (
      const [module, system] of [
        ["hm", "x86_64-linux"],
        ["hm", "aarch64-darwin"],
        ["nixos", "x86_64-linux"],
        [
          "darwin",
          "aarch64-darwin",
        ],
      ]
    ) {
      const value = await evalModule(module, system, "example", true) as { packages: string[] };
      assert.deepEqual(value.packages, [`@kubefwd-daemon-from-flake-${system}@`], module);
      const config = JSON.parse(configTextOf(value));
      assert.deepEqual(config.profiles, {
        "dev-services": {
          namespaces: ["development", "shared-services"],
          context: "dev-cluster",
          labels: ["app.kubernetes.io/part-of=myapp"],
        },
      });
    }
  },
});

Deno.test({
  name: "nix: a wrong type in user settings fails with the option's path",
  ignore: skipReason !== undefined,
  fn: async () => {
    for (
      const [userCase, path] of [
        ["wrong-namespaces", "services.kubefwd-daemon.profiles.dev-services.namespaces"],
        ["wrong-privilege", "services.kubefwd-daemon.settings.kubefwd.privilege"],
      ]
    ) {
      for (const module of ["hm", "nixos", "darwin"]) {
        const r = await nixEval(`${HERE}/eval.nix`, moduleArgs(module, "x86_64-linux", userCase));
        assert.notEqual(r.code, 0, `${module} ${userCase}`);
        assert.match(
          r.stderr,
          new RegExp(`option \`${path.replaceAll(".", "\\.")}' is not of type`),
          r.stderr,
        );
      }
    }
  },
});

Deno.test({
  name: "nix: the package fetches each npm tarball by deno.lock's integrity (no placeholder hash)",
  ignore: skipReason !== undefined,
  fn: async () => {
    const r = await nixEval(`${HERE}/package.nix`, []);
    assert.equal(r.code, 0, r.stderr);
    const pkg = JSON.parse(r.stdout) as {
      version: string;
      mainProgram: string;
      npmTarballs: { key: string; url: string; hash: string }[];
    };
    const lock = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.lock`)) as {
      npm: Record<string, { integrity: string }>;
    };
    const want = Object.entries(lock.npm).map(([key, v]) => {
      const [, name, version] = key.match(/^(@?[^@]+)@([^_]+)/)!;
      return {
        key,
        url: `https://registry.npmjs.org/${name}/-/${name.split("/").pop()}-${version}.tgz`,
        hash: v.integrity,
      };
    });
    assert.deepEqual(pkg.npmTarballs.map(({ key, url, hash }) => ({ key, url, hash })), want);
    for (const t of pkg.npmTarballs) assert.match(t.hash, /^sha512-[A-Za-z0-9+/]{86}==$/);
    const { VERSION } = await import("../../lib/version.ts");
    assert.equal(pkg.version, VERSION);
    assert.equal(pkg.mainProgram, "kubefwd-daemon");
  },
});

Deno.test({
  name: "nix: the flake's outputs (packages, apps, devShells for 4 systems; overlay; 3 kinds of modules)",
  ignore: skipReason !== undefined,
  fn: async () => {
    const r = await nixEval(`${HERE}/flake.nix`, []);
    assert.equal(r.code, 0, r.stderr);
    await golden("flake-outputs", JSON.parse(r.stdout));
  },
});

/** A systemd unit file from home-manager-style sections (lists become repeated keys, as home-manager writes). */
function unitFile(sections: Record<string, Record<string, unknown>>): string {
  return Object.entries(sections).map(([name, keys]) =>
    `[${name}]\n` +
    Object.entries(keys).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}\n`)).join("")
  ).join("\n");
}

Deno.test({
  name: "nix: the home-manager and NixOS units pass systemd-analyze verify --user with no warnings",
  ignore: skipReason !== undefined || !hasTool("systemd-analyze"),
  fn: async () => {
    // The stub package path stands for the real program: verify checks that ExecStart is executable.
    const real = (text: string) =>
      text.replaceAll("@kubefwd-daemon@/bin/kubefwd-daemon", `${ROOT}/kubefwd-daemon`);
    type Sections = Record<string, Record<string, unknown>>;
    const hm = await evalModule("hm", "x86_64-linux", "example") as {
      systemdUserServices: Record<string, Sections>;
    };
    const nixos = await evalModule("nixos", "x86_64-linux", "nixos-users") as {
      systemdUserServices: Record<string, Record<string, unknown>>;
    };
    const n = nixos.systemdUserServices["kubefwd-daemon"] as {
      description: string;
      restartTriggers: string[];
      unitConfig: Record<string, unknown>;
      serviceConfig: Record<string, unknown>;
      wantedBy: string[];
    };
    const units = {
      "home-manager": unitFile(hm.systemdUserServices["kubefwd-daemon"]),
      // NixOS's own spelling of the same unit: description, unitConfig, serviceConfig, wantedBy.
      nixos: unitFile({
        Unit: { Description: n.description, ...n.unitConfig },
        Service: n.serviceConfig,
        Install: { WantedBy: n.wantedBy },
      }),
    };
    for (const [who, text] of Object.entries(units)) {
      assert.match(text, /^ExecStart=@kubefwd-daemon@\/bin\/kubefwd-daemon daemon --config /m, who);
      const v = await verifyUnit(real(text));
      assert.equal(v.stderr, "", `${who}:\n${text}`);
      assert.equal(v.code, 0);
    }
  },
});

Deno.test({
  name:
    "nix: NixOS sudoRule installs the root helper and a rule for it alone, as `kubefwd-daemon sudoers` does",
  ignore: skipReason !== undefined,
  fn: async () => {
    type Nixos = {
      etc: Record<string, { text: string; mode?: string }>;
      sessionVariables: Record<string, string>;
      sudoRules: { users: string[]; runAs: string; commands: { command: string; options: string[] }[] }[];
      sudoConfig: string;
      systemdUserServices: Record<string, { serviceConfig: { Environment: string[] } }>;
    };
    const value = await evalModule("nixos", "x86_64-linux", "nixos-users") as Nixos;
    // The rule names the helper and nothing else: no kubefwd with any arguments, no kill, no tee.
    assert.deepEqual(value.sudoRules, [{
      users: ["alice", "bob"],
      runAs: "root",
      commands: [{ command: NIXOS_HELPER, options: ["NOPASSWD"] }],
    }]);
    // NixOS writes one line per user (`user host=(runAs) OPTIONS: command`, tab-separated): with the
    // Defaults line, the lines `sudoers` writes for the same path.
    const rendered = value.sudoConfig +
      value.sudoRules.flatMap((r) =>
        r.users.map((u) =>
          `${u}\tALL=(${r.runAs})\t${r.commands.map((c) => `${c.options.join(":")}: ${c.command}`)}\n`
        )
      ).join("");
    const normal = (text: string) =>
      text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.replaceAll("\t", " "))
        .sort();
    const want = ["alice", "bob"].flatMap((u) => normal(sudoersFile(u, NIXOS_HELPER)));
    assert.deepEqual(normal(rendered), [...new Set(want)].sort());
    // A copied file (mode), root's: its values are the config's kubefwd and /etc/hosts.
    const helper = value.etc["kubefwd-daemon/kubefwd-root"];
    assert.equal(helper.mode, "0555");
    const config = JSON.parse(value.etc["kubefwd-daemon/config.yaml"].text);
    assert.deepEqual(parseInstalledHelper(helper.text), {
      kubefwd: config.kubefwd.path,
      hosts: "/etc/hosts",
      broker: true,
    });
    await checkNixosHelper(value);
    // The daemon finds it: the service's environment and every session's.
    assert.ok(
      value.systemdUserServices["kubefwd-daemon"].serviceConfig.Environment.includes(
        `${ROOT_HELPER_ENV}=${NIXOS_HELPER}`,
      ),
    );
    assert.equal(value.sessionVariables[ROOT_HELPER_ENV], NIXOS_HELPER);
    // Without sudoRule: no helper, no rule, no variable.
    const plain = await evalModule("nixos", "x86_64-linux", "example") as Nixos;
    assert.deepEqual(plain.sudoRules, []);
    assert.equal(plain.sudoConfig, "");
    assert.equal(plain.etc["kubefwd-daemon/kubefwd-root"], undefined);
    assert.equal(plain.sessionVariables[ROOT_HELPER_ENV], undefined);
  },
});
