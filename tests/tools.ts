/**
 * Outside tools some tests need (promtool, prometheus). On a developer's machine a missing tool skips those
 * tests with a message that says how to install it; in CI (`.ci/run` sets KUBEFWD_DAEMON_CI=1, and so does
 * any CI that sets CI=true) a missing tool fails them instead, so a skipped test is never counted as passing
 * where the tool should be.
 */

/** True where tools must be present. */
export function inCi(): boolean {
  const ci = Deno.env.get("CI");
  return Deno.env.get("KUBEFWD_DAEMON_CI") === "1" || (ci !== undefined && ci !== "" && ci !== "false");
}

/** The tool's path on PATH, or undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const path = `${dir}/${name}`;
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Whether tests needing `name` run: true when it is installed. Outside CI a missing tool prints why the
 * tests are skipped (once per call); in CI it throws, failing the test module.
 */
export function requireTool(name: string, install: string): boolean {
  if (findTool(name) !== undefined) return true;
  const message = `${name} is not installed (${install})`;
  if (inCi()) throw new Error(`${message}: CI must run the tests that need it`);
  console.log(`skipped: ${message}`);
  return false;
}
