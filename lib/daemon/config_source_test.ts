import assert from "node:assert/strict";
import { ConfigSourceError, resolveConfigViaSubprocess } from "./config_source.ts";
import type { SelfRunResult } from "../self_command.ts";
import { CONFIG_FIXTURES } from "../../tests/config/helpers.ts";

const VALID = `${CONFIG_FIXTURES}/valid/full.yaml`;

function replying(reply: SelfRunResult) {
  return { command: ["/bin/me"], run: () => Promise.resolve(reply) };
}

Deno.test("resolveConfigViaSubprocess: a missing file is undefined, without running anything", async () => {
  let ran = false;
  const run = () => {
    ran = true;
    return Promise.resolve({ code: 0, stdout: "{}", stderr: "" });
  };
  assert.equal(await resolveConfigViaSubprocess("/nonexistent/config.yaml", { run }), undefined);
  assert.equal(ran, false);
});

Deno.test("resolveConfigViaSubprocess: the child's output is validated, not cast", async () => {
  const result = { file: VALID, errors: [], warnings: [] };
  assert.deepEqual(
    await resolveConfigViaSubprocess(
      VALID,
      replying({ code: 0, stdout: JSON.stringify(result), stderr: "" }),
    ),
    result,
  );
  await assert.rejects(
    resolveConfigViaSubprocess(VALID, replying({ code: 0, stdout: '{"file":"x","errors":[]}', stderr: "" })),
    (e: unknown) =>
      e instanceof ConfigSourceError && /printed an unexpected result: \{"file"/.test(e.message),
  );
});

Deno.test("resolveConfigViaSubprocess: timeout, failure and garbage become ConfigSourceErrors", async () => {
  const cases: [SelfRunResult, RegExp][] = [
    [
      { code: 137, stdout: "", stderr: "", timedOut: true },
      /^config resolve did not finish within 60000 ms$/,
    ],
    [{ code: 1, stdout: "", stderr: "error: config file not found\n" }, /^config file not found$/],
    [{ code: 2, stdout: "", stderr: "" }, /^config resolve exited with code 2$/],
    [{ code: 0, stdout: "Warning: something\n", stderr: "" }, /^config resolve printed no JSON: Warning/],
  ];
  for (const [reply, message] of cases) {
    await assert.rejects(
      resolveConfigViaSubprocess(VALID, replying(reply)),
      (e: unknown) => e instanceof ConfigSourceError && message.test(e.message),
      message.source,
    );
  }
});
