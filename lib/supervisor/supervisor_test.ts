/**
 * State-machine tests of the Supervisor + ProfileRunner with fake children, a fake clock, a fake prober,
 * fake hosts file and fake service lister: every timing is exact, nothing sleeps.
 */
import assert from "node:assert/strict";
import type { TimerHandle } from "../clock.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import type { KubefwdSettings, ProfileSpec, ResolvedConfig } from "../config/types.ts";
import { UserError } from "../errors.ts";
import { waitFor } from "../util/async.ts";
import { FakeProber } from "../testing/fake_prober.ts";
import { FakeApiProbes } from "../testing/fake_api_probes.ts";
import { FakeServiceLister } from "../testing/fake_service_lister.ts";
import { addressesWithNames } from "../kubefwd/hosts.ts";
import { FakeHostsFile } from "../testing/fake_hosts_file.ts";
import { FakeLaunchFiles } from "../testing/fake_launch_files.ts";
import { testProfile } from "../testing/profile_spec.ts";
import { parseKubefwdVersion } from "../kubefwd/version.ts";
import { emptyState, type PersistedState } from "../state/types.ts";
import { formatLogrusLine, type LogrusLevel } from "../../tests/simulator/logrus.ts";
import { type FakeChild, FakeSpawner } from "../testing/fake_spawner.ts";
import { Supervisor, type SupervisorDeps } from "./supervisor.ts";
import type { LogEntry, TransitionEvent } from "./types.ts";

// ---------------------------------------------------------------------------------------------------------
// Harness

const profile = testProfile;

/** A FakeClock that can also say whether a timer is armed for a given time. */
class TestClock extends FakeClock {
  readonly #due = new Map<TimerHandle, number>();

  override setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = super.setTimeout(() => {
      this.#due.delete(handle);
      fn();
    }, ms);
    this.#due.set(handle, this.now() + Math.max(0, ms));
    return handle;
  }

  override clearTimeout(handle: TimerHandle): void {
    this.#due.delete(handle);
    super.clearTimeout(handle);
  }

  /** True when a timer falls due at exactly `at`. */
  armedFor(at: number): boolean {
    return [...this.#due.values()].includes(at);
  }
}

interface Harness extends AsyncDisposable {
  clock: TestClock;
  spawner: FakeSpawner;
  prober: FakeProber;
  hosts: FakeHostsFile;
  lister: FakeServiceLister;
  logs: LogEntry[];
  events: TransitionEvent[];
  state: PersistedState;
  sup: Supervisor;
  dir: string;
  files: FakeLaunchFiles;
  settings: KubefwdSettings;
  fingerprints: Record<string, string>;
  config(profiles: ProfileSpec[], settings?: Partial<KubefwdSettings>): ResolvedConfig;
}

function harness(
  opts: { version?: string; isRoot?: boolean; state?: PersistedState; deps?: Partial<SupervisorDeps> } = {},
): Harness {
  // Nothing touches the disk: launch planning sees an in-memory file system.
  const dir = "/sup-test";
  const kubefwd = `${dir}/bin/kubefwd`;
  const files = new FakeLaunchFiles([kubefwd, `${dir}/bin/sudo`]);
  const clock = new TestClock(Date.UTC(2026, 0, 1, 12));
  const spawner = new FakeSpawner();
  const prober = new FakeProber(true);
  const hosts = new FakeHostsFile("127.0.0.1 localhost\n10.0.0.5 db.example\n");
  const lister = new FakeServiceLister({});
  const logs: LogEntry[] = [];
  const events: TransitionEvent[] = [];
  const state = opts.state ?? emptyState();
  const fingerprints: Record<string, string> = {};
  const settings: KubefwdSettings = {
    path: kubefwd,
    privilege: "auto",
    extraArgs: [],
    hostsPath: "/etc/hosts",
    stopTimeoutMs: 10_000,
  };
  const sup = new Supervisor({
    spawner,
    clock,
    log: { write: (e) => logs.push(e) },
    prober,
    serviceLister: lister,
    hostsFile: () => hosts,
    detectVersion: () => Promise.resolve(parseKubefwdVersion(opts.version ?? "1.25.16")),
    isRoot: opts.isRoot ?? true,
    stateDir: dir,
    state,
    persist: () => {},
    random: () => 0.5,
    env: { PATH: `${dir}/bin:/usr/bin:/bin`, USER: "alice" },
    home: "/home/u",
    fingerprint: (p) => Promise.resolve(fingerprints[p] ?? "v1"),
    tuning: { startStaggerMs: 0, startupGraceMs: 20_000, firstProbeDelayMs: 500 },
    launchFiles: files,
    ...opts.deps,
  });
  sup.onEvent((e) => events.push(e));
  return {
    clock,
    spawner,
    prober,
    hosts,
    lister,
    logs,
    events,
    state,
    sup,
    dir,
    files,
    settings,
    fingerprints,
    config: (profiles, s = {}) => ({
      path: `${dir}/config.yaml`,
      daemon: {
        logLevel: "info",
        logFile: `${dir}/log`,
        pidFile: `${dir}/pid`,
        socketPath: `${dir}/sock`,
        stateDir: dir,
      },
      kubefwd: { ...settings, ...s },
      profiles,
    }),
    [Symbol.asyncDispose]: async () => {
      await sup.shutdown();
      assert.equal(clock.pending, 0, "no timer left after shutdown");
      assert.equal(spawner.alive.length, 0, "no child left after shutdown");
    },
  };
}

/** Waits (in real time, bounded) for async work driven by fakes and real file I/O. */
async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  await waitFor(cond, ms, { step: 1, what });
}

/**
 * Advances the fake clock by `ms`, which must reach a health probe round, and waits until that round is
 * over: a finished round arms the next one `intervalMs` after it.
 */
async function probeRound(h: Harness, ms = 10_000, intervalMs = 10_000): Promise<void> {
  const calls = h.prober.calls.length;
  h.clock.advance(ms);
  assert.ok(h.prober.calls.length > calls, "a probe round started");
  await until(() => h.clock.armedFor(h.clock.now() + intervalMs), "the probe round to finish");
}

/**
 * Advances the fake clock by `ms` and waits until what that set off is over: a start in progress has spawned
 * its child, a stop has ended, and a probe round that started has armed the next one (or its child is gone).
 */
async function step(h: Harness, ms: number, intervalMs = 10_000): Promise<void> {
  const calls = h.prober.calls.length;
  const child = h.spawner.last;
  h.clock.advance(ms);
  const probed = h.prober.calls.length > calls;
  await until(() => {
    const { state } = st(h);
    if (state === "stopping") return false;
    if (state === "starting" && !h.spawner.last?.alive) return false; // the next child is yet to be spawned
    return !probed || h.clock.armedFor(h.clock.now() + intervalMs) || !child?.alive;
  }, `the work set off by ${ms} ms to finish`);
}

/**
 * The fake-clock time of the last transition of `name` into `to`. Starts and stops enter `starting` and
 * `stopping` synchronously from the timer that triggers them, so this tells when that timer fired.
 */
/** The restart reasons the events carried so far, in order (every profile). */
function restartReasons(h: Harness): string[] {
  return h.events.flatMap((e) => e.restart ? [e.restart] : []);
}

function enteredAt(h: Harness, to: TransitionEvent["to"], name = "a"): number {
  const e = h.events.findLast((e) => e.profile === name && e.to === to);
  assert.ok(e, `${name} never entered ${to}`);
  return Date.parse(e.at);
}

function say(child: FakeChild, level: LogrusLevel, message: string): void {
  child.stdout(formatLogrusLine(level, message, new Date(2026, 0, 1, 12)));
}

function portForward(
  child: FakeChild,
  ip: string,
  host: string,
  port: number,
  pod: string,
  podPort = "8080",
) {
  say(child, "INFO", `Port-Forward: ${ip.padStart(16)} ${host}:${port} to pod ${pod}:${podPort}`);
}

/** Makes a fake child answer SIGTERM like kubefwd: shutdown lines, `Clean exit`, exit 0. */
function graceful(child: FakeChild): void {
  child.onSignal = (sig) => {
    if (sig !== "SIGTERM") return false;
    say(child, "INFO", "Shutting down... (press Ctrl+C again to force)");
    say(child, "INFO", "Clean exit");
    child.exit(0);
    return true;
  };
}

/** The assembler holds a line until the next one or 100 ms of quiet. */
function flushOutput(h: Harness): void {
  h.clock.advance(100);
}

async function spawned(h: Harness, n: number): Promise<FakeChild> {
  await until(() => h.spawner.children.length >= n, `spawn #${n}`);
  return h.spawner.children[n - 1];
}

function st(h: Harness, name = "a") {
  return h.sup.status([name])[0];
}

/** The child was replaced for `reason`: a second spawn, a `stopping` event saying why, no failure counted. */
async function assertRestartedFor(h: Harness, reason: RegExp): Promise<void> {
  await spawned(h, 2);
  assert.match(h.events.find((e) => e.to === "stopping")!.reason, reason);
  assert.equal(st(h).failures, 0);
}

// ---------------------------------------------------------------------------------------------------------

