/**
 * The private messages kept for an account go to its login in pages, over
 * turns of the event loop as a replay does (lib/core/offline_mail.ts,
 * lib/core/delivery.ts): `missed` pages without `since`, the replay's pages
 * with it. What comes meanwhile waits behind the last page; mail counts as
 * delivered only once sent and, for a client that acknowledges, covered by
 * an ack: an ack that arrives between the pages marks none of those not sent
 * yet. The turns here are the test's: the hub's `nextTurn` queues each step.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ChatEvent } from "../lib/core/events.ts";
import type { HubOptions } from "../lib/core/hub.ts";
import { MAX_HISTORY } from "../lib/core/limits.ts";
import { Store } from "../lib/store/sqlite_store.ts";
import { deliveryHub, T0 } from "./_delivery_hub.ts";
import type { Inbox } from "./_inbox.ts";

/** Private messages kept for Ann: more than two pages. */
const KEPT = 2 * MAX_HISTORY + 500;

const texts = (count: number, first = 0) =>
  Array.from({ length: count }, (_, i) => `p${first + i}`);

/** Runs `body` with a store (each write committed at once) in a temporary directory. */
async function withStore(body: (store: Store) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-kept-" });
  const store = Store.open(dir, { groupCommit: false });
  try {
    body(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Ann's account with `count` private messages from Bob kept for it, `p0` on. */
function keepMail(store: Store, count: number): void {
  store.addUser("Ann", "hash", T0);
  for (let i = 0; i < count; i++) {
    store.appendPrivate({ time: T0, from: "Bob", to: "Ann", text: `p${i}`, delivered: false });
  }
}

/** A hub over `store` whose later steps wait in `turns`; `runTurns` runs them all. */
function pagedHub(store: Store, options: HubOptions = {}) {
  const turns: (() => void)[] = [];
  const setUp = deliveryHub({ store, auth: "names", nextTurn: (s) => turns.push(s), ...options });
  const runTurns = () => {
    for (let ran = 0; turns.length > 0; ran++) {
      assert.ok(ran < 100, "it ends");
      turns.shift()!();
    }
  };
  return { ...setUp, turns, runTurns };
}

/** The texts of the `missed` pages in `inbox`. */
function missed(inbox: Inbox): string[] {
  return inbox.of("missed").flatMap((page) => page.messages.map((m) => m.text));
}

/** The kinds of `events` in order, a page or a message by its texts. */
function sequence(events: ChatEvent[]): string[] {
  return events.flatMap((event) => {
    if (event.type === "missed") return [`missed ${event.messages.length}`];
    if (event.type === "message" || event.type === "private") return [event.text];
    return [];
  });
}

const stillKept = (store: Store) => {
  const found: string[] = [];
  for (let after = 0;;) {
    const page = store.undelivered("Ann", MAX_HISTORY, after);
    if (page.length === 0) return found;
    found.push(...page.map((m) => m.text));
    after = page.at(-1)!.id;
  }
};

Deno.test("kept mail goes in missed pages, a step a turn; what comes meanwhile follows the last page, and mail said meanwhile comes live only", async () => {
  await withStore((store) => {
    keepMail(store, KEPT);
    const { hub, join, turns, runTurns } = pagedHub(store);
    const bob = join("Bob");
    const ann = join("Ann", { account: true, acks: true });
    assert.deepEqual(missed(ann.inbox), texts(MAX_HISTORY), "one page in the turn of the hello");
    assert.equal(turns.length, 1, "the next waits for a turn of its own");
    hub.say(bob.member, "said meanwhile");
    hub.whisper(bob.member, "Ann", "whispered meanwhile");
    runTurns();
    assert.deepEqual(missed(ann.inbox), texts(KEPT), "in id order, each once");
    assert.deepEqual(sequence(ann.inbox.events), [
      `missed ${MAX_HISTORY}`,
      `missed ${MAX_HISTORY}`,
      "missed 500",
      "said meanwhile",
      "whispered meanwhile",
    ]);
  });
});

Deno.test("an ack between the missed pages counts only the pages sent delivered: a login after a lost connection shows the rest, once", async () => {
  await withStore((store) => {
    keepMail(store, KEPT);
    const { hub, join, runTurns } = pagedHub(store);
    const bob = join("Bob");
    const ann = join("Ann", { account: true, acks: true });
    const { last } = ann.inbox.of("welcome")[0];
    // A private message handed live, not acknowledged: an ack has something to mark.
    hub.whisper(bob.member, "Ann", "live");
    // Her client showed the first page, and acknowledges the welcome's `last`, all it has seen.
    hub.ack(ann.member, last!);
    assert.deepEqual(stillKept(store), [...texts(KEPT - MAX_HISTORY, MAX_HISTORY), "live"]);
    // Her connection is lost before the other pages went.
    hub.leave(ann.member, "connection lost");
    runTurns();
    assert.deepEqual(missed(ann.inbox), texts(MAX_HISTORY));
    const again = join("Ann", { account: true, acks: true });
    runTurns();
    assert.deepEqual(missed(again.inbox), [...texts(KEPT - MAX_HISTORY, MAX_HISTORY), "live"]);
  });
});

Deno.test("without acks each missed page counts delivered once sent: a connection lost between them leaves the rest for the next login", async () => {
  await withStore((store) => {
    keepMail(store, KEPT);
    const { hub, join, runTurns } = pagedHub(store);
    const ann = join("Ann", { account: true });
    assert.equal(stillKept(store).length, KEPT - MAX_HISTORY);
    hub.leave(ann.member, "connection lost");
    runTurns();
    const again = join("Ann", { account: true });
    runTurns();
    assert.deepEqual(missed(again.inbox), texts(KEPT - MAX_HISTORY, MAX_HISTORY));
    assert.deepEqual(stillKept(store), []);
  });
});

for (const acks of [true, false]) {
  Deno.test(`a resume without since while the missed pages go (${acks ? "" : "no "}acks): the new connection gets the rest, once, and an ack marks only what was sent`, async () => {
    await withStore((store) => {
      keepMail(store, KEPT);
      const { hub, join, runTurns } = pagedHub(store);
      const ann = join("Ann", { account: true, acks });
      const { resume } = ann.inbox.of("welcome")[0];
      assert.deepEqual(missed(ann.inbox), texts(MAX_HISTORY), "the first page, on the old link");
      // Her client comes back on a new connection before the other pages went.
      const again = join("Ann", { account: true, acks, resume });
      assert.deepEqual(missed(again.inbox), texts(MAX_HISTORY, MAX_HISTORY), "the next, at once");
      if (acks) {
        // Acknowledged before the last page came: the welcome's `last` covers it too.
        hub.ack(again.member, again.inbox.of("welcome")[0].last!);
        const last = KEPT - 2 * MAX_HISTORY;
        assert.deepEqual(stillKept(store), texts(last, 2 * MAX_HISTORY), "none marked unsent");
      }
      runTurns();
      assert.deepEqual(missed(ann.inbox), texts(MAX_HISTORY), "nothing more on the old link");
      assert.deepEqual(missed(again.inbox), texts(KEPT - MAX_HISTORY, MAX_HISTORY), "the rest");
      if (acks) hub.ack(again.member, again.inbox.of("missed").at(-1)!.messages.at(-1)!.id!);
      assert.deepEqual(stillKept(store), []);
    });
  });
}

Deno.test("a login with since reads its kept mail a batch at a time; an ack of since during the replay counts none of it, one after counts it", async () => {
  await withStore((store) => {
    keepMail(store, KEPT);
    const { hub, join, turns, runTurns } = pagedHub(store);
    const bob = join("Bob");
    // Her first login was handed the mail, and its connection lost before any ack.
    const first = join("Ann", { account: true, acks: true });
    runTurns();
    const { stream, last } = first.inbox.of("welcome")[0];
    hub.leave(first.member, "connection lost");
    let read = 0;
    const undeliveredBefore = store.undeliveredBefore.bind(store);
    store.undeliveredBefore = (name, before, limit) => {
      const rows = undeliveredBefore(name, before, limit);
      read = Math.max(read, rows.length);
      return rows;
    };
    const again = join("Ann", { account: true, acks: true, since: last, stream });
    assert.ok(read <= MAX_HISTORY, `rows read at once: ${read}`);
    hub.whisper(bob.member, "Ann", "live");
    // The replay reads newest first, then sends oldest first: until its first page has gone.
    while (again.inbox.of("replay").length === 0) turns.shift()!();
    // Her client acknowledges its `since` while the replay pages: it said so in its hello.
    hub.ack(again.member, since(last));
    assert.deepEqual(stillKept(store), [...texts(KEPT), "live"], "none counted yet");
    runTurns();
    const replayed = again.inbox.of("replay").flatMap((page) => page.messages.map((m) => m.text));
    assert.deepEqual(replayed, texts(KEPT), "in id order, each once");
    hub.ack(again.member, since(last));
    assert.deepEqual(stillKept(store), ["live"], "shown, and acknowledged");
  });
});

Deno.test("a resume without since while a login's replay holds kept mail: an ack on the new connection marks none of it", async () => {
  await withStore((store) => {
    keepMail(store, KEPT);
    const { hub, join, turns } = pagedHub(store);
    const bob = join("Bob");
    const first = join("Ann", { account: true, acks: true });
    while (turns.length > 0) turns.shift()!();
    const { stream, last } = first.inbox.of("welcome")[0];
    hub.leave(first.member, "connection lost");
    const again = join("Ann", { account: true, acks: true, since: last, stream });
    const { resume } = again.inbox.of("welcome")[0];
    // A live one, in the window: an ack has something to mark.
    hub.whisper(bob.member, "Ann", "live");
    // Back on a new connection before the replay's pages went, without `since`.
    const third = join("Ann", { account: true, acks: true, resume });
    hub.ack(third.member, third.inbox.of("welcome")[0].last!);
    assert.deepEqual(stillKept(store).slice(0, KEPT), texts(KEPT), "none of the unsent marked");
  });
});

function since(last: number | undefined): number {
  assert.ok(last !== undefined);
  return last;
}

Deno.test("kept mail that cannot all be read counts none delivered on this connection's acks: all of it waits for the next login", async () => {
  await withStore((store) => {
    keepMail(store, KEPT);
    const logged: string[] = [];
    const { hub, join, runTurns } = pagedHub(store, { log: (line) => logged.push(line) });
    const undelivered = store.undelivered.bind(store);
    let reads = 0;
    store.undelivered = (name, limit, after) => {
      if (++reads === 2) throw new Error("disk I/O error");
      return undelivered(name, limit, after);
    };
    const ann = join("Ann", { account: true, acks: true });
    const { last } = ann.inbox.of("welcome")[0];
    runTurns();
    store.undelivered = undelivered;
    assert.deepEqual(missed(ann.inbox), texts(MAX_HISTORY), "the first page, then the failure");
    assert.ok(logged.some((line) => line.includes("disk I/O error")), logged.join("\n"));
    hub.ack(ann.member, last!);
    assert.equal(stillKept(store).length, KEPT, "none counted delivered: not the pages unsent");
  });
});
