import assert from "node:assert/strict";
import { FileHostsFile, HostsFileError, inPlaceImage, removeHostsEntries, SudoHostsFile } from "./hosts.ts";
import { renderRootHelper, ROOT_HELPER_TEMPLATE_URL } from "../sudo/root_helper.ts";
import { FakeHostsFile } from "../testing/fake_hosts_file.ts";
import { tempDir } from "../../tests/temp_dir.ts";

const BASE = [
  "# /etc/hosts: static lookup table",
  "127.0.0.1\tlocalhost",
  "127.0.1.1\tbox.example.com box",
  "",
  "# The following lines are desirable for IPv6 capable hosts",
  "::1     localhost ip6-localhost ip6-loopback",
  "ff02::1 ip6-allnodes",
  "",
].join("\n");

Deno.test("removeHostsEntries: table", () => {
  type Row = { name: string; text: string; ips: string[]; names: string[]; want: string; removed: number };
  const kf = "127.1.27.1       web web.default web-default web.default.svc web-default-svc";
  const rows: Row[] = [
    { name: "nothing to remove", text: BASE, ips: [], names: [], want: BASE, removed: 0 },
    {
      name: "unknown ip",
      text: BASE + kf + "\n",
      ips: ["127.1.27.9"],
      names: [],
      want: BASE + kf + "\n",
      removed: 0,
    },
    {
      name: "whole line by ip",
      text: BASE + kf + "\n",
      ips: ["127.1.27.1"],
      names: [],
      want: BASE,
      removed: 5,
    },
    {
      name: "line in the middle, neighbours byte-for-byte",
      text: "a\n127.1.27.1 x y\r\n#c\n127.1.27.2\tz # kept comment\n",
      ips: ["127.1.27.1"],
      names: [],
      want: "a\n#c\n127.1.27.2\tz # kept comment\n",
      removed: 2,
    },
    {
      name: "last line without newline",
      text: "127.0.0.1 localhost\n127.1.27.1 web",
      ips: ["127.1.27.1"],
      names: [],
      want: "127.0.0.1 localhost\n",
      removed: 1,
    },
    {
      name: "names removed from a shared line, spacing of the rest kept",
      text: "127.1.27.5\tother  web\tweb.default   keep # c\n",
      ips: [],
      names: ["web", "web.default"],
      want: "127.1.27.5\tother   keep # c\n",
      removed: 2,
    },
    {
      name: "dashed twin removed only when listed",
      text: "127.1.27.5 web.ns web-ns\n",
      ips: [],
      names: ["web.ns"],
      want: "127.1.27.5 web-ns\n",
      removed: 1,
    },
    {
      name: "line left empty goes",
      text: "x\n127.1.27.5 web web-ns\ny\n",
      ips: [],
      names: ["web", "web-ns"],
      want: "x\ny\n",
      removed: 2,
    },
    {
      name: "case-insensitive names",
      text: "127.1.27.5 Web keep\n",
      ips: [],
      names: ["web"],
      want: "127.1.27.5 keep\n",
      removed: 1,
    },
    {
      name: "names inside comments untouched",
      text: "# web web.default\n127.0.0.1 localhost # web\n",
      ips: ["127.0.0.1"],
      names: ["web"],
      want: "# web web.default\n",
      removed: 1,
    },
    {
      name: "comment-only name match untouched",
      text: "127.0.0.2 a # web\n",
      ips: [],
      names: ["web"],
      want: "127.0.0.2 a # web\n",
      removed: 0,
    },
    {
      name: "ipv6 line by name",
      text: "::1 localhost web\nfe80::1%lo0 web\n",
      ips: [],
      names: ["web"],
      want: "::1 localhost\n",
      removed: 2,
    },
    {
      name: "ipv6 line by ip",
      text: "::1 localhost\nfd00::5 web\n",
      ips: ["FD00::5"],
      names: [],
      want: "::1 localhost\n",
      removed: 1,
    },
    {
      name: "non-address first field untouched",
      text: "weird line web\n",
      ips: [],
      names: ["web"],
      want: "weird line web\n",
      removed: 0,
    },
    {
      name: "leading whitespace kept",
      text: "  127.1.27.5  a web\n",
      ips: [],
      names: ["web"],
      want: "  127.1.27.5  a\n",
      removed: 1,
    },
    {
      name: "similar names are not prefixes",
      text: "127.1.27.5 web webapp web.default.svc.cluster.local\n",
      ips: [],
      names: ["web", "web.default"],
      want: "127.1.27.5 webapp web.default.svc.cluster.local\n",
      removed: 1,
    },
    {
      name: "ip prefix is not a match",
      text: "127.1.27.10 a\n127.1.27.1 b\n",
      ips: ["127.1.27.1"],
      names: [],
      want: "127.1.27.10 a\n",
      removed: 1,
    },
    {
      name: "crlf file",
      text: "127.0.0.1 localhost\r\n127.1.27.1 web\r\n::1 x web\r\n",
      ips: ["127.1.27.1"],
      names: ["web"],
      want: "127.0.0.1 localhost\r\n::1 x\r\n",
      removed: 2,
    },
    { name: "empty file", text: "", ips: ["127.1.27.1"], names: ["a"], want: "", removed: 0 },
  ];
  for (const r of rows) {
    const got = removeHostsEntries(r.text, r.ips, r.names);
    assert.equal(got.text, r.want, r.name);
    assert.equal(got.removed, r.removed, r.name);
  }
});