Deno.test("start → running once the announced forwards answer; argv, env, -z file, log attribution", async () => {
  await using h = await harness();
  const diff = h.sup.reconcile(h.config([profile("a")]));
  assert.deepEqual(diff, { added: ["a"], removed: [], changed: [], unchanged: [] });
  assert.equal(st(h).state, "starting");
  const child = await spawned(h, 1);
  const baseIp = h.state.profiles.a.baseIp;
  assert.equal(baseIp, "127.3.27.1");
  assert.equal(child.argv[0], h.settings.path);
  const z = child.argv[child.argv.indexOf("-z") + 1];
  assert.equal(z, `${h.dir}/fwdconf/a.fwdconf.yml`);
  assert.match(h.files.written.get(z) ?? "", /^baseUnreservedIP: 127\.3\.27\.1$/m);
  assert.ok(child.argv.includes("-a"), "1.25 gets -a");
  assert.equal(child.env.HOME, "/home/u");
  assert.match(child.env.PATH, /\/usr\/sbin/);
  assert.equal(h.state.profiles.a.child?.pid, child.pid);

  portForward(child, "127.3.27.1", "web", 80, "web-1");
  child.stderr("some stderr text\n");
  flushOutput(h);
  assert.equal(st(h).state, "starting", "announced is not proven");
  assert.match(st(h).stateDetail ?? "", /1 of 1 forwards not answering yet: web:80/);
  assert.deepEqual(st(h).forwards.map((f) => [f.hostname, f.ip, f.port, f.pod, f.state, f.namespace]), [
    ["web", "127.3.27.1", 80, "web-1", "pending", "ns"],
  ]);
  await probeRound(h, 500);
  assert.equal(st(h).forwards[0].state, "up");
  assert.equal(st(h).state, "running");
  assert.equal(st(h).stateDetail, null);
  assert.deepEqual(h.prober.calls.at(-1), { ip: "127.3.27.1", port: 80, timeoutMs: 1000, mode: "http" });
  assert.deepEqual(h.state.profiles.a.child?.announcedIps, ["127.3.27.1"]);

  const childLines = h.logs.filter((l) => l.source !== "daemon");
  assert.ok(
    childLines.some((l) =>
      l.profile === "a" && l.source === "stdout" && l.message.startsWith("Port-Forward:")
    ),
  );
  assert.ok(
    childLines.some((l) => l.profile === "a" && l.source === "stderr" && l.message === "some stderr text"),
  );
  assert.deepEqual(h.events.map((e) => `${e.from}>${e.to}`), ["stopped>starting", "starting>running"]);
  const s = st(h);
  assert.equal(s.pid, child.pid);
  assert.equal(s.kubefwdVersion, "1.25.16");
  assert.equal(s.baseIp, "127.3.27.1");
  assert.equal(s.enabledSource, "config");
});

Deno.test("crash → backoff on the exact schedule; counters; nextRetryAt", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")])); // initial 1000, ×2, jitter ±20 %, random 0.5 → exact
  const expected = [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000];
  for (let i = 0; i < expected.length; i++) {
    const child = await spawned(h, i + 1);
    child.exit(null, "SIGKILL");
    await until(() => st(h).state === "backoff", `backoff #${i + 1}`);
    const s = st(h);
    assert.equal(s.nextRetryAt, new Date(h.clock.now() + expected[i]).toISOString());
    assert.equal(s.failures, i + 1);
    assert.equal(s.restarts, i);
    assert.equal(s.lastError, "kubefwd killed by SIGKILL");
    const backoffAt = h.clock.now();
    h.clock.advance(expected[i] - 1);
    assert.equal(st(h).state, "backoff", `still waiting after ${expected[i] - 1} ms`);
    assert.equal(h.spawner.children.length, i + 1);
    h.clock.advance(1);
    await spawned(h, i + 2);
    assert.equal(enteredAt(h, "starting"), backoffAt + expected[i], `no respawn before ${expected[i]} ms`);
  }
  assert.equal(st(h).restarts, expected.length);
  assert.deepEqual(restartReasons(h), expected.map(() => "crash"), "each retry begins a crash restart");
});

Deno.test("reset_after: a crash after a stable run restarts at once, the next one backs off from initial_delay", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")]));
  let child = await spawned(h, 1);
  child.exit(2);
  await until(() => st(h).state === "backoff", "backoff 1");
  h.clock.advance(1000);
  child = await spawned(h, 2);
  child.exit(2);
  await until(() => st(h).state === "backoff", "backoff 2");
  assert.equal(st(h).nextRetryAt, new Date(h.clock.now() + 2000).toISOString());
  h.clock.advance(2000);
  child = await spawned(h, 3);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  await probeRound(h, 500); // the first probe proves the forward
  assert.equal(st(h).state, "running");
  h.clock.advance(60_000); // stable for reset_after
  child.exit(2);

  await until(() => st(h).state === "backoff", "backoff 3");
  assert.equal(st(h).nextRetryAt, new Date(h.clock.now()).toISOString(), "no wait after minutes of health");
  assert.ok(st(h).totalUptimeSeconds! >= 60);
  h.clock.advance(0);
  child = await spawned(h, 4);
  child.exit(2);
  await until(() => st(h).state === "backoff", "backoff 4");
  assert.equal(
    st(h).nextRetryAt,
    new Date(h.clock.now() + 1000).toISOString(),
    "a crash loop backs off again",
  );
});

Deno.test("not root → failed with a sudoers line; no restart loop", async () => {
  await using h = await harness({ isRoot: false, deps: { env: { PATH: "", USER: "alice" } } });
  // privilege none + not root: kubefwd runs directly and refuses.
  h.sup.reconcile(h.config([profile("a")], { privilege: "none" }));
  const child = await spawned(h, 1);
  assert.equal(child.argv[0], h.settings.path, "no sudo with privilege none");
  child.stdout(
    formatLogrusLine(
      "ERRO",
      "\nThis program requires superuser privileges to run. These privileges are required",
    ) +
      "to add IP address aliases to your loopback interface.\n\nTry:\n - sudo -E kubefwd services (Unix)\n",
  );
  child.exit(0);
  await until(() => st(h).state === "failed", "failed");
  const s = st(h);
  assert.match(
    s.lastError!,
    /alice ALL=\(root\) NOPASSWD: \/usr\/local\/libexec\/kubefwd-daemon\/kubefwd-root/,
  );
  assert.match(s.lastError!, /runs only \S+\/bin\/kubefwd /);
  assert.match(s.lastError!, /privilege is "none"/);
  h.clock.advance(3_600_000);
  assert.equal(h.events.at(-1)!.to, "failed", "no respawn: every start enters starting at once");
  assert.equal(h.spawner.children.length, 1, "no respawn");
  // The user fixes it and starts again by hand.
  const [r] = await h.sup.start(["a"]);
  assert.equal(r.outcome, "started (was failed)");
  await spawned(h, 2);
  assert.equal(h.spawner.children.length, 2, "the user's start is the only respawn");
});

Deno.test("stable addresses: announced forwards are remembered and reserved for the next kubefwd and daemon", async () => {
  const state = emptyState();
  const zFile = (h: Harness, child: FakeChild) =>
    h.files.written.get(child.argv[child.argv.indexOf("-z") + 1])!;
  const reserved = 'serviceConfigurations:\n- name: "h.ns"\n  ip: "127.3.27.1"\n' +
    '- name: "h-0.h.ns"\n  ip: "127.3.27.3"\n- name: "web.ns"\n  ip: "127.3.27.2"\n';
  {
    await using h = await harness({ state });
    h.sup.reconcile(h.config([profile("a")]));
    const child = await spawned(h, 1);
    assert.match(zFile(h, child), /serviceConfigurations: \[\]/);
    graceful(child);
    portForward(child, "127.3.27.1", "h", 80, "h-0");
    portForward(child, "127.3.27.2", "web", 80, "web-1");
    portForward(child, "127.3.27.2", "web", 443, "web-1");
    portForward(child, "127.3.27.3", "h-0.h", 80, "h-0");
    flushOutput(h);
    assert.deepEqual(
      h.state.profiles.a.addresses?.map((a) => `${a.service}.${a.namespace}@${a.pod}=${a.ip}`),
      ["h.ns@h-0=127.3.27.1", "web.ns@web-1=127.3.27.2", "h-0.h.ns@h-0=127.3.27.3"],
    );
    await h.sup.restart(["a"]);
    const second = await spawned(h, 2);
    // The service-wide forward of the headless service before its pods' entries: kubefwd takes the first match.
    assert.equal(zFile(h, second), `baseUnreservedIP: 127.3.27.1\n${reserved}`);
  }
  // A new daemon on the same state file asks for the same addresses.
  await using h = await harness({ state });
  h.sup.reconcile(h.config([profile("a")]));
  assert.equal(zFile(h, await spawned(h, 1)), `baseUnreservedIP: 127.3.27.1\n${reserved}`);
});

Deno.test("via sudo: argv is sudo -n <abs kubefwd>; sudo refusal → failed, actionable", async () => {
  await using h = await harness({ isRoot: false });
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  assert.deepEqual(child.argv.slice(0, 3), [`${h.dir}/bin/sudo`, "-n", h.settings.path]);
  child.stderr("sudo: a password is required\n");
  child.exit(1);
  await until(() => st(h).state === "failed", "failed");
  assert.match(st(h).lastError!, /sudo: a password is required/);
  assert.match(st(h).lastError!, /`kubefwd-daemon sudoers \| sudo sh`/);
  // Stopping a via-sudo child signals sudo only, not its group.
  await h.sup.start(["a"]);
  const c2 = await spawned(h, 2);
  await h.sup.stop(["a"]);
  assert.deepEqual(c2.signals, [{ signal: "SIGTERM", group: false }]);
});

Deno.test("permanent fatal → failed with the FATA text; re-armed by a kubeconfig change or a changed spec", async () => {
  await using h = await harness();
  const spec = profile("a");
  h.sup.reconcile(h.config([spec]));
  let child = await spawned(h, 1);
  const fata = 'Error generating REST configuration: context was not found for specified context: "ctx"';
  say(child, "FATA", fata);
  child.exit(1);
  await until(() => st(h).state === "failed", "failed");
  assert.equal(st(h).lastError, fata);
  h.clock.advance(60_000);
  assert.equal(h.events.at(-1)!.to, "failed", "permanent: no retry while nothing changes");
  assert.equal(h.spawner.children.length, 1, "permanent: no retry while nothing changes");
  // The kubeconfig watch reads the file, then arms its next look 5 s later.
  await until(() => h.clock.armedFor(h.clock.now() + 5000), "the kubeconfig watch to re-arm");
  assert.equal(h.events.at(-1)!.to, "failed", "permanent: no retry while nothing changes");

  h.fingerprints[spec.kubeconfig] = "v2";
  h.clock.advance(5000);
  child = await spawned(h, 2);
  assert.equal(st(h).state, "starting");
  assert.equal(h.events.at(-1)!.reason, "kubeconfig changed");

  say(child, "FATA", fata);
  child.exit(1);
  await until(() => st(h).state === "failed", "failed again");
  const diff = h.sup.reconcile(h.config([{ ...spec, context: "other" }]));
  assert.deepEqual(diff.changed, ["a"]);
  child = await spawned(h, 3);
  assert.equal(child.argv[child.argv.indexOf("-x") + 1], "other");
});

