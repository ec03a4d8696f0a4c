import assert from "node:assert/strict";
import {
  cleanUp,
  JsonClient,
  LineClient,
  startServer,
  tempStore,
  until,
  within,
} from "./_helpers.ts";
import type { ServerOptions } from "../lib/serve/chat_server.ts";
import { verifyPassword } from "../lib/auth/passwords.ts";

const IAC = 255;
const WILL = 251;
const WONT = 252;
const DO = 253;
const DONT = 254;
const ECHO = 1;

const encoder = new TextEncoder();
const text = (bytes: number[]) => new TextDecoder().decode(new Uint8Array(bytes));

/** A server with accounts Bob and Dave, and its store; stop() cleans both up. */
async function accountServer(options: ServerOptions = {}) {
  const data = await tempStore({ Bob: "correct horse", Dave: "battery staple" });
  const log: string[] = [];
  const server = startServer({
    store: data.store,
    auth: "names",
    log: (line) => log.push(line),
    ...options,
  });
  return {
    server,
    store: data.store,
    log,
    async stop(...clients: (JsonClient | LineClient)[]) {
      await cleanUp(server, ...clients);
      await data.dispose();
    },
  };
}

/** Reads from `conn` until the bytes so far satisfy `done`; returns them all. */
async function readUntil(conn: Deno.Conn, done: (bytes: number[]) => boolean): Promise<number[]> {
  const seen: number[] = [];
  const buffer = new Uint8Array(4096);
  while (!done(seen)) {
    const n = await within(conn.read(buffer), () => `stuck after: ${JSON.stringify(text(seen))}`);
    if (n === null) break;
    seen.push(...buffer.subarray(0, n));
  }
  return seen;
}

/** Whether `bytes` contains the sequence `part`. */
function contains(bytes: number[], part: number[]): boolean {
  for (let i = 0; i + part.length <= bytes.length; i++) {
    if (part.every((byte, j) => bytes[i + j] === byte)) return true;
  }
  return false;
}

Deno.test("with auth names, a registered name needs its password and other names are free", async () => {
  const { server, stop } = await accountServer();
  const carol = await JsonClient.join(server, "Carol");
  const bob = await JsonClient.connect(server);
  await bob.send({ type: "hello", version: 1, name: "bob" });
  const required = await bob.next("error");
  assert.equal(required.code, "password_required");
  assert.match(required.message, /The name Bob belongs to an account/);
  await bob.send({ type: "hello", version: 1, name: "bob", password: "wrong horse" });
  assert.deepEqual(await bob.next("error", (e) => e.code !== "password_required"), {
    type: "error",
    code: "wrong_password",
    message: "Wrong password for Bob",
  });
  await bob.send({ type: "hello", version: 1, name: "Bob", password: "correct horse" });
  const welcome = await bob.next("welcome");
  assert.equal(welcome.account, true);
  assert.equal((await carol.next("join")).name, "Bob");
  const carolWelcome = carol.events().find((e) => e.type === "welcome");
  assert.ok(carolWelcome?.type === "welcome" && carolWelcome.account === undefined);

  await carol.type("/nick Dave");
  assert.deepEqual(await carol.next("error"), {
    type: "error",
    code: "name_taken",
    message: "The name Dave belongs to an account; only its owner can use it",
  });
  await carol.type("/who");
  assert.deepEqual((await carol.next("users")).names, ["Carol", "Bob"], "Carol is still Carol");
  await stop(carol, bob);
});

