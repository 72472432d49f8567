/** A {@link PodReturnSource} for tests: reachability and each service's answer are settable fields. */
import type { ReadyPodsAnswer } from "../kube/ready_pods.ts";
import type { PodReturnSource } from "../supervisor/pod_return_watch.ts";

/** Answers from `answers` (`namespace/service`; unlisted: no Ready pod) and records every question. */
export class FakePodReturnSource implements PodReturnSource {
  /** Whether the API server counts as answering. */
  apiReachable = true;
  /** The answer per `namespace/service`. */
  answers = new Map<string, ReadyPodsAnswer>();
  /** Services asked about (`namespace/service`), in order. */
  asked: string[] = [];

  reachable(): boolean {
    return this.apiReachable;
  }

  readyPods(namespace: string, service: string): Promise<ReadyPodsAnswer> {
    const key = `${namespace}/${service}`;
    this.asked.push(key);
    return Promise.resolve(this.answers.get(key) ?? { kind: "pods", ready: 0 });
  }
}