Deno.test("secrets in kubefwd's errors are masked where lastError and events are recorded (status, state)", async () => {
  await using h = await harness();
  const spec = profile("a", { kubeconfig: "/home/u/.kube/prod-eu-cluster" });
  h.sup.reconcile(h.config([spec]));
  const child = await spawned(h, 1);
  say(
    child,
    "FATA",
    "Error connecting to k8s cluster: Get https://k8s: Authorization: Bearer eyJhbGciOi.abc.def token=s3cr3tvalue " +
      "invalid configuration in /home/u/.kube/prod-eu-cluster",
  );
  child.exit(1);
  await until(() => st(h).state === "backoff" || st(h).state === "failed", "the exit handled");
  h.clock.advance(1000);
  await spawned(h, 2).then((c) => {
    say(c, "FATA", "unable to load kubeconfig /home/u/.kube/prod-eu-cluster: token=s3cr3tvalue");
    c.exit(1);
  });
  await until(() => h.events.filter((e) => e.to === "backoff").length >= 2, "second backoff");
  const shown = JSON.stringify([h.sup.status(["a"], { details: true }), h.state, h.events]);
  for (const secret of ["s3cr3tvalue", "eyJhbGciOi.abc", "prod-eu-cluster"]) {
    assert.ok(!shown.includes(secret), `${secret} leaked: ${shown}`);
  }
  assert.match(st(h).lastError!, /\*\*\*/);
});

Deno.test("max_attempts exceeded → failed", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a", { retry: { ...profile("a").retry, maxAttempts: 2 } })]));
  for (let i = 1; i <= 3; i++) {
    const child = await spawned(h, i);
    say(child, "FATA", "Error forwarding service: something nobody has seen");
    child.exit(1);
    if (i < 3) {
      await until(() => st(h).state === "backoff", `backoff ${i}`);
      h.clock.advance(i === 1 ? 1000 : 2000);
    }
  }
  await until(() => st(h).state === "failed", "failed");
  assert.match(
    st(h).lastError!,
    /gave up after 2 restart attempts \(max_attempts 2\); last error: Error forwarding service/,
  );
  h.clock.advance(600_000);
  assert.equal(h.events.at(-1)!.to, "failed", "no retry: every start enters starting at once");
  assert.equal(h.spawner.children.length, 3);
});

Deno.test("1.22: a dead forward → degraded, restart after the debounce, counted as a reconnect", async () => {
  await using h = await harness({ version: "1.22.5" });
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  assert.ok(!child.argv.includes("-a"), "1.22 has no -a");
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  portForward(child, "127.3.27.2", "api", 8080, "api-1");
  flushOutput(h);
  await probeRound(h, 500);
  say(child, "ERRO", "Runtime: lost connection to pod");
  say(child, "WARN", "Stopped forwarding pod web-1 for web.ns.ctx");
  flushOutput(h);
  assert.equal(st(h).state, "degraded");
  assert.deepEqual(st(h).forwards.map((f) => `${f.hostname}:${f.state}`), ["api:up", "web:down"]);
  graceful(child);
  h.clock.advance(1899); // 100 ms already passed in flushOutput
  assert.equal(child.signals.length, 0, "debounce not over");
  // 1.22 graceful exit leaves the dead forward's hosts line (docs/kubefwd-compatibility.md#hosts-cleanup):
  // the daemon removes it.
  h.hosts.text += "127.3.27.1 web web.ns\n127.3.27.2 api api.ns\n";
  h.clock.advance(1);
  await until(() => child.signals.length === 1, "SIGTERM");
  assert.equal(enteredAt(h, "stopping"), h.clock.now(), "stopped when the debounce was over, not before");
  const c2 = await spawned(h, 2);
  assert.equal(c2.argv.join(" "), child.argv.join(" "));
  const s = st(h);
  assert.equal(s.restarts, 1);
  assert.equal(s.failures, 0);
  assert.ok(!h.events.some((e) => e.to === "backoff"), "no backoff for a reconnect");
  assert.deepEqual(h.events.slice(-2).map((e) => `${e.from}>${e.to}`), [
    "degraded>stopping",
    "stopping>starting",
  ]);
  assert.deepEqual(restartReasons(h), ["dead_forward"], "the stopping event carries the reason");
  assert.equal(h.events.at(-2)!.restart, "dead_forward");
  assert.deepEqual(h.hosts.calls, [{ ips: ["127.3.27.1"] }]);
  assert.equal(h.hosts.text, "127.0.0.1 localhost\n10.0.0.5 db.example\n127.3.27.2 api api.ns\n");
});

Deno.test("1.25: one service failing N times within the window → child restart; spaced failures → none", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  // Two failures 61 s apart never reach 3 within 60 s.
  for (let i = 0; i < 3; i++) {
    say(child, "INFO", "Scheduling reconnection for web.ns.ctx in 1s");
    flushOutput(h);
    h.clock.advance(31_000);
  }
  assert.ok(!h.events.some((e) => e.to === "stopping"), "3 failures spread over 93 s: no restart");
  assert.equal(child.signals.length, 0, "3 failures spread over 93 s: no restart");

  assert.equal(st(h).reconnects, 3);
  for (let i = 0; i < 3; i++) {
    say(child, "ERRO", "Lost connection to ns/web-1: lost connection to pod");
    say(child, "INFO", "Scheduling reconnection for web.ns.ctx in 1s");
    flushOutput(h);
  }
  await until(() => child.signals.length === 1, "restart");
  await assertRestartedFor(h, /failed 3 times within 60 s/);
  assert.equal(st(h).restarts, 1);
});

Deno.test("ip_exhausted → child restart", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  say(
    child,
    "WARN",
    "WARNING: error readying interface: IP generation has run out of bounds: cluster, namespace, or service count exceeds 255",
  );
  flushOutput(h);
  await assertRestartedFor(h, /ran out of IP addresses/);
  assert.deepEqual(restartReasons(h), ["ip_addresses"]);
});

Deno.test("failed to list that persists → child restart; list failures with long gaps do not", async () => {
  await using h = await harness({ version: "1.22.3" });
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  const listFailed = () => {
    say(
      child,
      "ERRO",
      'Runtime: failed to list *v1.Service: Get "https://127.0.0.1:6443/api/v1/namespaces/ns/services": dial tcp 127.0.0.1:6443: connect: connection refused',
    );
    flushOutput(h);
  };
  // Sporadic failures, each after a quiet minute: the informer recovered in between.
  for (let i = 0; i < 4; i++) {
    listFailed();
    h.clock.advance(60_000);
  }
  assert.ok(!h.events.some((e) => e.to === "stopping"), "isolated list failures never restart kubefwd");
  assert.equal(child.signals.length, 0, "isolated list failures never restart kubefwd");
  // A failure every 20 s for 90 s: the API stays unreachable for this process.
  for (let t = 0; t <= 90_000; t += 20_000) {
    listFailed();
    if (t < 80_000) assert.equal(child.signals.length, 0, `no restart yet at ${t} ms`);
    h.clock.advance(20_000);
  }
  listFailed();
  await until(() => child.signals.length === 1, "restart");
  await assertRestartedFor(h, /failed to list from the API server for \d+ s .*connection refused/);
  assert.deepEqual(restartReasons(h), ["list_failures"]);
});

Deno.test("IP churn: many addresses for few hostnames → restart before kubefwd runs out; many services do not", async () => {
  await using h = await harness({ deps: { tuning: { ipChurnRestartAt: 5 } } });
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  // Five services on five addresses: big, but no churn.
  for (let i = 1; i <= 5; i++) portForward(child, `127.3.27.${i}`, `svc${i}`, 80, `svc${i}-pod`);
  flushOutput(h);
  assert.ok(!h.events.some((e) => e.to === "stopping"), "no restart without churn");
  assert.equal(child.signals.length, 0, "no restart without churn");
  // svc1's pod replaced twice: new addresses each time (kubefwd never reuses one).
  portForward(child, "127.3.27.6", "svc1", 80, "svc1-pod-b");
  flushOutput(h);
  await until(() => child.signals.length === 1, "restart on churn");
  await assertRestartedFor(h, /handed out 6 addresses in 127\.3\.27\.0\/24/);
});

Deno.test("unclean exit: addresses outside the profile's range (localhost, another profile's) are never removed", async () => {
  await using h = await harness();
  h.hosts.text = "127.0.0.1 localhost\n127.4.27.1 other-profile\n127.3.27.1 web web.ns\n";
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  portForward(child, "127.0.0.1", "evil", 81, "evil-1");
  portForward(child, "127.4.27.1", "other", 82, "other-1");
  flushOutput(h);
  child.exit(null, "SIGKILL");
  await until(() => h.state.profiles.a.child === undefined, "child record cleared");
  assert.equal(h.hosts.text, "127.0.0.1 localhost\n127.4.27.1 other-profile\n");
  assert.ok(
    h.logs.some((l) => /refused to remove hosts lines of 127\.0\.0\.1, 127\.4\.27\.1/.test(l.message)),
  );
});

