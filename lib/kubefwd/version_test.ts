import assert from "node:assert/strict";
import {
  detectKubefwdVersion,
  kubefwdAtLeast,
  kubefwdSupports,
  KubefwdVersionError,
  parseKubefwdVersion,
} from "./version.ts";
import { tempDir } from "../../tests/temp_dir.ts";

Deno.test("parseKubefwdVersion: release, v-prefixed, source build, suffixes", () => {
  assert.deepEqual(parseKubefwdVersion("1.25.16\n"), {
    raw: "1.25.16",
    major: 1,
    minor: 25,
    patch: 16,
    sourceBuild: false,
  });
  assert.deepEqual(parseKubefwdVersion("v1.22.3"), {
    raw: "1.22.3",
    major: 1,
    minor: 22,
    patch: 3,
    sourceBuild: false,
  });
  assert.equal(parseKubefwdVersion("0.0.0").sourceBuild, true);
  assert.equal(parseKubefwdVersion("1.25.16-rc1").patch, 16);
  for (const bad of ["", "1.25", "Kubefwd version: 1.25.16", "v", "1.x.3", "1.25.16 extra"]) {
    assert.throws(() => parseKubefwdVersion(bad), KubefwdVersionError, bad);
  }
});

Deno.test("kubefwdSupports: feature gates per version", () => {
  const table: [string, Record<string, boolean>][] = [
    ["1.22.5", {
      autoReconnect: false,
      timeout: false,
      hostsPath: false,
      podInformer: false,
      idleMode: false,
    }],
    ["1.23.0", { autoReconnect: false, timeout: true, hostsPath: true, podInformer: true, idleMode: false }],
    ["1.24.1", { autoReconnect: true, timeout: true, hostsPath: true, podInformer: true, idleMode: false }],
    ["1.25.16", { autoReconnect: true, timeout: true, hostsPath: true, podInformer: true, idleMode: true }],
    ["2.0.0", { autoReconnect: true, timeout: true, hostsPath: true, podInformer: true, idleMode: true }],
    ["0.0.0", { autoReconnect: true, timeout: true, hostsPath: true, podInformer: true, idleMode: true }],
  ];
  for (const [raw, expected] of table) {
    const v = parseKubefwdVersion(raw);
    for (const [feature, want] of Object.entries(expected)) {
      assert.equal(
        kubefwdSupports(v, feature as Parameters<typeof kubefwdSupports>[1]),
        want,
        `${raw} ${feature}`,
      );
    }
  }
  assert.equal(kubefwdAtLeast(parseKubefwdVersion("1.25.11"), 1, 25, 12), false);
  assert.equal(kubefwdAtLeast(parseKubefwdVersion("1.25.12"), 1, 25, 12), true);
});

Deno.test("detectKubefwdVersion: runs `<path> version quiet` through the injected runner", async () => {
  const seen: string[][] = [];
  const v = await detectKubefwdVersion("/opt/kubefwd", {
    run: (argv) => {
      seen.push(argv);
      return Promise.resolve({ code: 0, stdout: "1.22.5\n", stderr: "" });
    },
  });
  assert.deepEqual(seen, [["/opt/kubefwd", "version", "quiet"]]);
  assert.equal(v.raw, "1.22.5");
  await assert.rejects(
    detectKubefwdVersion("k", {
      run: () => Promise.resolve({ code: 1, stdout: "", stderr: "Error: boom\n" }),
    }),
    /exited with code 1: Error: boom/,
  );
  await assert.rejects(
    detectKubefwdVersion("k", { run: () => Promise.resolve({ code: 0, stdout: "garbage\n", stderr: "" }) }),
    KubefwdVersionError,
  );
});

Deno.test("detectKubefwdVersion: real subprocess, missing binary, and timeout", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const script = `${dir}/kubefwd`;
  await Deno.writeTextFile(
    script,
    '#!/bin/sh\n[ "$1 $2" = "version quiet" ] && echo 1.24.1 && exit 0\nexit 3\n',
  );
  await Deno.chmod(script, 0o755);
  assert.equal((await detectKubefwdVersion(script)).raw, "1.24.1");
  await assert.rejects(detectKubefwdVersion(`${dir}/missing`), /not found/);
  const slow = `${dir}/slow`;
  await Deno.writeTextFile(slow, "#!/bin/sh\nexec sleep 30\n");
  await Deno.chmod(slow, 0o755);
  await assert.rejects(detectKubefwdVersion(slow, { timeoutMs: 200 }), /did not finish within 200 ms/);
});
