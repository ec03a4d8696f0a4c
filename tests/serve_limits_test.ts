/**
 * Every limit flag of `chat serve`, given a value other than its default to a
 * real server process, as a client sees its effect: the flags must reach the
 * server, not just the help text.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ServeProcess } from "./_serve_process.ts";
import { type Frame, JsonClient, WAIT_MS, within } from "./_helpers.ts";

/** Starts `chat serve` on a free loopback port with `flags`; returns it and its port. */
async function serveWith(flags: string[]): Promise<{ server: ServeProcess; port: number }> {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0", ...flags]);
  return { server, port: await server.port() };
}

/** Stops the server as a service manager would, and checks that it exited cleanly. */
async function stop(server: ServeProcess): Promise<void> {
  server.child.kill("SIGTERM");
  const { code, stderr } = await server.finish();
  assert.equal(code, 0, stderr);
}

/** Connects and registers as `name`; fails unless the server welcomes it. */
async function join(port: number, name: string): Promise<JsonClient> {
  const peer = await JsonClient.connect(port);
  await peer.send({ type: "hello", version: 1, name });
  const welcome = await peer.next();
  assert.equal(welcome.type, "welcome", `${name} was not welcomed: ${JSON.stringify(welcome)}`);
  return peer;
}

/**
 * Reads frames until one of `type` (and matching `where`) comes, answering the
 * server's pings on the way: with a short --ping-interval, a peer that waits
 * must still answer.
 */
function until(peer: JsonClient, type: string, where: (frame: Frame) => boolean = () => true) {
  const seen: string[] = [];
  const search = async () => {
    while (true) {
      const frame = await peer.next();
      if (frame.type === type && where(frame)) return frame;
      seen.push(JSON.stringify(frame));
      if (frame.type === "ping") await peer.send({ type: "pong", token: frame.token });
    }
  };
  return within(search(), () => `no ${type} frame within ${WAIT_MS} ms; got:\n${seen.join("\n")}`);
}

/** Expects the refusal a client sees when the server turns it away: `error`, `bye`, then the end. */
async function expectTurnedAway(peer: JsonClient, code: string, message: string): Promise<void> {
  assert.deepEqual(await peer.next(), { type: "error", code, message });
  const bye = await peer.next();
  assert.deepEqual([bye.type, bye.code], ["bye", code]);
  assert.equal(await peer.closed(), true, "the server closed the connection");
}

/** A `say` frame of exactly `bytes` bytes (newline excluded), and the text it says. */
function sayOfLength(bytes: number): { frame: string; text: string } {
  const bare = JSON.stringify({ type: "say", text: "" });
  const text = "x".repeat(bytes - bare.length);
  const frame = JSON.stringify({ type: "say", text });
  assert.equal(new TextEncoder().encode(frame).length, bytes);
  return { frame, text };
}