Deno.test("unclean exit → exactly the announced addresses leave the hosts file; a clean stop touches nothing", async () => {
  await using h = await harness();
  h.hosts.text = "127.0.0.1 localhost\n127.4.27.1 other-profile\n127.3.27.1 web web.ns\n127.3.27.2 api\n";
  h.sup.reconcile(h.config([profile("a")]));
  let child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  portForward(child, "127.3.27.2", "api", 80, "api-1");
  flushOutput(h);
  child.exit(null, "SIGKILL");
  await until(() => h.hosts.calls.length === 1, "cleanup");
  assert.deepEqual(h.hosts.calls[0], { ips: ["127.3.27.1", "127.3.27.2"] });
  assert.equal(h.hosts.text, "127.0.0.1 localhost\n127.4.27.1 other-profile\n");
  await until(() => h.state.profiles.a.child === undefined, "child record cleared");

  h.clock.advance(1000);
  child = await spawned(h, 2);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  graceful(child);
  const [r] = await h.sup.stop(["a"]);
  assert.equal(r.outcome, "stopped");
  assert.equal(st(h).state, "stopped");
  assert.equal(h.hosts.calls.length, 1, "graceful v1.25 exit cleans itself");
});

Deno.test("stop escalation: a SIGTERM-ignoring child gets a second SIGTERM then SIGKILL; hosts cleaned", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  child.exitOnTerm = false;
  portForward(child, "127.3.27.9", "web", 80, "web-1");
  flushOutput(h);
  const stopping = h.sup.stop(["a"]);
  await until(() => child.signals.length === 1, "first SIGTERM");
  assert.equal(st(h).state, "stopping");
  h.clock.advance(10_000);
  await until(() => child.signals.length === 2, "second SIGTERM");
  h.clock.advance(3000);
  await stopping;
  assert.deepEqual(child.signals.map((s) => `${s.signal}/${s.group}`), [
    "SIGTERM/true",
    "SIGTERM/true",
    "SIGKILL/true",
  ]);
  assert.equal(st(h).state, "stopped");
  assert.deepEqual(h.hosts.calls, [{ ips: ["127.3.27.9"] }]);
  assert.equal(st(h).failures, 0, "a stop is not a failure");
});

Deno.test("excludes: resolved at every start into -f; a listing failure → backoff, no spawn", async () => {
  await using h = await harness();
  h.lister.services = { ns: ["web", "debug-a", "debug-b", "api"] };
  h.sup.reconcile(h.config([profile("a", { excludeServices: ["debug-*", "literal"] })]));
  let child = await spawned(h, 1);
  assert.equal(
    child.argv[child.argv.indexOf("-f") + 1],
    "metadata.name!=debug-a,metadata.name!=debug-b,metadata.name!=literal",
  );
  h.lister.failWith = 'services is forbidden: User "u" cannot list resource "services"';
  child.exit(null, "SIGKILL");
  await until(() => st(h).state === "backoff", "backoff after crash");
  h.clock.advance(1000);
  await until(() => st(h).state === "backoff" && st(h).failures === 2, "start failure → backoff");
  assert.match(st(h).lastError!, /exclude_services could not be resolved.*forbidden/);
  assert.equal(h.spawner.children.length, 1, "never spawned without the exclusions");
  h.lister.failWith = undefined;
  h.lister.services = { ns: ["web", "debug-c"] };
  h.clock.advance(2000);
  child = await spawned(h, 2);
  assert.equal(child.argv[child.argv.indexOf("-f") + 1], "metadata.name!=debug-c,metadata.name!=literal");
});

Deno.test("reconcile: added / removed / changed / unchanged", async () => {
  await using h = await harness();
  const a = profile("a");
  const b = profile("b", { namespaces: ["nb"] });
  const c = profile("c", { namespaces: ["nc"] });
  h.sup.reconcile(h.config([a, b, c]));
  await until(() => h.spawner.children.length === 3, "3 children");
  const pidOf = (name: string) => st(h, name).pid;
  const [pa, pb, pc] = [pidOf("a"), pidOf("b"), pidOf("c")];
  assert.deepEqual(new Set([st(h, "a").baseIp, st(h, "b").baseIp, st(h, "c").baseIp]).size, 3);

  const d = profile("d", { namespaces: ["nd"] });
  const diff = h.sup.reconcile(h.config([{ ...a }, { ...b, labels: ["app=x"] }, d]));
  assert.deepEqual(diff, { added: ["d"], removed: ["c"], changed: ["b"], unchanged: ["a"] });
  await until(() => h.spawner.children.length === 5, "b restarted and d started");
  await until(() => st(h, "b").state === "starting" && st(h, "b").pid !== pb, "b restarted");
  assert.equal(pidOf("a"), pa, "unchanged profile untouched");
  assert.ok(h.spawner.children.find((x) => x.pid === pc)!.signals.length > 0, "removed profile stopped");
  assert.equal(h.sup.hasProfile("c"), false);
  await until(() => h.state.profiles.c === undefined, "removed profile's state dropped");
  assert.ok(h.spawner.children.some((x) => x.argv.includes("nd")));
  assert.ok(h.spawner.children.find((x) => x.pid === st(h, "b").pid)!.argv.includes("app=x"));

  // kubefwd settings changes restart everything that runs.
  const diff2 = h.sup.reconcile(
    h.config([{ ...a }, { ...b, labels: ["app=x"] }, d], { stopTimeoutMs: 5000 }),
  );
  assert.deepEqual(diff2.changed, ["a", "b", "d"]);
  await until(() => restartReasons(h).length === 4, "every active profile restarted for the config");
  assert.deepEqual(restartReasons(h), ["config_change", "config_change", "config_change", "config_change"]);
  // Only `enabled` flipping in the config stops into disabled.
  await until(() => h.spawner.alive.length === 3, "3 alive again");
  const diff3 = h.sup.reconcile(
    h.config([{ ...a, enabled: false }, { ...b, labels: ["app=x"] }, d], { stopTimeoutMs: 5000 }),
  );
  assert.deepEqual(diff3.changed, ["a"]);
  await until(() => st(h, "a").state === "disabled", "a disabled");
});

Deno.test("enable/disable persist in the state object and survive a reconcile and a new Supervisor", async () => {
  await using h = await harness();
  const cfg = h.config([profile("a"), profile("b", { enabled: false, namespaces: ["nb"] })]);
  h.sup.reconcile(cfg);
  await spawned(h, 1);
  assert.equal(st(h, "b").state, "disabled");
  assert.deepEqual(await h.sup.setEnabled(["a"], false), [{
    profile: "a",
    outcome: "disabled and stopped",
  }]);
  assert.equal(h.state.profiles.a.enabledOverride, false);
  assert.equal(st(h, "a").state, "disabled");
  assert.equal(st(h, "a").enabledSource, "cli");
  assert.deepEqual(await h.sup.setEnabled(["b"], true), [{ profile: "b", outcome: "enabled and started" }]);
  assert.equal(h.state.profiles.b.enabledOverride, true);
  await spawned(h, 2);
  assert.deepEqual(h.sup.reconcile(cfg).unchanged, ["a", "b"]);
  assert.equal(st(h, "a").state, "disabled");

  // A new daemon with the same state file honours the overrides and keeps the IP ranges.
  const ips = [st(h, "a").baseIp, st(h, "b").baseIp];
  await h.sup.shutdown();
  await using h2 = await harness({ state: h.state });
  h2.sup.reconcile(h2.config(cfg.profiles));
  await spawned(h2, 1);
  assert.ok(!h2.events.some((e) => e.profile === "a" && e.to === "starting"), "a stays disabled");
  assert.equal(h2.spawner.children.length, 1);
  assert.equal(st(h2, "a").state, "disabled");
  assert.equal(st(h2, "b").state, "starting");
  assert.deepEqual([st(h2, "a").baseIp, st(h2, "b").baseIp], ips);
});

Deno.test("verbs: transient start of a disabled profile, stop, restart, unknown names", async () => {
  await using h = await harness();
  h.sup.reconcile(
    h.config([profile("alpha", { enabled: false }), profile("beta", { namespaces: ["nb"] })]),
  );
  await spawned(h, 1);
  const [r1] = await h.sup.start(["alpha"]);
  assert.match(r1.outcome, /^started \(disabled in config/);
  assert.equal(h.state.profiles.alpha.enabledOverride, undefined, "transient: not persisted");
  await spawned(h, 2);
  assert.deepEqual(await h.sup.stop(["alpha"]), [{ profile: "alpha", outcome: "stopped" }]);
  assert.equal(st(h, "alpha").state, "disabled");
  assert.deepEqual(await h.sup.stop(["alpha"]), [{ profile: "alpha", outcome: "already disabled" }]);
  assert.deepEqual(await h.sup.start(["beta"]), [{ profile: "beta", outcome: "already starting" }]);
  const [r2] = await h.sup.restart(["beta"]);
  assert.equal(r2.outcome, "restarted");
  await spawned(h, 3);
  assert.equal(st(h, "beta").restarts, 1);
  assert.deepEqual(restartReasons(h), ["manual"], "a transient start is no restart; `restart` is manual");
  await assert.rejects(
    () => h.sup.start(["btea"]),
    (e: unknown) =>
      e instanceof UserError && e.code === "unknown_profile" && /did you mean "beta"/.test(e.message) &&
      /known profiles: alpha, beta/.test(e.message),
  );
  assert.throws(() => h.sup.status(["nope"]), UserError);
  await assert.rejects(
    () => h.sup.setEnabled([], true),
    (e: unknown) => e instanceof UserError && e.code === "usage",
  );
  const details = h.sup.status(["beta"], { details: true })[0];
  assert.ok(details.events && details.events.length > 0 && details.events.length <= 20);
  assert.equal(h.sup.status().length, 2);
});

Deno.test("output flood: log lines are rate-limited with a suppression notice; parsing still sees everything", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  let text = "";
  for (let i = 0; i < 2000; i++) {
    text += formatLogrusLine("WARN", `WARNING: Error in List pods for web.ns.ctx: x ${i}`);
  }
  child.stdout(text);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  const childLines = () => h.logs.filter((l) => l.profile === "a" && l.source === "stdout").length;
  assert.ok(childLines() <= 401, `burst bounded: ${childLines()}`);
  assert.equal(st(h).forwards.length, 1, "the Port-Forward line after the flood was still parsed");
  h.clock.advance(1000);
  const notice = h.logs.find((l) => l.source === "daemon" && /lines suppressed/.test(l.message));
  assert.ok(notice, "suppression notice");
  assert.match(notice.message, /^1600 kubefwd output lines suppressed/);
  child.stdout(formatLogrusLine("INFO", "after the flood"));
  flushOutput(h);
  assert.ok(h.logs.some((l) => l.message === "after the flood"));
});

