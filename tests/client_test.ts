/**
 * The protocol client against a real server in this process: registration,
 * retries on the same connection, and what it keeps track of.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ChatClient, type ClientUpdate, connectReason } from "../lib/client.ts";
import { RawUser, startServer } from "./chat_helpers.ts";

function clientFor(port: number): ChatClient {
  return new ChatClient({ host: "127.0.0.1", port, client: "chat/test" });
}

/** Polls `test` every few milliseconds until it holds (at most 5 s). */
async function until(test: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error("condition never held");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("a taken name can be retried on the same connection", async () => {
  const server = startServer();
  const bob = await RawUser.join(server.addr.port, "Bob");
  const client = clientFor(server.addr.port);
  try {
    await client.connect();
    const taken = await client.register("BOB");
    assert.deepEqual(taken, {
      ok: false,
      code: "name_taken",
      message: "The name BOB is taken",
      retry: true,
    });
    const welcomed = await client.register("Alice");
    assert.ok(welcomed.ok);
    assert.equal(client.name, "Alice");
    assert.deepEqual(client.users, ["Bob", "Alice"]);
    assert.equal(server.connections, 2);
  } finally {
    client.close();
    await bob.close();
    await server.shutdown();
  }
});

Deno.test("a name typed after the server gave up waiting still gets in", async () => {
  const server = startServer({ registrationTimeoutMs: 50 });
  const client = clientFor(server.addr.port);
  try {
    await client.connect();
    // The server closes a connection that gives no name in time...
    await until(() => server.connections === 0);
    // ...and registering quietly opens a new one.
    const answer = await client.register("Alice");
    assert.ok(answer.ok);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("the client follows who is in the room and its own renames", async () => {
  const server = startServer();
  const client = clientFor(server.addr.port);
  try {
    await client.connect();
    assert.ok((await client.register("Alice")).ok);
    const updates = client.updates(false);
    const next = async (): Promise<ClientUpdate> => (await updates.next()).value as ClientUpdate;
    const bob = await RawUser.join(server.addr.port, "Bob");
    assert.equal((await next()).kind, "event");
    assert.deepEqual(client.users, ["Alice", "Bob"]);
    client.input("/nick Alicia");
    await next();
    assert.equal(client.name, "Alicia");
    assert.deepEqual(client.users, ["Alicia", "Bob"]);
    await bob.close();
    await next();
    assert.deepEqual(client.users, ["Alicia"]);
    client.quit();
    const rest: ClientUpdate[] = [];
    for await (const update of updates) rest.push(update);
    assert.deepEqual(rest.at(-1), {
      kind: "end",
      bye: { type: "bye", code: "quit", reason: "quit" },
      reason: "quit",
    });
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("connection failures are described the way a person would say them", () => {
  assert.equal(
    connectReason(new Deno.errors.ConnectionRefused("os error 111")),
    "connection refused",
  );
  assert.equal(connectReason(new Deno.errors.TimedOut()), "timed out");
  assert.equal(
    connectReason(new Error("failed to lookup address information: Name or service not known")),
    "unknown host",
  );
  assert.equal(
    connectReason(new Error("Network is unreachable (os error 101)")),
    "network unreachable",
  );
});

/**
 * Forwards one connection at a time to the server, until cut: the client's
 * side is closed but the server's is left open, as when a network dies and
 * the server has not noticed yet.
 */
class CuttableLink {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  #stranded: Deno.TcpConn[] = [];
  #live: Deno.TcpConn[] = [];
  #pipes: Promise<void>[] = [];
  #accepting: Promise<void>;

  constructor(target: number) {
    this.#accepting = (async () => {
      for await (const client of this.listener) {
        const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
        this.#live.push(client);
        this.#stranded.push(server);
        const pipe = async (from: Deno.TcpConn, to: Deno.TcpConn) => {
          const buffer = new Uint8Array(16 * 1024);
          try {
            for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
              await to.write(buffer.subarray(0, n));
            }
          } catch {
            // One side was closed under us: that is the cut.
          }
        };
        this.#pipes.push(pipe(client, server), pipe(server, client));
      }
    })();
  }

  /** Closes the client's side of every connection; the server's sides stay open. */
  cut(): void {
    for (const conn of this.#live.splice(0)) conn.close();
  }

  async close(): Promise<void> {
    this.listener.close();
    await this.#accepting;
    for (const conn of [...this.#stranded.splice(0), ...this.#live.splice(0)]) conn.close();
    await Promise.all(this.#pipes);
  }
}

Deno.test("after a silent drop the client takes its name back at once with its resume token", async () => {
  const server = startServer();
  const link = new CuttableLink(server.addr.port);
  const bob = await RawUser.join(server.addr.port, "Bob");
  const client = clientFor(link.listener.addr.port);
  try {
    await client.connect();
    assert.ok((await client.register("Alice")).ok);
    const updates = client.updates(true);
    const seen: ClientUpdate[] = [];
    link.cut();
    for await (const update of updates) {
      seen.push(update);
      if (update.kind === "back" || update.kind === "end") break;
    }
    assert.deepEqual(seen.map((u) => u.kind), ["lost", "back"], "no retry for a taken name");
    assert.equal(client.name, "Alice");
    assert.deepEqual(
      bob.events.filter((e) => e.type === "join" || e.type === "leave").map((e) => e.type),
      ["join"],
      "the room saw Alice join once and never leave",
    );
  } finally {
    client.close();
    await bob.close();
    await link.close();
    await server.shutdown();
  }
});
