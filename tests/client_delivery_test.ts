/**
 * The client's half of end-to-end delivery (issue 15), against a scripted
 * server: after a drop its hello names the last id it was shown on the
 * server's stream, a replay shows nothing twice, what it was shown is
 * acknowledged in one batched `ack` (and before quitting), and a line sent
 * with a `cid` keeps it when sent again.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ChatClient, ClientUpdate } from "../lib/client/client.ts";
import type { ChatEvent, MessageEvent } from "../lib/core/events.ts";
import { FakeServer, welcome } from "./_fake_server.ts";
import { clientFor, within } from "./_helpers.ts";

function said(id: number, text: string): MessageEvent {
  return { type: "message", id, time: 1_795_632_436_001, room: "lobby", from: "Bob", text };
}

/** The texts of the messages `updates` yields until (and with) the one saying `last`. */
async function textsUntil(updates: AsyncGenerator<ClientUpdate>, last: string): Promise<string[]> {
  const texts: string[] = [];
  const read = async () => {
    // Not `for await`: leaving it would end the updates, and the client with them.
    for (let next = await updates.next(); !next.done; next = await updates.next()) {
      const update = next.value;
      if (update.kind !== "event") continue;
      const event: ChatEvent = update.event;
      const messages = event.type === "replay"
        ? event.messages
        : event.type === "message"
        ? [event]
        : [];
      for (const message of messages) texts.push(message.text);
      if (texts.at(-1) === last) return texts;
    }
    return texts;
  };
  return await within(read(), () => `no message "${last}" (had: ${texts.join(", ")})`);
}

/** Reads `updates` until one that `wanted` accepts. */
async function until(
  updates: AsyncGenerator<ClientUpdate>,
  wanted: (update: ClientUpdate) => boolean,
  what: string,
): Promise<void> {
  const read = async () => {
    for (let next = await updates.next(); !next.done; next = await updates.next()) {
      if (wanted(next.value)) return;
    }
  };
  await within(read(), () => what);
}

/** Drops the client's link, and waits until it is back. */
function backAgain(server: FakeServer, updates: AsyncGenerator<ClientUpdate>): Promise<void> {
  server.dropAll();
  return until(updates, (update) => update.kind === "back", "the client never came back");
}

/** Quits, and lists what the client sent until then: each `hello`, and each ack's id, in order. */
async function quitAndListAcks(client: ChatClient, server: FakeServer): Promise<unknown[]> {
  client.quit();
  await server.until(() => server.frames.some((f) => f.type === "quit"));
  return server.frames
    .filter((f) => f.type === "ack" || f.type === "hello")
    .map((f) => f.type === "ack" ? f.id : "hello");
}

/** Alice logged in on `server` with a client; `body` reads her updates; then both are closed. */
async function asAlice(
  server: FakeServer,
  body: (updates: AsyncGenerator<ClientUpdate>, client: ChatClient) => Promise<void>,
): Promise<void> {
  const client = clientFor(server.port, { retryInitialMs: 10 });
  try {
    await client.connect();
    assert.ok((await client.register("Alice")).ok);
    await body(client.updates(true), client);
  } finally {
    client.close();
    await server.close();
  }
}

Deno.test("after a drop, hello asks for what came after the last id shown, and the replay shows nothing twice", async () => {
  const server = new FakeServer((hello, index) =>
    index === 0
      ? [{ ...welcome(hello.name), stream: "s1", last: 5 }, said(6, "six"), said(7, "seven")]
      : [
        { ...welcome(hello.name), stream: "s1", last: 9 },
        // A server may replay what the client had: it shows once all the same.
        { type: "replay", messages: [said(7, "seven"), said(8, "eight")], more: true },
        { type: "replay", messages: [said(9, "nine")] },
      ]
  );
  await asAlice(server, async (updates) => {
    assert.deepEqual(await textsUntil(updates, "seven"), ["six", "seven"]);
    server.dropAll();
    assert.deepEqual(await textsUntil(updates, "nine"), ["eight", "nine"]);
    const [first, again] = server.hellos as unknown as Record<string, unknown>[];
    assert.equal(first.since, undefined, "nothing to ask for at the first hello");
    assert.equal(first.acks, true);
    assert.deepEqual([again.since, again.stream, again.acks], [7, "s1", true]);
  });
});

Deno.test("what was shown is acknowledged once for a burst, and again before quitting", async () => {
  const server = new FakeServer((hello) => [
    { ...welcome(hello.name), stream: "s1", last: 0 },
    said(1, "one"),
    said(2, "two"),
  ]);
  server.onInput = (text) => [said(3, text)];
  await asAlice(server, async (updates, client) => {
    await textsUntil(updates, "two");
    await server.until(() => server.frames.some((frame) => frame.type === "ack"));
    client.input("three");
    await textsUntil(updates, "three");
    client.quit();
    await server.until(() => server.frames.some((frame) => frame.type === "quit"));
    const acks = server.frames.filter((f) => f.type === "ack" || f.type === "quit");
    assert.deepEqual(acks, [{ type: "ack", id: 2 }, { type: "ack", id: 3 }, { type: "quit" }]);
  });
});

