/**
 * `kubefwd-daemon completions bash|zsh|fish` in the real shells: bash through `complete -p` and the
 * completion function with COMP_WORDS/COMP_CWORD (compgen inside), zsh through its candidates function with
 * `compadd` captured, fish through `complete -C`. Profile names come from a temp config through the hidden
 * `__profiles` verb, run via the launcher as a user's `kubefwd-daemon` would be.
 */
import assert from "node:assert/strict";
import { hasTool, LAUNCHER, pinnedDenoVersion, ShSandbox } from "./sh_env.ts";
import { profileNames } from "../../cli/commands/completions.ts";
import { buildProgram } from "../../cli/app.ts";
import { completionSpec } from "../../cli/completions/spec.ts";
import { completionScript } from "../../cli/completions/scripts.ts";

const CONFIG = `profiles:
  dev-services: { context: dev-cluster, namespaces: [development] }
  staging: { context: staging, namespaces: [web] }
`;

const CTX = { globals: () => ({ json: false, color: false }), out() {}, err() {}, json() {} };
/** The visible verbs, in the order the scripts offer them. */
const VERBS = completionSpec(buildProgram(CTX, false)).commands.map((c) => c.name).join(" ");

const HAVE = { bash: hasTool("bash"), zsh: hasTool("zsh"), fish: hasTool("fish") };
for (const [shell, present] of Object.entries(HAVE)) {
  if (!present) console.log(`completions: ${shell} is not installed here; its real-shell test is skipped`);
}

/** A sandbox with the launcher on PATH as `kubefwd-daemon`, Deno in its cache and a config with 2 profiles. */
async function setup(): Promise<
  { box: ShSandbox; config: string; scriptFor(shell: string): Promise<string> }
