import assert from "node:assert/strict";
import { runSelf, SelfCommandError, type SelfRunResult } from "./self_command.ts";

const isNumbers = (v: unknown): v is { n: number[] } =>
  typeof v === "object" && v !== null && Array.isArray((v as { n?: unknown }).n);

function fakeRun(reply: SelfRunResult | Error) {
  const seen: { argv: string[]; timeoutMs: number }[] = [];
  const run = (argv: string[], timeoutMs: number) => {
    seen.push({ argv, timeoutMs });
    return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
  };
  return { seen, run };
}

function rejectsWith(reason: SelfCommandError["reason"], message: RegExp) {
  return (e: unknown) => e instanceof SelfCommandError && e.reason === reason && message.test(e.message);
}

Deno.test("runSelf: runs the verb after the program's argv and returns the validated JSON", async () => {
  const { seen, run } = fakeRun({ code: 0, stdout: '{"n":[1,2]}\n', stderr: "" });
  const value = await runSelf(["kube", "list", "--x", "y"], isNumbers, {
    timeoutMs: 5,
    command: ["/bin/me"],
    run,
  });
  assert.deepEqual(value, { n: [1, 2] });
  assert.deepEqual(seen, [{ argv: ["/bin/me", "kube", "list", "--x", "y"], timeoutMs: 5 }]);
});

Deno.test("runSelf: timeout, exit code, non-JSON and unexpected JSON each give their SelfCommandError", async () => {
  const opts = (reply: SelfRunResult) => ({ timeoutMs: 7, command: ["/bin/me"], run: fakeRun(reply).run });
  await assert.rejects(
    runSelf(
      ["config", "resolve", "/c.yaml"],
      isNumbers,
      opts({ code: 137, stdout: "", stderr: "", timedOut: true }),
    ),
    rejectsWith("timeout", /^config resolve did not finish within 7 ms$/),
  );
  await assert.rejects(
    runSelf(["config", "resolve"], isNumbers, opts({ code: 3, stdout: "", stderr: "error: boom\n" })),
    (e: unknown) =>
      rejectsWith("exit", /exited with code 3/)(e) && (e as SelfCommandError).code === 3 &&
      (e as SelfCommandError).stderr === "error: boom\n",
  );
  await assert.rejects(
    runSelf(["config", "resolve"], isNumbers, opts({ code: 0, stdout: "half a line", stderr: "" })),
    (e: unknown) =>
      rejectsWith("not_json", /printed no JSON/)(e) && (e as SelfCommandError).stdout === "half a line",
  );
  await assert.rejects(
    runSelf(["config", "resolve"], isNumbers, opts({ code: 0, stdout: '{"n":"1"}', stderr: "" })),
    rejectsWith("invalid", /printed an unexpected result/),
  );
});

Deno.test("runSelf: an error starting the program propagates as it is", async () => {
  const { run } = fakeRun(new Deno.errors.NotFound("no such file"));
  await assert.rejects(runSelf(["x"], isNumbers, { timeoutMs: 1, run }), Deno.errors.NotFound);
});