Deno.test("chat serve applies --max-users, --max-per-ip, --max-line and --history", async (t) => {
  const { server, port } = await serveWith(
    ["--max-users", "2", "--max-per-ip", "3", "--max-line", "100", "--history", "3"],
  );
  const peers: JsonClient[] = [];
  const open = async (peer: Promise<JsonClient>) => {
    peers.push(await peer);
    return peers.at(-1)!;
  };
  try {
    const alice = await open(join(port, "Alice"));

    await t.step(
      "--max-line 100: a line of 100 bytes is read, lines of 101 or 200 are not",
      async () => {
        const fits = sayOfLength(100);
        await alice.raw.write(fits.frame + "\n");
        const message = await alice.next();
        assert.deepEqual([message.type, message.text], ["message", fits.text]);
        for (const bytes of [101, 200]) {
          await alice.raw.write(sayOfLength(bytes).frame + "\n");
          assert.deepEqual(await alice.next(), {
            type: "error",
            code: "line_too_long",
            message: "Line too long (limit 100 bytes); it was ignored",
          });
        }
        await alice.send({ type: "say", text: "still here" });
        const after = await alice.next();
        assert.deepEqual(
          [after.type, after.text],
          ["message", "still here"],
          "the connection stays",
        );
      },
    );

    await t.step("--history 3: a joiner is shown exactly the last 3 messages", async () => {
      for (const text of ["h1", "h2", "h3", "h4", "h5"]) {
        await alice.send({ type: "say", text });
        assert.equal((await alice.next()).text, text);
      }
      const bob = await open(join(port, "Bob"));
      const history = await bob.next();
      assert.equal(history.type, "history", JSON.stringify(history));
      const messages = history.messages as Frame[];
      assert.deepEqual(messages.map((m) => m.text), ["h3", "h4", "h5"]);
    });

    await t.step("--max-users 2: a third user gets room_full", async () => {
      const carol = await open(JsonClient.connect(port));
      await carol.send({ type: "hello", version: 1, name: "Carol" });
      await expectTurnedAway(carol, "room_full", "The room is full (2 users); try again later");
    });

    await t.step("--max-per-ip 3: a fourth connection gets too_many_connections", async () => {
      // Alice and Bob are two; a third that has not registered yet counts too.
      const third = await open(JsonClient.connect(port));
      await third.send({ type: "ping", token: "t" });
      assert.deepEqual(await third.next(), { type: "pong", token: "t" });
      const fourth = await open(JsonClient.connect(port));
      await fourth.send({ type: "hello", version: 1, name: "Dave" });
      await expectTurnedAway(
        fourth,
        "too_many_connections",
        "Too many connections from your address (at most 3); close some first",
      );
    });
  } finally {
    await Promise.all(peers.map((peer) => peer.close()));
    await stop(server);
  }
});

Deno.test("chat serve applies --flood-burst, --flood-rate, --ping-interval and --register-timeout", async (t) => {
  const { server, port } = await serveWith([
    ...["--flood-burst", "3", "--flood-rate", "0.1"],
    ...["--ping-interval", "1", "--register-timeout", "1"],
  ]);
  const peers: JsonClient[] = [];
  const open = async (peer: Promise<JsonClient>) => {
    peers.push(await peer);
    return peers.at(-1)!;
  };
  try {
    await t.step(
      "--flood-burst 3 --flood-rate 0.1: 3 messages at once pass, the next get flood",
      async () => {
        const alice = await open(join(port, "Alice"));
        const burst = [1, 2, 3, 4, 5, 6].map((i) => JSON.stringify({ type: "say", text: `m${i}` }));
        // One write: all six arrive together, long before 10 seconds refill a token.
        await alice.raw.write(burst.join("\n") + "\n");
        const replies: unknown[] = [];
        for (let i = 0; i < 6; i++) {
          const frame = await alice.next();
          replies.push(frame.type === "message" ? frame.text : [frame.code, frame.message]);
        }
        const flood = [
          "flood",
          "Slow down: at most 0.1 messages per second; that one was not sent",
        ];
        assert.deepEqual(replies, ["m1", "m2", "m3", flood, flood, flood]);
        // Leaving is never refused, however much one has flooded.
        await alice.send({ type: "quit" });
        assert.equal((await until(alice, "bye")).code, "quit");
        assert.equal(await alice.closed(), true);
      },
    );

    await t.step(
      "--ping-interval 1: a silent user is pinged, then dropped as not responding",
      async () => {
        const watcher = await open(join(port, "Watcher"));
        const ghost = await open(join(port, "Ghost"));
        // Returned, not answered: the ghost stays silent.
        await until(ghost, "ping");
        const left = await until(watcher, "leave", (frame) => frame.name === "Ghost");
        assert.deepEqual([left.name, left.reason], ["Ghost", "no response"]);
        assert.equal(await ghost.closed(), true, "the server closed the ghost's connection");
      },
    );

    await t.step("--register-timeout 1: a connection that gives no name gets timeout", async () => {
      const silent = await open(JsonClient.connect(port));
      // A JSON frame first, so that the refusal comes as JSON rather than plain text.
      await silent.send({ type: "ping", token: "t" });
      assert.deepEqual(await silent.next(), { type: "pong", token: "t" });
      const error = await until(silent, "error");
      assert.deepEqual(error, {
        type: "error",
        code: "timeout",
        message: "No name was given in time",
      });
      const bye = await silent.next();
      assert.deepEqual(bye, { type: "bye", code: "timeout", reason: "registration timed out" });
      assert.equal(await silent.closed(), true, "the server closed the connection");
    });
  } finally {
    await Promise.all(peers.map((peer) => peer.close()));
    await stop(server);
  }
});

