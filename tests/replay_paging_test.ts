/**
 * A long replay goes a page per turn of the event loop (lib/core/replay.ts,
 * lib/core/replay_gate.ts): the other members are served between its pages,
 * and what comes for the member being replayed to waits until its last page;
 * it stops when the member goes. The turns here are the test's: the hub is
 * given a `nextTurn` that queues each step, and the test runs them.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ChatEvent, ReplayEvent } from "../lib/core/events.ts";
import type { HubOptions } from "../lib/core/hub.ts";
import { MAX_HISTORY } from "../lib/core/limits.ts";
import { Store } from "../lib/store/sqlite_store.ts";
import { deliveryHub, T0 } from "./_delivery_hub.ts";
import type { Inbox } from "./_inbox.ts";

/** Messages Bob says while Ann is away: more than two pages. */
const MISSED = 2 * MAX_HISTORY + 500;

/** A delivery hub whose replays take their later steps from `turns`, run by `runTurns`. */
function pagedHub(options: HubOptions = {}) {
  const turns: (() => void)[] = [];
  const setUp = deliveryHub({ history: MISSED, nextTurn: (step) => turns.push(step), ...options });
  /** Runs the turns due, and those they ask for, until none is left; returns how many ran. */
  const runTurns = (): number => {
    let ran = 0;
    while (turns.length > 0) {
      assert.ok(ran++ < 100, "a replay ends");
      turns.shift()!();
    }
    return ran;
  };
  return { ...setUp, turns, runTurns };
}

function isLastPage(event: ChatEvent): event is ReplayEvent {
  return event.type === "replay" && event.more !== true;
}

/** The texts of the replay pages in `inbox`, and of the messages after the last page. */
function shown(inbox: Inbox): { replayed: string[]; after: string[] } {
  const end = inbox.events.findIndex(isLastPage);
  assert.ok(end >= 0, "the replay's last page came");
  const pages = inbox.events.slice(0, end + 1).filter((e) => e.type === "replay");
  return {
    replayed: pages.flatMap((page) => page.messages.map((m) => m.text)),
    after: inbox.events.slice(end + 1).flatMap((e) => e.type === "message" ? [e.text] : []),
  };
}

/**
 * The replay in `inbox` gave the newest of `texts` said in #team, in order,
 * and named #team a gap if not all: nothing goes unsaid.
 */
function newestOrGap(inbox: Inbox, texts: string[]): void {
  const { replayed } = shown(inbox);
  assert.deepEqual(replayed, texts.slice(-replayed.length), "the newest, in order");
  assert.deepEqual(
    inbox.events.find(isLastPage)?.gaps ?? [],
    replayed.length < texts.length ? ["team"] : [],
    `${replayed.length} of ${texts.length} replayed`,
  );
}

/**
 * Ann's client comes back after a restart, in #lobby; `texts` are said in
 * #team, which her client then joins again with `since` (the server forgot
 * it): the join's replay starts. Returns what her client would resume with.
 */
function rejoinsTeamAfter(setUp: ReturnType<typeof pagedHub>, texts: string[]) {
  const { hub, join } = setUp;
  const bob = join("Bob");
  hub.join(bob.member, "team");
  hub.say(bob.member, "before", "team");
  const ann = join("Ann", { acks: true });
  const { stream, last, resume } = ann.inbox.of("welcome")[0];
  for (const text of texts) hub.say(bob.member, text, "team");
  hub.join(ann.member, "team", last);
  return { ann, again: { acks: true, resume, since: last, stream } };
}

const said = (count: number, prefix = "m") => Array.from({ length: count }, (_, i) => prefix + i);

