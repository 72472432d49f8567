/** A {@link ServiceLister} for tests: no subprocess and no API server. */
import type { ProfileSpec } from "../config/types.ts";
import { type ServiceLister, ServiceListError } from "../kubefwd/exclude.ts";

/** In-memory lister for tests: services per namespace, optional failure, and a record of calls. */
export class FakeServiceLister implements ServiceLister {
  /** Every list() call, by profile name, in order. */
  readonly calls: { profile: string; namespace: string }[] = [];
  /** Service names by namespace; tests may change them between calls. */
  services: Record<string, string[]>;
  /** When set, every list() rejects with this message. */
  failWith: string | undefined;

  /** A lister answering from `services`; with `failWith` every call rejects. */
  constructor(services: Record<string, string[]> = {}, failWith?: string) {
    this.services = services;
    this.failWith = failWith;
  }

  list(profile: ProfileSpec, namespace: string): Promise<string[]> {
    this.calls.push({ profile: profile.name, namespace });
    if (this.failWith !== undefined) return Promise.reject(new ServiceListError(this.failWith));
    return Promise.resolve([...(this.services[namespace] ?? [])]);
  }
}
