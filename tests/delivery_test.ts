/**
 * Tests of end-to-end delivery in the core (lib/core/delivery.ts and its
 * parts): the delivery window (its cap and floor, trimming by `ack`), the
 * replay of a resume from the window (rooms and private messages in id
 * order, the ignored left out, pages), `stream` and `last` in `welcome`, and
 * client-chosen ids: `sent` after the echo, a resend posted once (also while
 * its first waits for its group's commit), refusals carrying the `cid`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CID_MEMORY, CID_TTL_MS, ClientIds } from "../lib/core/client_ids.ts";
import { DeliveryWindow, WINDOW_LIMIT, WindowedSink } from "../lib/core/delivery_window.ts";
import type { ChatEvent, MessageEvent, ReplayEvent } from "../lib/core/events.ts";
import { MAX_REPLAY, sendReplay } from "../lib/core/replay.ts";
import { Store } from "../lib/store/sqlite_store.ts";
import { deliveryHub, T0 } from "./_delivery_hub.ts";
import { Inbox } from "./_inbox.ts";

function message(id: number, room = "lobby", from = "Bob"): MessageEvent {
  return { type: "message", id, time: T0, room, from, text: `m${id}` };
}

const setUp = deliveryHub;

/** The ids of every message in the replay pages `inbox` got. */
function replayed(inbox: Inbox): number[] {
  return inbox.of("replay").flatMap((page) => page.messages.map((m) => m.id));
}

function welcomeOf(inbox: Inbox) {
  const welcome = inbox.of("welcome")[0];
  return { stream: welcome.stream ?? "", last: welcome.last ?? -1 };
}

Deno.test("a window keeps what it is handed above its last ack, and an ack trims it", () => {
  const window = new DeliveryWindow(10);
  for (let id = 11; id <= 15; id++) window.record(message(id));
  assert.deepEqual(window.after(12).map((m) => m.id), [13, 14, 15]);
  assert.ok(window.covers(10) && !window.covers(9));
  assert.ok(window.ack(13));
  assert.equal(window.size, 2);
  assert.equal(window.floor, 13);
  assert.ok(!window.ack(12), "an ack below an earlier one is ignored");
  assert.ok(!window.ack(16), "an ack above the newest id handed is ignored");
  assert.deepEqual(window.after(13).map((m) => m.id), [14, 15]);
});

Deno.test("a full window drops its oldest and raises its floor", () => {
  const window = new DeliveryWindow(0);
  for (let id = 1; id <= WINDOW_LIMIT + 3; id++) window.record(message(id));
  assert.equal(window.size, WINDOW_LIMIT);
  assert.equal(window.floor, 3);
  assert.ok(window.covers(3) && !window.covers(2));
  assert.equal(window.after(3).length, WINDOW_LIMIT);
});

Deno.test("replay pages: at most 1000 each, `more` on all but the last, the newest MAX_REPLAY", () => {
  const inbox = new Inbox();
  const many = Array.from(
    { length: MAX_REPLAY + 5 },
    (_, i) => message(i + 1, i < 3 ? "old" : "lobby"),
  );
  // No byte budget here: this is about counts (the budget is the next test's).
  sendReplay(inbox, many, { rooms: [], privates: false }, Infinity);
  const pages = inbox.of("replay");
  assert.equal(pages.length, 10);
  assert.ok(pages.slice(0, -1).every((page) => page.more === true && !page.gaps));
  assert.equal(pages.at(-1)?.more, undefined);
  assert.deepEqual(pages.at(-1)?.gaps, ["old", "lobby"]);
  assert.equal(replayed(inbox).length, MAX_REPLAY);
  assert.equal(replayed(inbox)[0], 6);
  inbox.clear();
  sendReplay(inbox, [], { rooms: [], privates: false });
  assert.deepEqual(inbox.events, [{ type: "replay", messages: [] }], "the last page always comes");
});

Deno.test("a replay holds at most its byte budget: the newest that fit, the rest a gap", () => {
  const inbox = new Inbox();
  const many = Array.from({ length: 100 }, (_, i) => message(i + 1, i < 50 ? "old" : "lobby"));
  const bytes = (m: MessageEvent) => new TextEncoder().encode(JSON.stringify(m)).length + 1;
  const budget = many.slice(70).reduce((sum, m) => sum + bytes(m), 0);
  sendReplay(inbox, many, { rooms: [], privates: false }, budget);
  assert.deepEqual(replayed(inbox), many.slice(70).map((m) => m.id), "the newest 30 fit exactly");
  assert.deepEqual(inbox.of("replay").at(-1)?.gaps, ["old", "lobby"]);
  inbox.clear();
  sendReplay(inbox, many.slice(0, 10), { rooms: [], privates: false }, budget);
  assert.equal(replayed(inbox).length, 10);
  assert.equal(inbox.of("replay").at(-1)?.gaps, undefined, "all fit: no gap");
});