Deno.test("a long replay goes a page per turn: another member is served between its pages, and what comes meanwhile follows its last page", () => {
  const { hub, join, turns, runTurns } = pagedHub();
  const bob = join("Bob");
  const ann = join("Ann", { acks: true });
  const { stream, last, resume } = ann.inbox.of("welcome")[0];
  for (const text of said(MISSED)) hub.say(bob.member, text);
  // Her connection was lost unnoticed: she resumes, her window holds all she missed.
  const again = join("Ann", { acks: true, resume, since: last, stream });
  assert.equal(again.inbox.events.some(isLastPage), false, "not over in the turn of the hello");
  assert.equal(turns.length, 1, "its next step waits for a turn of its own");
  hub.say(bob.member, "said during the replay");
  const echo = bob.inbox.last();
  assert.ok(
    echo?.type === "message" && echo.text === "said during the replay",
    "Bob is served before the replay ends",
  );
  assert.ok(runTurns() >= 2);
  const { replayed, after } = shown(again.inbox);
  assert.deepEqual(replayed, said(MISSED), "in id order, each once");
  assert.deepEqual(after, ["said during the replay"], "then the live one, once");
  const pages = again.inbox.of("replay");
  assert.deepEqual(pages.map((page) => page.messages.length), [MAX_HISTORY, MAX_HISTORY, 500]);
  assert.deepEqual(pages.map((page) => page.more), [true, true, undefined]);
});

Deno.test("a replay from the store reads it a batch at a time, each turn at most a page of rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-paging-" });
  const store = Store.open(dir, { groupCommit: false });
  try {
    for (const text of said(MISSED)) {
      store.appendMessage({ time: T0, room: "lobby", from: "Bob", text });
    }
    const reads: number[] = [];
    const read = store.messagesAfter.bind(store);
    store.messagesAfter = (room, since, limit, before) => {
      const rows = read(room, since, limit, before);
      reads.push(rows.length);
      return rows;
    };
    const { join, runTurns } = pagedHub({ store });
    const stream = store.stream;
    const ann = join("Ann", { since: 0, stream });
    assert.ok(Math.max(...reads) <= MAX_HISTORY, `rows read at once: ${reads}`);
    const first = reads.reduce((sum, n) => sum + n, 0);
    assert.ok(first <= MAX_HISTORY, `rows read in the turn of the hello: ${first}`);
    runTurns();
    assert.deepEqual(shown(ann.inbox).replayed, said(MISSED));
    assert.equal(ann.inbox.events.findLast(isLastPage)?.gaps, undefined);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a replay stops when its member is sent away, and the bye is not held back", () => {
  const { hub, join, turns, runTurns } = pagedHub();
  const bob = join("Bob");
  const ann = join("Ann", { acks: true });
  const { stream, last, resume } = ann.inbox.of("welcome")[0];
  for (const text of said(MISSED)) hub.say(bob.member, text);
  const again = join("Ann", { acks: true, resume, since: last, stream });
  turns.shift()!();
  hub.say(bob.member, "held for her");
  assert.ok(hub.kick("Ann", "enough"));
  assert.equal(again.inbox.last()?.type, "bye", "told at once");
  runTurns();
  assert.equal(again.inbox.last()?.type, "bye", "nothing after it: no page, nothing held");
  assert.equal(again.inbox.events.some(isLastPage), false);
});

Deno.test("a replay stops when its member leaves", () => {
  const { hub, join, turns, runTurns } = pagedHub();
  const bob = join("Bob");
  const ann = join("Ann", { acks: true });
  const { stream, last, resume } = ann.inbox.of("welcome")[0];
  for (const text of said(MISSED)) hub.say(bob.member, text);
  const again = join("Ann", { acks: true, resume, since: last, stream });
  turns.shift()!();
  const before = again.inbox.events.length;
  hub.leave(again.member, "connection lost");
  assert.equal(runTurns(), 1, "the next step finds her gone, and asks for no other");
  assert.equal(again.inbox.events.length, before);
});

