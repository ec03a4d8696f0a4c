/**
 * Group commit (issue 15) meets everything else: with `--data` the messages
 * of one turn go out at its end, yet every member sees events in the order
 * the hub decided them. A message sent before a `/quit`, `/nick`, `/part`
 * or room `/kick` in the same packet comes before it, under the name it was
 * sent with; a private message to someone leaving meanwhile reaches them or
 * is refused, never lost; mail kept in the turn its owner logs in is
 * delivered at that login. Real TCP and a real store; the hub alone where
 * two connections must act in one turn for sure.
 *
 * @module
 */

import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import type { ChatEvent } from "../lib/core/events.ts";
import { Hub } from "../lib/core/hub.ts";
import { cleanUp, JsonClient, LineClient, startServer, tempStore } from "./_helpers.ts";
import { Inbox } from "./_inbox.ts";

/** Frames as one write: the server reads them in one turn of its event loop. */
function burst(frames: Record<string, unknown>[]): string {
  return frames.map((frame) => JSON.stringify(frame) + "\n").join("");
}

/** The events of `client` of these `types`, as short words, for assertions on their order. */
function told(client: JsonClient, types: string[]): string[] {
  return client.events().filter((e) => types.includes(e.type)).map(word);
}

/** An event as a word or two, to compare orders at a glance. */
function word(event: ChatEvent): string {
  switch (event.type) {
    case "message":
      return `<${event.from}> ${event.text}`;
    case "private":
      return `private ${event.from}: ${event.text}`;
    case "rename":
      return `rename ${event.from} -> ${event.to}`;
    case "leave":
      return `leave ${event.name}`;
    case "part":
      return `part ${event.name}${event.by ? ` by ${event.by}` : ""}`;
    case "error":
      return "error";
    default:
      return event.type;
  }
}

/** A data server with Ann and Bob in the lobby (flood control off: the bursts are tests). */
async function twoUsers() {
  const temp = await tempStore();
  const server = startServer({ store: temp.store, flood: null });
  const ann = await JsonClient.join(server, "Ann");
  const bob = await JsonClient.join(server, "Bob");
  await ann.next("join", (e) => e.name === "Bob");
  return {
    temp,
    server,
    ann,
    bob,
    async stop(...more: (JsonClient | LineClient)[]) {
      await cleanUp(server, ann, bob, ...more);
      await temp.dispose();
    },
  };
}

/** Ann makes `room` (its operator) and Bob joins it; returns once Ann has seen him come. */
async function bothIn(room: string, ann: JsonClient, bob: JsonClient): Promise<void> {
  await ann.type(`/join #${room}`);
  await ann.next("current", (e) => e.room === room);
  await bob.type(`/join #${room}`);
  await ann.next("join", (e) => e.room === room && e.name === "Bob");
}

Deno.test("a message then /quit in one packet (as from nc): the room sees the message, then the leave", async () => {
  const { ann, stop, server } = await twoUsers();
  const nc = await LineClient.connect(server);
  try {
    await nc.write("小明\n");
    await ann.next("join", (e) => e.name === "小明");
    await nc.write("bye all\n/quit\n");
    await ann.next("leave", (e) => e.name === "小明");
    assert.deepEqual(told(ann, ["message", "leave"]), ["<小明> bye all", "leave 小明"]);
  } finally {
    await stop(nc);
  }
});

Deno.test("a message then /nick in one packet: sent, stored and shown under the old name, before the rename", async () => {
  const { temp, ann, bob, stop } = await twoUsers();
  try {
    await bob.raw.write(burst([
      { type: "say", text: "hello" },
      { type: "msg", to: "Ann", text: "psst" },
      { type: "nick", name: "Zed" },
    ]));
    await ann.next("rename");
    assert.deepEqual(told(ann, ["message", "private", "rename"]), [
      "<Bob> hello",
      "private Bob: psst",
      "rename Bob -> Zed",
    ]);
    assert.deepEqual(temp.store.recentMessages("lobby", 5).map((m) => m.from), ["Bob"]);
    assert.deepEqual(temp.store.undelivered("Ann").length, 0);
  } finally {
    await stop();
  }
});

Deno.test("a message then /part in one packet: everyone, the sender included, sees it before the part", async () => {
  const { ann, bob, stop } = await twoUsers();
  try {
    await bothIn("tea", ann, bob);
    await bob.raw.write(burst([
      { type: "say", room: "tea", text: "off I go" },
      { type: "part", room: "tea" },
    ]));
    await ann.next("part");
    await bob.next("part");
    assert.deepEqual(told(ann, ["message", "part"]), ["<Bob> off I go", "part Bob"]);
    assert.deepEqual(told(bob, ["message", "part"]), ["<Bob> off I go", "part Bob"]);
  } finally {
    await stop();
  }
});

