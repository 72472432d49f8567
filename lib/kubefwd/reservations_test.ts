import assert from "node:assert/strict";
import {
  ADDRESS_MEMORY_MS,
  addressOfForward,
  type AddressRecord,
  kubefwdMatchNames,
  MAX_REMEMBERED_ADDRESSES,
  planReservations,
  rememberAddress,
  type Reservation,
  type ReservationContext,
  userReservations,
} from "./reservations.ts";
import { parseKubefwdLine } from "./output.ts";
import type { ForwardAnnouncement } from "./types.ts";

const NOW = Date.UTC(2026, 11, 1, 12);
const at = (msAgo = 0) => new Date(NOW - msAgo).toISOString();

function forwardOf(message: string): ForwardAnnouncement {
  const event = parseKubefwdLine({ stream: "stdout", level: "INFO", message });
  assert.equal(event.kind, "forward", message);
  return (event as { forward: ForwardAnnouncement }).forward;
}

Deno.test("addressOfForward: kubefwd's name and namespace from recorded and derived Port-Forward lines", () => {
  const ns = ["kfd-e2e", "other"];
  const cases: [string, Omit<AddressRecord, "seenAt"> | undefined][] = [
    // recorded: tests/fixtures/kubefwd_output/1.22.3/startup-shutdown.log
    [
      "Port-Forward:       127.1.27.1 echo-a:8080 to pod echo-a-0:8081",
      { service: "echo-a", namespace: "kfd-e2e", pod: "echo-a-0", ip: "127.1.27.1" },
    ],
    [
      "Port-Forward:       127.1.27.2 echo-h:8080 to pod echo-h-0:8083",
      { service: "echo-h", namespace: "kfd-e2e", pod: "echo-h-0", ip: "127.1.27.2" },
    ],
    [
      "Port-Forward:       127.1.27.3 echo-h-0.echo-h:8080 to pod echo-h-0:8083",
      { service: "echo-h-0.echo-h", namespace: "kfd-e2e", pod: "echo-h-0", ip: "127.1.27.3" },
    ],
    // a later namespace: its name carries the namespace (upstream buildServiceHostname)
    [
      "Port-Forward:       127.3.28.1 db.other:5432 to pod db-7d9f-x2:5432",
      { service: "db", namespace: "other", pod: "db-7d9f-x2", ip: "127.3.28.1" },
    ],
    [
      "Port-Forward:       127.3.28.2 db-0.db.other:5432 to pod db-0:5432",
      { service: "db-0.db", namespace: "other", pod: "db-0", ip: "127.3.28.2" },
    ],
    // a pod whose name has dots still splits at the pod
    [
      "Port-Forward:       127.3.27.9 a.b.svc:80 to pod a.b:80",
      { service: "a.b.svc", namespace: "kfd-e2e", pod: "a.b", ip: "127.3.27.9" },
    ],
    // not attributable: a namespace the profile does not list, the first namespace spelt out, no address
    ["Port-Forward:       127.3.28.1 db.elsewhere:5432 to pod db-1:5432", undefined],
    ["Port-Forward:       127.3.27.1 db.kfd-e2e:5432 to pod db-1:5432", undefined],
    ["Port-Forward:            <nil> db:5432 to pod db-1:5432", undefined],
    ["Port-Forward:         10.0.0.1 db:5432 to pod db-1:5432", undefined],
  ];
  for (const [line, want] of cases) assert.deepEqual(addressOfForward(forwardOf(line), ns), want, line);
});

Deno.test("kubefwdMatchNames: kubefwd's MatchList for the first cluster (1.22.3 = v1.25.16)", () => {
  const fwd = { service: "web", pod: "web-1", namespace: "ns" };
  assert.deepEqual(kubefwdMatchNames(fwd, 0, "ctx"), [
    "web-1",
    "web",
    "web.svc",
    "web-1.web",
    "web-1.ctx",
    "web.ctx",
    "web-1.ns",
    "web-1.ns.svc",
    "web-1.ns.svc.cluster.local",
    "web.ns",
    "web.ns.svc",
    "web.ns.svc.cluster.local",
    "web-1.web.ns",
    "web-1.web.ns.svc",
    "web-1.web.ns.svc.cluster.local",
    "web-1.web.ctx",
    "web-1.ns.ctx",
    "web-1.ns.svc.ctx",
    "web-1.ns.svc.cluster.ctx",
    "web.ns.ctx",
    "web.ns.svc.ctx",
    "web.ns.svc.cluster.ctx",
    "web-1.web.ns.ctx",
    "web-1.web.ns.svc.ctx",
    "web-1.web.ns.svc.cluster.ctx",
  ]);
  assert.deepEqual(kubefwdMatchNames(fwd, 1, undefined), [
    "web-1.ns",
    "web-1.ns.svc",
    "web.ns",
    "web.ns.svc",
    "web.ns.svc.cluster.local",
    "web-1.web.ns",
    "web-1.web.ns.svc",
    "web-1.web.ns.svc.cluster.local",
  ]);
});

