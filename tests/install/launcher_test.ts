/**
 * The launcher (`./kubefwd-daemon`, POSIX sh) in a real `sh` with a temp HOME and a PATH without Deno:
 * finding Deno (env, PATH, cache), installing the pinned one (npm, else Deno's installer; both faked by
 * recording scripts, so no network), the argv it runs, `install`, and the daemon in the foreground.
 */
import assert from "node:assert/strict";
import { LAUNCHER, pinnedDenoVersion, REAL_DENO, ROOT, ShSandbox } from "./sh_env.ts";

const VERSION = await pinnedDenoVersion();
const PROGRAM_VERSION = (await import("../../lib/version.ts")).VERSION;

/** A fake Deno that records its argv (one line per run, NUL-free) and reports `version`. */
function recordingDeno(record: string, version: string): string {
  return `#!/bin/sh
if [ "$1" = --version ]; then echo "deno ${version} (stable, release, x86_64-unknown-linux-gnu)"; exit 0; fi
echo "$PWD|$*" >>'${record}'
`;
}

async function withBox(fn: (box: ShSandbox) => Promise<void>): Promise<void> {
  const box = await ShSandbox.create();
  try {
    await fn(box);
  } finally {
    await box.dispose();
  }
}

async function lines(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter(Boolean);
}

Deno.test("launcher: the pinned Deno version is read by .ci/run, which tests through the launcher", async () => {
  const ci = await Deno.readTextFile(`${ROOT}/.ci/run`);
  assert.match(ci, /^DENO_VERSION=\$\(sed -n 's\/\^KFD_DENO_VERSION=\/\/p' kubefwd-daemon\)$/m);
  assert.match(ci, /\.\/kubefwd-daemon test/);
  assert.match(VERSION, /^\d+\.\d+\.\d+$/);
});

Deno.test("launcher: finds Deno in its cache and runs the CLI without a word of its own", async () => {
  await withBox(async (box) => {
    await box.seedCache(VERSION);
    const r = await box.run([LAUNCHER, "version"]);
    assert.equal(r.stderr, "");
    assert.equal(r.stdout.trim(), PROGRAM_VERSION);
    assert.equal(r.code, 0);
    // XDG_CACHE_HOME moves the cache.
    const xdg = `${box.dir}/xdg-cache`;
    await Deno.mkdir(`${xdg}/kubefwd-daemon/deno-${VERSION}/bin`, { recursive: true });
    await Deno.symlink(REAL_DENO, `${xdg}/kubefwd-daemon/deno-${VERSION}/bin/deno`);
    await Deno.remove(box.denoCache(VERSION), { recursive: true });
    const r2 = await box.run([LAUNCHER, "--json", "version"], { env: { XDG_CACHE_HOME: xdg } });
    assert.equal(r2.stderr, "");
    assert.deepEqual(JSON.parse(r2.stdout), { version: PROGRAM_VERSION });
  });
});

