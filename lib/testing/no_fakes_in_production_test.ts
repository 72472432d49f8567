/**
 * Test doubles live in lib/testing/ and only tests use them: a fake reachable from production code could
 * end up wired in by mistake (a fake clock or hosts file in the daemon fails silently), and it would be
 * compiled into the binary for nothing. This test fails when a production module imports lib/testing/ or
 * declares a `Fake…` class itself.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const TESTING = new URL("lib/testing/", ROOT).href;

/** Every production module: main.ts and the .ts files of lib/ and cli/ that are neither tests nor lib/testing/. */
async function productionModules(): Promise<URL[]> {
  const out: URL[] = [new URL("main.ts", ROOT)];
  const walk = async (dir: URL): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) {
        if (url.href !== TESTING) await walk(url);
      } else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
        out.push(url);
      }
    }
  };
  await walk(new URL("lib/", ROOT));
  await walk(new URL("cli/", ROOT));
  return out;
}

/** The relative specifiers of the static and dynamic imports and re-exports in `source`. */
function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]);
  return found;
}

/** What is wrong with one production module: imports of lib/testing/ and `Fake…` classes. */
function problems(file: URL, source: string): string[] {
  const out: string[] = [];
  for (const spec of importSpecifiers(source)) {
    if (!spec.startsWith(".")) continue;
    if (new URL(spec, file).href.startsWith(TESTING)) out.push(`imports ${spec}`);
  }
  for (const m of source.matchAll(/\bclass\s+(Fake\w*)/g)) {
    out.push(`declares class ${m[1]} (move it to lib/testing/)`);
  }
  return out;
}

Deno.test("no production module imports lib/testing/ or declares a Fake class", async () => {
  const modules = await productionModules();
  assert.ok(modules.length > 30, "the walk found the production modules");
  const found: string[] = [];
  for (const file of modules) {
    for (const p of problems(file, await Deno.readTextFile(file))) {
      found.push(`${file.href.slice(ROOT.href.length)}: ${p}`);
    }
  }
  assert.deepEqual(found, []);
});

Deno.test("the check itself sees imports, re-exports, dynamic imports and Fake classes", () => {
  const file = new URL("lib/supervisor/x.ts", ROOT);
  const source = [
    'import { FakeClock } from "../testing/fake_clock.ts";',
    'export { FakeProber } from "../testing/fake_prober.ts";',
    'const m = await import("../testing/fake_spawner.ts");',
    'import "../testing/fake_hosts_file.ts";',
    'import { realClock } from "../clock.ts";',
    "export class FakeThing {}",
  ].join("\n");
  assert.deepEqual(problems(file, source), [
    "imports ../testing/fake_clock.ts",
    "imports ../testing/fake_prober.ts",
    "imports ../testing/fake_spawner.ts",
    "imports ../testing/fake_hosts_file.ts",
    "declares class FakeThing (move it to lib/testing/)",
  ]);
});