Deno.test("health probes: failures up to the threshold mark a forward down → degraded → back to running", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  await probeRound(h, 500);
  assert.equal(st(h).forwards[0].state, "up");
  h.prober.set("127.3.27.1", 80, false);
  await probeRound(h);
  assert.equal(st(h).state, "running", "one failure is below the threshold of 2");
  await probeRound(h);
  assert.equal(st(h).state, "degraded");
  h.prober.set("127.3.27.1", 80, true);
  await probeRound(h);
  assert.equal(st(h).state, "running");
  // A replacement Port-Forward line (v1.23+ pod rollout) updates ip and pod in place.
  say(child, "WARN", "Pod web-1 deleted, resyncing the web.ns.ctx service pods.");
  portForward(child, "127.3.27.2", "web", 80, "web-2");
  flushOutput(h);
  assert.deepEqual(st(h).forwards.map((f) => [f.ip, f.pod, f.state]), [["127.3.27.2", "web-2", "pending"]]);
});

Deno.test("no forwards announced: degraded after the startup grace, running only with allow_empty", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a"), { ...profile("b"), allowEmpty: true }]));
  await spawned(h, 2);
  h.clock.advance(19_999);
  assert.equal(st(h, "a").state, "starting");
  assert.equal(st(h, "a").stateDetail, "waiting for kubefwd to announce forwards");
  h.clock.advance(1);
  assert.equal(st(h, "a").state, "degraded");
  assert.match(st(h, "a").stateDetail ?? "", /^forwards nothing: no service in namespace ns is forwarded/);
  assert.equal(st(h, "b").state, "running");
  assert.equal(st(h, "b").stateDetail, "forwards nothing (allowed by allow_empty)");
});

Deno.test("spawn failure (binary vanished) → backoff; version detection failure → backoff", async () => {
  let fail = true;
  await using h = await harness({
    deps: {
      detectVersion: () =>
        fail ? Promise.reject(new Error("kubefwd version quiet exited with code 1")) : Promise.resolve(
          parseKubefwdVersion("1.25.16"),
        ),
    },
  });
  h.sup.reconcile(h.config([profile("a")]));
  await until(() => st(h).state === "backoff", "backoff");
  assert.match(st(h).lastError!, /cannot detect the kubefwd version/);
  fail = false;
  h.spawner.failNext = new Deno.errors.NotFound("gone");
  h.clock.advance(1000);
  await until(() => st(h).state === "backoff" && st(h).failures === 2, "spawn failure → backoff");
  assert.match(st(h).lastError!, /cannot start/);
  h.clock.advance(2000);
  await spawned(h, 1);
});

Deno.test("shutdown stops every child in parallel and leaves no timer", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a"), profile("b", { namespaces: ["nb"] })]));
  await until(() => h.spawner.children.length === 2, "2 children");
  // b goes to backoff: its retry timer must be cleared too.
  h.spawner.children.find((c) => c.pid === st(h, "b").pid)!.exit(1);
  await until(() => st(h, "b").state === "backoff", "b backoff");
  await h.sup.shutdown();
  assert.equal(st(h, "a").state, "stopped");
  assert.equal(st(h, "b").state, "stopped");
  await assert.rejects(() => h.sup.start(["a"]), UserError);
});

Deno.test("child starts are staggered across profiles; shutdown while one waits does not hang", async () => {
  let spawner: FakeSpawner;
  {
    await using h = await harness({ deps: { tuning: { startStaggerMs: 1500 } } });
    spawner = h.spawner;
    const start = h.clock.now();
    h.sup.reconcile(h.config([profile("a"), profile("b", { namespaces: ["nb"] })]));
    await spawned(h, 1);
    assert.equal(h.spawner.children.length, 1, "second start waits for the first one's stagger");
    assert.ok(h.clock.armedFor(start + 1500), "the first start holds the gate for 1500 ms");
    h.clock.advance(1499);
    assert.equal(h.spawner.children.length, 1);
    assert.ok(h.clock.armedFor(start + 1500), "the gate is still held after 1499 ms");
    h.clock.advance(1);
    const second = await spawned(h, 2);
    const name = second.argv.includes("nb") ? "b" : "a";
    assert.equal(st(h, name).startedAt, new Date(start + 1500).toISOString(), "spawned once the gate opened");
    // A third profile waits behind b; shutting down now must not deadlock on the gate.
    h.sup.reconcile(
      h.config([profile("a"), profile("b", { namespaces: ["nb"] }), profile("c", { namespaces: ["nc"] })]),
    );
    assert.equal(h.spawner.children.length, 2);
  }
  assert.equal(spawner.children.length, 2, "c never spawned after shutdown");
});

Deno.test("a kubeconfig change while kubefwd runs restarts it gracefully (a reconnect, not a failure)", async () => {
  await using h = await harness();
  const spec = profile("a");
  h.sup.reconcile(h.config([spec]));
  const first = await spawned(h, 1);
  graceful(first);
  portForward(first, "127.3.27.1", "api", 80, "api-1");
  flushOutput(h);
  await probeRound(h, 500);
  await until(() => st(h).state === "running", "running");
  h.clock.advance(4500);
  // The watch re-arms only when the kubeconfig is unchanged.
  await until(() => h.clock.armedFor(h.clock.now() + 5000), "the kubeconfig watch to re-arm");
  assert.ok(!h.events.some((e) => e.to === "stopping"), "unchanged kubeconfig: no restart");
  assert.equal(h.spawner.children.length, 1, "unchanged kubeconfig: no restart");

  h.fingerprints[spec.kubeconfig] = "v2";
  h.clock.advance(5000);
  const second = await spawned(h, 2);
  assert.equal(first.signals[0].signal, "SIGTERM");
  assert.ok(h.events.some((e) => e.reason === "restarting: kubeconfig changed"));
  assert.equal(st(h).restarts, 1);
  assert.deepEqual(restartReasons(h), ["kubeconfig_change"]);
  assert.equal(st(h).failures, 0);
  assert.ok(second.argv.includes("svc"));
});

Deno.test("1.22: a listen conflict kills that forward for good → restart after the debounce", async () => {
  await using h = await harness({ version: "1.22.5" });
  h.sup.reconcile(h.config([profile("a")]));
  const first = await spawned(h, 1);
  graceful(first);
  portForward(first, "127.3.27.2", "web", 8080, "web-1");
  say(first, "ERRO", "ForwardPorts error: unable to listen on any of the requested ports: [{8080 8081}]");
  flushOutput(h);
  const conflictAt = h.clock.now();
  assert.ok(!h.events.some((e) => e.to === "stopping"), "debounced");
  assert.equal(h.spawner.children.length, 1, "debounced");
  h.clock.advance(2000);
  await assertRestartedFor(h, /local address conflict/);
  assert.equal(enteredAt(h, "stopping"), conflictAt + 2000, "debounced");
});

Deno.test("a forward the probes find dead: 1.22 restarts at once, 1.25 after its own reconnect grace", async () => {
  for (const [version, graceMs] of [["1.22.5", 0], ["1.25.16", 30_000]] as const) {
    await using h = await harness({ version });
    h.sup.reconcile(h.config([profile("a")]));
    const first = await spawned(h, 1);
    graceful(first);
    portForward(first, "127.3.27.1", "web", 80, "web-1");
    flushOutput(h);
    await probeRound(h, 500);
    assert.equal(st(h).forwards[0].state, "up");
    h.prober.set("127.3.27.1", 80, false);
    for (let i = 0; i < 2; i++) await probeRound(h); // two failed probes: down
    assert.equal(st(h).state, "degraded", version);
    if (graceMs > 0) {
      const downAt = h.clock.now();
      assert.ok(!h.events.some((e) => e.to === "stopping"), `${version}: kubefwd may still reconnect it`);
      assert.equal(h.spawner.children.length, 1, `${version}: kubefwd may still reconnect it`);
      h.clock.advance(graceMs);
      await spawned(h, 2);
      assert.equal(enteredAt(h, "stopping"), downAt + graceMs, `${version}: not before the grace`);
    } else {
      h.clock.advance(2000); // debounce
    }
    await spawned(h, 2);
    assert.ok(h.events.some((e) => /forward web:80 down since/.test(e.reason)), version);
  }
});

