/**
 * End-to-end delivery over TCP, with JSON clients against a real server
 * (with and without `--data`): a client that resumes with `since` is
 * replayed exactly what it missed, once; a line resent with its `cid` after
 * a lost connection is posted once.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { WelcomeEvent } from "../lib/core/events.ts";
import type { ChatServer } from "../lib/serve/chat_server.ts";
import { cleanUp, JsonClient, startServer, tempStore } from "./_helpers.ts";

/** Connects and says hello with `fields` besides the name; returns the client and its welcome. */
async function hello(
  server: ChatServer,
  name: string,
  fields: Record<string, unknown> = {},
): Promise<{ client: JsonClient; welcome: WelcomeEvent }> {
  const client = await JsonClient.connect(server.addr.port);
  await client.send({ type: "hello", version: 1, name, ...fields });
  const welcome = await client.next("welcome");
  client.name = name;
  return { client, welcome };
}

/** Ann (acknowledging) misses two of Bob's messages; her resume with `since` gets exactly those. */
async function resumeGetsWhatWasMissed(server: ChatServer): Promise<void> {
  const bob = await JsonClient.join(server, "Bob");
  const { client: ann, welcome } = await hello(server, "Ann", { acks: true });
  let ann2: JsonClient | undefined;
  try {
    assert.ok(welcome.stream && welcome.stream.length <= 64);
    await bob.send({ type: "say", text: "one" });
    const one = await ann.next("message");
    await ann.send({ type: "ack", id: one.id });
    await bob.send({ type: "say", text: "two" });
    await bob.send({ type: "msg", to: "Ann", text: "three" });
    await ann.next("private");
    // Handed to Ann's connection, never shown: it is lost now (not yet noticed by the server).
    const resumed = await hello(server, "Ann", {
      resume: welcome.resume,
      since: one.id,
      stream: welcome.stream,
      acks: true,
    });
    ann2 = resumed.client;
    const replay = await ann2.next("replay");
    assert.deepEqual(replay.messages.map((m) => m.text), ["two", "three"]);
    assert.equal(replay.more, undefined);
    assert.equal(replay.gaps, undefined);
    await bob.send({ type: "say", text: "four" });
    await ann2.next("message", (m) => m.text === "four");
    const texts = ann2.events().flatMap((e) =>
      e.type === "message" || e.type === "private"
        ? [e.text]
        : e.type === "replay"
        ? e.messages.map((m) => m.text)
        : []
    );
    assert.deepEqual(texts, ["two", "three", "four"], "each once");
  } finally {
    await Promise.all([bob.close(), ann.close(), ann2?.close()]);
  }
}

Deno.test("a resume with since gets exactly the messages it missed, once", async () => {
  const server = startServer();
  try {
    await resumeGetsWhatWasMissed(server);
  } finally {
    await server.shutdown();
  }
});

Deno.test("with --data too, a resume with since gets exactly what it missed", async () => {
  const data = await tempStore();
  const server = startServer({ store: data.store, history: 20 });
  try {
    await resumeGetsWhatWasMissed(server);
  } finally {
    await server.shutdown();
    await data.dispose();
  }
});

/**
 * A server with `--data`, Bob and Ann on it (Ann's welcome kept for a
 * resume); `body` gets them and the server, and Ann's second connection
 * once it makes one (all closed after).
 */
async function withDataAndAnn(
  body: (
    on: { server: ChatServer; bob: JsonClient; ann: JsonClient; welcome: WelcomeEvent },
    second: (client: JsonClient) => JsonClient,
  ) => Promise<void>,
): Promise<void> {
  const data = await tempStore();
  const server = startServer({ store: data.store });
  const bob = await JsonClient.join(server, "Bob");
  const { client: ann, welcome } = await hello(server, "Ann");
  let ann2: JsonClient | undefined;
  try {
    await body({ server, bob, ann, welcome }, (client) => ann2 = client);
  } finally {
    await cleanUp(server, bob, ann, ...(ann2 ? [ann2] : []));
    await data.dispose();
  }
}

Deno.test("a line resent with its cid after a lost connection is posted once", async () => {
  await withDataAndAnn(async ({ server, bob, ann, welcome }, second) => {
    await ann.send({ type: "say", text: "only once", cid: "line-1" });
    const sent = await ann.next("sent");
    const ann2 = second((await hello(server, "Ann", { resume: welcome.resume })).client);
    await ann2.send({ type: "input", text: "only once", cid: "line-1" });
    assert.deepEqual(await ann2.next("sent"), { type: "sent", cid: "line-1", id: sent.id });
    await ann2.send({ type: "say", text: "next", cid: "line-2" });
    await bob.next("message", (m) => m.text === "next");
    assert.deepEqual(
      bob.events().flatMap((e) => e.type === "message" ? [e.text] : []),
      ["only once", "next"],
    );
    await ann2.send({ type: "say", text: "x", cid: "" });
    const refused = await ann2.next("error");
    assert.equal(refused.code, "bad_frame");
    await ann2.send({ type: "say", text: "  ", cid: "line-3" });
    assert.equal((await ann2.next("error")).cid, "line-3");
  });
});

