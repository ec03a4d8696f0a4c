/**
 * The web page's WebSocket (lib/web/): the JSON protocol, one frame per
 * message, through the same connection life as TCP clients.
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, startServer, until } from "./_helpers.ts";
import { maskedFrame, rawUpgrade, WsClient } from "./_websocket.ts";
import type { ChatServer } from "../lib/serve/chat_server.ts";

function socketUrl(server: ChatServer): string {
  return `ws://127.0.0.1:${server.webAddr!.port}/socket`;
}

Deno.test("a WebSocket user and a TCP user talk to each other", async () => {
  const server = startServer({ webPort: 0 });
  const web = await WsClient.join(socketUrl(server), "小明");
  const tcp = await JsonClient.join(server, "Bob");
  try {
    web.send({ type: "say", text: "你好 Bob" });
    await tcp.next("message", (m) => m.from === "小明" && m.text === "你好 Bob");
    await tcp.type("hi 小明");
    await web.next("message", (m) => m.from === "Bob" && m.text === "hi 小明");
    web.send({ type: "input", text: "/who" });
    const users = await web.next("users");
    assert.deepEqual(users.names.toSorted(), ["Bob", "小明"].toSorted());
  } finally {
    await web.close();
    await cleanUp(server, tcp);
  }
});

Deno.test("a WebSocket message is one frame, raw line breaks in it included", async () => {
  const server = startServer({ webPort: 0 });
  const web = await WsClient.join(socketUrl(server), "Ann");
  try {
    web.send('{"type":"say",\n"text":"two\\nlines"}');
    const message = await web.next("message");
    assert.equal(message.text, "two lines");
  } finally {
    await web.close();
    await server.shutdown();
  }
});

Deno.test("a WebSocket client that says batch gets what a turn queued in one message", async () => {
  const server = startServer({ webPort: 0, flood: null });
  const plain = await WsClient.join(socketUrl(server), "Plain");
  const batched = await WsClient.join(socketUrl(server), "小明", { batch: true });
  const tcp = await JsonClient.join(server, "Bob");
  try {
    const texts = ["one", "two", "three", "four", "five"];
    // One write: the server reads the lines in one turn and queues them together.
    await tcp.raw.write(
      texts.map((text) => JSON.stringify({ type: "say", text })).join("\n") + "\n",
    );
    for (const client of [plain, batched]) {
      await client.next("message", (m) => m.text === "five");
      const said = client.events.flatMap((e) => e.type === "message" ? [e.text] : []);
      assert.deepEqual(said, texts);
    }
    assert.ok(plain.framesPerMessage.every((n) => n === 1), String(plain.framesPerMessage));
    assert.ok(batched.framesPerMessage.some((n) => n > 1), String(batched.framesPerMessage));
  } finally {
    await plain.close();
    await batched.close();
    await cleanUp(server, tcp);
  }
});

Deno.test("a WebSocket frame over the line limit is refused, and the socket stays", async () => {
  const server = startServer({ webPort: 0, maxLineBytes: 100 });
  const web = await WsClient.join(socketUrl(server), "Ann");
  try {
    web.send({ type: "say", text: "x".repeat(200) });
    const error = await web.next("error");
    assert.equal(error.code, "line_too_long");
    web.send({ type: "say", text: "short" });
    await web.next("message", (m) => m.text === "short");
  } finally {
    await web.close();
    await server.shutdown();
  }
});

Deno.test("a WebSocket from a page of another origin is refused; the page's own is let in", async () => {
  const log: string[] = [];
  const server = startServer({ webPort: 0, log: (line) => log.push(line) });
  const port = server.webAddr!.port;
  const evil = await rawUpgrade(port, { Origin: "http://evil.example" });
  const own = await rawUpgrade(port, { Origin: `http://127.0.0.1:${port}` });
  try {
    assert.match(evil.status, / 403 /);
    assert.match(own.status, / 101 /);
    assert.ok(
      log.some((line) => line.includes("another origin (http://evil.example)")),
      log.join("\n"),
    );
  } finally {
    evil.conn.close();
    own.conn.close();
    await server.shutdown();
  }
});

Deno.test("WebSocket and TCP connections share the limit per address", async () => {
  const server = startServer({ webPort: 0, maxPerAddress: 1 });
  const tcp = await JsonClient.join(server, "Bob");
  const web = await WsClient.open(socketUrl(server));
  try {
    web.send({ type: "hello", version: 1, name: "Ann" });
    const bye = await web.next("bye");
    assert.equal(bye.code, "too_many_connections");
  } finally {
    await web.close();
    await cleanUp(server, tcp);
  }
});

for (const batch of [false, true]) {
  Deno.test(
    `a browser that stops reading is dropped, like a TCP peer${batch ? " (batch)" : ""}`,
    async () => {
      const log: string[] = [];
      const server = startServer({
        webPort: 0,
        flood: null,
        queueLimitBytes: 64 * 1024,
        log: (line) => log.push(line),
      });
      const stalled = await rawUpgrade(server.webAddr!.port);
      const talker = await JsonClient.join(server, "Talker");
      try {
        assert.match(stalled.status, / 101 /);
        await stalled.conn.write(
          maskedFrame(JSON.stringify({ type: "hello", version: 1, name: "Stalled", batch })),
        );
        await talker.next("join", (j) => j.name === "Stalled");
        const text = "x".repeat(1900);
        // Until the server gives up on the reader that never reads; nobody else waits for it.
        // The talker reads each echo before it goes on: on a busy machine its own queue, at
        // the same limit, would otherwise overflow first.
        for (let i = 0; i < 20_000 && !log.some((l) => l.includes("send queue over")); i++) {
          await talker.send({ type: "say", text });
          await talker.next("message", () => true);
        }
        await until(
          () => log.some((l) => l.includes("send queue over")),
          "the stalled reader dropped",
        );
        await talker.next(
          "leave",
          (l) => l.name === "Stalled" && l.reason === "too slow to keep up",
        );
      } finally {
        stalled.conn.close();
        await cleanUp(server, talker);
      }
    },
  );
}
