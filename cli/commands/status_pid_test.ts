import assert from "node:assert/strict";
import { pidText } from "./status.ts";
import type { ProfileStatus } from "../../lib/supervisor/types.ts";

Deno.test("pidText: kubefwd's own pid, with sudo's when kubefwd runs under it", () => {
  const p = (pid: number | null, kubefwdPid?: number | null) => ({ pid, kubefwdPid }) as ProfileStatus;
  assert.equal(pidText(p(null)), "");
  assert.equal(pidText(p(10, 10)), "  pid 10");
  assert.equal(pidText(p(10)), "  pid 10", "a daemon that does not report kubefwdPid");
  assert.equal(pidText(p(10, 12)), "  pid 12 (under sudo pid 10)");
  assert.equal(pidText(p(10, null)), "  pid 10 (sudo)");
});
