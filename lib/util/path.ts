/**
 * POSIX path helpers with the names, signatures and results of `@std/path/posix`, which this project
 * cannot import (no JSR access; the daemon imports no package at all). Keep them identical to the
 * standard library so that switching to it later changes no result.
 */

/**
 * The directory part of `path`, like `@std/path/posix`'s `dirname`: trailing slashes are ignored,
 * `"/a/b/c"` → `"/a/b"`, `"/a"` → `"/"`, `"/"` → `"/"`, and a path without a slash (or `""`) → `"."`.
 * The result is not normalized (`"/a/../b"` → `"/a/.."`): it names the same directory as the input's
 * parent, which is what callers that create or inspect that directory need.
 */
export function dirname(path: string): string {
  if (path.length === 0) return ".";
  // Walk back over trailing slashes, then over the last name, then over the slashes before it.
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  let i = end - 1;
  while (i >= 0 && path[i] !== "/") i--;
  if (i < 0) return ".";
  while (i > 0 && path[i - 1] === "/") i--;
  return i === 0 ? "/" : path.slice(0, i);
}