Deno.test("with auth required, an unknown name and a wrong password get the same answer", async () => {
  const { server, stop } = await accountServer({ auth: "required" });
  const client = await JsonClient.connect(server);
  await client.send({ type: "hello", version: 1, name: "Mallory" });
  const required = await client.next("error");
  assert.equal(required.code, "password_required");
  assert.doesNotMatch(required.message, /Mallory/);
  await client.send({ type: "hello", version: 1, name: "Mallory", password: "correct horse" });
  const unknown = await client.next("error", (e) => e.code === "wrong_password");
  await client.send({ type: "hello", version: 1, name: "Bob", password: "wrong horse" });
  const wrong = await client.next("error", (e) => e.code === "wrong_password");
  assert.deepEqual(unknown, wrong);
  assert.equal(wrong.message, "Wrong name or password");
  await client.send({ type: "hello", version: 1, name: "Bob", password: "correct horse" });
  assert.equal((await client.next("welcome")).account, true);
  await stop(client);
});

Deno.test("failed logins for a name are throttled before any hashing", async () => {
  let hashed = 0;
  const { server, log, stop } = await accountServer({
    throttle: {
      address: { free: 100, baseMs: 60_000, maxMs: 60_000 },
      name: { free: 2, baseMs: 60_000, maxMs: 60_000 },
      forgetMs: 3_600_000,
    },
    logins: {
      verify: (password, stored) => {
        hashed++;
        return verifyPassword(password, stored);
      },
    },
  });
  const guesser = await JsonClient.connect(server);
  for (let i = 0; i < 3; i++) {
    await guesser.send({ type: "hello", version: 1, name: "Bob", password: `guess ${i}` });
    await guesser.next("error", (e) => e.code === "wrong_password");
  }
  await guesser.send({ type: "hello", version: 1, name: "Bob", password: "correct horse" });
  const throttled = await guesser.next("error", (e) => e.code === "throttled");
  assert.equal(throttled.message, "Too many failed logins; try again in 60 seconds");
  assert.equal(hashed, 3, "the throttled try was not hashed");
  assert.ok(log.some((line) => line.includes("login throttled from 127.0.0.1")));

  // Another account from the same address is not held back by Bob's.
  await guesser.send({ type: "hello", version: 1, name: "Dave", password: "battery staple" });
  assert.equal((await guesser.next("welcome")).name, "Dave");
  await stop(guesser);
});

Deno.test("the first password_required answer is not a failed attempt; repeats and wrong passwords are", async () => {
  const { server, stop } = await accountServer();
  const client = await JsonClient.connect(server);
  for (let i = 0; i < 10; i++) await client.send({ type: "hello", version: 1, name: "Bob" });
  await client.send({ type: "hello", version: 1, name: "Bob", password: "correct horse" });
  assert.equal((await client.next("welcome")).name, "Bob", "still connected after 10 asks");

  const guesser = await JsonClient.connect(server);
  for (let i = 0; i < 10; i++) {
    await guesser.send({ type: "hello", version: 1, name: "Dave", password: `guess ${i}` });
    await guesser.next("error");
  }
  assert.equal((await guesser.next("bye")).code, "refused");
  await guesser.raw.ended;
  await stop(client, guesser);
});

Deno.test("password checks at once are capped, and a hello during a check is refused", async () => {
  const checks: PromiseWithResolvers<boolean>[] = [];
  const started = Promise.withResolvers<void>();
  const { server, stop } = await accountServer({
    logins: {
      maxConcurrent: 1,
      maxQueued: 0,
      verify: async (password, stored) => {
        const check = Promise.withResolvers<boolean>();
        checks.push(check);
        started.resolve();
        await check.promise;
        return verifyPassword(password, stored);
      },
    },
  });
  const bob = await JsonClient.connect(server);
  await bob.send({ type: "hello", version: 1, name: "Bob", password: "correct horse" });
  await within(started.promise, () => "Bob's password check never started");
  await bob.send({ type: "hello", version: 1, name: "Bob", password: "correct horse" });
  const again = await bob.next("error");
  assert.deepEqual(
    [again.code, again.message],
    ["busy", "Your password is still being checked; wait for the answer"],
  );

  const dave = await JsonClient.connect(server);
  await dave.send({ type: "hello", version: 1, name: "Dave", password: "battery staple" });
  assert.deepEqual(await dave.next("error"), {
    type: "error",
    code: "busy",
    message: "The server is busy checking passwords; try again in a moment",
  });

  checks[0].resolve(true);
  assert.equal((await bob.next("welcome")).account, true);
  // Bob's outdated hash is renewed in the one place for checks.
  await within(server.gatekeeper!.settled(), () => "the rehash of Bob's password never settled");
  await dave.send({ type: "hello", version: 1, name: "Dave", password: "battery staple" });
  await until(
    () => checks.length >= 2,
    () => `Dave's second try to reach the password check (${checks.length} checks started)`,
  );
  checks[1].resolve(true);
  assert.equal((await dave.next("welcome")).name, "Dave");
  await stop(bob, dave);
});