Deno.test("FileHostsFile: edits in place (same inode, mode kept), no write when nothing matches", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = `${dir}/hosts`;
  await Deno.writeTextFile(path, BASE + "127.1.27.1 web web.default\n");
  await Deno.chmod(path, 0o640);
  const before = await Deno.stat(path);
  const hosts = new FileHostsFile(path);
  assert.equal(await hosts.removeEntries(["127.1.27.1"]), 2);
  assert.equal(await Deno.readTextFile(path), BASE);
  const after = await Deno.stat(path);
  assert.equal(after.ino, before.ino, "same inode: no rename");
  assert.equal(after.mode! & 0o777, 0o640);
  const mtime = after.mtime!.getTime();
  assert.equal(await hosts.removeEntries(["127.9.9.9"]), 0);
  assert.equal((await Deno.stat(path)).mtime!.getTime(), mtime, "not rewritten");
  await assert.rejects(
    new FileHostsFile(`${dir}/missing`).removeEntries(["1.2.3.4"]),
    Deno.errors.NotFound,
  );
});

/** The lines a resolver reads: neither blank nor comments. */
function entries(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
}

Deno.test("inPlaceImage: a daemon killed between the write and the truncate leaves every kept line, plus a comment", () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const kubefwdLines = "127.1.27.1 web web.default\n127.1.27.2 api\n";
  const rows: { name: string; old: string; ips: string[]; names?: string[] }[] = [
    { name: "kubefwd block at the end", old: BASE + kubefwdLines, ips: ["127.1.27.1", "127.1.27.2"] },
    { name: "block in the middle", old: kubefwdLines + BASE, ips: ["127.1.27.1"] },
    { name: "everything removed", old: kubefwdLines, ips: ["127.1.27.1", "127.1.27.2"] },
    { name: "no final newline", old: BASE + "127.1.27.1 web", ips: ["127.1.27.1"] },
    { name: "kept last line without newline", old: "127.1.27.1 web\n10.0.0.1 db", ips: ["127.1.27.1"] },
    { name: "one name of a line (2 bytes)", old: "10.0.0.1 db x\n", ips: [], names: ["x"] },
    { name: "one byte shorter", old: "10.0.0.1 db x", ips: [], names: ["x"] },
  ];
  for (const r of rows) {
    const old = enc.encode(r.old);
    const edit = removeHostsEntries(r.old, r.ips, r.names);
    const next = enc.encode(edit.text);
    const image = inPlaceImage(old.length, next);
    assert.equal(image.length, old.length, r.name);
    assert.deepEqual(image.subarray(0, next.length), next, r.name);
    // After the write, before the truncate: the new lines plus a comment.
    assert.deepEqual(entries(dec.decode(image)), entries(edit.text), r.name);
  }
  // Not shorter (a longer re-encoding): the content alone, the truncate is then a no-op.
  assert.deepEqual(inPlaceImage(2, enc.encode("abc")), enc.encode("abc"));
});