> {
  const box = await ShSandbox.create();
  await box.seedCache(await pinnedDenoVersion());
  await box.fake("kubefwd-daemon", `#!/bin/sh\nexec '${LAUNCHER}' "$@"\n`);
  const config = `${box.home}/.config/kubefwd-daemon/config.yaml`;
  await Deno.mkdir(`${box.home}/.config/kubefwd-daemon`, { recursive: true });
  await Deno.writeTextFile(config, CONFIG);
  await Deno.writeTextFile(
    `${box.dir}/other.toml`,
    `[profiles.from-toml]\ncontext = "c"\nnamespaces = ["n"]\n`,
  );
  return {
    box,
    config,
    async scriptFor(shell: string) {
      const r = await box.run(["-c", `kubefwd-daemon completions ${shell}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      const path = `${box.dir}/completion.${shell}`;
      await Deno.writeTextFile(path, r.stdout);
      return path;
    },
  };
}

/** Run `fn` in a fresh {@link setup}, removed afterwards. */
async function withSetup(fn: (s: Awaited<ReturnType<typeof setup>>) => Promise<void>): Promise<void> {
  const s = await setup();
  try {
    await fn(s);
  } finally {
    await s.box.dispose();
  }
}

async function runIn(box: ShSandbox, shell: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(shell, {
    args,
    cwd: box.home,
    clearEnv: true,
    env: { HOME: box.home, PATH: box.path },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  return dec.decode(out.stdout);
}

Deno.test("completions: profile names from YAML and TOML, nothing for broken text", () => {
  assert.deepEqual(profileNames(CONFIG, false), ["dev-services", "staging"]);
  assert.deepEqual(profileNames(`[profiles.a]\n[profiles.b]\n`, true), ["a", "b"]);
  assert.deepEqual(profileNames("profiles: [", false), []);
  assert.deepEqual(profileNames("profiles: 3", false), []);
  assert.deepEqual(profileNames("", false), []);
});

Deno.test("completions: every visible verb and flag of the CLI is in every script", () => {
  const program = buildProgram(CTX, false);
  const spec = completionSpec(program);
  for (const shell of ["bash", "zsh", "fish"] as const) {
    const script = completionScript(shell, spec);
    for (const c of program.commands) {
      const hidden = (c as unknown as { _hidden?: boolean })._hidden;
      if (hidden && c.name() === "__profiles") continue; // what the scripts run, never offered
      if (hidden) assert.doesNotMatch(script, new RegExp(`\\b${c.name()}\\b(?!-)`), `${shell}: ${c.name()}`);
      else assert.match(script, new RegExp(`\\b${c.name()}\\b`), `${shell}: ${c.name()}`);
    }
    for (const flag of ["--config", "--json", "--wait-healthy", "--follow", "--lines"]) {
      assert.ok(script.includes(shell === "fish" ? `-l ${flag.slice(2)}` : flag), `${shell}: ${flag}`);
    }
    assert.ok(!script.includes("--detached"), `${shell}: internal --detached`);
  }
});

Deno.test({
  name: "completions: bash (complete -p, COMP_WORDS through the completion function, compgen)",
  ignore: !HAVE.bash,
  fn: async () => {
    await withSetup(async ({ box, scriptFor }) => {
      const script = await scriptFor("bash");
      const probe = (line: string) => {
        const words = line.split(" ");
        return `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; ` +
          `COMPREPLY=(); _kubefwd_daemon; echo "${line}=>\${COMPREPLY[*]}"`;
      };
      const lines = [
        "kubefwd-daemon st",
        "kubefwd-daemon ",
        "kubefwd-daemon restart ",
        "kubefwd-daemon restart dev-services s",
        `kubefwd-daemon --config ${box.dir}/other.toml stop `,
        "kubefwd-daemon logs ",
        "kubefwd-daemon logs staging ",
        "kubefwd-daemon status --w",
        "kubefwd-daemon logs --lines ",
        "kubefwd-daemon config ",
        "kubefwd-daemon config validate --j",
        "kubefwd-daemon completions ",
        "kubefwd-daemon --json sta",
      ];
      const out = await runIn(box, "bash", [
        "-c",
        `source '${script}'; complete -p kubefwd-daemon; ${lines.map(probe).join("; ")}`,
      ]);
      const got = out.trim().split("\n");
      assert.equal(got[0], "complete -F _kubefwd_daemon kubefwd-daemon");
      assert.deepEqual(got.slice(1), [
        "kubefwd-daemon st=>start stop status",
        `kubefwd-daemon =>${VERBS}`,
        "kubefwd-daemon restart =>dev-services staging",
        "kubefwd-daemon restart dev-services s=>staging",
        `kubefwd-daemon --config ${box.dir}/other.toml stop =>from-toml`,
        "kubefwd-daemon logs =>dev-services staging",
        "kubefwd-daemon logs staging =>",
        "kubefwd-daemon status --w=>--watch --wait-healthy",
        "kubefwd-daemon logs --lines =>",
        "kubefwd-daemon config =>validate show init",
        "kubefwd-daemon config validate --j=>--json",
        "kubefwd-daemon completions =>bash zsh fish",
        "kubefwd-daemon --json sta=>start status",
      ]);

      // A path after --config completes files.
      await Deno.writeTextFile(`${box.home}/cfg-one.yaml`, "");
      const files = await runIn(box, "bash", [
        "-c",
        `source '${script}'; COMP_WORDS=(kubefwd-daemon --config cfg-); COMP_CWORD=2; _kubefwd_daemon; ` +
        `echo "\${COMPREPLY[*]}"`,
      ]);
      assert.equal(files.trim(), "cfg-one.yaml");
    });
  },
});

Deno.test({
  name: "completions: zsh (the completion function with words/CURRENT, compadd captured)",
  ignore: !HAVE.zsh,
  fn: async () => {
    await withSetup(async ({ box, scriptFor }) => {
      const script = await scriptFor("zsh");
      const probe = (line: string) => {
        const words = line.split(" ");
        return `words=(${words.map((w) => `'${w}'`).join(" ")}); CURRENT=${words.length}; ` +
          `got=(); _kubefwd_daemon; print -r -- "${line}=>\${got[*]}"`;
      };
      const out = await runIn(box, "zsh", [
        "-f",
        "-c",
        // compdef and compadd exist only inside zsh's completion system: stand-ins that record.
        `compdef() { print -r -- "compdef $*"; }; compadd() { shift; got=("$@"); }; _files() { got=(FILES); }; ` +
        `source '${script}'; ` +
        [
          "kubefwd-daemon st",
          "kubefwd-daemon restart ",
          "kubefwd-daemon --config x.yaml ",
          "kubefwd-daemon config ",
        ]
          .map(probe).join("; "),
      ]);
      assert.deepEqual(out.trim().split("\n"), [
        "compdef _kubefwd_daemon kubefwd-daemon",
        // compadd gets every candidate; zsh filters by prefix itself.
        `kubefwd-daemon st=>${VERBS}`,
        "kubefwd-daemon restart =>dev-services staging",
        `kubefwd-daemon --config x.yaml =>${VERBS}`,
        "kubefwd-daemon config =>validate show init",
      ]);
      assert.match(VERBS, /^version daemon start stop .*completions/);
    });
  },
});

Deno.test({
  name: "completions: fish (complete -C)",
  ignore: !HAVE.fish,
  fn: async () => {
    await withSetup(async ({ box, scriptFor }) => {
      const script = await scriptFor("fish");
      const out = await runIn(box, "fish", [
        "--no-config",
        "-c",
        `source '${script}'; for l in 'kubefwd-daemon st' 'kubefwd-daemon restart ' 'kubefwd-daemon config ' ` +
        `'kubefwd-daemon status --wait'; echo "== $l"; complete -C $l; end`,
      ]);
      const blocks = Object.fromEntries(
        out.split("== ").filter(Boolean).map((b) => {
          const [head, ...rest] = b.trimEnd().split("\n");
          return [head, rest.map((l) => l.split("\t")[0])];
        }),
      );
      assert.deepEqual(blocks["kubefwd-daemon st"], ["start", "status", "stop"]);
      assert.deepEqual(blocks["kubefwd-daemon restart "], ["dev-services", "staging"]);
      assert.deepEqual(blocks["kubefwd-daemon config "], ["init", "show", "validate"]);
      assert.deepEqual(blocks["kubefwd-daemon status --wait"], ["--wait-healthy"]);
    });
  },
});
