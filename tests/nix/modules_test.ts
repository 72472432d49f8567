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
import { checkNixosHelper, evalModule, HERE, moduleArgs, nixEval, ROOT, skipReason } from "./nix_eval.ts";

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