Deno.test("a forward that never came up is not restarted by the probes (its pod may still be starting)", async () => {
  await using h = await harness({ version: "1.22.5" });
  h.prober.defaultUp = false;
  h.sup.reconcile(h.config([profile("a")]));
  const first = await spawned(h, 1);
  portForward(first, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  for (let i = 0; i < 6; i++) await probeRound(h);
  assert.equal(st(h).forwards[0].state, "down");
  assert.ok(!h.events.some((e) => e.to === "stopping"), "no restart");
  assert.equal(h.spawner.children.length, 1);
});

Deno.test("restarts for dead forwards that keep coming slow down on the retry schedule", async () => {
  await using h = await harness({ version: "1.22.5" });
  h.sup.reconcile(h.config([profile("a", { retry: { ...profile("a").retry, jitter: 0 } })]));
  for (let i = 1; i <= 3; i++) {
    const child = await spawned(h, i);
    graceful(child);
    portForward(child, "127.3.27.1", "web", 80, `web-${i}`);
    say(child, "ERRO", "Runtime: lost connection to pod");
    flushOutput(h);
    h.clock.advance(2000);
  }
  // max_failures = 3 within the window: the 3rd restart waits initial_delay, the 4th twice that.
  await until(() => st(h).state === "backoff", "backoff after 3 quick forward restarts");
  assert.equal(h.spawner.children.length, 3);
  assert.ok(st(h).nextRetryAt);
  h.clock.advance(999);
  assert.equal(st(h).state, "backoff");
  assert.equal(h.spawner.children.length, 3);
  h.clock.advance(1);
  const fourth = await spawned(h, 4);
  assert.equal(enteredAt(h, "starting"), enteredAt(h, "backoff") + 1000, "started after initial_delay");
  graceful(fourth);
  portForward(fourth, "127.3.27.1", "web", 80, "web-4");
  say(fourth, "ERRO", "Runtime: lost connection to pod");
  flushOutput(h);
  h.clock.advance(2000);
  await until(() => st(h).state === "backoff", "backoff again");
  h.clock.advance(1999);
  assert.equal(st(h).state, "backoff");
  assert.equal(h.spawner.children.length, 4);
  h.clock.advance(1);
  await spawned(h, 5);
  assert.equal(enteredAt(h, "starting"), enteredAt(h, "backoff") + 2000, "started after twice initial_delay");
  assert.equal(st(h).failures, 0, "forward restarts are not crashes");
});

Deno.test("shutdown sweeps the hosts lines of every address the profiles announced (racing child cleanups)", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a"), profile("b", { namespaces: ["other"] })]));
  await spawned(h, 1);
  h.clock.advance(1500); // start stagger
  await spawned(h, 2);
  const [a, b] = ["ns", "other"].map((ns) => h.spawner.children.find((c) => c.argv.includes(ns))!);
  for (const c of [a, b]) graceful(c);
  portForward(a, "127.3.27.1", "web", 80, "web-1");
  portForward(b, "127.4.27.1", "db", 5432, "db-1");
  flushOutput(h);
  // What a lost update between two kubefwd processes leaves behind after both cleaned up.
  h.hosts.text += "127.3.27.1 web web.ns\n127.4.27.1 db db.other\n127.9.9.9 not-ours\n";
  await h.sup.shutdown();
  assert.doesNotMatch(h.hosts.text, /127\.3\.27\.1|127\.4\.27\.1/);
  assert.match(h.hosts.text, /127\.9\.9\.9 not-ours/);
  assert.match(h.hosts.text, /10\.0\.0\.5 db\.example/);
});

Deno.test("a removed profile's hosts lines are swept, now and again after concurrent writers settle", async () => {
  await using h = await harness();
  const a = profile("a");
  const b = profile("b", { namespaces: ["other"] });
  h.sup.reconcile(h.config([a, b]));
  await spawned(h, 1);
  h.clock.advance(1500); // start stagger
  await spawned(h, 2);
  // Which child is whose depends on the start order: tell them apart by their namespace.
  const [ca, cb] = ["ns", "other"].map((ns) => h.spawner.children.find((c) => c.argv.includes(ns))!);
  for (const c of [ca, cb]) graceful(c);
  portForward(ca, "127.3.27.1", "web", 80, "web-1");
  portForward(cb, "127.4.27.1", "db", 5432, "db-1");
  flushOutput(h);
  h.sup.reconcile(h.config([a]));
  await until(() => !h.sup.hasProfile("b") && h.hosts.calls.length > 0, "b removed and swept");
  // Profile a's kubefwd rewrites the file from a stale read: b's line is back.
  h.hosts.text += "127.4.27.1 db db.other\n127.3.27.1 web web.ns\n";
  h.clock.advance(3000);
  await until(() => !h.hosts.text.includes("127.4.27.1"), "second sweep");
  assert.match(h.hosts.text, /127\.3\.27\.1 web/, "the live profile's line stays");
});

Deno.test("a forward whose hosts line was lost counts as down (checked in the file kubefwd really writes)", async () => {
  for (
    const [version, hostsPath, checked] of [
      ["1.25.16", "/etc/hosts", true],
      ["1.25.16", "/tmp/custom-hosts", true],
      ["1.22.5", "/tmp/custom-hosts", false], // 1.22 writes /etc/hosts whatever hosts_path says
    ] as const
  ) {
    const reads: string[] = [];
    let text = "127.0.0.1 localhost\n127.3.27.1 web web.ns\n";
    const readHosts = (path: string) => {
      reads.push(path);
      return Promise.resolve(text);
    };
    await using h = await harness({ version, deps: { readHosts } });
    h.sup.reconcile(h.config([profile("a")], { hostsPath }));
    const child = await spawned(h, 1);
    graceful(child);
    portForward(child, "127.3.27.1", "web", 80, "web-1");
    flushOutput(h);
    await probeRound(h, 500);
    assert.equal(st(h).forwards[0].state, "up", version);
    text = "127.0.0.1 localhost\n"; // another writer dropped our line
    for (let i = 0; i < 2; i++) await probeRound(h);

    assert.equal(st(h).forwards[0].state, checked ? "down" : "up", `${version} ${hostsPath}`);
    assert.equal(reads.length > 0, checked);
    if (checked) assert.equal(reads[0], hostsPath);
  }
});

Deno.test("addressesWithNames: addresses that have a line with names", () => {
  const names = addressesWithNames(
    "# c\n127.0.0.1 localhost\n127.3.27.1\tweb web.ns # x\n127.3.27.2\n\n::1 ip6\n",
  );
  assert.deepEqual([...names].sort(), ["127.0.0.1", "127.3.27.1", "::1"]);
});

Deno.test("no restart storm: a 1.22 forward that fails after every start is held, the healthy one keeps running", async () => {
  await using h = await harness({ version: "1.22.5" });
  h.sup.reconcile(h.config([profile("a", { retry: { ...profile("a").retry, jitter: 0 } })]));
  const started = h.clock.now();
  // Every child: web answers, echo cannot listen (someone else holds 127.3.27.2:8080).
  const startChild = async (n: number) => {
    const child = await spawned(h, n);
    graceful(child);
    portForward(child, "127.3.27.1", "web", 80, "web-1");
    portForward(child, "127.3.27.2", "echo", 8080, "echo-1", "8081");
    say(child, "ERRO", "ForwardPorts error: unable to listen on any of the requested ports: [{8080 8081}]");
    flushOutput(h);
    return child;
  };
  let child = await startChild(1);
  while (h.clock.now() - started < 90_000) {
    await step(h, 500);
    if (h.spawner.children.length > h.spawner.children.indexOf(child) + 1) {
      child = await startChild(h.spawner.children.length);
    }
  }
  assert.ok(h.spawner.children.length <= 4, `${h.spawner.children.length} kubefwd starts in 90 s`);
  const status = st(h);
  assert.equal(status.state, "degraded");
  const echo = status.forwards.find((f) => f.hostname === "echo")!;
  assert.equal(echo.state, "failed");
  assert.match(echo.reason ?? "", /local address conflict/);
  assert.equal(
    status.forwards.find((f) => f.hostname === "web")!.state,
    "up",
    "the healthy forward runs on",
  );
  assert.equal(status.failures, 0, "forward restarts are not crashes");
  assert.ok(h.logs.some((l) => /the same failure came back after a restart/.test(l.message)));
  // A config change gives it a fresh chance at once.
  const before = h.spawner.children.length;
  h.sup.reconcile(h.config([profile("a", { labels: ["tier=web"] })]));
  await spawned(h, before + 1);
});

/**
 * kubefwd 1.25: db answers after every start and dies soon after; the restart made for it does not help, so
 * the second time its failure is held. Returns the child that keeps running.
 */
async function holdDeadDb(h: Harness): Promise<FakeChild> {
  let child: FakeChild | undefined;
  for (let n = 1; n <= 2; n++) {
    child = await spawned(h, n);
    graceful(child);
    portForward(child, "127.3.27.1", "web", 80, "web-1");
    portForward(child, "127.3.27.2", "db", 5432, "db-1");
    flushOutput(h);
    h.prober.set("127.3.27.2", 5432, true);
    await probeRound(h, 500);
    assert.equal(st(h).forwards.find((f) => f.hostname === "db")!.state, "up");
    h.prober.set("127.3.27.2", 5432, false);
    for (let i = 0; i < 6; i++) await step(h, 10_000); // two probes to down, then the 30 s reconnect grace
  }
  return child!;
}

Deno.test("no restart storm: a 1.25 forward still dead after the restart made for it is held, not cycled", async () => {
  await using h = await harness({ version: "1.25.16" });
  h.sup.reconcile(h.config([profile("a")]));
  await holdDeadDb(h);
  assert.equal(h.spawner.children.length, 2, "one restart for the dead forward, then held");
  const db = st(h).forwards.find((f) => f.hostname === "db")!;
  assert.equal(db.state, "failed");
  assert.match(db.reason ?? "", /forward db:5432 down since/);
  assert.ok(h.logs.some((l) => /not restarted for it again for 30 s/.test(l.message)));
});

Deno.test("a held failure that kubefwd fixed by itself is not retried: its slow retry would only cycle healthy forwards", async () => {
  await using h = await harness({ version: "1.25.16" });
  h.sup.reconcile(h.config([profile("a")]));
  const child = await holdDeadDb(h);
  assert.equal(st(h).forwards.find((f) => f.hostname === "db")!.state, "failed", "held");
  // kubefwd reconnects db by itself (a new pod), and it answers.
  portForward(child, "127.3.27.2", "db", 5432, "db-2");
  flushOutput(h);
  h.prober.set("127.3.27.2", 5432, true);
  await probeRound(h, 500);
  assert.equal(st(h).forwards.find((f) => f.hostname === "db")!.state, "up");
  for (let i = 0; i < 8; i++) await step(h, 10_000); // well past the 30 s slow retry
  assert.equal(h.spawner.children.length, 2, "no restart of a profile whose forwards all answer");
  assert.equal(st(h).state, "running");
});

