/**
 * The protocol client against a real server in this process: registration,
 * retries on the same connection, and what it keeps track of.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ChatClient, type ClientUpdate, connectReason } from "../lib/client/client.ts";
import { FakeServer, type Hello, welcome } from "./_fake_server.ts";
import { clientFor, JsonClient, startServer, tempStore, TEST_SCRYPT } from "./_helpers.ts";
import { hashPassword } from "../lib/auth/passwords.ts";
import type { Store } from "../lib/store/sqlite_store.ts";

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
  const bob = await JsonClient.join(server.addr.port, "Bob");
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
    const bob = await JsonClient.join(server.addr.port, "Bob");
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
  const bob = await JsonClient.join(server.addr.port, "Bob");
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
      bob.events().filter((e) => e.type === "join" || e.type === "leave").map((e) => e.type),
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

/** What a server with the account Bob (password "s3cret pass") answers. */
function bobsAccount(hello: Hello) {
  if (hello.name !== "Bob") return [welcome(hello.name)];
  if (hello.password === undefined) {
    return [{
      type: "error" as const,
      code: "password_required" as const,
      message: "The name Bob belongs to an account: give its password",
    }];
  }
  if (hello.password !== "s3cret pass") {
    return [{
      type: "error" as const,
      code: "wrong_password" as const,
      message: "Wrong password for Bob",
    }];
  }
  return [welcome("Bob", true)];
}

Deno.test("a password goes in hello only when given, and password refusals leave the connection open", async () => {
  const server = new FakeServer(bobsAccount);
  const client = clientFor(server.port);
  try {
    await client.connect();
    assert.deepEqual(await client.register("Bob"), {
      ok: false,
      code: "password_required",
      message: "The name Bob belongs to an account: give its password",
      retry: true,
    });
    const wrong = await client.register("Bob", "guess");
    assert.ok(!wrong.ok && wrong.code === "wrong_password" && wrong.retry);
    const right = await client.register("Bob", "s3cret pass");
    assert.ok(right.ok && right.welcome.account);
    assert.deepEqual(server.hellos.map((h) => h.password), [undefined, "guess", "s3cret pass"]);
    assert.ok(!("password" in server.hellos[0]), "no password field at all when none was given");
    assert.equal(server.connections, 1, "all on one connection");
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("too many failed logins are final: the client closes the connection", async () => {
  const server = new FakeServer(() => [{
    type: "error",
    code: "throttled",
    message: "Too many failed logins; try again in 30 seconds",
  }]);
  const client = clientFor(server.port);
  try {
    await client.connect();
    const answer = await client.register("Bob", "guess");
    assert.deepEqual(answer, {
      ok: false,
      code: "throttled",
      message: "Too many failed logins; try again in 30 seconds",
      retry: false,
    });
    await server.until(() => server.connections === 0);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("after a drop the client logs in again with the password that worked", async () => {
  // Like a restarted server: the resume token means nothing, the password is asked again.
  const server = new FakeServer(bobsAccount);
  const client = new ChatClient({
    host: "127.0.0.1",
    port: server.port,
    client: "chat/test",
    retryInitialMs: 10,
  });
  try {
    await client.connect();
    assert.ok((await client.register("Bob", "s3cret pass")).ok);
    const updates = client.updates(true);
    server.dropAll();
    const seen: string[] = [];
    for await (const update of updates) {
      seen.push(update.kind);
      if (update.kind === "back" || update.kind === "end") break;
    }
    assert.deepEqual(seen, ["lost", "back"]);
    assert.deepEqual(server.hellos.map((h) => h.password), ["s3cret pass", "s3cret pass"]);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("when the password no longer works after a drop, the client ends with the reason", async () => {
  const server = new FakeServer((_hello, index) =>
    index === 0
      ? [welcome("Bob", true)]
      : [{ type: "error", code: "wrong_password", message: "Wrong password for Bob" }]
  );
  const client = new ChatClient({
    host: "127.0.0.1",
    port: server.port,
    client: "chat/test",
    retryInitialMs: 10,
  });
  try {
    await client.connect();
    assert.ok((await client.register("Bob", "old password")).ok);
    const updates = client.updates(true);
    server.dropAll();
    const seen: ClientUpdate[] = [];
    for await (const update of updates) seen.push(update);
    assert.deepEqual(seen.map((u) => u.kind), ["lost", "end"]);
    assert.deepEqual(seen[1], {
      kind: "end",
      bye: null,
      reason: "Wrong password for Bob (was it changed?); join again with the new one",
      code: "wrong_password",
    });
    assert.equal(server.hellos.length, 2, "asked once, not forever");
  } finally {
    client.close();
    await server.close();
  }
});

/**
 * Logs Bob in to his account through a cuttable link, cuts it, and has the
 * server forget the old connection (as a restart would, so the resume token
 * is no good); `meanwhile` runs in between. Resolves to the updates seen
 * until the client is back or gives up.
 */
async function dropAndReturn(
  meanwhile: (store: Store) => Promise<void>,
): Promise<ClientUpdate[]> {
  const data = await tempStore({ Bob: "correct horse" });
  const server = startServer({ store: data.store, auth: "names" });
  const link = new CuttableLink(server.addr.port);
  const client = new ChatClient({
    host: "127.0.0.1",
    port: link.listener.addr.port,
    client: "chat/test",
    retryInitialMs: 10,
  });
  try {
    await client.connect();
    const answer = await client.register("Bob", "correct horse");
    assert.ok(answer.ok && answer.welcome.account);
    const updates = client.updates(true);
    await meanwhile(data.store);
    link.cut();
    assert.ok(server.hub.kick("Bob", "gone"));
    const seen: ClientUpdate[] = [];
    for await (const update of updates) {
      seen.push(update);
      if (update.kind === "back" || update.kind === "end") break;
    }
    return seen;
  } finally {
    client.close();
    await link.close();
    await server.shutdown();
    await data.dispose();
  }
}

Deno.test("with a real server, the client logs back in to its account after a drop", async () => {
  const seen = await dropAndReturn(async () => {});
  assert.deepEqual(seen.map((u) => u.kind), ["lost", "back"]);
  const back = seen[1];
  assert.ok(back.kind === "back" && back.welcome.account);
});

Deno.test("with a real server, a password changed during a drop ends the client with the reason", async () => {
  const seen = await dropAndReturn(async (store) => {
    assert.ok(store.setPassword("Bob", await hashPassword("new horse", TEST_SCRYPT)));
  });
  assert.deepEqual(seen.map((u) => u.kind), ["lost", "end"]);
  assert.deepEqual(seen[1], {
    kind: "end",
    bye: null,
    reason: "Wrong password for Bob (was it changed?); join again with the new one",
    code: "wrong_password",
  });
});