/**
 * A model of kubefwd's address choice (upstream pkg/fwdip `determineIP`, the same in 1.22.3 and v1.25.16): the
 * first matching reservation if its address is free and reserved for no other name the forward lacks, else
 * base + (0, 0, namespace index, counter) skipping taken and foreign-reserved addresses.
 */
function kubefwdAllocate(
  file: Reservation[],
  base: number[],
  forwards: { service: string; pod: string; namespace: string; index: number }[],
): Map<string, string> {
  const allocated = new Set<string>();
  const counters = new Map<number, number>();
  const result = new Map<string, string>();
  for (const f of forwards) {
    const names = new Set(kubefwdMatchNames(f, f.index, undefined));
    const free = (ip: string) => !allocated.has(ip) && !file.some((r) => r.ip === ip && !names.has(r.name));
    let ip = file.find((r) => names.has(r.name))?.ip;
    if (ip === undefined || !free(ip)) {
      for (;;) {
        const n = counters.get(f.index) ?? 0;
        counters.set(f.index, n + 1);
        ip = [base[0], base[1], base[2] + f.index, base[3] + n].join(".");
        if (free(ip)) break;
      }
    }
    allocated.add(ip);
    result.set(`${f.service}.${f.namespace}`, ip);
  }
  return result;
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const CONTEXT: ReservationContext = {
  namespaces: ["app", "data"],
  context: undefined,
  baseIp: "127.5.27.1",
  userReservations: [],
};

Deno.test("planReservations: a second kubefwd run in any order gives every forward its old address", () => {
  // A headless service (service-wide forward + one per pod), plain services, a service named like another
  // service's pod (per-pod services of a StatefulSet), and a later namespace.
  const forwards = [
    { service: "kafka", pod: "kafka-0", namespace: "app", index: 0 },
    { service: "kafka-0.kafka", pod: "kafka-0", namespace: "app", index: 0 },
    { service: "kafka-1.kafka", pod: "kafka-1", namespace: "app", index: 0 },
    { service: "kafka-0", pod: "kafka-0", namespace: "app", index: 0 },
    { service: "web", pod: "web-6f9-abc", namespace: "app", index: 0 },
    { service: "api", pod: "api-1", namespace: "app", index: 0 },
    { service: "db", pod: "db-0", namespace: "data", index: 1 },
    { service: "db-0.db", pod: "db-0", namespace: "data", index: 1 },
  ];
  const first = kubefwdAllocate([], [127, 5, 27, 1], shuffled(forwards, 1));
  const records: AddressRecord[] = forwards.map((f) => ({
    service: f.service,
    namespace: f.namespace,
    pod: f.pod,
    ip: first.get(`${f.service}.${f.namespace}`)!,
    seenAt: at(),
  }));
  const file = planReservations(records, CONTEXT);
  assert.equal(file.length, forwards.length);
  const names = file.map((r) => r.name);
  assert.ok(names.indexOf("kafka.app") < names.indexOf("kafka-0.kafka.app"), names.join(" "));
  assert.ok(names.indexOf("kafka.app") < names.indexOf("kafka-0.app"), names.join(" "));
  for (let seed = 2; seed < 40; seed++) {
    const again = kubefwdAllocate(file, [127, 5, 27, 1], shuffled(forwards, seed));
    assert.deepEqual(again, first, `order ${seed}`);
  }
  // Without the reservations the addresses move (what users saw before).
  assert.notDeepEqual(kubefwdAllocate([], [127, 5, 27, 1], shuffled(forwards, 7)), first);
  // Entries sorted by name alone would hand the headless service its first pod's address.
  const byName = [...file].sort((a, b) => a.name < b.name ? -1 : 1);
  assert.notDeepEqual(kubefwdAllocate(byName, [127, 5, 27, 1], forwards), first);
});

Deno.test("planReservations: a new service never takes a remembered address", () => {
  const records: AddressRecord[] = [
    { service: "b", namespace: "app", pod: "b-1", ip: "127.5.27.1", seenAt: at() },
    { service: "c", namespace: "app", pod: "c-1", ip: "127.5.27.2", seenAt: at() },
  ];
  const file = planReservations(records, CONTEXT);
  const got = kubefwdAllocate(file, [127, 5, 27, 1], [
    { service: "new", pod: "new-1", namespace: "app", index: 0 },
    { service: "c", pod: "c-2", namespace: "app", index: 0 },
    { service: "b", pod: "b-9", namespace: "app", index: 0 },
  ]);
  assert.deepEqual(Object.fromEntries(got), {
    "new.app": "127.5.27.3",
    "c.app": "127.5.27.2",
    "b.app": "127.5.27.1",
  });
});

Deno.test("planReservations: what is left out", () => {
  const r = (service: string, ip: string, namespace = "app", msAgo = 0): AddressRecord => ({
    service,
    namespace,
    pod: `${service}-1`,
    ip,
    seenAt: at(msAgo),
  });
  const plan = (records: AddressRecord[], extra: Partial<ReservationContext> = {}) =>
    planReservations(records, { ...CONTEXT, ...extra }).map((x) => `${x.name}=${x.ip}`);
  // another profile's range (the base changed), a namespace no longer listed, a malformed address
  assert.deepEqual(plan([r("a", "127.3.27.1"), r("b", "127.5.27.2", "gone"), r("c", "127.5.27.300")]), []);
  // the same name twice, or the same address twice: the newest wins
  assert.deepEqual(plan([r("a", "127.5.27.1", "app", 5000), r("a", "127.5.27.2")]), ["a.app=127.5.27.2"]);
  assert.deepEqual(plan([r("a", "127.5.27.1", "app", 5000), r("b", "127.5.27.1")]), ["b.app=127.5.27.1"]);
  // the user's own -r wins, by the name it matches or by the address it takes
  assert.deepEqual(
    plan([r("a", "127.5.27.1"), r("b", "127.5.27.2"), r("c", "127.5.27.3")], {
      userReservations: [{ name: "a", ip: "127.9.9.9" }, { name: "x", ip: "127.5.27.2" }],
    }),
    ["c.app=127.5.27.3"],
  );
  // two forwards each matching the other's entry (service a on pod b, service b on pod a): no order works
  const cycle: AddressRecord[] = [
    { service: "a", namespace: "app", pod: "b", ip: "127.5.27.1", seenAt: at() },
    { service: "b", namespace: "app", pod: "a", ip: "127.5.27.2", seenAt: at() },
    r("c", "127.5.27.3"),
  ];
  assert.deepEqual(plan(cycle), ["c.app=127.5.27.3"]);
});

Deno.test("rememberAddress: newest wins, an address moves with its forward, old and excess entries go", () => {
  const a = { service: "a", namespace: "app", pod: "a-1", ip: "127.5.27.1" };
  let list = rememberAddress([], a, NOW)!;
  assert.deepEqual(list, [{ ...a, seenAt: at() }]);
  assert.equal(rememberAddress(list, a, NOW + 60_000), undefined, "unchanged within the hour: no write");
  assert.deepEqual(rememberAddress(list, a, NOW + 3600_000), [{ ...a, seenAt: at(-3600_000) }]);
  list = rememberAddress(list, { ...a, ip: "127.5.27.7" }, NOW)!;
  assert.deepEqual(list.map((x) => x.ip), ["127.5.27.7"]);
  // b now has a's address: a no longer owns it
  list = rememberAddress(list, { service: "b", namespace: "app", pod: "b-1", ip: "127.5.27.7" }, NOW)!;
  assert.deepEqual(list.map((x) => x.service), ["b"]);
  // a forward unseen for the memory period is forgotten at the next write
  const stale = [{ ...a, ip: "127.5.27.9", seenAt: at(ADDRESS_MEMORY_MS) }];
  assert.deepEqual(rememberAddress(stale, { ...a, service: "z" }, NOW)!.map((x) => x.service), ["z"]);
  const many: AddressRecord[] = Array.from({ length: MAX_REMEMBERED_ADDRESSES }, (_, i) => ({
    service: `s${i}`,
    namespace: "app",
    pod: "p",
    ip: `127.5.${28 + Math.floor(i / 200)}.${1 + (i % 200)}`,
    seenAt: at(i * 1000 + 1000),
  }));
  const capped = rememberAddress(many, { ...a, ip: "127.5.99.1" }, NOW)!;
  assert.equal(capped.length, MAX_REMEMBERED_ADDRESSES);
  assert.ok(capped.some((x) => x.service === "a"));
  assert.ok(!capped.some((x) => x.service === `s${MAX_REMEMBERED_ADDRESSES - 1}`), "the oldest went");
});

Deno.test("userReservations: -r and --reserve in pflag syntax, comma lists, values of other flags skipped", () => {
  const got = userReservations([
    "-r",
    "a:127.1.1.1",
    "--reserve=b:127.1.1.2,c:127.1.1.3",
    "--reserve",
    "d:127.1.1.4",
    "-rE:127.1.1.5",
    "-vr",
    "f:127.1.1.6",
    "-l",
    "-r",
    "--selector",
    "-r",
    "-r",
    "broken",
    "--",
    "-r",
    "g:127.1.1.7",
  ]);
  assert.deepEqual(got.map((r) => `${r.name}=${r.ip}`), [
    "a=127.1.1.1",
    "b=127.1.1.2",
    "c=127.1.1.3",
    "d=127.1.1.4",
    "E=127.1.1.5",
    "f=127.1.1.6",
  ]);
});
