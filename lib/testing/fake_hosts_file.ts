/** A {@link HostsFile} for tests: the text lives in memory, edited by the production edit function. */
import { type HostsFile, HostsFileError, removeHostsEntries } from "../kubefwd/hosts.ts";

/** In-memory hosts file for tests: holds the text and records every call. */
export class FakeHostsFile implements HostsFile {
  /** The file's current content; tests seed it and assert on it. */
  text: string;
  /** The addresses of every removeEntries call, in order. */
  readonly calls: { ips: string[] }[] = [];
  /** When set, removeEntries rejects with this message. */
  failWith: string | undefined;

  /** A hosts file holding `text` (default: just the localhost line). */
  constructor(text = "127.0.0.1 localhost\n") {
    this.text = text;
  }

  removeEntries(ips: string[]): Promise<number> {
    this.calls.push({ ips: [...ips] });
    if (this.failWith !== undefined) return Promise.reject(new HostsFileError(this.failWith));
    const edit = removeHostsEntries(this.text, ips);
    this.text = edit.text;
    return Promise.resolve(edit.removed);
  }
}
