import assert from "node:assert/strict";
import { handleEvents } from "./events.ts";
import type { HandlerContext } from "../../ipc/server.ts";
import type { ResponseFrame } from "../../ipc/protocol.ts";
import { UserError } from "../../errors.ts";
import { EventHistory } from "../../state/event_history.ts";
import type { Supervisor } from "../../supervisor/supervisor.ts";
import type { TransitionEvent } from "../../supervisor/types.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { waitFor } from "../../util/async.ts";
import { withDeadline } from "../../../tests/deadline.ts";

function ev(reason: string, profile = "p"): TransitionEvent {
  return { at: "2026-01-01T00:00:00.000Z", profile, from: "starting", to: "running", reason };
}

const supervisor = { hasProfile: (name: string) => name === "p" || name === "q" } as unknown as Supervisor;

async function withHistory(fn: (history: EventHistory) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kfd-events-" });
  const history = new EventHistory({ path: `${dir}/events.jsonl`, clock: new FakeClock() });
  try {
    await fn(history);
  } finally {
    await history.close(5000);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("events follow: transitions made while the backlog is sent follow it, none lost, none twice", async () => {
  await withHistory(async (history) => {
    history.append(ev("past-1"));
    history.append(ev("past-2"));
    const sent: string[] = [];
    const aborter = new AbortController();
    let goneLive!: () => void;
    const live = new Promise<void>((resolve) => goneLive = resolve);
    const signal = aborter.signal;
    const addEventListener = signal.addEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof addEventListener>) => {
      addEventListener(...args);
      goneLive();
    }) as typeof addEventListener;
    let releaseFirst!: () => void;
    const firstSent = new Promise<void>((resolve) => releaseFirst = resolve);
    const ctx = {
      signal,
      requestId: 1,
      sendLog: () => Promise.resolve(),
      async send(frame: ResponseFrame) {
        assert.ok("event" in frame);
        sent.push(frame.event.reason);
        if (sent.length === 1) { // a slow client: more happens while the first past event is in flight
          history.append(ev("new-1"));
          history.append(ev("other profile", "q"));
          await firstSent;
          history.append(ev("new-2"));
        }
      },
    } as HandlerContext;
    const following = handleEvents({ history, supervisor }, {
      type: "events",
      profile: "p",
      lines: 10,
      follow: true,
    }, ctx);
    await waitFor(() => sent.length > 0, 5000, { what: "the first event" });
    releaseFirst();
    await withDeadline(live, 5000, "the follower to go live");
    assert.deepEqual(sent, ["past-1", "past-2", "new-1", "new-2"]);
    history.append(ev("live-1"));
    aborter.abort();
    assert.deepEqual(await following, { events: [] });
    assert.deepEqual(sent, ["past-1", "past-2", "new-1", "new-2", "live-1"]);
    history.append(ev("after"));
    assert.equal(sent.length, 5, "unsubscribed when the client went away");
  });
});

Deno.test("events: unknown profile unless it has history; since and lines filter", async () => {
  await withHistory(async (history) => {
    const ctx = { signal: new AbortController().signal, requestId: 1 } as HandlerContext;
    history.append(ev("gone's event", "gone"));
    history.append({ ...ev("later"), at: "2026-01-01T00:10:00.000Z" });
    await assert.rejects(
      handleEvents(
        { history, supervisor },
        { type: "events", profile: "nope", lines: 10, follow: false },
        ctx,
      ),
      (e) => e instanceof UserError && e.code === "unknown_profile",
    );
    const gone = await handleEvents({ history, supervisor }, {
      type: "events",
      profile: "gone",
      lines: 10,
      follow: false,
    }, ctx);
    assert.deepEqual(
      gone.events.map((e) => e.reason),
      ["gone's event"],
      "a removed profile keeps its history",
    );
    const q = await handleEvents({ history, supervisor }, {
      type: "events",
      profile: "q",
      lines: 10,
      follow: false,
    }, ctx);
    assert.deepEqual(q, { events: [] }, "a configured profile without events is no error");
    const since = await handleEvents(
      { history, supervisor },
      { type: "events", sinceMs: Date.parse("2026-01-01T00:05:00.000Z"), lines: 10, follow: false },
      ctx,
    );
    assert.deepEqual(since.events.map((e) => e.reason), ["later"]);
  });
});
