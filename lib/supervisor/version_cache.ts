/**
 * kubefwd's version per binary path, detected once (`kubefwd version` costs a process) and again when the
 * binary's fingerprint changes (an upgrade). A failed detection is not cached: the next start tries again.
 */
import type { KubefwdVersion } from "../kubefwd/types.ts";

/** The cache; one per Supervisor. */
export class KubefwdVersionCache {
  readonly #versions = new Map<string, { fingerprint: string; version: Promise<KubefwdVersion> }>();
  readonly #fingerprint: (path: string) => Promise<string>;
  readonly #detect: (path: string) => Promise<KubefwdVersion>;

  /** `fingerprint` tells a changed binary (mtime + size); `detect` runs it. */
  constructor(
    fingerprint: (path: string) => Promise<string>,
    detect: (path: string) => Promise<KubefwdVersion>,
  ) {
    this.#fingerprint = fingerprint;
    this.#detect = detect;
  }

  /** The version of the binary at `path`, detected when unknown or changed. */
  async resolve(path: string): Promise<KubefwdVersion> {
    const fp = await this.#fingerprint(path).catch(() => "unknown");
    const cached = this.#versions.get(path);
    if (cached && cached.fingerprint === fp) return cached.version;
    const version = this.#detect(path);
    const entry = { fingerprint: fp, version };
    this.#versions.set(path, entry);
    version.catch(() => {
      if (this.#versions.get(path) === entry) this.#versions.delete(path);
    });
    return await version;
  }
}
