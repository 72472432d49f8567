import assert from "node:assert/strict";
import { NamedError } from "./errors.ts";

class SampleError extends NamedError {}
class NarrowerError extends SampleError {}

Deno.test("NamedError: the name is the class name, message and cause are kept", () => {
  const cause = new Error("underneath");
  const e = new SampleError("it failed", { cause });
  assert.ok(e instanceof SampleError && e instanceof NamedError && e instanceof Error);
  assert.equal(e.name, "SampleError");
  assert.equal(String(e), "SampleError: it failed");
  assert.equal(e.cause, cause);
  assert.equal(new NarrowerError("x").name, "NarrowerError");
  assert.equal("cause" in new SampleError("no cause"), false);
});
