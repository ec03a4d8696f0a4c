/**
 * Tests of the replay's fallback to the history (lib/core/delivery.ts): when
 * no delivery window reaches back, a client naming `since` gets its rooms'
 * messages after it (the store's, or the rooms' memory) and an account
 * holder's private messages, each room it cannot reach said to be a gap
 * (memory that dropped messages, retention that pruned them); `join` with
 * `since`; an account login with `since`; and private messages to an
 * account holder who acknowledges, counted delivered on the covering ack.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ReplayEvent } from "../lib/core/events.ts";
import { MAX_HISTORY } from "../lib/core/limits.ts";
import { MAX_REPLAY } from "../lib/core/replay.ts";
import { Store } from "../lib/store/sqlite_store.ts";
import type { HubOptions } from "../lib/core/hub.ts";
import { deliveryHub, T0 } from "./_delivery_hub.ts";
import { Inbox } from "./_inbox.ts";

const setUp = deliveryHub;

/** The texts of every message in the replay pages `inbox` got. */
function replayed(inbox: Inbox): string[] {
  return inbox.of("replay").flatMap((page) => page.messages.map((m) => m.text));
}

function lastPage(inbox: Inbox): ReplayEvent {
  const page = inbox.of("replay").at(-1);
  assert.ok(page, "a replay came");
  return page;
}

function streamOf(inbox: Inbox): string {
  return inbox.of("welcome")[0].stream ?? "";
}

