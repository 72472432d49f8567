/**
 * Shared setup of the config table tests: a fixture home whose ~/.kube/config defines known contexts,
 * and an environment with short runtime paths, so results do not depend on the machine running them.
 */
import type { Diagnostic, LoadResult } from "../../lib/config/types.ts";
import { envFrom } from "../../lib/config/paths.ts";

/** Absolute path of tests/fixtures/configs/. */
export const CONFIG_FIXTURES = decodeURIComponent(new URL("../fixtures/configs/", import.meta.url).pathname)
  .replace(/\/$/, "");

/** HOME for fixture loads: holds .kube/config with contexts dev-cluster (current), staging, prod-cluster. */
export const FIXTURE_HOME = `${CONFIG_FIXTURES}/home`;

/** Environment for fixture loads. */
export const FIXTURE_ENV = envFrom({
  HOME: FIXTURE_HOME,
  XDG_RUNTIME_DIR: "/run/user/1000",
  XDG_STATE_HOME: "/state",
});

/**
 * The file-mode warning depends on how the repository was checked out (git stores 0644), so table
 * tests drop it; load_test.ts covers it with a file whose mode it sets itself.
 */
export function withoutModeWarning(result: LoadResult): LoadResult {
  return {
    ...result,
    warnings: result.warnings.filter((w: Diagnostic) => !w.message.startsWith("file mode ")),
  };
}

/** Config fixture files of one directory, sorted. */
export function fixtureFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && /\.(ya?ml|toml)$/.test(e.name))
    .map((e) => e.name)
    .sort();
}
