/** An {@link ApiProbeFactory} for tests: the API server's answers come from a settable field. */
import type { ApiCheckResult, ApiProbe, ApiProbeFactory } from "../kube/api_check.ts";
import type { ProfileSpec } from "../config/types.ts";
import type { ReadyPodsAnswer } from "../kube/ready_pods.ts";

/** Answers every check with `answer`; counts opens (credential resolutions), checks and closes. */
export class FakeApiProbes implements ApiProbeFactory {
  /** What the next checks return. */
  answer: ApiCheckResult = { ok: true };
  /** When set, `open` fails with this message (credentials cannot be resolved). */
  openError: string | undefined;
  /** Credential resolutions so far. */
  opens = 0;
  /** Checks so far. */
  checks = 0;
  /** Probes closed so far. */
  closes = 0;
  /** What `checkPodPath` answers (the node of the pod reachable, not, or cannot tell). */
  podPath: boolean | undefined = true;
  /** Pods whose node was checked, in order. */
  podChecks: string[] = [];
  /**
   * What `readyPods` answers per `namespace/service`; a service not listed has no Ready pod
   * (`{ kind: "pods", ready: 0 }`).
   */
  readyPods = new Map<string, ReadyPodsAnswer>();
  /** Services asked about with `readyPods` (`namespace/service`), in order. */
  readyPodsAsked: string[] = [];
  /** Answers after the first `unauthorizedUntilOpen` opens: 401 until re-resolved that often. */
  unauthorizedUntilOpen = 0;

  open(_profile: ProfileSpec): Promise<ApiProbe> {
    if (this.openError !== undefined) return Promise.reject(new Error(this.openError));
    const opened = ++this.opens;
    return Promise.resolve({
      check: (_timeoutMs: number) => {
        this.checks++;
        if (opened <= this.unauthorizedUntilOpen) {
          return Promise.resolve({ ok: false, why: "credentials rejected (401)", unauthorized: true });
        }
        return Promise.resolve(this.answer);
      },
      checkPodPath: (namespace: string, pod: string) => {
        this.podChecks.push(`${namespace}/${pod}`);
        return Promise.resolve(this.podPath);
      },
      readyPods: (namespace: string, service: string) => {
        const key = `${namespace}/${service}`;
        this.readyPodsAsked.push(key);
        return Promise.resolve(this.readyPods.get(key) ?? { kind: "pods", ready: 0 });
      },
      close: () => {
        this.closes++;
      },
    });
  }
}
