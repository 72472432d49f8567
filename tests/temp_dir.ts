/** Temporary directories for tests that remove themselves: `await using dir = await tempDir("x_");`. */

/** A temporary directory; leaving the `await using` scope removes it with everything in it. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

export async function tempDir(prefix = "kfd_test_"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}