Deno.test("launcher: a Deno on PATH is used when new enough, ignored when older", async () => {
  await withBox(async (box) => {
    const record = `${box.dir}/deno-argv`;
    await box.fake("deno", recordingDeno(record, "2.99.0"));
    let r = await box.run([LAUNCHER, "status"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      (await lines(record)).at(-1)!,
      /\|run -A --quiet --no-prompt --cached-only .*\/main\.ts status$/,
    );

    await box.fake("deno", recordingDeno(record, "2.8.9"));
    await box.seedCache(VERSION); // the real one, in the cache: chosen over the old one on PATH
    r = await box.run([LAUNCHER, "version"]);
    assert.equal(r.stdout.trim(), PROGRAM_VERSION, r.stderr);
    assert.equal(r.stderr, "");
  });
});

Deno.test("launcher: argv of the daemon (as `deno task start`), the CLI and the tests", async () => {
  await withBox(async (box) => {
    const record = `${box.dir}/deno-argv`;
    const fake = await box.fake("fake-deno", recordingDeno(record, VERSION));
    const env = { KUBEFWD_DAEMON_DENO: fake };
    const main = `${ROOT}/main.ts`;
    const daemonArgv = `run -A --quiet --no-prompt --no-config --cached-only ` +
      `--v8-flags=--lite-mode,--max-semi-space-size=1 ${main}`;
    const cases: [string[], string][] = [
      [["daemon"], `${daemonArgv} daemon`],
      [["--config", "/x/daemon.yaml", "daemon"], `${daemonArgv} --config /x/daemon.yaml daemon`],
      [["daemon", "--help"], `run -A --quiet --no-prompt --cached-only ${main} daemon --help`],
      [
        ["--socket", "daemon", "status"],
        `run -A --quiet --no-prompt --cached-only ${main} --socket daemon status`,
      ],
      [["test"], "task test"],
      [["test", "--filter", "x"], "task test --filter x"],
    ];
    for (const [args, want] of cases) {
      const r = await box.run([LAUNCHER, ...args], { env });
      assert.equal(r.code, 0, r.stderr);
      const [cwd, argv] = (await lines(record)).at(-1)!.split("|");
      assert.equal(argv, want, args.join(" "));
      if (args[0] === "test") assert.equal(cwd, ROOT);
    }
    // The daemon's own deno.json tasks say the same thing.
    const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks;
    assert.match(tasks.start, /--no-config --v8-flags=--lite-mode,--max-semi-space-size=1 main\.ts daemon$/);
  });
});

Deno.test("launcher: installs the pinned Deno with npm into the cache, once", async () => {
  await withBox(async (box) => {
    const record = `${box.dir}/npm-argv`;
    // A recording npm that "installs" by linking the real Deno where npm's deno package puts it.
    await box.fake(
      "npm",
      `#!/bin/sh
echo "$*" >>'${record}'
prefix=
while [ $# -gt 0 ]; do [ "$1" = --prefix ] && prefix=$2; shift; done
mkdir -p "$prefix/node_modules/deno" && ln -s '${REAL_DENO}' "$prefix/node_modules/deno/deno"
echo "added 2 packages"
`,
    );
    const r = await box.run([LAUNCHER, "version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), PROGRAM_VERSION);
    assert.equal(
      r.stderr,
      `kubefwd-daemon: installing Deno ${VERSION} into ${box.denoCache(VERSION)} (npm, once)\n`,
    );
    const calls = await lines(record);
    assert.equal(calls.length, 1);
    const m = calls[0].match(/^install --prefix (\S+) (.*) deno@(\S+)$/);
    assert.ok(m, calls[0]);
    assert.ok(m[1].startsWith(`${box.denoCache(VERSION)}.tmp.`), m[1]); // moved into place when complete
    assert.equal(m[3], VERSION);
    const installed = await Deno.lstat(`${box.denoCache(VERSION)}/node_modules/deno/deno`);
    assert.ok(installed.isSymlink);

    // Second run: nothing installed, nothing said.
    const r2 = await box.run([LAUNCHER, "version"]);
    assert.equal(r2.stderr, "");
    assert.equal((await lines(record)).length, 1);
  });
});

Deno.test("launcher: without npm, Deno's official installer with DENO_INSTALL=<cache>", async () => {
  await withBox(async (box) => {
    const record = `${box.dir}/installer`;
    // curl serves an "installer" that records what it was given and installs the real Deno.
    await box.fake(
      "curl",
      `#!/bin/sh
echo "curl $*" >>'${record}'
cat <<'EOF'
echo "installer $* DENO_INSTALL=$DENO_INSTALL" >>'${record}'
[ -t 1 ] && echo "installer stdout is a terminal" >>'${record}'
mkdir -p "$DENO_INSTALL/bin" && ln -s '${REAL_DENO}' "$DENO_INSTALL/bin/deno"
echo "Deno was installed successfully"
EOF
`,
    );
    const r = await box.run([LAUNCHER, "version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), PROGRAM_VERSION);
    assert.match(r.stderr, /^kubefwd-daemon: installing Deno .* \(Deno's installer, once\)\n$/);
    const calls = await lines(record);
    assert.equal(calls[0], "curl -fsSL https://deno.land/install.sh");
    assert.match(
      calls[1],
      new RegExp(`^installer --no-modify-path v${VERSION} DENO_INSTALL=\\S+\\.tmp\\.\\d+$`),
    );
    assert.equal(calls.length, 2);
    assert.ok((await Deno.lstat(`${box.denoCache(VERSION)}/bin/deno`)).isSymlink);
  });
});

Deno.test("launcher: no Deno and no way to install one: one clear error, exit 1", async () => {
  await withBox(async (box) => {
    const r = await box.run([LAUNCHER, "version"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /neither npm nor curl is available/);
    assert.match(r.stderr, /could not install Deno .*; install Deno >= .* yourself/);
    await assert.rejects(Deno.stat(box.denoCache(VERSION)));
  });
});

Deno.test("launcher: `install` writes ~/.local/bin/kubefwd-daemon, idempotent, and says when it is not on PATH", async () => {
  await withBox(async (box) => {
    await box.seedCache(VERSION);
    const bin = `${box.home}/.local/bin`;
    const r = await box.run([LAUNCHER, "install"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^installed ${bin}/kubefwd-daemon \\(runs ${ROOT}/kubefwd-daemon\\)\n`),
    );
    assert.match(
      r.stdout,
      /\.local\/bin is not on your PATH; add it, e\.g\. in ~\/\.profile:\n {2}export PATH=/,
    );
    assert.equal(((await Deno.stat(`${bin}/kubefwd-daemon`)).mode ?? 0) & 0o777, 0o755);

    // Now `kubefwd-daemon …` is a command, from anywhere, and runs this checkout.
    const onPath = { PATH: `${bin}:${box.path}` };
    const again = await box.run([LAUNCHER, "install"], { env: onPath });
    assert.equal(again.code, 0);
    assert.doesNotMatch(again.stdout, /not on your PATH/);
    const v = await box.run(["-c", "cd / && kubefwd-daemon version"], { env: onPath });
    assert.equal(v.stdout.trim(), PROGRAM_VERSION, v.stderr);
    assert.equal(v.stderr, "");

    // A file that is not ours is left alone.
    await Deno.writeTextFile(`${box.dir}/other/kubefwd-daemon`, "#!/bin/sh\n", { mode: 0o755 }).catch(
      async () => {
        await Deno.mkdir(`${box.dir}/other`);
        await Deno.writeTextFile(`${box.dir}/other/kubefwd-daemon`, "#!/bin/sh\n", { mode: 0o755 });
      },
    );
    const foreign = await box.run([LAUNCHER, "install", "--bin-dir", `${box.dir}/other`]);
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /exists and was not written by `kubefwd-daemon install`/);
  });
});

Deno.test("launcher: `daemon` runs the daemon in the foreground with built-in defaults; SIGTERM stops it", async () => {
  await withBox(async (box) => {
    await box.seedCache(VERSION);
    const runtime = `${box.dir}/run`;
    await Deno.mkdir(runtime, { mode: 0o700 });
    const env = { XDG_RUNTIME_DIR: runtime };
    const child = new Deno.Command(`${box.tools}/sh`, {
      args: [LAUNCHER, "daemon"],
      cwd: box.home,
      clearEnv: true,
      env: { HOME: box.home, PATH: box.path, ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream());
    const stdout = new Response(child.stdout).text();
    let said = "";
    const reader = stderr.getReader();
    const deadline = Date.now() + 20_000;
    while (!said.includes("running with no profiles") && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      said += value;
    }
    assert.match(
      said,
      /no config file at .*: running with no profiles\. Create one with `kubefwd-daemon config init`/,
    );
    const status = await box.run([LAUNCHER, "status"], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /no profiles configured/);
    child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      said += value;
    }
    const { code } = await child.status;
    await stdout;
    assert.equal(code, 0, said);
    assert.doesNotMatch(said, /Download|Warning|deno upgrade/);
  });
});