Deno.test("with --data, a resume with since and no window gets the missed messages from the store", async () => {
  await withDataAndAnn(async ({ server, bob, ann, welcome }, second) => {
    await bob.send({ type: "say", text: "one" });
    const one = await ann.next("message");
    await bob.send({ type: "say", text: "two" });
    await ann.next("message", (m) => m.text === "two");
    const ann2 = second(
      (await hello(server, "Ann", {
        resume: welcome.resume,
        since: one.id,
        stream: welcome.stream,
      })).client,
    );
    const replay = await ann2.next("replay");
    assert.deepEqual(replay.messages.map((m) => m.text), ["two"]);
    assert.equal(replay.gaps, undefined);
  });
});

Deno.test("an account's private message to a connection that died before acking is shown at the next login", async () => {
  const data = await tempStore({ Ann: "correct horse" });
  const server = startServer({ store: data.store, auth: "names" });
  const bob = await JsonClient.join(server, "Bob");
  const login = { password: "correct horse", acks: true };
  const { client: ann } = await hello(server, "Ann", login);
  let back: JsonClient | undefined;
  try {
    await bob.send({ type: "msg", to: "Ann", text: "are you there?" });
    await ann.next("private");
    // Handed to the socket, never acknowledged: the connection dies.
    await ann.close();
    await bob.next("leave");
    back = (await hello(server, "Ann", login)).client;
    const missed = await back.next("missed");
    assert.deepEqual(missed.messages.map((m) => m.text), ["are you there?"]);
  } finally {
    await cleanUp(server, bob, ann, ...(back ? [back] : []));
    await data.dispose();
  }
});

Deno.test("a replay bigger than the connection's queue is cut to the newest, said as a gap, not dropped", async () => {
  // 400 messages of ~500 bytes: 200 KB of replay against a 64 KiB queue.
  const server = startServer({ history: 1000, flood: null, queueLimitBytes: 64 * 1024 });
  const bob = await JsonClient.join(server, "Bob");
  const { client: ann, welcome } = await hello(server, "Ann", { acks: true });
  let ann2: JsonClient | undefined;
  try {
    for (let i = 0; i < 400; i++) {
      await bob.send({ type: "say", text: `${i} ${"x".repeat(480)}` });
    }
    await bob.next("message", (m) => m.text.startsWith("399 "));
    ann2 = (await hello(server, "Ann", {
      resume: welcome.resume,
      since: welcome.last,
      stream: welcome.stream,
      acks: true,
    })).client;
    const pages = [];
    for (;;) {
      const page = await ann2.next("replay");
      pages.push(page);
      if (!page.more) break;
    }
    const texts = pages.flatMap((p) => p.messages.map((m) => m.text));
    assert.ok(texts.length > 0 && texts.length < 400, `${texts.length} replayed`);
    assert.ok(texts.at(-1)?.startsWith("399 "), "the newest are kept");
    assert.deepEqual(pages.at(-1)?.gaps, ["lobby"], "the older ones are said missing");
    await bob.send({ type: "say", text: "still here?" });
    await ann2.next("message", (m) => m.text === "still here?");
  } finally {
    await Promise.all([bob.close(), ann.close(), ann2?.close()]);
    await server.shutdown();
  }
});

Deno.test("a since above the newest id (a store restored from a backup) is from another history", async () => {
  const server = startServer({ history: 10 });
  const { client: bob, welcome: bobs } = await hello(server, "Bob");
  let ann: JsonClient | undefined;
  try {
    await bob.send({ type: "say", text: "one" });
    const one = await bob.next("message");
    const { client, welcome } = await hello(server, "Ann", {
      since: one.id + 100,
      stream: bobs.stream,
    });
    ann = client;
    assert.equal(welcome.last, one.id);
    const replay = await ann.next("replay");
    assert.deepEqual(replay.gaps, ["lobby"]);
    assert.equal(replay.privateGap, true);
    const history = await ann.next("history");
    assert.deepEqual(history.messages.map((m) => m.text), ["one"], "the usual history instead");
  } finally {
    await Promise.all([bob.close(), ann?.close()]);
    await server.shutdown();
  }
});