Deno.test("a join with since during a long replay is replayed after it, behind what came before it", () => {
  const { hub, join, runTurns } = pagedHub();
  const bob = join("Bob");
  hub.join(bob.member, "team");
  hub.say(bob.member, "in team before", "team");
  const ann = join("Ann", { acks: true });
  const { stream, last, resume } = ann.inbox.of("welcome")[0];
  for (const text of said(MISSED)) hub.say(bob.member, text, "lobby");
  const again = join("Ann", { acks: true, resume, since: last, stream });
  hub.say(bob.member, "lobby, live", "lobby");
  hub.join(again.member, "team", 0);
  hub.say(bob.member, "team, live", "team");
  runTurns();
  const events = again.inbox.events;
  const lastPages = events.flatMap((e, i) => isLastPage(e) ? [i] : []);
  assert.equal(lastPages.length, 2, "two replays");
  const lobbyEnd = lastPages[0];
  const texts = (from: number, to: number) =>
    events.slice(from, to).flatMap((e) =>
      e.type === "replay" ? e.messages.map((m) => m.text) : e.type === "message" ? [e.text] : []
    );
  assert.deepEqual(texts(0, lobbyEnd + 1), said(MISSED));
  assert.deepEqual(
    texts(lobbyEnd + 1, events.length),
    ["lobby, live", "in team before", "team, live"],
    "what came before the join, then the room's replay, then what came after",
  );
});

Deno.test("what waits behind a paging replay is bounded: past it the connection is dropped and nothing more goes", () => {
  const limit = 64 * 1024;
  const { hub, join, runTurns } = pagedHub({ replayBytes: limit });
  const bob = join("Bob");
  const ann = join("Ann", { acks: true });
  const { stream, last, resume } = ann.inbox.of("welcome")[0];
  for (const text of said(MISSED)) hub.say(bob.member, text);
  let dropped = 0;
  const again = join("Ann", { acks: true, resume, since: last, stream });
  // The connection under the gate, as the server's is: it can be closed at once.
  Object.assign(again.inbox, { drop: () => dropped++ });
  assert.equal(again.inbox.events.some(isLastPage), false, "the replay pages");
  // A client that pings and pings while it pages: each pong waits behind the replay.
  const pong = { type: "pong" as const, token: "x".repeat(100) };
  for (let i = 0; i < 2 * limit / 100 && dropped === 0; i++) hub.answer(again.member, pong);
  assert.equal(dropped, 1, "dropped once past the limit");
  const before = again.inbox.events.length;
  hub.say(bob.member, "after the drop");
  runTurns();
  assert.equal(again.inbox.events.length, before, "nothing more: neither pages nor the held");
});

Deno.test("a replay step that throws in a later turn lets what waits behind it go on", () => {
  const logged: string[] = [];
  const { hub, join, runTurns } = pagedHub({ log: (line) => logged.push(line) });
  const bob = join("Bob");
  const ann = join("Ann", { acks: true });
  const { stream, last, resume } = ann.inbox.of("welcome")[0];
  for (const text of said(MISSED)) hub.say(bob.member, text);
  const again = join("Ann", { acks: true, resume, since: last, stream });
  hub.say(bob.member, "said during the replay");
  // The connection under the gate fails once, on the second page: a bug somewhere below.
  const send = again.inbox.send.bind(again.inbox);
  let pages = 0;
  again.inbox.send = (event) => {
    if (event.type === "replay" && ++pages === 2) throw new Error("a bug");
    send(event);
  };
  runTurns();
  assert.ok(logged.some((line) => line.includes("replay to Ann failed: a bug")), logged.join("\n"));
  const live = again.inbox.of("message").map((m) => m.text);
  assert.deepEqual(live, ["said during the replay"], "not held forever");
  hub.say(bob.member, "later");
  assert.deepEqual(again.inbox.of("message").map((m) => m.text), [
    "said during the replay",
    "later",
  ]);
});