Deno.test("SudoHostsFile: writes through `sudo -n tee <path>` with the content on stdin", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = `${dir}/hosts`;
  const log = `${dir}/sudo.log`;
  await Deno.writeTextFile(path, BASE + "127.1.27.1 web\n");
  // A stand-in sudo that records its argv and runs the command (as the current user).
  const fakeSudo = `${dir}/sudo`;
  await Deno.writeTextFile(
    fakeSudo,
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n[ "$1" = "-n" ] || exit 99\nshift\nexec "$@"\n`,
  );
  await Deno.chmod(fakeSudo, 0o755);
  const hosts = new SudoHostsFile(path, { sudo: fakeSudo });
  assert.equal(await hosts.removeEntries(["127.1.27.1"]), 1);
  assert.equal(await Deno.readTextFile(path), BASE);
  assert.equal(await Deno.readTextFile(log), `-n tee ${path}\n`);

  const failing = `${dir}/sudo-fail`;
  await Deno.writeTextFile(failing, "#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n");
  await Deno.chmod(failing, 0o755);
  await Deno.writeTextFile(path, BASE + "127.1.27.1 web\n");
  await assert.rejects(
    new SudoHostsFile(path, { sudo: failing }).removeEntries(["127.1.27.1"]),
    (e: Error) => e instanceof HostsFileError && /a password is required/.test(e.message),
  );
  assert.equal(await Deno.readTextFile(path), BASE + "127.1.27.1 web\n", "unchanged on failure");
});

Deno.test("SudoHostsFile with the root helper: `sudo -n <helper> hosts-remove` of the addresses present", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = `${dir}/hosts`;
  const log = `${dir}/sudo.log`;
  await Deno.writeTextFile(path, BASE + "127.3.27.1 web web.dev\n127.3.27.2 db\n");
  const helper = `${dir}/kubefwd-root`;
  const template = await Deno.readTextFile(ROOT_HELPER_TEMPLATE_URL);
  await Deno.writeTextFile(helper, renderRootHelper(template, { kubefwd: "/k", hosts: path, home: dir }), {
    mode: 0o755,
  });
  const fakeSudo = `${dir}/sudo`;
  await Deno.writeTextFile(
    fakeSudo,
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n[ "$1" = "-n" ] || exit 99\nshift\nexec "$@"\n`,
    { mode: 0o755 },
  );
  const hosts = new SudoHostsFile(path, { sudo: fakeSudo, rootHelper: helper });
  assert.equal(await hosts.removeEntries(["127.3.27.1", "127.3.27.9"]), 2);
  assert.equal(await Deno.readTextFile(path), BASE + "127.3.27.2 db\n");
  assert.equal(await Deno.readTextFile(log), `-n ${helper} hosts-remove 127.3.27.1\n`);
  // The helper refuses addresses outside the ranges; the daemon says so and the file stays.
  await Deno.writeTextFile(path, BASE + "127.1.27.1 web\n");
  await assert.rejects(
    hosts.removeEntries(["127.1.27.1"]),
    (e: Error) => e instanceof HostsFileError && /outside kubefwd-daemon's ranges/.test(e.message),
  );
  assert.equal(await Deno.readTextFile(path), BASE + "127.1.27.1 web\n");
});

Deno.test("FakeHostsFile records calls and applies the pure edit", async () => {
  const fake = new FakeHostsFile("127.0.0.1 localhost\n127.1.27.1 web\n");
  assert.equal(await fake.removeEntries(["127.1.27.1"]), 1);
  assert.equal(fake.text, "127.0.0.1 localhost\n");
  assert.deepEqual(fake.calls, [{ ips: ["127.1.27.1"] }]);
  fake.failWith = "boom";
  await assert.rejects(fake.removeEntries([]), /boom/);
});
