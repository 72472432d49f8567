/**
 * What the Nix tests share: nix-instantiate over tests/nix/eval.nix with nixpkgs' lib from
 * ../shared/third_party/ (tests are skipped, with the reason printed, when nix-instantiate or the tarball is
 * missing), and the check of the NixOS module's root helper against `kubefwd-daemon sudoers`' rendering.
 */
import assert from "node:assert/strict";
import { renderRootHelper, ROOT_HELPER_HOME, ROOT_HELPER_TEMPLATE_URL } from "../../lib/sudo/root_helper.ts";

export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const HERE = `${ROOT}/tests/nix`;
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

export const skipReason = !hasNix()
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

export interface NixResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function nixEval(file: string, args: string[]): Promise<NixResult> {
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
export function moduleArgs(module: string, system: string, userCase: string): string[] {
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

export async function evalModule(
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

/** Where the NixOS module installs the root helper (a real file in /etc, the sudo rule names it). */
export const NIXOS_HELPER = "/etc/kubefwd-daemon/kubefwd-root";
/** The packages whose bin directories are the helper's PATH on NixOS (the stubs' "@name@" out paths). */
export const NIXOS_HELPER_TOOLS = ["coreutils", "findutils", "gnugrep", "gnused", "gawk", "util-linux"];

/** The stub packages' "@name@" out paths as store-like absolute paths (renderRootHelper wants absolute ones). */
export function storePaths(text: string): string {
  return text.replaceAll(/@([a-z][a-z-]*)@/g, "/nix/store/$1");
}

/**
 * The NixOS module's root helper, when it wrote one: byte for byte what `kubefwd-daemon sudoers` renders
 * (renderRootHelper) with the module's values; replaced by a marker for the golden file, which then does not
 * change with every edit of the helper script.
 */
export async function checkNixosHelper(value: unknown, opts: { broker?: boolean } = {}): Promise<unknown> {
  const v = value as { etc?: Record<string, { text: string; mode?: string }> };
  const helper = v.etc?.[NIXOS_HELPER.slice("/etc/".length)];
  if (helper === undefined) return value;
  const want = renderRootHelper(await Deno.readTextFile(ROOT_HELPER_TEMPLATE_URL), {
    kubefwd: "/nix/store/kubefwd/bin/kubefwd",
    hosts: "/etc/hosts",
    home: ROOT_HELPER_HOME,
    self: NIXOS_HELPER,
    broker: opts.broker ?? true,
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