Deno.test("lastError belongs to the current failure: cleared once running, kept in the events", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")]));
  const first = await spawned(h, 1);
  const failedAt = h.clock.now();
  first.exit(null, "SIGKILL");
  await until(() => st(h).state === "backoff", "backoff");
  assert.equal(st(h).lastError, "kubefwd killed by SIGKILL");
  assert.equal(st(h).lastErrorAt, new Date(failedAt).toISOString());
  h.clock.advance(1000);
  const second = await spawned(h, 2);
  portForward(second, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  assert.equal(st(h).lastError, "kubefwd killed by SIGKILL", "still failing until proven healthy");
  await probeRound(h, 500);
  assert.equal(st(h).state, "running");
  assert.equal(st(h).lastError, null);
  assert.equal(st(h).lastErrorAt, null);
  assert.match(h.events.at(-1)?.detail ?? "", /clears last error: kubefwd killed by SIGKILL/);
});

Deno.test("reset drops the override; reconcile reports a masked enabled; enable refuses an overlap", async () => {
  await using h = await harness();
  const cfg = (bEnabled: boolean) =>
    h.config([profile("a"), profile("b", { enabled: bEnabled, namespaces: ["nb"] })]);
  h.sup.reconcile(cfg(true));
  await spawned(h, 2);
  await h.sup.setEnabled(["b"], false);
  assert.equal(h.sup.reconcile(cfg(true)).masked, undefined, "no config change, nothing masked");
  await h.sup.setEnabled(["b"], true);
  assert.deepEqual(h.sup.reconcile(cfg(false)).masked, [{
    profile: "b",
    configEnabled: false,
    override: true,
  }]);
  assert.equal(st(h, "b").enabled, true);
  assert.deepEqual(await h.sup.resetEnabled(["b"]), [{
    profile: "b",
    outcome: "override dropped (disabled in the config): stopped",
  }]);
  assert.equal(h.state.profiles.b.enabledOverride, undefined);
  assert.equal(st(h, "b").state, "disabled");
  assert.equal(st(h, "b").enabledSource, "config");

  // b now wants a's namespace: validate would refuse both enabled, and so does enable.
  h.sup.reconcile(h.config([profile("a"), profile("b", { enabled: false })]));
  await assert.rejects(() => h.sup.setEnabled(["b"], true), (e: unknown) => {
    assert.ok(e instanceof UserError && e.code === "conflict", String(e));
    assert.match(
      e.message,
      /^cannot enable "b": namespace "ns" of context .* is also forwarded by enabled profile "a"/,
    );
    return true;
  });
  assert.equal(h.state.profiles.b.enabledOverride, undefined, "nothing persisted");
  await assert.rejects(() => h.sup.start(["b"]), /cannot start "b"/);
});

Deno.test("API out of reach at start: retried every 2 s, never failed, not counted as a failure", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a", { retry: { ...profile("a").retry, maxAttempts: 2 } })]));
  for (let n = 1; n <= 4; n++) {
    const child = await spawned(h, n);
    say(
      child,
      "FATA",
      'Error connecting to k8s cluster: Get "https://127.0.0.1:6443/version": dial tcp 127.0.0.1:6443: connect: connection refused',
    );
    child.exit(1);
    await until(() => st(h).state === "backoff", `backoff ${n}`);
    assert.equal(st(h).nextRetryAt, new Date(h.clock.now() + 2000).toISOString(), `retry ${n} in 2 s`);
    h.clock.advance(2000);
  }
  assert.equal(st(h).failures, 0, "the API being away is not kubefwd failing");
  assert.deepEqual(restartReasons(h), ["unreachable", "unreachable", "unreachable", "unreachable"]);
  assert.match(st(h).lastError ?? "", /connection refused/);
});

Deno.test("API out of reach while resolving exclude_services: retried every 2 s, never failed", async () => {
  await using h = await harness();
  h.lister.failWith =
    'Get "https://10.0.0.1/api/v1/namespaces/ns/services": dial tcp 10.0.0.1:443: i/o timeout';
  const spec = profile("a", {
    excludeServices: ["debug-*"],
    retry: { ...profile("a").retry, maxAttempts: 2 },
  });
  h.sup.reconcile(h.config([spec]));
  for (let n = 1; n <= 4; n++) {
    await until(() => st(h).state === "backoff", `backoff ${n}`);
    assert.equal(st(h).nextRetryAt, new Date(h.clock.now() + 2000).toISOString(), `retry ${n} in 2 s`);
    h.clock.advance(2000);
    await until(() => st(h).state !== "starting" || h.lister.calls.length > n, `attempt ${n + 1}`);
  }
  assert.equal(st(h).failures, 0);
  h.lister.failWith = undefined; // the API is back: the next retry starts kubefwd
  await until(() => st(h).state === "backoff", "the last failed attempt");
  h.clock.advance(2000);
  await spawned(h, 1);
});

Deno.test("a failure held in an earlier run is failed again at once and does not mask another dead forward", async () => {
  await using h = await harness({ version: "1.25.16" });
  h.sup.reconcile(h.config([profile("a", { retry: { ...profile("a").retry, maxDelayMs: 300_000 } })]));
  const up = async (n: number) => {
    const child = await spawned(h, n);
    graceful(child);
    portForward(child, "127.3.27.2", "db", 5432, "db-1");
    portForward(child, "127.3.27.1", "web", 80, "web-1");
    flushOutput(h);
    h.prober.set("127.3.27.2", 5432, true);
    h.prober.set("127.3.27.1", 80, true);
    await probeRound(h, 500);
  };
  for (let n = 1; n <= 2; n++) { // db dies after each start: one restart, then held for 300 s
    await up(n);
    h.prober.set("127.3.27.2", 5432, false);
    for (let i = 0; i < 6; i++) await step(h, 10_000);
  }
  assert.equal(h.spawner.children.length, 2);
  h.spawner.children[1].exit(null, "SIGKILL"); // an unrelated crash before the slow retry
  await until(() => st(h).state === "backoff", "backoff");
  await step(h, 2000);
  await up(3);
  const t3 = h.clock.now();
  h.prober.set("127.3.27.2", 5432, false); // db still broken: held, shown failed in this run too
  await step(h, 10_000);
  await step(h, 10_000);
  h.prober.set("127.3.27.1", 80, false); // then web dies: a restart may well fix that one
  const children = () => h.spawner.children.length;
  for (let i = 0; i < 8 && children() === 3; i++) await step(h, 10_000);
  assert.equal(children(), 4, "web restarted");
  assert.ok(h.clock.now() - t3 <= 70_000, `within its grace, not after db's hold (${h.clock.now() - t3} ms)`);
  // With both forwards of both pods down the failure is the profile's as a whole (ForwardTracker.commonCause):
  // the restart names the first dead forward, and db's hold does not block it.
  const last = h.events.filter((e) => e.to === "stopping").at(-1)!;
  assert.match(last.reason, /forward (web:80|db:5432) down since/);
});

Deno.test("a profile removed and re-added while its old kubefwd still stops: the old range is still cleaned", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")]));
  const old = await spawned(h, 1);
  const base = st(h).baseIp!;
  h.hosts.text += `${base} svc svc.default\n`;
  portForward(old, base, "svc", 80, "svc-pod");
  flushOutput(h);
  old.exitOnTerm = false; // a slow kubefwd: it takes the whole stop escalation
  h.sup.reconcile(h.config([])); // removed …
  await until(() => old.signals.length > 0, "SIGTERM sent");
  h.sup.reconcile(h.config([profile("a")])); // … and re-added before the old child is gone
  assert.notEqual(st(h).baseIp, base, "the re-added profile gets a range of its own");
  for (let i = 0; i < 10 && old.alive; i++) {
    h.clock.advance(5000);
    await until(() => !old.alive || h.clock.pending > 0, "the escalation's next step");
  }
  await until(() => !h.hosts.text.includes(`${base} svc`), "the old child's hosts line removed");
  assert.ok(!h.logs.some((l) => /refused to remove hosts lines/.test(l.message)), "nothing refused");
});

/** Advances the fake clock in small steps until `cond` holds (timers armed by promises need a tick each). */
async function advanceUntil(h: Harness, cond: () => boolean, what: string): Promise<void> {
  await until(() => {
    h.clock.advance(10);
    return cond();
  }, what);
}

Deno.test("API server out of reach: forwards unverified with the reason, degraded, no restart; back and still failing: restart at once", async () => {
  const api = new FakeApiProbes();
  await using h = await harness({ deps: { apiProbes: api } });
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  await probeRound(h, 500);
  await until(() => st(h).apiserver?.state === "reachable", "the API server checked");
  assert.equal(st(h).state, "running");

  api.answer = { ok: false, why: "no answer within 2000 ms" };
  await advanceUntil(h, () => st(h).apiserver?.state === "unreachable", "the API server out of reach");
  assert.equal(st(h).state, "degraded");
  assert.equal(st(h).forwards[0].state, "unverified");
  assert.match(
    st(h).forwards[0].reason ?? "",
    /^apiserver unreachable since .* \(no answer within 2000 ms\)$/,
  );
  assert.match(st(h).stateDetail ?? "", /^apiserver unreachable since/);
  assert.match(h.events.at(-1)!.reason, /^apiserver unreachable since .*: 1 of 1 forwards unverified$/);
  h.prober.set("127.3.27.1", 80, "timeout");
  for (let i = 0; i < 6; i++) await probeRound(h);
  h.prober.set("127.3.27.1", 80, "refused");
  for (let i = 0; i < 6; i++) await probeRound(h);
  assert.equal(h.spawner.children.length, 1, "no restart while the API server is out of reach");
  assert.equal(st(h).forwards[0].state, "down");

  api.answer = { ok: true };
  graceful(child);
  await advanceUntil(h, () => h.spawner.children.length >= 2, "the restart once the API server is back");
  assert.match(
    h.events.find((e) => e.to === "stopping")!.reason,
    /the API server answers again after \d+ s, and web:80 still not answering/,
  );
});

