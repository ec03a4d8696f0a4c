import assert from "node:assert/strict";
import { cleanUp, JsonClient, LineClient, startServer, WAIT_MS, within } from "./_helpers.ts";
import { makeCertificate } from "../lib/certs.ts";
import { NOT_TLS_MESSAGE } from "../lib/session.ts";

// One certificate for the whole file: making an RSA key takes a moment.
const { cert, key } = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
const trusted = { tls: { caCerts: [cert] } };

/** Polls `condition` until it holds; fails after WAIT_MS (for states no event announces). */
async function until(condition: () => boolean, what: () => string): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Reads everything until the peer closes (or the read fails); rejects if that takes too long. */
async function readToEnd(conn: Deno.Conn): Promise<{ bytes: number[]; error?: unknown }> {
  const bytes: number[] = [];
  const buffer = new Uint8Array(4096);
  try {
    while (true) {
      const n = await within(conn.read(buffer), () => `still open after ${bytes.length} bytes`);
      if (n === null) return { bytes };
      bytes.push(...buffer.subarray(0, n));
    }
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("still open")) throw error;
    return { bytes, error };
  }
}

Deno.test("over TLS, a JSON client and a plain-text one chat as usual", async () => {
  const log: string[] = [];
  const server = startServer({ tls: { cert, key }, log: (line) => log.push(line) });
  const alice = await JsonClient.join(server, "Alice", trusted);
  const bob = await LineClient.connect(server, trusted);
  await bob.waitFor("Welcome to chat! 1 of 100 users online.");
  await bob.write("Bob\n");
  await bob.waitFor("Welcome, Bob! You are in #lobby. Here with you: Alice.");
  assert.equal((await alice.next("join")).name, "Bob");
  await bob.write("hello over TLS\n");
  assert.equal((await alice.next("message")).text, "hello over TLS");
  await alice.send({ type: "say", text: "hi Bob" });
  await bob.waitFor(/Alice: hi Bob$/);
  await alice.type("/quit");
  await alice.raw.ended;
  await cleanUp(server, alice, bob);
  assert.ok(!log.some((line) => line.includes("TLS handshake failed")), log.join("\n"));
});

Deno.test("a plain client on the TLS port gets a TLS alert and the end at once", async () => {
  const log: string[] = [];
  const server = startServer({ tls: { cert, key }, log: (line) => log.push(line) });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await conn.write(new TextEncoder().encode('{"type":"hello","version":1,"name":"Plain"}\n'));
  const { bytes, error } = await readToEnd(conn);
  conn.close();
  // A fatal alert record (21), TLS 1.2 framing, 2 bytes: level 2 (fatal), decode_error (50).
  assert.deepEqual(bytes, [21, 3, 3, 0, 2, 2, 50]);
  assert.equal(error, undefined, "then a clean end of stream");
  await server.shutdown();
  assert.ok(
    log.some((line) =>
      /drop 127\.0\.0\.1:\d+: TLS handshake failed \(received corrupt message of type InvalidContentType\)/
        .test(line)
    ),
    log.join("\n"),
  );
});

Deno.test("a stalled TLS handshake blocks nobody, is logged at the timeout and ends with its peer", async () => {
  const log: string[] = [];
  const server = startServer({
    tls: { cert, key },
    registrationTimeoutMs: 200,
    log: (line) => log.push(line),
  });
  // Connects and says nothing, as nc on a TLS port does.
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const alice = await JsonClient.join(server, "Alice", trusted);
  const bob = await JsonClient.join(server, "Bob", trusted);
  await alice.send({ type: "say", text: "not blocked" });
  assert.equal((await bob.next("message")).text, "not blocked");
  await until(
    () => log.some((line) => line.includes("no TLS handshake after 200 ms")),
    () => log.join("\n"),
  );
  // Deno cannot free the socket before the handshake ends, so it still counts.
  assert.equal(server.connections, 3);
  stalled.close();
  await until(() => server.connections <= 2, () => `${server.connections} connections`);
  assert.ok(log.some((line) => line.includes("TLS handshake failed")), log.join("\n"));
  await cleanUp(server, alice, bob);
});

Deno.test("a TLS server past its cap of unregistered connections waits instead of closing", async () => {
  const log: string[] = [];
  const server = startServer({ tls: { cert, key }, maxPending: 1, log: (line) => log.push(line) });
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await until(() => server.connections > 0, () => `${server.connections} connections`);
  // Accepted by the system, not yet by the server: its hello waits (a TLS
  // client's write waits for the handshake).
  const waiting = await JsonClient.connect(server, trusted);
  const hello = waiting.send({ type: "hello", version: 1, name: "Ann" });
  await until(() => log.some((line) => line.startsWith("pausing accepts")), () => log.join("\n"));
  assert.equal(server.connections, 1);
  stalled.close();
  await hello;
  assert.equal((await waiting.next("welcome")).name, "Ann", "served once a place was free");
  assert.ok(log.includes("accepting connections again"));
  await cleanUp(server, waiting);
});

Deno.test("a TLS handshake that comes after the timeout gets the timeout's goodbye", async () => {
  const log: string[] = [];
  const server = startServer({
    tls: { cert, key },
    registrationTimeoutMs: 100,
    log: (line) => log.push(line),
  });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await until(() => log.some((line) => line.includes("no TLS handshake")), () => log.join("\n"));
  const late = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [cert] });
  const { bytes } = await readToEnd(late);
  late.close();
  const lines = new TextDecoder().decode(new Uint8Array(bytes)).split("\n").filter(Boolean);
  assert.deepEqual(lines.map((line) => JSON.parse(line).type), ["error", "bye"]);
  assert.equal(JSON.parse(lines[1]).code, "timeout");
  await server.shutdown();
});

Deno.test("shutdown does not wait on a connection still in its TLS handshake", async () => {
  const server = startServer({ tls: { cert, key } });
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await until(() => server.connections > 0, () => `${server.connections} connections`);
  const started = performance.now();
  await server.shutdown();
  assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`);
  stalled.close();
});

Deno.test("a TLS client on a plain port fails at once, and the server says why", async () => {
  const log: string[] = [];
  const server = startServer({ log: (line) => log.push(line) });
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.addr.port,
    ...trusted.tls,
  });
  const error = await within(
    conn.handshake().then(() => null, (error) => error),
    () => "the TLS handshake hung",
  );
  conn.close();
  assert.ok(error instanceof Deno.errors.InvalidData, String(error));
  assert.equal(error.message, "received corrupt message of type InvalidContentType");
  await server.shutdown();
  assert.ok(
    log.some((line) =>
      /refuse 127\.0\.0\.1:\d+: it speaks TLS, and this server does not/.test(line)
    ),
    log.join("\n"),
  );
});

Deno.test("the bytes a TLS client on a plain port receives are one plain line", async () => {
  const server = startServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  // The start of a ClientHello: handshake record, TLS 1.0 framing, a length.
  await conn.write(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4]));
  const { bytes } = await readToEnd(conn);
  conn.close();
  assert.equal(new TextDecoder().decode(new Uint8Array(bytes)), NOT_TLS_MESSAGE + "\r\n");
  assert.equal(NOT_TLS_MESSAGE, "This chat server does not use TLS; connect without --tls");
  await server.shutdown();
});
