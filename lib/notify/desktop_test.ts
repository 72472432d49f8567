/**
 * The real DesktopSender against recording fakes of `notify-send` and `osascript` on PATH: the helpers
 * really run, and what they received is compared byte for byte with what was meant to be shown.
 */
import assert from "node:assert/strict";
import { APPLESCRIPT, DesktopSender, plainText } from "./desktop.ts";
import type { Notification } from "./policy.ts";

const HOSTILE_BODY = [
  `-v he said "hi" \\ and 'quoted' \`id\` $(touch /tmp/pwned) ; rm -rf ~`,
  `" & (do shell script "touch /tmp/pwned") & "`,
  'end tell\ndisplay dialog "x"',
  "<b>bold</b> & <a href='x'>link</a>",
  "nul\u0000 esc\u001b[31m tab\tdone",
].join("\n");
const HOSTILE: Notification = {
  profile: "dev",
  kind: "failed",
  title: `dev": "quoted\\title\nsecond line`,
  body: HOSTILE_BODY,
  urgency: "critical",
};

/** A directory with fakes that write their argv, NUL-separated, to `<dir>/<name>.args`. */
async function fakeHelpers(script = ""): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kfd-notify-" });
  for (const name of ["notify-send", "osascript"]) {
    await Deno.writeTextFile(
      `${dir}/${name}`,
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > "${dir}/${name}.args"\n${script}\n`,
      { mode: 0o755 },
    );
  }
  return dir;
}

async function recorded(dir: string, name: string): Promise<string[]> {
  const raw = await Deno.readTextFile(`${dir}/${name}.args`);
  return raw.split("\0").slice(0, -1);
}

function sender(dir: string, platform: string, env: Record<string, string> = {}, timeoutMs?: number) {
  return new DesktopSender({
    platform,
    env: { PATH: `${dir}:/usr/bin:/bin`, DBUS_SESSION_BUS_ADDRESS: "unix:path=/nowhere", ...env },
    timeoutMs,
  });
}

Deno.test("notify-send: hostile texts arrive as exactly two argv elements after --, body markup escaped", async () => {
  const dir = await fakeHelpers();
  try {
    assert.deepEqual(await sender(dir, "linux").send(HOSTILE), { ok: true });
    const argv = await recorded(dir, "notify-send");
    assert.deepEqual(argv.slice(0, 3), ["--app-name=kubefwd-daemon", "--urgency=critical", "--"]);
    assert.equal(argv.length, 5);
    assert.equal(argv[3], plainText(HOSTILE.title));
    assert.equal(argv[3], `dev": "quoted\\title\nsecond line`);
    const body = argv[4];
    assert.ok(body.startsWith(`-v he said "hi" \\ and 'quoted' \`id\` $(touch /tmp/pwned)`), body);
    assert.ok(body.includes("&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href='x'&gt;link&lt;/a&gt;"), body);
    assert.ok(body.includes("nul\\x00 esc\\x1b[31m tab\tdone"), "control characters are shown, not sent");
    assert.ok(body.includes("end tell\ndisplay dialog"), "newlines stay newlines");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("osascript: a constant script; the hostile texts are its arguments, never script text", async () => {
  const dir = await fakeHelpers();
  try {
    assert.deepEqual(await sender(dir, "darwin", { DBUS_SESSION_BUS_ADDRESS: "" }).send(HOSTILE), {
      ok: true,
    });
    const argv = await recorded(dir, "osascript");
    assert.deepEqual(argv.slice(0, 6), APPLESCRIPT.flatMap((line) => ["-e", line]));
    assert.deepEqual(argv.slice(6), [plainText(HOSTILE.title), plainText(HOSTILE.body)]);
    assert.equal(argv[6], `dev": "quoted\\title\nsecond line`, "quotes, backslashes, newlines unchanged");
    assert.ok(argv[7].includes(`" & (do shell script "touch /tmp/pwned") & "`));
    assert.ok(APPLESCRIPT.every((line) => !/pwned|quoted|dialog/.test(line)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no helper, no session, a failing helper, a hung helper: outcomes, never exceptions", async () => {
  const empty = await Deno.makeTempDir({ prefix: "kfd-notify-" });
  const failing = await fakeHelpers("echo 'GDBus.Error: no notification server' >&2; exit 1");
  const hung = await fakeHelpers("exec sleep 30");
  try {
    const missing = await new DesktopSender({
      platform: "linux",
      env: { PATH: empty, DBUS_SESSION_BUS_ADDRESS: "unix:path=/nowhere" },
    }).send(HOSTILE);
    assert.equal(missing.ok, false);
    assert.ok(
      !missing.ok && missing.problem === "missing_helper" &&
        /notify-send is not on PATH/.test(missing.message),
    );

    const noSession = await new DesktopSender({
      platform: "linux",
      env: { PATH: `${failing}:/usr/bin:/bin`, XDG_RUNTIME_DIR: empty },
    }).send(HOSTILE);
    assert.ok(!noSession.ok && noSession.problem === "no_session");
    const withBus = await new DesktopSender({
      platform: "linux",
      env: { PATH: `${failing}:/usr/bin:/bin`, XDG_RUNTIME_DIR: "/run/user/1" },
      exists: (p) => Promise.resolve(p === "/run/user/1/bus"),
    }).send(HOSTILE);
    assert.ok(!withBus.ok && withBus.problem === "failed", "the bus socket counts as a session");

    const failed = await sender(failing, "linux").send(HOSTILE);
    assert.deepEqual(failed, {
      ok: false,
      problem: "failed",
      message: "notify-send exited with 1: GDBus.Error: no notification server",
    });

    const timedOut = await sender(hung, "darwin", {}, 100).send(HOSTILE);
    assert.deepEqual(timedOut, {
      ok: false,
      problem: "failed",
      message: "osascript did not finish within 100 ms",
    });
  } finally {
    for (const d of [empty, failing, hung]) await Deno.remove(d, { recursive: true });
  }
});