Deno.test("kept mail shown in missed is acknowledged even when no newer id came: the server counts it delivered only then", async () => {
  const mail = (id: number, text: string) => ({
    type: "private" as const,
    id,
    time: 1_795_632_436_001,
    from: "Bob",
    to: "Alice",
    text,
  });
  const server = new FakeServer((hello) => [
    // The first login: the welcome's last is above the kept mail's ids.
    { ...welcome(hello.name), stream: "s1", last: 9 },
    { type: "missed", messages: [mail(4, "while you were out"), mail(7, "call me")] },
  ]);
  await asAlice(server, async (updates) => {
    await until(
      updates,
      (update) => update.kind === "event" && update.event.type === "missed",
      "no missed shown",
    );
    await server.until(() => server.frames.some((frame) => frame.type === "ack"));
    assert.deepEqual(server.frames.filter((f) => f.type === "ack"), [{ type: "ack", id: 9 }]);
  });
});

Deno.test("a line delivered with a cid carries it, to a server that follows delivery only", async () => {
  for (const stream of ["s1", undefined]) {
    const server = new FakeServer((hello) => [{ ...welcome(hello.name), stream, last: 0 }]);
    await asAlice(server, async (updates, client) => {
      const cid = client.nextCid();
      const delivered = client.deliver("hello", cid);
      await textsUntil(updates, "hello");
      // Reading on takes the pong that tells the line was answered.
      const reading = updates.next();
      assert.deepEqual(await within(delivered, () => "no answer"), { kind: "answered" });
      client.close();
      await reading;
      const input = server.frames.find((frame) => frame.type === "input");
      assert.equal(input?.cid, stream ? cid : undefined);
    });
  }
});

Deno.test("a room a server forgot is joined again with since on the same stream, plainly on a new one", async () => {
  const cases = [
    ["s1", { type: "join", room: "team", since: 7 }],
    ["s2", { type: "join", room: "team" }],
  ] as const;
  for (const [stream, expected] of cases) {
    const server = new FakeServer((hello, index) => [
      { ...welcome(hello.name), stream: index === 0 ? "s1" : stream, last: index === 0 ? 6 : 3 },
      ...(index === 0 ? [said(7, "seven")] : []),
    ]);
    await asAlice(server, async (updates, client) => {
      await textsUntil(updates, "seven");
      server.dropAll();
      for (let next = await updates.next(); !next.done; next = await updates.next()) {
        if (next.value.kind === "back") break;
      }
      assert.equal(client.continued, stream === "s1");
      client.rejoin(["team"]);
      const rejoins = () => server.frames.filter((f) => f.type === "join" || f.type === "input");
      await server.until(() => rejoins().length > 0);
      assert.deepEqual(rejoins(), [expected]);
    });
  }
});

Deno.test("until rooms joined again answered, since and acks go no further than the hello's since", async () => {
  const server = new FakeServer((hello, index) =>
    index === 0
      ? [{ ...welcome(hello.name), stream: "s1", last: 5 }, said(6, "six"), said(7, "seven")]
      : [
        { ...welcome(hello.name), stream: "s1", last: 9 },
        // Newer than what the forgotten #team may hold after 7, which comes after its join.
        { type: "replay", messages: [said(9, "nine")] },
      ]
  );
  await asAlice(server, async (updates, client) => {
    await textsUntil(updates, "seven");
    // The answer to the rejoin does not come (the pong after it stands for it), and the link drops.
    server.answersPings = false;
    await backAgain(server, updates);
    client.rejoin(["team"]);
    await textsUntil(updates, "nine");
    await backAgain(server, updates);
    assert.deepEqual(server.hellos.map((h) => (h as { since?: number }).since), [undefined, 7, 7]);
    // This time #team answers (the pong after its join); then a message says the answer was read.
    server.answersPings = true;
    server.onInput = () => [said(10, "ten")];
    client.rejoin(["team"]);
    client.input("hello");
    await textsUntil(updates, "ten");
    assert.deepEqual(await quitAndListAcks(client, server), ["hello", "hello", "hello", 10]);
  });
});

Deno.test("until the last page of the hello's replay, since and acks stay at the hello's: that page says what the replay left out", async () => {
  const back = { ...welcome("Alice"), stream: "s1", last: 60 };
  const server = new FakeServer((hello, index) =>
    index === 0 ? [{ ...welcome(hello.name), stream: "s1", last: 5 }, said(6, "six")] : index === 1
      // The newest that fit, oldest first; the link drops before the last page.
      ? [back, { type: "replay", messages: [said(50, "fifty"), said(51, "fifty-one")], more: true }]
      : [back, { type: "replay", messages: [said(52, "fifty-two")], gaps: ["lobby"] }]
  );
  await asAlice(server, async (updates, client) => {
    await textsUntil(updates, "six");
    await backAgain(server, updates);
    await textsUntil(updates, "fifty-one");
    await backAgain(server, updates);
    assert.deepEqual(server.hellos.map((h) => (h as { since?: number }).since), [undefined, 6, 6]);
    await textsUntil(updates, "fifty-two");
    assert.deepEqual(await quitAndListAcks(client, server), ["hello", "hello", "hello", 52]);
  });
});