Deno.test("an operator's message then /kick in one packet: the one kicked sees the message first", async () => {
  const { ann, bob, stop } = await twoUsers();
  try {
    await bothIn("tea", ann, bob);
    await ann.raw.write(burst([
      { type: "say", room: "tea", text: "out you go" },
      { type: "kick", room: "tea", name: "Bob" },
    ]));
    await bob.next("part");
    assert.deepEqual(told(bob, ["message", "part"]), ["<Ann> out you go", "part Bob by Ann"]);
  } finally {
    await stop();
  }
});

Deno.test("frames are answered in order: a message's echo comes before a refusal and a pong sent after it", async () => {
  const { ann, stop } = await twoUsers();
  try {
    await ann.raw.write(
      burst([{ type: "say", text: "first" }, { type: "say", text: "  " }, {
        type: "ping",
        token: "t",
      }]) +
        "not json\n" + burst([{ type: "say", text: "second" }, { type: "ping", token: "u" }]),
    );
    await ann.next("pong", (e) => e.token === "u");
    assert.deepEqual(told(ann, ["message", "error", "pong"]), [
      "<Ann> first",
      "error",
      "pong",
      "error",
      "<Ann> second",
      "pong",
    ]);
  } finally {
    await stop();
  }
});

Deno.test("a private message to someone who quits meanwhile reaches them, or is refused: never lost", async () => {
  // The two packets land in one turn of the server's loop some of the time: try it often.
  for (let round = 0; round < 15; round++) {
    const { ann, bob, stop } = await twoUsers();
    try {
      const text = `round ${round}`;
      await Promise.all([ann.type(`/msg Bob ${text}`), bob.type("/quit")]);
      const answer = await ann.waitFor((e) =>
        (e.type === "private" && e.text === text) || e.type === "error"
      );
      await bob.raw.ended;
      if (answer.type === "private") {
        assert.deepEqual(told(bob, ["private", "bye"]), [`private Ann: ${text}`, "bye"]);
      } else {
        assert.equal(answer.type === "error" && answer.code, "no_such_user");
      }
    } finally {
      await stop();
    }
  }
});

/** Waits for the end of this turn: the group asked for in it is committed, and sent, by then. */
function endOfTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// Over TCP, a login's turn (after its password check) is seldom the turn of another's line:
// these use the hub and a real store, with both in one turn for sure.

Deno.test("mail kept in the turn its owner logs in is delivered at that login", async () => {
  const temp = await tempStore({ Bob: "secret" });
  try {
    const hub = new Hub({ flood: null, churn: null, store: temp.store, auth: "names" });
    const ann = new Inbox();
    const a = hub.register("Ann", ann);
    hub.whisper(a, "Bob", "for later");
    const bob = new Inbox();
    hub.register("Bob", bob, { account: true });
    await endOfTurn();
    assert.deepEqual(ann.of("private").map((e) => [e.text, e.offline]), [["for later", true]]);
    assert.deepEqual(bob.of("missed").flatMap((e) => e.messages.map((m) => m.text)), [
      "for later",
    ]);
    assert.equal(temp.store.undelivered("Bob").length, 0, "nothing left waiting");
  } finally {
    await temp.dispose();
  }
});

Deno.test("a private message to someone banned or resuming in the same turn reaches the connection it was sent to, first", async () => {
  const temp = await tempStore();
  try {
    const hub = new Hub({ flood: null, churn: null, store: temp.store });
    const ann = new Inbox();
    const a = hub.register("Ann", ann);
    const bob = new Inbox();
    hub.register("Bob", bob);
    hub.whisper(a, "Bob", "before the ban");
    hub.ban("Bob", 5, "spam");
    const carol = new Inbox();
    const c = hub.register("Carol", carol);
    const again = new Inbox();
    hub.whisper(a, "Carol", "before the resume");
    hub.register("Carol", again, { resume: c.resume });
    await endOfTurn();
    assert.deepEqual(bob.events.map((e) => e.type).slice(-2), ["private", "bye"]);
    assert.deepEqual(carol.events.map((e) => e.type).slice(-2), ["private", "bye"]);
    assert.deepEqual(again.of("private"), []);
    assert.deepEqual(ann.of("private").map((e) => e.offline), [undefined, undefined]);
  } finally {
    await temp.dispose();
  }
});
