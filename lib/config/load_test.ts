import assert from "node:assert/strict";
import {
  kubeconfigStatus,
  loadConfigFile,
  loadConfigFileWithSource,
  loadConfigText,
  MAX_CONFIG_BYTES,
} from "./load.ts";
import { envFrom } from "./paths.ts";
import { tempDir } from "../../tests/temp_dir.ts";

const env = envFrom({ HOME: "/nonexistent-home", XDG_RUNTIME_DIR: "/run/user/1" });
const VALID = "profiles:\n  p:\n    context: c\n    namespaces: [x]\n";

Deno.test("loadConfigFile: a valid file resolves; mode 0600 draws no warning", async () => {
  await using tmp = await tempDir("kfd-config-");
  const dir = tmp.path;
  const file = `${dir}/config.yaml`;
  await Deno.writeTextFile(file, VALID, { mode: 0o600 });
  await Deno.chmod(file, 0o600);
  const r = await loadConfigFile(file, { env, home: "/nonexistent-home", checkEnvironment: false });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.file, file);
  assert.equal(r.config?.path, file);
});

Deno.test("loadConfigFile: group/other access is a position-less warning", async () => {
  await using tmp = await tempDir("kfd-config-");
  const dir = tmp.path;
  const file = `${dir}/config.yaml`;
  await Deno.writeTextFile(file, VALID);
  await Deno.chmod(file, 0o644);
  let r = await loadConfigFile(file, { env, home: "/nonexistent-home", checkEnvironment: true });
  const modeWarning = r.warnings.find((w) => w.message.startsWith("file mode"));
  assert.ok(modeWarning, JSON.stringify(r.warnings));
  assert.match(modeWarning.message, /file mode 0644 lets group\/others read it; 0600 is recommended/);
  assert.equal(modeWarning.line, undefined);
  assert.ok(r.config, "a warning does not invalidate the config");
  await Deno.chmod(file, 0o666);
  r = await loadConfigFile(file, { env, home: "/nonexistent-home", checkEnvironment: true });
  assert.match(r.warnings[0].message, /file mode 0666 lets group\/others write it/);
  r = await loadConfigFile(file, { env, home: "/nonexistent-home", checkEnvironment: false });
  assert.deepEqual(r.warnings, [], "environment checks off: no mode or kubeconfig warnings");
});

Deno.test("loadConfigFile: files over 1 MiB are refused without parsing", async () => {
  await using tmp = await tempDir("kfd-config-");
  const dir = tmp.path;
  const file = `${dir}/big.yaml`;
  await Deno.writeTextFile(file, VALID + "#".repeat(MAX_CONFIG_BYTES));
  const r = await loadConfigFile(file, { env, home: "/h", checkEnvironment: false });
  assert.equal(r.errors.length, 1);
  assert.deepEqual([r.errors[0].line, r.errors[0].column], [1, 1]);
  assert.match(r.errors[0].message, /larger than 1 MiB/);
  assert.equal(r.config, undefined);
  const text = await loadConfigText("#".repeat(MAX_CONFIG_BYTES + 1), { file: "/x.yaml", env, home: "/h" });
  assert.match(text.errors[0].message, /larger than 1 MiB/);
});

Deno.test("loadConfigFile: invalid UTF-8 is located", async () => {
  await using tmp = await tempDir("kfd-config-");
  const dir = tmp.path;
  const file = `${dir}/bad.yaml`;
  const withBad = new Uint8Array([...new TextEncoder().encode("profiles:\n  p: x"), 0xff, 0x0a]);
  await Deno.writeFile(file, withBad);
  const r = await loadConfigFile(file, { env, home: "/h", checkEnvironment: false });
  assert.deepEqual(r.errors, [{ path: [], line: 2, column: 7, message: "file is not valid UTF-8" }]);
});

Deno.test("loadConfigFile: unreadable paths report a read error, not a crash", async () => {
  await using tmp = await tempDir("kfd-config-");
  const dir = tmp.path;
  const missing = await loadConfigFileWithSource(`${dir}/nope.yaml`, { env, home: "/h" });
  assert.ok(missing.readError instanceof Deno.errors.NotFound);
  assert.deepEqual(missing.result.errors, [{ path: [], message: "file not found" }]);
  const directory = await loadConfigFileWithSource(dir, { env, home: "/h" });
  assert.ok(directory.readError);
  assert.equal(directory.result.errors[0].message, "not a regular file");
});