Deno.test("welcome says the stream and the newest id; a resume with since replays its window", () => {
  const { hub, join } = setUp();
  const bob = join("Bob");
  const ann = join("Ann", { acks: true });
  const { stream, last } = welcomeOf(ann.inbox);
  assert.ok(stream.length > 0 && stream.length <= 64);
  assert.equal(last, 0);
  hub.say(bob.member, "one");
  hub.join(ann.member, "team");
  hub.join(bob.member, "team");
  hub.say(bob.member, "two", "team");
  hub.whisper(bob.member, "Ann", "psst");
  hub.say(bob.member, "three", "lobby");
  const handed = [...ann.inbox.of("message"), ...ann.inbox.of("private")].map((m) => m.id).sort();
  assert.deepEqual(handed, [1, 2, 3, 4]);
  // Ann's client showed id 1, then lost its connection.
  const again = new Inbox();
  hub.register("Ann", again, { resume: ann.member.resume, since: 1, stream, acks: true });
  assert.deepEqual(replayed(again), [2, 3, 4], "rooms and private messages, in id order");
  const last2 = again.of("replay").at(-1) as ReplayEvent;
  assert.equal(last2.gaps, undefined);
  assert.equal(last2.privateGap, undefined);
  assert.equal(welcomeOf(again).last, 4);
  assert.deepEqual(again.events.map((e) => e.type), ["welcome", "replay"]);
});

Deno.test("a resume replays the window it took over again, and leaves out the ignored", () => {
  const { hub, join } = setUp();
  const bob = join("Bob");
  const eve = join("Eve");
  const ann = join("Ann", { acks: true });
  const { stream } = welcomeOf(ann.inbox);
  hub.say(bob.member, "one");
  hub.say(eve.member, "two");
  const second = new Inbox();
  const ann2 = hub.register("Ann", second, {
    resume: ann.member.resume,
    since: 0,
    stream,
    acks: true,
  });
  assert.deepEqual(replayed(second), [1, 2]);
  hub.ignore(ann2, "Eve");
  hub.say(bob.member, "three");
  const third = new Inbox();
  hub.register("Ann", third, { resume: ann2.resume, since: 1, stream, acks: true });
  assert.deepEqual(replayed(third), [3], "what the second was handed, not what Eve said");
});

Deno.test("resumes that replay the same window do not record it again", () => {
  const { hub, join } = setUp({ history: 100 });
  const bob = join("Bob");
  const ann = join("Ann", { acks: true });
  const { stream, last } = welcomeOf(ann.inbox);
  for (let i = 0; i < 10; i++) hub.say(bob.member, `m${i}`);
  let member = ann.member;
  for (let resumes = 0; resumes < 4; resumes++) {
    const inbox = new Inbox();
    member = hub.register("Ann", inbox, { resume: member.resume, since: last, stream, acks: true });
    assert.equal(replayed(inbox).length, 10);
    assert.ok(member.sink instanceof WindowedSink);
    assert.equal(member.sink.window.size, 10, "each message held once");
  }
});

Deno.test("an ack trims the window: a resume from below it reports a gap", () => {
  const { hub, join } = setUp();
  const bob = join("Bob");
  const ann = join("Ann", { acks: true });
  const { stream } = welcomeOf(ann.inbox);
  hub.say(bob.member, "one");
  hub.say(bob.member, "two");
  hub.ack(ann.member, 2);
  const again = new Inbox();
  hub.register("Ann", again, { resume: ann.member.resume, since: 0, stream, acks: true });
  assert.deepEqual(replayed(again), []);
  assert.deepEqual(again.of("replay").at(-1)?.gaps, ["lobby"]);
});

Deno.test("a since on another stream is ignored: every room is a gap, the history comes as usual", () => {
  const { hub, join } = setUp({ history: 5 });
  const bob = join("Bob");
  hub.say(bob.member, "one");
  const ann = join("Ann", { since: 0, stream: "another" });
  assert.deepEqual(ann.inbox.events.map((e) => e.type), ["welcome", "replay", "history"]);
  assert.deepEqual(ann.inbox.of("replay")[0], {
    type: "replay",
    messages: [],
    gaps: ["lobby"],
    privateGap: true,
  });
});

Deno.test("a message with a cid is followed by `sent` after the echo; a resend is posted once", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  hub.answering("c1", () => hub.say(ann.member, "hi"));
  assert.deepEqual(ann.inbox.events.slice(-2).map((e) => e.type), ["message", "sent"]);
  assert.deepEqual(ann.inbox.last(), { type: "sent", cid: "c1", id: 1 });
  // The same line again, from a new connection that took the name back.
  const again = new Inbox();
  const ann2 = hub.register("Ann", again, { resume: ann.member.resume });
  hub.answering("c1", () => hub.handleLine(ann2, "hi"));
  assert.deepEqual(again.events.slice(1), [{ type: "sent", cid: "c1", id: 1 }]);
  assert.equal(bob.inbox.of("message").length, 1, "the others got it once");
  hub.answering("c2", () => hub.handleLine(ann2, "/msg Bob psst"));
  assert.deepEqual(again.last(), { type: "sent", cid: "c2", id: 2 });
  hub.answering("c3", () => hub.handleLine(ann2, "/me waves"));
  assert.deepEqual(again.last(), { type: "sent", cid: "c3", id: 3 });
});

