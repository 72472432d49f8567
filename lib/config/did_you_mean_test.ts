import assert from "node:assert/strict";
import { didYouMean, editDistance, suggest } from "./did_you_mean.ts";

Deno.test("editDistance counts adjacent transpositions as one edit", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("abc", ""), 3);
  assert.equal(editDistance("lable", "label"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("servce", "service"), 1);
});

Deno.test("suggest finds plausible typos, style variants, and nothing for unrelated words", () => {
  const keys = ["log_level", "log_file", "pid_file", "socket_path", "state_dir"];
  assert.equal(suggest("log_levl", keys), "log_level");
  assert.equal(suggest("logLevel", keys), "log_level");
  assert.equal(suggest("LOG-LEVEL", keys), "log_level");
  assert.equal(suggest("sockt_path", keys), "socket_path");
  assert.equal(suggest("banana", keys), undefined);
  assert.equal(suggest("namespace", ["namespaces", "labels"]), "namespaces");
  assert.equal(suggest("x", ["y"]), "y"); // one edit is always allowed
  assert.equal(suggest("ab", ["xy"]), undefined);
  assert.equal(suggest("warning", ["debug", "info", "warn", "error"]), "warn");
  assert.equal(suggest("namespace", ["name", "namespaces"]), "namespaces");
  assert.equal(didYouMean("a"), ' (did you mean "a"?)');
  assert.equal(didYouMean(undefined), "");
});