/** Runs `body` with a store (each write committed at once) in a temporary directory. */
async function withStore(body: (store: Store) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-replay-" });
  const store = Store.open(dir, { groupCommit: false });
  try {
    await body(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A store whose `markDelivered` calls are counted. */
function counting(store: Store): { store: Store; marks: number[] } {
  const marks: number[] = [];
  const mark = store.markDelivered.bind(store);
  store.markDelivered = (name: string, upTo: number) => {
    marks.push(upTo);
    return mark(name, upTo);
  };
  return { store, marks };
}

/**
 * Ann has an account and `mail` kept from Bob (a whisper while she is away),
 * then logs in with `acks`: her first connection, and its welcome's fields.
 */
function firstLoginWithMail(store: Store, mail: string, options: HubOptions = {}) {
  store.addUser("Ann", "hash", T0);
  const { hub, join } = setUp({ store, auth: "names", ...options });
  const bob = join("Bob");
  hub.whisper(bob.member, "Ann", mail);
  const first = join("Ann", { account: true, acks: true });
  return { hub, join, bob, first, ...first.inbox.of("welcome")[0] };
}

/** Keeps `count` private messages from Bob for Ann's account, `p${first}` on. */
function keepMail(store: Store, count: number, first = 0): void {
  store.addUser("Ann", "hash", T0);
  for (let i = first; i < first + count; i++) {
    store.appendPrivate({ time: T0, from: "Bob", to: "Ann", text: `p${i}`, delivered: false });
  }
}

Deno.test("a resume without a window replays the rooms' memory after since, or says it dropped some", () => {
  const { hub, join } = setUp({ history: 3 });
  const bob = join("Bob");
  const ann = join("Ann");
  hub.join(ann.member, "team");
  hub.join(bob.member, "team");
  for (const text of ["a", "b"]) hub.say(bob.member, text, "lobby");
  hub.say(bob.member, "c", "team");
  const again = new Inbox();
  const ann2 = hub.register("Ann", again, {
    resume: ann.member.resume,
    since: 1,
    stream: streamOf(ann.inbox),
  });
  assert.deepEqual(replayed(again), ["b", "c"], "both rooms, in id order");
  assert.equal(lastPage(again).gaps, undefined);
  assert.equal(lastPage(again).privateGap, true, "no store: private messages may be missing");
  // Rooms remember MAX_HISTORY messages: two more than that drop x0 and x1, said after id 3.
  for (let i = 0; i < MAX_HISTORY + 2; i++) hub.say(bob.member, `x${i}`, "lobby");
  const third = new Inbox();
  hub.register("Ann", third, { resume: ann2.resume, since: 3, stream: streamOf(again) });
  assert.equal(replayed(third).length, MAX_HISTORY);
  assert.equal(replayed(third)[0], "x2");
  assert.deepEqual(lastPage(third).gaps, ["lobby"], "the memory dropped x0 and x1");
});

Deno.test("with --history 0 and no window, a resume after new messages reports the rooms as gaps", () => {
  const { hub, join } = setUp();
  const bob = join("Bob");
  const ann = join("Ann");
  const stream = streamOf(ann.inbox);
  const quiet = new Inbox();
  const ann2 = hub.register("Ann", quiet, { resume: ann.member.resume, since: 0, stream });
  assert.equal(lastPage(quiet).gaps, undefined, "nothing was said: nothing was missed");
  hub.say(bob.member, "hi");
  const again = new Inbox();
  hub.register("Ann", again, { resume: ann2.resume, since: 0, stream });
  assert.deepEqual(lastPage(again), {
    type: "replay",
    messages: [],
    gaps: ["lobby"],
    privateGap: true,
  });
});

Deno.test("join with since replays the room after it, instead of its history", () => {
  const { hub, join } = setUp({ history: 10 });
  const bob = join("Bob");
  hub.join(bob.member, "team");
  for (const text of ["a", "b", "c"]) hub.say(bob.member, text, "team");
  const ann = join("Ann");
  hub.join(ann.member, "team", 1);
  assert.deepEqual(ann.inbox.of("history"), []);
  assert.deepEqual(replayed(ann.inbox), ["b", "c"]);
  assert.equal(lastPage(ann.inbox).gaps, undefined);
  assert.equal(lastPage(ann.inbox).privateGap, undefined);
  const types = ann.inbox.events.map((e) => e.type);
  assert.ok(types.indexOf("replay") < types.lastIndexOf("current"), "before the room is current");
});

Deno.test("a resume replays what a join with since replayed after the window's start, if never acknowledged", () => {
  const { hub, join } = setUp({ history: 10 });
  const bob = join("Bob");
  hub.join(bob.member, "team");
  hub.say(bob.member, "before", "team");
  const stream = bob.inbox.of("welcome")[0].stream!;
  // Ann's client comes back after a restart, shown everything up to the newest id: its
  // window starts there. #team, forgotten, it joins again; meanwhile Bob says "after" there.
  const ann = join("Ann", { since: 1, stream, acks: true });
  hub.say(bob.member, "after", "team");
  hub.join(ann.member, "team", 1);
  assert.deepEqual(replayed(ann.inbox), ["after"]);
  // Her connection is lost before she was shown it; the resume is in #team already.
  const again = new Inbox();
  hub.register("Ann", again, { resume: ann.member.resume, since: 1, stream, acks: true });
  assert.deepEqual(replayed(again), ["after"]);
  assert.equal(lastPage(again).gaps, undefined);
});

Deno.test("with a store, a resume replays rooms and an account's private messages in id order", async () => {
  await withStore((store) => {
    store.addUser("Ann", "hash", T0);
    const { hub, join } = setUp({ store, auth: "names" });
    const bob = join("Bob");
    const eve = join("Eve");
    const ann = join("Ann", { account: true });
    hub.join(ann.member, "team");
    hub.join(bob.member, "team");
    hub.say(bob.member, "one");
    hub.say(bob.member, "two", "team");
    hub.whisper(bob.member, "Ann", "three");
    hub.whisper(ann.member, "Bob", "four");
    hub.say(eve.member, "five");
    hub.ignore(ann.member, "Eve");
    const again = new Inbox();
    hub.register("Ann", again, {
      resume: ann.member.resume,
      since: 1,
      stream: streamOf(ann.inbox),
    });
    assert.deepEqual(replayed(again), ["two", "three", "four"], "Eve is ignored");
    assert.equal(lastPage(again).gaps, undefined);
    assert.equal(lastPage(again).privateGap, undefined);
  });
});

Deno.test("retention that pruned past since makes the room a gap", async () => {
  await withStore((store) => {
    const { hub, join } = setUp({ store });
    const bob = join("Bob");
    const ann = join("Ann");
    for (const text of ["a", "b", "c", "d"]) hub.say(bob.member, text);
    for (const _ of store.pruner({ keepDays: 0, keepMessages: 2 }, () => T0).pass()) { /* steps */ }
    const again = new Inbox();
    hub.register("Ann", again, {
      resume: ann.member.resume,
      since: 1,
      stream: streamOf(ann.inbox),
    });
    assert.deepEqual(replayed(again), ["c", "d"]);
    assert.deepEqual(lastPage(again).gaps, ["lobby"]);
    const later = new Inbox();
    hub.register("Ann", later, {
      resume: again.of("welcome")[0].resume,
      since: 2,
      stream: streamOf(ann.inbox),
    });
    assert.equal(lastPage(later).gaps, undefined, "nothing after id 2 was pruned");
  });
});

Deno.test("an account login with since replays the kept mail no ack covered, up to since too, and sends no missed", async () => {
  await withStore((store) => {
    store.addUser("Ann", "hash", T0);
    const { hub, join } = setUp({ store, auth: "names" });
    const bob = join("Bob");
    const stream = streamOf(bob.inbox);
    hub.whisper(bob.member, "Ann", "kept before since");
    hub.whisper(bob.member, "Ann", "not seen yet");
    hub.whisper(bob.member, "Ann", "and this");
    const ann = join("Ann", { account: true, since: 1, stream });
    assert.deepEqual(ann.inbox.events.map((e) => e.type), ["welcome", "replay"]);
    assert.deepEqual(replayed(ann.inbox), ["kept before since", "not seen yet", "and this"]);
    assert.deepEqual(store.undelivered("Ann", 10), [], "all counted delivered once sent");
  });
});

Deno.test("an account login with since replays only what came after the mail an ack covered", async () => {
  await withStore((store) => {
    const { hub, join, bob, first, stream, last } = firstLoginWithMail(
      store,
      "shown and acknowledged",
    );
    hub.ack(first.member, last!);
    hub.leave(first.member, "quit");
    hub.whisper(bob.member, "Ann", "while away");
    const ann = join("Ann", { account: true, acks: true, since: last, stream });
    assert.deepEqual(replayed(ann.inbox), ["while away"]);
  });
});

Deno.test("a first login that acknowledges gets its kept mail in missed, counted delivered only once acknowledged", async () => {
  await withStore((store) => {
    store.addUser("Ann", "hash", T0);
    const { hub, join } = setUp({ store, auth: "names" });
    const bob = join("Bob");
    hub.whisper(bob.member, "Ann", "are you there?");
    hub.say(bob.member, "a room message after it");
    const first = join("Ann", { account: true, acks: true });
    assert.deepEqual(first.inbox.of("missed")[0].messages.map((m) => m.text), ["are you there?"]);
    assert.deepEqual(store.undelivered("Ann", 10).map((m) => m.text), ["are you there?"]);
    // The connection dies before its client showed them: it never acknowledged.
    hub.leave(first.member, "connection lost");
    // The client's `since` is the `last` of its first welcome, above the mail's id.
    const { stream, last } = first.inbox.of("welcome")[0];
    const again = join("Ann", { account: true, acks: true, since: last, stream });
    assert.deepEqual(again.inbox.events.map((e) => e.type), ["welcome", "replay"]);
    assert.deepEqual(replayed(again.inbox), ["are you there?"], "shown once, in the replay");
    assert.equal(lastPage(again.inbox).privateGap, undefined);
    assert.deepEqual(store.undelivered("Ann", 10).length, 1, "still not acknowledged");
    // What a client acknowledges: the highest id it showed, here its `since`.
    hub.ack(again.member, last!);
    assert.deepEqual(store.undelivered("Ann", 10), [], "the ack covers it");
    hub.leave(again.member, "quit");
    const third = join("Ann", { account: true, acks: true });
    assert.deepEqual(third.inbox.of("missed"), [], "delivered once");
  });
});

Deno.test("a login with since counts the replayed kept mail delivered at an ack of since, below the welcome's last", async () => {
  await withStore((store) => {
    const { hub, join, bob, first, stream, last } = firstLoginWithMail(store, "are you there?");
    hub.leave(first.member, "connection lost");
    // Said where Ann's client is never shown it: the next welcome's `last` is above `since`.
    hub.join(bob.member, "other");
    hub.say(bob.member, "elsewhere", "other");
    const again = join("Ann", { account: true, acks: true, since: last, stream });
    assert.ok(again.inbox.of("welcome")[0].last! > last!);
    assert.deepEqual(replayed(again.inbox), ["are you there?"]);
    hub.ack(again.member, last!);
    assert.deepEqual(store.undelivered("Ann", 10), [], "the ack covers it");
    hub.leave(again.member, "quit");
    const third = join("Ann", { account: true, acks: true });
    assert.deepEqual(third.inbox.of("missed"), [], "shown once");
  });
});

Deno.test("kept mail is never cut from a replay past its byte budget: it would count delivered unshown", async () => {
  await withStore((store) => {
    const { hub, join, bob, first, stream, last } = firstLoginWithMail(store, "old mail", {
      replayBytes: 2000,
    });
    hub.leave(first.member, "connection lost");
    for (let i = 0; i < 40; i++) hub.say(bob.member, `room message ${i} ${"x".repeat(50)}`);
    hub.whisper(bob.member, "Ann", "newer mail");
    const again = join("Ann", { account: true, acks: true, since: last, stream });
    const shown = replayed(again.inbox);
    assert.ok(shown.length < 20, "the budget cut the room");
    assert.deepEqual(lastPage(again.inbox).gaps, ["lobby"]);
    assert.equal(shown[0], "old mail", "the oldest, kept all the same, in id order");
    assert.equal(shown.at(-1), "newer mail");
    hub.ack(again.member, again.inbox.of("replay").flatMap((page) => page.messages).at(-1)!.id);
    assert.deepEqual(store.undelivered("Ann", 10), [], "shown, and acknowledged");
  });
});

Deno.test("kept mail that cannot be read at a resume is said to be a gap, and not counted delivered", async () => {
  await withStore((store) => {
    const { join, stream, last, resume } = firstLoginWithMail(store, "are you there?");
    const undelivered = store.undelivered;
    store.undelivered = () => {
      throw new Error("disk I/O error");
    };
    let again;
    try {
      again = join("Ann", { account: true, acks: true, resume, since: last, stream });
    } finally {
      store.undelivered = undelivered;
    }
    assert.equal(lastPage(again.inbox).privateGap, true);
    assert.deepEqual(store.undelivered("Ann", 10).map((m) => m.text), ["are you there?"]);
  });
});

Deno.test("a login with since reads at most one kept message past what a replay carries: the rest is a gap, none counted delivered", async () => {
  await withStore((store) => {
    keepMail(store, MAX_REPLAY + 600);
    // A budget that holds them all: only the reading leaves some out.
    const { hub, join } = setUp({ store, auth: "names", replayBytes: 8 << 20 });
    const first = join("Ann", { account: true, acks: true });
    const { stream, last } = first.inbox.of("welcome")[0];
    hub.leave(first.member, "connection lost");
    let rows = 0;
    const undeliveredBefore = store.undeliveredBefore.bind(store);
    store.undeliveredBefore = (name, before, limit) => {
      const page = undeliveredBefore(name, before, limit);
      rows += page.length;
      return page;
    };
    const again = join("Ann", { account: true, acks: true, since: last, stream });
    assert.equal(rows, MAX_REPLAY + 1);
    assert.equal(lastPage(again.inbox).privateGap, true, "the rest is a gap");
    const shown = again.inbox.of("replay").flatMap((page) => page.messages);
    hub.ack(again.member, shown.at(-1)!.id);
    store.undeliveredBefore = undeliveredBefore;
    assert.deepEqual(
      store.undelivered("Ann", 1).map((m) => m.text),
      ["p0"],
      "none counted delivered",
    );
  });
});

Deno.test("kept mail past half the budget more is cut after all: a gap, and none counted delivered", async () => {
  await withStore((store) => {
    keepMail(store, 40);
    const { hub, join } = setUp({ store, auth: "names", replayBytes: 2000 });
    const first = join("Ann", { account: true, acks: true });
    const { stream, last } = first.inbox.of("welcome")[0];
    hub.leave(first.member, "connection lost");
    const again = join("Ann", { account: true, acks: true, since: last, stream });
    const shown = replayed(again.inbox);
    assert.ok(shown.length < 40 && shown.at(-1) === "p39", `${shown.length} shown, the newest`);
    assert.equal(lastPage(again.inbox).privateGap, true);
    hub.ack(again.member, last!);
    assert.equal(store.undelivered("Ann", 100).length, 40, "none counted delivered");
  });
});

Deno.test("a resume with since replays the kept mail its connection was handed but never acknowledged", async () => {
  await withStore((store) => {
    const { hub, join, bob, stream, last, resume } = firstLoginWithMail(store, "are you there?");
    hub.say(bob.member, "hello");
    const again = join("Ann", { account: true, acks: true, resume, since: last, stream });
    assert.deepEqual(replayed(again.inbox), ["are you there?", "hello"]);
    assert.equal(store.undelivered("Ann", 10).length, 1, "waits for the ack");
    hub.ack(again.member, again.inbox.of("replay")[0].messages[1].id);
    assert.deepEqual(store.undelivered("Ann", 10), []);
  });
});

Deno.test("kept mail for a client that acknowledges comes in pages by id, none twice, all waiting for the ack", async () => {
  await withStore((store) => {
    const count = MAX_HISTORY + 500;
    keepMail(store, count, 1);
    const { hub, join } = setUp({ store, auth: "names" });
    const ann = join("Ann", { account: true, acks: true });
    const pages = ann.inbox.of("missed").map((page) => page.messages.map((m) => m.text));
    assert.deepEqual(pages.map((page) => page.length), [MAX_HISTORY, 500]);
    assert.deepEqual(pages.flat(), Array.from({ length: count }, (_, i) => `p${i + 1}`));
    assert.equal(store.undelivered("Ann", MAX_HISTORY).length, MAX_HISTORY, "none marked yet");
    hub.ack(ann.member, ann.inbox.of("welcome")[0].last!);
    assert.deepEqual(store.undelivered("Ann", 10), []);
  });
});

Deno.test("a private message to an account that acks waits for the covering ack, written once", async () => {
  await withStore((raw) => {
    raw.addUser("Ann", "hash", T0);
    const { store, marks } = counting(raw);
    const { hub, join } = setUp({ store, auth: "names" });
    const bob = join("Bob");
    const ann = join("Ann", { account: true, acks: true });
    hub.say(bob.member, "room message");
    hub.ack(ann.member, 1);
    assert.deepEqual(marks, [], "no store write for an ack when no private message waits");
    hub.whisper(bob.member, "Ann", "psst");
    const id = ann.inbox.of("private")[0].id;
    assert.deepEqual(store.undelivered("Ann", 10).map((m) => m.text), ["psst"]);
    hub.ack(ann.member, id);
    assert.deepEqual(store.undelivered("Ann", 10), []);
    hub.say(bob.member, "more");
    hub.ack(ann.member, id + 1);
    assert.deepEqual(marks, [id], "one write, for the ack that covered it");
  });
});

Deno.test("a private message to an account whose connection died before acking is shown at the next login", async () => {
  await withStore((store) => {
    store.addUser("Ann", "hash", T0);
    const { hub, join } = setUp({ store, auth: "names" });
    const bob = join("Bob");
    const ann = join("Ann", { account: true, acks: true });
    hub.whisper(bob.member, "Ann", "are you there?");
    hub.leave(ann.member, "connection lost");
    const back = join("Ann", { account: true, acks: true });
    assert.deepEqual(back.inbox.of("missed")[0].messages.map((m) => m.text), ["are you there?"]);
  });
});

Deno.test("a new account is not replayed what a guest of its name whispered before it was made", async () => {
  await withStore((store) => {
    let now = T0;
    const { hub, join } = setUp({ store, auth: "names", now: () => now });
    const guest = join("Bob");
    const ann = join("Ann");
    const stream = streamOf(ann.inbox);
    hub.whisper(guest.member, "Ann", "the guest's secret");
    hub.leave(guest.member, "quit");
    now += 1000;
    store.addUser("Bob", "hash", now);
    hub.whisper(ann.member, "Bob", "to the account");
    const bob = join("Bob", { account: true, since: 0, stream });
    assert.deepEqual(replayed(bob.inbox), ["to the account"]);
  });
});