Deno.test("a refusal of a frame with a cid carries it, and the cid may be used again", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  hub.answering("c1", () => hub.say(ann.member, " "));
  assert.equal((ann.inbox.last() as ChatEvent & { cid?: string }).cid, "c1");
  assert.equal(ann.inbox.last()?.type, "error");
  hub.answering("c1", () => hub.say(ann.member, "now"));
  assert.deepEqual(ann.inbox.last(), { type: "sent", cid: "c1", id: 1 });
  hub.answering("c2", () => hub.handleLine(ann.member, "/join"));
  assert.equal((ann.inbox.last() as ChatEvent & { cid?: string }).cid, "c2");
});

Deno.test("a resend while its first waits for the group's commit is posted once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-delivery-" });
  const store = Store.open(dir);
  try {
    const { hub, join } = setUp({ store });
    const ann = join("Ann");
    const bob = join("Bob");
    hub.answering("c1", () => hub.say(ann.member, "hi"));
    const again = new Inbox();
    const ann2 = hub.register("Ann", again, { resume: ann.member.resume });
    hub.answering("c1", () => hub.say(ann2, "hi"));
    store.commitNow();
    assert.equal(bob.inbox.of("message").length, 1);
    const id = bob.inbox.of("message")[0].id;
    assert.deepEqual(again.of("sent"), [{ type: "sent", cid: "c1", id }]);
    hub.answering("c2", () => hub.say(ann2, "more"));
    hub.answering("c2", () => hub.say(ann2, "more"));
    store.commitNow();
    assert.equal(bob.inbox.of("message").length, 2, "also twice in one turn");
    assert.equal(again.of("sent").length, 3);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cids are remembered per name, the last CID_MEMORY for CID_TTL_MS", () => {
  let now = T0;
  const ids = new ClientIds(() => now);
  for (let i = 0; i <= CID_MEMORY; i++) ids.sent(ids.begin("ann", `c${i}`), i + 1);
  assert.equal(ids.find("ann", "c0"), undefined, "the oldest went past the cap");
  assert.equal(ids.find("ann", "c1")?.id, 2);
  assert.equal(ids.find("bob", "c1"), undefined, "per name");
  now += CID_TTL_MS;
  assert.equal(ids.find("ann", "c1"), undefined, "expired");
});

Deno.test("acks are not messages, but a client sending too many is a flooder", () => {
  const { hub, join } = setUp({ flood: undefined });
  const ann = join("Ann", { acks: true });
  for (let i = 0; i < 20; i++) hub.ack(ann.member, 0);
  hub.say(ann.member, "still fine");
  assert.equal(ann.inbox.of("message").length, 1);
  for (let i = 0; i < 5; i++) hub.ack(ann.member, 0);
  assert.equal(ann.inbox.last()?.type === "bye" || hub.userCount === 0, true);
});

Deno.test("a command resent with its cid runs once; a refused one may be sent again", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  hub.join(ann.member, "team");
  hub.join(bob.member, "team");
  const topics = () => bob.inbox.of("topic").map((t) => t.topic);
  for (let i = 0; i < 2; i++) {
    hub.answering("t1", () => hub.handleLine(ann.member, "/topic Lunch at noon", "team"));
  }
  assert.deepEqual(topics(), ["Lunch at noon"], "the resend did not set it again");
  hub.answering("t2", () => hub.handleLine(bob.member, "/topic Bob's topic", "team"));
  assert.equal(bob.inbox.of("error").at(-1)?.cid, "t2", "refused: Bob is no operator");
  hub.handleLine(ann.member, "/op Bob", "team");
  hub.answering("t2", () => hub.handleLine(bob.member, "/topic Bob's topic", "team"));
  assert.deepEqual(topics(), ["Lunch at noon", "Bob's topic"], "the refused cid ran once taken");
});

Deno.test("a new login is told private messages may be missing only when its name left some unshown", () => {
  const { hub, join } = setUp();
  const bob = join("Bob");
  const ann = join("Ann", { acks: true });
  const { stream, last } = welcomeOf(ann.inbox);
  hub.say(bob.member, "hello");
  hub.leave(ann.member, "quit");
  const clean = join("Ann", { acks: true, since: last, stream });
  assert.equal(clean.inbox.of("replay").at(-1)?.privateGap, undefined, "no private message lost");
  hub.whisper(bob.member, "Ann", "psst");
  const psst = clean.inbox.of("private")[0].id;
  hub.leave(clean.member, "timeout");
  const after = join("Ann", { acks: true, since: psst - 1, stream });
  assert.equal(after.inbox.of("replay").at(-1)?.privateGap, true, "psst was never acknowledged");
  hub.ack(after.member, psst);
  hub.leave(after.member, "quit");
  const later = join("Ann", { acks: true, since: psst, stream });
  assert.equal(later.inbox.of("replay").at(-1)?.privateGap, undefined, "shown up to since");
});