Deno.test("a peer that leaves during its password check is not registered", async () => {
  const check = Promise.withResolvers<boolean>();
  const started = Promise.withResolvers<void>();
  const { server, stop } = await accountServer({
    logins: {
      verify: async () => {
        started.resolve();
        return await check.promise;
      },
    },
  });
  const carol = await JsonClient.join(server, "Carol");
  const bob = await JsonClient.connect(server);
  await bob.send({ type: "hello", version: 1, name: "Bob", password: "correct horse" });
  await within(started.promise, () => "Bob's password check never started");
  await bob.close();
  await until(
    () => server.connections <= 1,
    () => `the server to drop Bob's connection (${server.connections} connections, want 1)`,
  );
  check.resolve(true);
  await within(server.gatekeeper!.settled(), () => "Bob's password check never settled");
  await carol.type("/who");
  assert.deepEqual((await carol.next("users")).names, ["Carol"]);
  assert.ok(!carol.events().some((e) => e.type === "join"), "Bob never appeared");
  await stop(carol, bob);
});

Deno.test("a resume token takes an account's name back without the password", async () => {
  const { server, stop } = await accountServer();
  const first = await JsonClient.join(server, "Bob", { password: "correct horse" });
  const token = first.events().find((e) => e.type === "welcome")!;
  assert.ok(token.type === "welcome");
  const second = await JsonClient.connect(server);
  await second.send({ type: "hello", version: 1, name: "Bob", resume: token.resume });
  const welcome = await second.next("welcome");
  assert.equal(welcome.account, true, "the resumed member is still logged in");
  assert.equal((await first.next("bye")).code, "replaced");

  const stranger = await JsonClient.connect(server);
  await stranger.send({ type: "hello", version: 1, name: "Bob", resume: "not the token" });
  assert.equal((await stranger.next("error")).code, "password_required");
  await stop(first, second, stranger);
});

Deno.test("a good login with an outdated hash stores a stronger one", async () => {
  const { server, store, stop } = await accountServer();
  const old = store.getUser("Bob")!.hash;
  const bob = await JsonClient.join(server, "Bob", { password: "correct horse" });
  await server.gatekeeper!.settled();
  const renewed = store.getUser("Bob")!.hash;
  assert.notEqual(renewed, old);
  assert.match(renewed, /^\$scrypt\$ln=15,/);
  assert.ok(await verifyPassword("correct horse", renewed));
  await stop(bob);
});

Deno.test("nc is prompted for the password of an account, and starts again after a wrong one", async () => {
  const { server, stop } = await accountServer();
  const nc = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    await readUntil(nc, (b) => text(b).endsWith("Your name: "));
    await nc.write(encoder.encode("bob\n"));
    const prompt = await readUntil(nc, (b) => text(b).endsWith("Password: "));
    assert.ok(!prompt.includes(IAC), "nc is sent no telnet commands");
    await nc.write(encoder.encode("wrong horse\n"));
    const wrong = await readUntil(nc, (b) => text(b).endsWith("Your name: "));
    assert.equal(text(wrong), "Error: Wrong password for Bob\r\nYour name: ");
    await nc.write(encoder.encode("bob\n"));
    await readUntil(nc, (b) => text(b).endsWith("Password: "));
    await nc.write(encoder.encode("correct horse\n"));
    await readUntil(nc, (b) => text(b).includes("Welcome, Bob! You are in #lobby."));
  } finally {
    nc.close();
    await stop();
  }
});