Deno.test("a long replay from the store comes in id order, then what was said meanwhile, each once; a ping with the hello is answered after it", async () => {
  const data = await tempStore();
  const count = 2500;
  for (let i = 0; i < count; i++) {
    data.store.appendMessage({ time: Date.now(), room: "lobby", from: "Bob", text: `m${i}` });
  }
  const server = startServer({ store: data.store, flood: null });
  const bob = await JsonClient.join(server, "Bob");
  const ann = await JsonClient.connect(server);
  try {
    await ann.raw.write(
      JSON.stringify({
        type: "hello",
        version: 1,
        name: "Ann",
        since: 0,
        stream: data.store.stream,
      }) +
        "\n" + JSON.stringify({ type: "ping", token: "with the hello" }) + "\n",
    );
    // Said while her replay goes out (or just before it: then in it).
    for (const text of ["live 1", "live 2", "live 3"]) await bob.send({ type: "say", text });
    await ann.next("pong");
    await ann.next("message", (m) => m.text === "live 3");
    const events = ann.events();
    const texts = events.flatMap((e) =>
      e.type === "replay" ? e.messages.map((m) => m.text) : e.type === "message" ? [e.text] : []
    );
    const expected = Array.from({ length: count }, (_, i) => `m${i}`);
    assert.deepEqual(texts, [...expected, "live 1", "live 2", "live 3"], "in order, each once");
    const pages = events.flatMap((e, i) => e.type === "replay" ? [i] : []);
    assert.ok(pages.length >= 3, `${pages.length} pages`);
    const pong = events.findIndex((e) => e.type === "pong");
    assert.ok(pong > pages.at(-1)!, "frames are answered in order: the replay first");
  } finally {
    await cleanUp(server, bob, ann);
    await data.dispose();
  }
});

Deno.test("errors answering frames sent during a long replay come after its last page, in order", async () => {
  const data = await tempStore();
  for (let i = 0; i < 2500; i++) {
    data.store.appendMessage({ time: Date.now(), room: "lobby", from: "Bob", text: `m${i}` });
  }
  const server = startServer({ store: data.store, flood: null });
  const ann = await JsonClient.connect(server);
  try {
    const frames = [
      { type: "hello", version: 1, name: "Ann", since: 0, stream: data.store.stream },
      // A bad frame with a cid, a bad one without, a second hello, then a ping.
      { type: "say", cid: "c1" },
      { type: "say" },
      { type: "hello", version: 1, name: "Ann" },
      { type: "ping", token: "after them" },
    ];
    await ann.raw.write(frames.map((frame) => JSON.stringify(frame) + "\n").join(""));
    await ann.next("pong");
    const events = ann.events();
    const last = events.findLastIndex((e) => e.type === "replay");
    assert.equal(events[last].type === "replay" && events[last].more, undefined);
    const answers = events.slice(last + 1).map((e) =>
      e.type === "error" ? `error ${e.code}${e.cid ? ` ${e.cid}` : ""}` : e.type
    );
    assert.deepEqual(answers, [
      "error bad_frame c1",
      "error bad_frame",
      "error already_registered",
      "pong",
    ]);
  } finally {
    await cleanUp(server, ann);
    await data.dispose();
  }
});

Deno.test("another client is served between the pages of a long replay", async () => {
  const data = await tempStore();
  const count = 5000;
  for (let i = 0; i < count; i++) {
    data.store.appendMessage({ time: Date.now(), room: "lobby", from: "Bob", text: `m${i}` });
  }
  const server = startServer({ store: data.store, flood: null, queueLimitBytes: 4 << 20 });
  // What the server did, in order: Ann's hello, her replay's last page, each pong.
  const done: string[] = [];
  const register = server.hub.register.bind(server.hub);
  server.hub.register = (name, sink, origin) => {
    done.push(`hello ${name}`);
    return register(name, {
      send(event) {
        if (event.type === "replay" && !event.more) done.push("last page");
        sink.send(event);
      },
    }, origin);
  };
  const answer = server.hub.answer.bind(server.hub);
  server.hub.answer = (member, event) => {
    if (event.type === "pong") done.push("pong");
    answer(member, event);
  };
  const bob = await JsonClient.join(server, "Bob");
  const ann = await JsonClient.connect(server);
  try {
    const ended = ann.next("replay", (page) => page.more !== true);
    let over = false;
    void ended.then(() => over = true);
    await ann.send({ type: "hello", version: 1, name: "Ann", since: 0, stream: data.store.stream });
    // Bob pings, and pings again once answered, until her replay is over.
    for (let token = 0; !over; token++) {
      await bob.send({ type: "ping", token: String(token) });
      await bob.next("pong", (pong) => pong.token === String(token));
    }
    const start = done.indexOf("hello Ann");
    const end = done.indexOf("last page");
    // Her hello starts the replay at once: a pong after it and before the last page answered a
    // ping read between two of its turns (a replay sent in one go leaves none there).
    const pongs = done.slice(start, end).filter((what) => what === "pong").length;
    assert.ok(pongs >= 1, `Bob's pings answered while her replay goes on: ${done.join(" ")}`);
  } finally {
    await cleanUp(server, bob, ann);
    await data.dispose();
  }
});
