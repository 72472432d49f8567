/**
 * The daemon's own check of a profile's API server, with the profile's own credentials. The credentials are
 * resolved once in a short-lived `kube auth` subprocess (the yaml library and exec plugins stay out of the
 * daemon; the secrets come over the pipe and are never logged); then each check is one authenticated GET
 * of `/api` (a few hundred bytes) from inside the daemon. A 401 re-resolves once (an expired token).
 * docs/decisions.md says why this shape.
 */
import type { ProfileSpec } from "../config/types.ts";
import { runSelf, SelfCommandError } from "../self_command.ts";
import { type ReadyPodsAnswer, readyPodsOf } from "./ready_pods.ts";
import type { ResolvedAuth } from "./services.ts";

/** One check's result: any HTTP answer but 401 means reachable. */
export type ApiCheckResult =
  | { ok: true }
  | { ok: false; why: string; unauthorized?: boolean };

/** Checks one API server with fixed credentials. */
export interface ApiProbe {
  /** One request; never throws. */
  check(timeoutMs: number): Promise<ApiCheckResult>;
  /**
   * Whether the API server reaches the pod's node: true when the node answered, false when the API server
   * could not connect to it, undefined when this cannot tell (no permission, pod gone, API server away).
   */
  checkPodPath?(namespace: string, pod: string, timeoutMs: number): Promise<boolean | undefined>;
  /** Whether a service has a Ready pod (see ready_pods.ts); never throws. */
  readyPods?(namespace: string, service: string, timeoutMs: number): Promise<ReadyPodsAnswer>;
  /** Frees the HTTP client. */
  close(): void;
}

/** Makes the {@link ApiProbe} of a profile; throws with a user-facing message when it cannot. */
export interface ApiProbeFactory {
  /** Resolves the profile's credentials and builds its probe. */
  open(profile: ProfileSpec): Promise<ApiProbe>;
}

function isResolvedAuth(v: unknown): v is { auth: ResolvedAuth } {
  const auth = (v as { auth?: Record<string, unknown> } | null)?.auth;
  if (auth === null || typeof auth !== "object") return false;
  const optionalString = (k: string) => auth[k] === undefined || typeof auth[k] === "string";
  return typeof auth.server === "string" && Array.isArray(auth.caCerts) &&
    auth.caCerts.every((c) => typeof c === "string") &&
    ["cert", "key", "authorization", "proxyUrl"].every(optionalString);
}

/** The real factory: `kube auth` in a subprocess, then fetch with Deno.createHttpClient. */
export class SubprocessApiProbeFactory implements ApiProbeFactory {
  readonly #command: string[] | undefined;
  readonly #timeoutMs: number;

  /** `command` replaces this program's own argv prefix (tests). */
  constructor(opts: { command?: string[]; timeoutMs?: number } = {}) {
    this.#command = opts.command;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async open(profile: ProfileSpec): Promise<ApiProbe> {
    const verb = ["kube", "auth", "--kubeconfig", profile.kubeconfig];
    if (profile.context) verb.push("--context", profile.context);
    try {
      const { auth } = await runSelf(verb, isResolvedAuth, {
        timeoutMs: this.#timeoutMs,
        command: this.#command,
      });
      return new HttpApiProbe(auth);
    } catch (e) {
      // Never the subprocess's stdout: it may hold a key or a token.
      if (!(e instanceof SelfCommandError)) throw new Error(`cannot run kube auth: ${(e as Error).message}`);
      const lines = e.stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
      const detail = (lines.find((l) => l.startsWith("error:")) ?? "").replace(/^error:\s*/, "");
      throw new Error(detail || e.message);
    }
  }
}

/** What a `pods/log` answer says about the API server's path to the pod's node; see checkPodPath. Pure. */
export function podPathAnswer(status: number, body: string, pod: string): boolean | undefined {
  if (status >= 200 && status < 300) return true;
  if (status === 401 || status === 403) return undefined;
  if (status === 404 && body.includes(`pods "${pod}" not found`)) return undefined;
  if (
    /dial tcp|connect: |connection refused|i\/o timeout|no route to host|connection reset|\bEOF\b/i.test(body)
  ) {
    return false;
  }
  return true; // the kubelet answered, if only with an error of its own
}

/** One authenticated GET of `/api` per check. */
export class HttpApiProbe implements ApiProbe {
  readonly #client: Deno.HttpClient;
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #selectors = new Map<string, string>();

  /** Builds the HTTP client from resolved credentials; the key and certificate live only in the client. */
  constructor(auth: ResolvedAuth) {
    const options: Deno.CreateHttpClientOptions = {};
    if (auth.caCerts.length > 0) options.caCerts = auth.caCerts;
    if (auth.proxyUrl) options.proxy = { url: auth.proxyUrl };
    this.#client = auth.cert && auth.key
      ? Deno.createHttpClient({ ...options, cert: auth.cert, key: auth.key })
      : Deno.createHttpClient(options);
    this.#url = `${auth.server.replace(/\/+$/, "")}/api`;
    this.#headers = { Accept: "application/json" };
    if (auth.authorization) this.#headers.Authorization = auth.authorization;
  }

  async check(timeoutMs: number): Promise<ApiCheckResult> {
    try {
      const res = await fetch(this.#url, {
        client: this.#client,
        headers: this.#headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      if (res.status === 401) return { ok: false, why: "credentials rejected (401)", unauthorized: true };
      return { ok: true };
    } catch (e) {
      const err = e as Error;
      return {
        ok: false,
        why: err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : err.message,
      };
    }
  }

  /**
   * `GET pods/<pod>/log?limitBytes=1`: the API server asks the pod's kubelet, the same hop a port-forward
   * takes, so an error saying it could not connect means the node is out of reach. Needs `pods/log` (the
   * `view` role has it); without it the answer is undefined and nothing changes.
   */
  async checkPodPath(namespace: string, pod: string, timeoutMs: number): Promise<boolean | undefined> {
    const base = this.#url.replace(/\/api$/, "");
    const url = `${base}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}` +
      "/log?limitBytes=1&tailLines=1";
    try {
      const res = await fetch(url, {
        client: this.#client,
        headers: this.#headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = (await res.text()).slice(0, 2000);
      return podPathAnswer(res.status, text, pod);
    } catch {
      return undefined;
    }
  }

  readyPods(namespace: string, service: string, timeoutMs: number): Promise<ReadyPodsAnswer> {
    const base = this.#url.replace(/\/api$/, "");
    const get = async (path: string, ms: number) => {
      const res = await fetch(`${base}${path}`, {
        client: this.#client,
        headers: this.#headers,
        signal: AbortSignal.timeout(ms),
      });
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: res.status, body };
    };
    return readyPodsOf(get, namespace, service, timeoutMs, this.#selectors);
  }

  close(): void {
    try {
      this.#client.close();
    } catch {
      // closed already
    }
  }
}