Deno.test("chat serve applies --queue-limit: a user who stops reading is dropped, the others chat on", async () => {
  const limit = 64 * 1024;
  const { server, port } = await serveWith(["--queue-limit", "64K", "--flood-rate", "0"]);
  const peers: JsonClient[] = [];
  const open = async (peer: Promise<JsonClient>) => {
    peers.push(await peer);
    return peers.at(-1)!;
  };
  // Registers, then reads nothing until the end: what the server queues for it grows.
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const alice = await open(join(port, "Alice"));
    const bob = await open(join(port, "Bob"));
    assert.equal((await alice.next()).name, "Bob");
    await stuck.write(new TextEncoder().encode('{"type":"hello","version":1,"name":"Stuck"}\n'));
    assert.equal((await alice.next()).name, "Stuck");
    assert.equal((await bob.next()).name, "Stuck");
    // Long frames (8 KB each), so that the kernel's buffers fill in few round trips; four
    // at a time (32 KB), so that Alice and Bob, who read, never have 64 KB waiting.
    const text = "\u{1F642}".repeat(1990);
    // The size of each message sent to Stuck (the frame Alice gets) until Alice hears it left.
    const generated: number[] = [];
    let left: Frame | undefined;
    for (let sent = 0; !left;) {
      assert.ok(sent < 4_000, "Stuck was never dropped");
      for (let i = 0; i < 4; i++) await alice.send({ type: "say", text: `${sent++} ${text}` });
      const last = `${sent - 1} `;
      for (let frame = await alice.next();; frame = await alice.next()) {
        assert.notEqual(frame.type, "error", JSON.stringify(frame));
        if (frame.type === "leave") left ??= frame;
        else if (!left) generated.push(new TextEncoder().encode(JSON.stringify(frame)).length + 1);
        if (String(frame.text).startsWith(last)) break;
      }
      while (!String((await bob.next()).text).startsWith(last));
    }
    assert.deepEqual([left.name, left.reason], ["Stuck", "too slow to keep up"]);
    // What Stuck got: its welcome, then the messages the kernel took before the drop.
    let received = 0;
    let welcome = -1;
    const buffer = new Uint8Array(1 << 16);
    const readAll = async () => {
      for (let n = await stuck.read(buffer); n !== null; n = await stuck.read(buffer)) {
        if (welcome < 0 && buffer.subarray(0, n).includes(10)) {
          welcome = received + buffer.subarray(0, n).indexOf(10) + 1;
        }
        received += n;
      }
    };
    await within(readAll(), () => "the server did not close the connection of Stuck");
    // The server gave up on Stuck with about --queue-limit unsent (plus the messages
    // broadcast before Alice heard of it), not with the default 1 MiB.
    const missed = generated.reduce((sum, bytes) => sum + bytes, 0) - (received - welcome);
    assert.ok(missed < limit + 256 * 1024, `Stuck was dropped with ${missed} bytes unsent`);
    await server.waitFor(/ drop 127\.0\.0\.1:\d+: send queue over 65536 bytes$/);
    await alice.send({ type: "say", text: "still here" });
    assert.equal((await until(alice, "message")).text, "still here");
    assert.equal((await until(bob, "message")).text, "still here");
  } finally {
    stuck.close();
    await Promise.all(peers.map((peer) => peer.close()));
    await stop(server);
  }
});
