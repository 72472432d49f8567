import assert from "node:assert/strict";
import { fwdConfFileName, isValidBaseIp, renderFwdConf, writeFwdConf } from "./fwdconf.ts";
import { tempDir } from "../../tests/temp_dir.ts";

Deno.test("isValidBaseIp", () => {
  for (const ok of ["127.1.27.1", "127.10.0.1", "127.255.255.254", "127.0.1.1"]) {
    assert.equal(isValidBaseIp(ok), true, ok);
  }
  for (
    const bad of [
      "10.0.0.1",
      "127.0.0.1",
      "127.2.27.1",
      "127.2.27.50",
      "127.1.27.0",
      "127.1.27.255",
      "127.1.27",
      "127.01.27.1",
      "127.1.256.1",
      " 127.1.27.1",
      "127.1.27.1\n",
    ]
  ) {
    assert.equal(isValidBaseIp(bad), false, JSON.stringify(bad));
  }
});

Deno.test("renderFwdConf: exactly the two keys kubefwd reads", () => {
  assert.equal(renderFwdConf("127.3.27.1"), "baseUnreservedIP: 127.3.27.1\nserviceConfigurations: []\n");
  assert.throws(() => renderFwdConf("127.0.0.1"));
  assert.throws(() => renderFwdConf("127.3.27.1\nserviceConfigurations: [x]"));
});

Deno.test("renderFwdConf: reservations in order, quoted; a repeated or foreign address is refused", () => {
  assert.equal(
    renderFwdConf("127.3.27.1", [{ name: "web.ns", ip: "127.3.27.4" }, {
      name: "web-0.web.ns",
      ip: "127.3.27.2",
    }]),
    "baseUnreservedIP: 127.3.27.1\nserviceConfigurations:\n" +
      '- name: "web.ns"\n  ip: "127.3.27.4"\n- name: "web-0.web.ns"\n  ip: "127.3.27.2"\n',
  );
  const twice = [{ name: "a.ns", ip: "127.3.27.4" }, { name: "b.ns", ip: "127.3.27.4" }];
  assert.throws(() => renderFwdConf("127.3.27.1", twice), /repeated/);
  assert.throws(() => renderFwdConf("127.3.27.1", [{ name: "a.ns", ip: "10.0.0.1" }]));
  assert.throws(() => renderFwdConf("127.3.27.1", [{ name: 'a"\n- x', ip: "127.3.27.4" }]), /name/);
});

Deno.test("writeFwdConf: mode 0600, rewritten in place, unsafe profile names refused", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = await writeFwdConf(`${dir}/state`, "dev", "127.3.27.1");
  assert.equal(path, `${dir}/state/dev.fwdconf.yml`);
  assert.equal(await Deno.readTextFile(path), "baseUnreservedIP: 127.3.27.1\nserviceConfigurations: []\n");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(`${dir}/state`)).mode! & 0o777, 0o700);
  await Deno.chmod(path, 0o644);
  await writeFwdConf(`${dir}/state`, "dev", "127.4.27.1");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.match(await Deno.readTextFile(path), /127\.4\.27\.1/);
  for (const bad of ["", "../x", "a/b", ".hidden"]) assert.throws(() => fwdConfFileName(bad), bad);
});

Deno.test("writeFwdConf: an identical file is not rewritten, so a read-only or full state dir still starts kubefwd", async () => {
  await using tmp = await tempDir();
  const path = await writeFwdConf(`${tmp.path}/state`, "dev", "127.3.27.1");
  const past = new Date("2020-01-01T00:00:00Z");
  await Deno.utime(path, past, past);
  assert.equal(await writeFwdConf(`${tmp.path}/state`, "dev", "127.3.27.1"), path);
  assert.equal((await Deno.stat(path)).mtime?.getTime(), past.getTime(), "left alone");
  // A changed address or a widened mode is rewritten as before.
  await writeFwdConf(`${tmp.path}/state`, "dev", "127.5.27.1");
  assert.match(await Deno.readTextFile(path), /127\.5\.27\.1/);
  await Deno.utime(path, past, past);
  await Deno.chmod(path, 0o644);
  await writeFwdConf(`${tmp.path}/state`, "dev", "127.5.27.1");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
});

Deno.test("writeFwdConf: when new reservations cannot be written, the previous file of the same range is used", async () => {
  await using tmp = await tempDir();
  const dir = `${tmp.path}/state`;
  const path = await writeFwdConf(dir, "dev", "127.3.27.1");
  const before = await Deno.readTextFile(path);
  const refuse = () => Promise.reject(new Deno.errors.PermissionDenied("read-only file system"));
  const reservations = [{ name: "web.ns", ip: "127.3.27.2" }];
  assert.equal(await writeFwdConf(dir, "dev", "127.3.27.1", reservations, refuse), path);
  assert.equal(await Deno.readTextFile(path), before, "left as it was");
  // Another range, or no previous file: nothing to fall back on.
  await assert.rejects(
    () => writeFwdConf(dir, "dev", "127.4.27.1", [], refuse),
    Deno.errors.PermissionDenied,
  );
  await assert.rejects(
    () => writeFwdConf(dir, "other", "127.3.27.1", [], refuse),
    Deno.errors.PermissionDenied,
  );
});