Deno.test("loadConfigText: a UTF-8 BOM is ignored; TOML is chosen by extension", async () => {
  const r = await loadConfigText("\uFEFF" + VALID, { file: "/c.yaml", env, home: "/h" });
  assert.deepEqual(r.errors, []);
  const t = await loadConfigText('[profiles.p]\ncontext = "c"\nnamespaces = ["x"]\n', {
    file: "/c.toml",
    env,
    home: "/h",
  });
  assert.deepEqual(t.errors, []);
  assert.deepEqual(t.config?.profiles[0].namespaces, ["x"]);
});

Deno.test("kubeconfigStatus classifies missing, invalid and usable kubeconfigs", async () => {
  await using tmp = await tempDir("kfd-config-");
  const dir = tmp.path;
  assert.deepEqual(await kubeconfigStatus(`${dir}/missing`), {
    ok: false,
    problem: "missing",
    detail: "not found",
  });
  await Deno.writeTextFile(`${dir}/list.yaml`, "- a\n");
  const invalid = await kubeconfigStatus(`${dir}/list.yaml`);
  assert.equal(invalid.ok, false);
  assert.equal(!invalid.ok && invalid.problem, "invalid");
  await Deno.writeTextFile(`${dir}/bad.yaml`, "a: [\n");
  assert.equal((await kubeconfigStatus(`${dir}/bad.yaml`) as { problem: string }).problem, "invalid");
  await Deno.writeTextFile(
    `${dir}/ok.yaml`,
    "current-context: b\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n- name: b\n  context: {cluster: c, user: u}\n",
  );
  assert.deepEqual(await kubeconfigStatus(`${dir}/ok.yaml`), {
    ok: true,
    currentContext: "b",
    contexts: ["a", "b"],
  });
  assert.equal((await kubeconfigStatus(dir) as { problem: string }).problem, "unreadable");
});

Deno.test("environment checks resolve current-context for the duplicate check", async () => {
  await using tmp = await tempDir("kfd-config-");
  const dir = tmp.path;
  await Deno.writeTextFile(
    `${dir}/kube`,
    "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n",
  );
  const text =
    `profiles:\n  one: { kubeconfig: kube, namespaces: [x] }\n  two: { kubeconfig: kube, context: a, namespaces: [x] }\n`;
  const withEnv = await loadConfigText(text, {
    file: `${dir}/c.yaml`,
    env,
    home: "/h",
    checkEnvironment: true,
  });
  assert.equal(withEnv.errors.length, 1);
  assert.match(withEnv.errors[0].message, /of context "a" is also forwarded by enabled profile "one"/);
  const without = await loadConfigText(text, {
    file: `${dir}/c.yaml`,
    env,
    home: "/h",
    checkEnvironment: false,
  });
  assert.deepEqual(without.errors, [], "unknown current-context '(current)' differs from 'a'");
});

Deno.test("loadConfigFile: a config others can write is refused when it sets kubefwd.path, else a warning", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const file = `${dir}/config.yaml`;
  await Deno.writeTextFile(file, "kubefwd:\n  path: /opt/evil/kubefwd\n" + VALID);
  await Deno.chmod(file, 0o666);
  const r = await loadConfigFile(file, { env, home: "/nonexistent-home", checkEnvironment: false });
  assert.equal(r.config, undefined);
  assert.equal(r.errors.length, 1);
  assert.deepEqual(r.errors[0].path, ["kubefwd", "path"]);
  assert.match(r.errors[0].message, /mode 0666 lets other users write it, and it sets kubefwd\.path/);

  await Deno.writeTextFile(file, VALID);
  await Deno.chmod(file, 0o666);
  const plain = await loadConfigFile(file, { env, home: "/nonexistent-home", checkEnvironment: true });
  assert.deepEqual(plain.errors.filter((e) => e.path[0] === "kubefwd"), []);
  assert.ok(plain.config);
  assert.ok(plain.warnings.some((w) => /lets group\/others write it/.test(w.message)));
});