Deno.test("1.22: a lost connection while the API server is out of reach restarts nothing until it answers again", async () => {
  const api = new FakeApiProbes();
  await using h = await harness({ version: "1.22.5", deps: { apiProbes: api } });
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  graceful(child);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  await probeRound(h, 500);
  await until(() => st(h).apiserver?.state === "reachable", "the API server checked");
  api.answer = { ok: false, why: "connection refused" };
  await advanceUntil(h, () => st(h).apiserver?.state === "unreachable", "the API server out of reach");
  // The apiserver's last streams end: 1.22 logs the loss, the forward stops answering.
  say(child, "ERRO", "Runtime: lost connection to pod");
  flushOutput(h);
  h.prober.set("127.3.27.1", 80, "refused");
  for (let i = 0; i < 10; i++) await step(h, 1000); // well past the dead-forward debounce
  assert.equal(h.spawner.children.length, 1, "no restart while the API server is out of reach");
  api.answer = { ok: true };
  await advanceUntil(h, () => h.spawner.children.length >= 2, "the restart once the API server is back");
});

Deno.test("API server back and the forwards answer: no restart", async () => {
  const api = new FakeApiProbes();
  await using h = await harness({ deps: { apiProbes: api } });
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  await probeRound(h, 500);
  await until(() => st(h).apiserver?.state === "reachable", "the API server checked");
  api.answer = { ok: false, why: "connection refused" };
  await advanceUntil(h, () => st(h).forwards[0].state === "unverified", "unverified");
  api.answer = { ok: true };
  const calls = h.prober.calls.length;
  await advanceUntil(
    h,
    () => h.prober.calls.length > calls && st(h).state === "running",
    "re-verified at once",
  );
  assert.equal(h.spawner.children.length, 1);
});

Deno.test("wake: every forward is re-verified at once; one that fails restarts kubefwd without waiting for thresholds", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  await probeRound(h, 500);
  h.prober.set("127.3.27.1", 80, "closed");
  const calls = h.prober.calls.length;
  graceful(child);
  h.sup.wake(60_000);
  await advanceUntil(h, () => h.spawner.children.length >= 2, "the restart after the wake");
  assert.equal(h.prober.calls.length, calls + 1, "one probe round decided it");
  assert.match(
    h.events.find((e) => e.to === "stopping")!.reason,
    /woke up after 60 s asleep, and web:80 still not answering/,
  );
});

Deno.test("a busy machine: probe timeouts make a forward unverified, never down, and restart nothing", async () => {
  await using h = await harness();
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  flushOutput(h);
  await probeRound(h, 500);
  h.prober.set("127.3.27.1", 80, "timeout");
  for (let i = 0; i < 12; i++) await probeRound(h);
  assert.equal(st(h).forwards[0].state, "unverified");
  assert.equal(h.spawner.children.length, 1);
  h.prober.set("127.3.27.1", 80, true);
  await probeRound(h);
  assert.equal(st(h).state, "running");
});

Deno.test("a node outage (every forward of several pods failing): one restart, then held, not one per service", async () => {
  await using h = await harness({ version: "1.25.16" });
  h.sup.reconcile(h.config([profile("a")]));
  for (let n = 1; n <= 2; n++) {
    const child = await spawned(h, n);
    graceful(child);
    portForward(child, "127.3.27.1", "web", 80, "web-1");
    portForward(child, "127.3.27.2", "db", 5432, "db-1");
    flushOutput(h);
    if (n === 1) await probeRound(h, 500); // up once; after the restart the node is still away
    h.prober.defaultUp = false;
    // Each run, another service reaches the count first: per service, each would get its own restart.
    const order = n === 1 ? [["web", "web-1"], ["db", "db-1"]] : [["db", "db-1"], ["web", "web-1"]];
    for (let i = 0; i < 5; i++) {
      for (const [svc, pod] of order) {
        say(child, "ERRO", `Lost connection to ns/${pod}: lost connection to pod`);
        say(child, "INFO", `Scheduling reconnection for ${svc}.ns.ctx in 1s`);
      }
    }
    flushOutput(h);
    if (n === 1) await spawned(h, 2);
  }
  await step(h, 1000);
  assert.equal(h.spawner.children.length, 2, "one restart for the node outage, then held");
  assert.match(h.events.find((e) => e.to === "stopping")!.reason, /web-1 failed \d+ times/);
  assert.deepEqual(st(h).forwards.map((f) => f.state), ["failed", "failed"]);
  assert.ok(h.logs.some((l) => /not restarted for it again/.test(l.message)));
});

Deno.test("node check (1.25): while the node is out of reach nothing restarts; when it is back the forwards are probed at once", async () => {
  const api = new FakeApiProbes();
  await using h = await harness({ version: "1.25.16", deps: { apiProbes: api } });
  h.sup.reconcile(h.config([profile("a")]));
  for (let n = 1; n <= 2; n++) {
    const child = await spawned(h, n);
    graceful(child);
    portForward(child, "127.3.27.1", "web", 80, "web-1");
    portForward(child, "127.3.27.2", "db", 5432, "db-1");
    flushOutput(h);
    if (n === 1) await probeRound(h, 500);
    await until(() => st(h).apiserver?.state === "reachable", "the API server checked");
    h.prober.defaultUp = false;
    for (let i = 0; i < 5; i++) {
      for (const [svc, pod] of [["web", "web-1"], ["db", "db-1"]]) {
        say(child, "ERRO", `Lost connection to ns/${pod}: lost connection to pod`);
        say(child, "INFO", `Scheduling reconnection for ${svc}.ns.ctx in 1s`);
      }
    }
    flushOutput(h);
    if (n === 1) await spawned(h, 2);
  }
  await advanceUntil(h, () => st(h).forwards.every((f) => f.state === "failed"), "held");
  api.podPath = false;
  await advanceUntil(
    h,
    () => /^node unreachable since/.test(st(h).stateDetail ?? ""),
    "the node reported away",
  );
  assert.ok(api.podChecks.length > 0);
  for (let i = 0; i < 10; i++) await step(h, 1000);
  assert.equal(h.spawner.children.length, 2, "nothing restarts while the node is away");
  api.podPath = true;
  const calls = h.prober.calls.length;
  await advanceUntil(h, () => !/^node unreachable/.test(st(h).stateDetail ?? ""), "the node back");
  await advanceUntil(h, () => h.prober.calls.length > calls, "probed at once");
  assert.equal(h.spawner.children.length, 2, "1.25 reconnects by itself: no restart for the node's return");
});

Deno.test("a restart with no forward up stops kubefwd quickly: nothing to keep, and a broken kubefwd can hang", async () => {
  await using h = await harness({ version: "1.25.16" });
  h.sup.reconcile(h.config([profile("a")]));
  const child = await spawned(h, 1);
  portForward(child, "127.3.27.1", "web", 80, "web-1");
  portForward(child, "127.3.27.2", "db", 5432, "db-1");
  flushOutput(h);
  await probeRound(h, 500);
  child.exitOnTerm = false; // hangs in its graceful stop, as 1.22.3 did after a node outage
  try {
    h.prober.defaultUp = false;
    for (let i = 0; i < 6 && child.signals.length === 0; i++) {
      h.clock.advance(10_000);
      await until(
        () => h.clock.armedFor(h.clock.now() + 10_000) || child.signals.length > 0,
        "a probe round",
      );
    }
    assert.equal(child.signals.length, 1, "a restart for the dead forwards began");
    const t0 = h.clock.now();
    await advanceUntil(h, () => child.signals.length === 2, "the second SIGTERM");
    assert.ok(h.clock.now() - t0 <= 1100, `after ${h.clock.now() - t0} ms, not the 10 s stop_timeout`);
    assert.ok(h.logs.some((l) => /still running 1000 ms after SIGTERM/.test(l.message)));
  } finally {
    child.exit(0); // the second SIGTERM works (v1.23+: forced exit)
  }
  await spawned(h, 2);
});

Deno.test("a wake gives a failure held before the sleep a fresh chance", async () => {
  await using h = await harness({ version: "1.25.16" });
  h.sup.reconcile(h.config([profile("a")]));
  await holdDeadDb(h);
  assert.equal(h.spawner.children.length, 2);
  assert.equal(st(h).forwards.find((f) => f.hostname === "db")!.state, "failed", "held");
  h.sup.wake(60_000);
  await advanceUntil(h, () => h.spawner.children.length === 3, "db restarted for after the wake");
  assert.match(h.events.filter((e) => e.to === "stopping").at(-1)!.reason, /woke up after 60 s asleep/);
});

Deno.test("shutdown waits for a start still being planned: nothing is written or spawned after it returns", async () => {
  let waitingAtLastSave = -1;
  const h = harness({ deps: { persist: () => waitingAtLastSave = h.files.writesWaiting } });
  let openWrites!: () => void;
  h.files.holdWrites = new Promise((resolve) => openWrites = resolve);
  h.sup.reconcile(h.config([profile("a")]));
  await until(() => h.files.writesWaiting === 1, "the start waits at its -z file");
  let returned = false;
  const shutdown = h.sup.shutdown().then(() => returned = true);
  // Without the wait, shutdown runs to its end (the final save) while the -z write is still held.
  await until(
    () => returned || h.logs.some((l) => /waiting for the start being planned/.test(l.message)),
    "shutdown returned or waiting for the start",
  );
  openWrites();
  await shutdown;
  assert.equal(waitingAtLastSave, 0, "shutdown ended while a start was still writing its -z file");
  assert.equal(h.spawner.children.length, 0, "no child after shutdown");
  assert.equal(h.clock.pending, 0, "no timer left after shutdown");
});
