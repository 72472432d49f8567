/**
 * Whether a file the daemon keeps writing (the state file, the event history) reaches the disk, as `status`
 * reports it: the newest write's error and since when writes fail. The owner says how each write went; the
 * listener hears only of changes (failing, a different error, working again), not of every retry.
 */

/** The health of one file's writes. */
export interface WriteHealthState {
  /** False while the newest write failed: what it held lives in memory only. */
  ok: boolean;
  /** The newest write's error, when it failed. */
  error?: string;
  /** When writes began to fail (ISO 8601). */
  since?: string;
}

/** The write health of the file at `path`; one per file, owned by its writer. */
export class WriteHealth {
  readonly #path: string;
  readonly #now: () => string;
  readonly #onChange: () => void;
  #state: { ok: true } | { ok: false; error: string; since: string } = { ok: true };

  /** `now` gives an ISO 8601 time; `onChange` runs after the state changed. */
  constructor(path: string, now: () => string, onChange: () => void) {
    this.#path = path;
    this.#now = now;
    this.#onChange = onChange;
  }

  /** The current state (a copy). */
  get state(): WriteHealthState {
    return { ...this.#state };
  }

  /** The newest write failed with `err`. */
  failed(err: unknown): void {
    const error = `cannot write ${this.#path}: ${err instanceof Error ? err.message : String(err)}`;
    const was = this.#state;
    this.#state = { ok: false, error, since: was.ok ? this.#now() : was.since };
    if (was.ok || was.error !== error) this.#onChange();
  }

  /** The newest write succeeded. */
  succeeded(): void {
    if (this.#state.ok) return;
    this.#state = { ok: true };
    this.#onChange();
  }
}