Deno.test("a replay of many rooms from the store reads about a step's worth in its first turn", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-paging-" });
  const store = Store.open(dir, { groupCommit: false });
  try {
    const rooms = Array.from({ length: 19 }, (_, i) => `r${i}`);
    for (const room of rooms) {
      for (const text of said(500)) store.appendMessage({ time: T0, room, from: "Bob", text });
    }
    const { hub, join, runTurns } = pagedHub({ store, maxRoomsPerUser: 25, replayBytes: 8 << 20 });
    const ann = join("Ann");
    const { stream, resume } = ann.inbox.of("welcome")[0];
    for (const room of rooms) hub.join(ann.member, room);
    let rows = 0;
    const read = store.messagesAfter.bind(store);
    store.messagesAfter = (room, since, limit, before) => {
      const found = read(room, since, limit, before);
      rows += found.length;
      return found;
    };
    // No window (Ann does not acknowledge): the resume falls back to the store, 20 sources.
    const again = join("Ann", { resume, since: 0, stream });
    // Each room's share of a step, then twice that for those the first page took from most.
    assert.ok(rows <= 2 * MAX_HISTORY, `rows read in the turn of the hello: ${rows}`);
    runTurns();
    assert.equal(shown(again.inbox).replayed.length, 19 * 500);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a resume while a join with since pages falls back to the history: the pages not sent are not lost", () => {
  const setUp = pagedHub();
  const { ann, again } = rejoinsTeamAfter(setUp, said(MISSED, "t"));
  const sent = ann.inbox.of("replay").flatMap((page) => page.messages.map((m) => m.text));
  assert.ok(sent.length < MISSED, "the join's replay pages");
  // Her connection is lost meanwhile; she resumes from the `since` her client still holds.
  const b = setUp.join("Ann", again);
  setUp.runTurns();
  newestOrGap(b.inbox, said(MISSED, "t"));
});

Deno.test("a second resume after one that fell back to the history reads the history again: nothing lost without a gap", () => {
  const setUp = pagedHub();
  // The connection is lost before a page of the join's replay went.
  const { again } = rejoinsTeamAfter(setUp, said(MISSED, "t"));
  const b = setUp.join("Ann", again);
  setUp.runTurns();
  newestOrGap(b.inbox, said(MISSED, "t"));
  // That connection too is lost before its client showed any of it: the same since again.
  const c = setUp.join("Ann", { ...again, resume: b.inbox.of("welcome")[0].resume });
  setUp.runTurns();
  newestOrGap(c.inbox, said(MISSED, "t"));
});

Deno.test("a resume after a join with since whose last page named a gap names it again", () => {
  // A replay of at most 600 bytes of JSON: a few messages, and a gap for the rest.
  const setUp = pagedHub({ replayBytes: 600 });
  const { ann, again } = rejoinsTeamAfter(setUp, said(20, "t"));
  setUp.runTurns();
  assert.deepEqual(ann.inbox.events.find(isLastPage)?.gaps, ["team"], "the join's replay is cut");
  // The last page never reached her client: it resumes with the same since.
  const b = setUp.join("Ann", again);
  setUp.runTurns();
  newestOrGap(b.inbox, said(20, "t"));
  assert.deepEqual(b.inbox.events.find(isLastPage)?.gaps, ["team"]);
});

Deno.test("a replay takes as many pages a turn as fit in the turn's budget: in id order, each once", () => {
  // Each reading of the clock is a ms later: five steps fit in a turn of five ms, two at two ms each.
  for (const [tick, laterTurns] of [[1, 0], [2, 2]]) {
    let now = 0;
    const { hub, join, runTurns } = pagedHub({ turnClock: () => now += tick });
    const bob = join("Bob");
    const ann = join("Ann", { acks: true });
    const { stream, last, resume } = ann.inbox.of("welcome")[0];
    for (const text of said(MISSED)) hub.say(bob.member, text);
    // Two steps read the window, a third reads the rest and sends a page, two more the others.
    const again = join("Ann", { acks: true, resume, since: last, stream });
    hub.say(bob.member, "said after the hello");
    assert.equal(runTurns(), laterTurns, `turns after the hello's, at ${tick} ms a step`);
    const { replayed, after } = shown(again.inbox);
    assert.deepEqual(replayed, said(MISSED), "in id order, each once");
    assert.deepEqual(after, ["said after the hello"]);
    const pages = again.inbox.of("replay");
    assert.deepEqual(pages.map((page) => page.messages.length), [MAX_HISTORY, MAX_HISTORY, 500]);
  }
});
