/** A {@link LaunchFiles} for tests: executables and directories are names in sets, writes stay in memory. */
import { renderFwdConf } from "../kubefwd/fwdconf.ts";
import type { Reservation } from "../kubefwd/reservations.ts";
import type { LaunchFiles } from "../supervisor/launch_plan.ts";
import type { InstalledRootHelper } from "../sudo/root_helper.ts";

/** In-memory file system for launch planning. */
export class FakeLaunchFiles implements LaunchFiles {
  /** Paths that count as executable files. */
  readonly executables: Set<string>;
  /** Paths that count as directories. */
  readonly dirs = new Set<string>();
  /** Every `-z` file written, by path. */
  readonly written = new Map<string, string>();
  /** When set, writing the `-z` file fails with this message. */
  failWrites: string | undefined;
  /** The installed root helper, when a test installs one. */
  helper: InstalledRootHelper | undefined;
  /** Symlinks: what {@link realPath} resolves a path to. */
  readonly links = new Map<string, string>();
  /** When set, writing the `-z` file waits for it (a slow disk). */
  holdWrites: Promise<void> | undefined;
  /** `-z` writes waiting for {@link holdWrites}. */
  writesWaiting = 0;

  /** A file system in which only `executables` count as executable files. */
  constructor(executables: string[] = []) {
    this.executables = new Set(executables);
  }

  isExecutable(path: string): boolean {
    return this.executables.has(path);
  }

  dirExists(path: string): boolean {
    return this.dirs.has(path);
  }

  rootHelper(): InstalledRootHelper | undefined {
    return this.helper;
  }

  realPath(path: string): string {
    return this.links.get(path) ?? path;
  }

  async writeFwdConf(
    dir: string,
    profile: string,
    baseIp: string,
    reservations: readonly Reservation[] = [],
  ): Promise<string> {
    if (this.holdWrites) {
      this.writesWaiting++;
      await this.holdWrites;
      this.writesWaiting--;
    }
    if (this.failWrites !== undefined) throw new Error(this.failWrites);
    const path = `${dir}/${profile}.fwdconf.yml`;
    this.written.set(path, renderFwdConf(baseIp, reservations));
    return path;
  }
}