Deno.test("a telnet user's password is not echoed: the server offers to echo, then withdraws", async () => {
  const { server, stop } = await accountServer();
  const telnet = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    await readUntil(telnet, (b) => text(b).endsWith("Your name: "));
    // A telnet client offering an option, then "Bob" and Enter (CR LF).
    await telnet.write(new Uint8Array([IAC, WILL, 31, ...encoder.encode("Bob\r\n")]));
    const prompt = await readUntil(telnet, (b) => text(b).endsWith("Password: "));
    assert.deepEqual(prompt, [IAC, DONT, 31, IAC, WILL, ECHO, ...encoder.encode("Password: ")]);
    // The client agrees (DO ECHO), which needs no answer, and sends the password.
    await telnet.write(new Uint8Array([IAC, DO, ECHO, ...encoder.encode("correct horse\r\n")]));
    const after = await readUntil(telnet, (b) => text(b).includes("Welcome, Bob!"));
    assert.deepEqual(after.slice(0, 5), [IAC, WONT, ECHO, 13, 10], "echo back on, then a new line");
    assert.ok(!contains(after.slice(3), [IAC]), "nothing else was negotiated");
  } finally {
    telnet.close();
    await stop();
  }
});

Deno.test("telnet on a non-telnet port (no negotiation, CR LF lines) gets echo turned off too", async () => {
  const { server, stop } = await accountServer();
  const telnet = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    await readUntil(telnet, (b) => text(b).endsWith("Your name: "));
    await telnet.write(encoder.encode("Bob\r\n"));
    const prompt = await readUntil(telnet, (b) => text(b).endsWith("Password: "));
    assert.deepEqual(prompt.slice(0, 3), [IAC, WILL, ECHO]);
    // A client that refuses (DONT ECHO) is answered WONT ECHO, and nothing loops.
    await telnet.write(new Uint8Array([IAC, DONT, ECHO]));
    assert.deepEqual(await readUntil(telnet, (b) => b.length >= 3), [IAC, WONT, ECHO]);
    await telnet.write(encoder.encode("wrong horse\r\n"));
    const wrong = await readUntil(telnet, (b) => text(b).endsWith("Your name: "));
    assert.equal(text(wrong), "Error: Wrong password for Bob\r\nYour name: ", "no WONT ECHO again");
  } finally {
    telnet.close();
    await stop();
  }
});

Deno.test("lines a plain-text user sends during the password check are handled after it", async () => {
  const { server, stop } = await accountServer();
  const carol = await JsonClient.join(server, "Carol");
  const nc = await LineClient.connect(server);
  await nc.write("Bob\ncorrect horse\nhello from a script\n");
  const message = await carol.next("message");
  assert.deepEqual([message.from, message.text], ["Bob", "hello from a script"]);
  await stop(carol, nc);
});

Deno.test("a history frame is answered with the room's earlier messages", async () => {
  const { server, stop } = await accountServer({ history: 10 });
  const alice = await JsonClient.join(server, "Alice");
  for (const text of ["one", "two", "three"]) {
    await alice.send({ type: "say", text });
    await alice.next("message", (m) => m.text === text);
  }
  await alice.send({ type: "history", count: 2 });
  const history = await alice.next("history");
  assert.deepEqual(history.messages.map((m) => m.text), ["two", "three"]);
  await alice.send({ type: "history", count: 5, before: history.messages[0].id });
  assert.deepEqual((await alice.next("history")).messages.map((m) => m.text), ["one"]);
  await stop(alice);
});

Deno.test("a server with accounts needs a store", () => {
  assert.throws(() => startServer({ auth: "names" }), TypeError);
});
