/** A {@link ServiceLister} for tests: no subprocess and no API server. */
import type { ProfileSpec } from "../config/types.ts";
import { type ServiceLister, ServiceListError } from "../kubefwd/exclude.ts";

/** In-memory lister for tests: services per namespace, optional failure, and a record of calls. */
export class FakeServiceLister implements ServiceLister {
  readonly calls: { profile: string; namespace: string }[] = [];
  services: Record<string, string[]>;
  /** When set, every list() rejects with this message. */
  failWith: string | undefined;

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
