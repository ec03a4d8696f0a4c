/**
 * The server over TLS: chat as usual under the peers' own addresses, peers
 * that do not speak TLS told so in a line, and every way a connection can
 * stall or break before or during its TLS handshake (see
 * lib/server/tls_front.ts) dropped with everything released: counts and file
 * descriptors.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, LineClient, startServer, until, within } from "./_helpers.ts";
import { makeCertificate } from "../lib/auth/certs.ts";
import { TLS_ONLY_MESSAGE } from "../lib/protocol/tls_notices.ts";
import type { ChatServer } from "../lib/serve/chat_server.ts";
import { procPort, procSockets } from "./_proc.ts";

// One certificate for the whole file: making an RSA key takes a moment.
const { cert, key } = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
const trusted = { tls: { caCerts: [cert] } };

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

/** What the TLS port answers anyone who does not speak TLS. */
const TLS_ONLY_LINE = TLS_ONLY_MESSAGE + "\r\n";

/** The start of a ClientHello (handshake record, TLS 1.0 framing, a length), and no more. */
const PARTIAL_HELLO = new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4]);

/**
 * The network sockets this process (which runs the server too) has open, by
 * inode, each with its ports and TCP state; null where /proc cannot tell (not
 * Linux). A socket kept after it was closed (as Deno's own TLS kept one whose
 * handshake never ended) shows here, and nowhere else. Unix-domain sockets (the
 * runtime's own) and files do not count: they come and go as the runtime
 * likes, while in this file only the tests open network sockets, and the
 * tests run one at a time.
 */
async function netSockets(): Promise<Map<string, string> | null> {
  const found = await procSockets();
  if (found === null) return null;
  const local = new Set(found.unix.map((row) => row[6]));
  const states = new Map<string, string>();
  for (const [, from, to, state, , , , , , inode] of found.tcp) {
    states.set(inode, `port ${procPort(from)} to port ${procPort(to)}, state ${state}`);
  }
  const sockets = new Map<string, string>();
  for (const inode of found.inodes) {
    if (local.has(inode)) continue;
    // A TCP socket that is closed but not released is in no table.
    sockets.set(inode, states.get(inode) ?? "closed");
  }
  return sockets;
}

/** Waits until every network socket opened since `before` was taken is closed (where it can tell). */
async function socketsClosedSince(before: Map<string, string> | null): Promise<void> {
  if (before === null) return;
  let opened: [string, string][] = [];
  await until(
    async () => {
      const now = await netSockets();
      if (now === null) throw new Error("/proc could be read before the test, and not after");
      opened = [...now].filter(([inode]) => !before.has(inode));
      return opened.length === 0;
    },
    () => `the test's sockets to close; still open: ${JSON.stringify(opened)}`,
  );
}

/** A TCP connection to `server` that sends `bytes` (if any) and then nothing. */
async function stalledPeer(
  server: ChatServer,
  bytes: Uint8Array | null,
  hostname = "127.0.0.1",
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname, port: server.addr.port });
  // A peer shed at once may be gone before the write.
  if (bytes) await conn.write(bytes).catch(() => 0);
  return conn;
}

function closeAll(conns: Deno.Conn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

Deno.test("over TLS, a JSON client and a plain-text one chat as usual, under their own addresses", async () => {
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
  // The log names each peer by its own address.
  const alicePort = (alice.raw.conn.localAddr as Deno.NetAddr).port;
  const bobPort = (bob.conn.localAddr as Deno.NetAddr).port;
  assert.ok(log.includes(`connect 127.0.0.1:${alicePort}`), log.join("\n"));
  assert.ok(log.includes(`join Alice from 127.0.0.1:${alicePort} (1 user)`), log.join("\n"));
  assert.ok(log.includes(`join Bob from 127.0.0.1:${bobPort} (2 users)`), log.join("\n"));
  await alice.type("/quit");
  await alice.raw.ended;
  await cleanUp(server, alice, bob);
  assert.ok(!log.some((line) => line.includes("TLS handshake failed")), log.join("\n"));
});

// What the line says must hold for both kinds of certificate: --ca for one of chat cert's.
const TLS_ONLY =
  "This chat server uses TLS: join with 'chat join HOST --ca CERT' (CERT: a copy of its certificate), or with --tls when a public authority issued it";

Deno.test("a plain JSON client on the TLS port gets one line saying to use TLS, and the end", async () => {
  const log: string[] = [];
  const server = startServer({ tls: { cert, key }, log: (line) => log.push(line) });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await conn.write(new TextEncoder().encode('{"type":"hello","version":1,"name":"Plain"}\n'));
  const { bytes, error } = await readToEnd(conn);
  conn.close();
  assert.equal(
    new TextDecoder().decode(new Uint8Array(bytes)),
    `${TLS_ONLY}\r\n`,
  );
  assert.equal(error, undefined, "then a clean end of stream");
  assert.ok(log.includes(`refuse 127.0.0.1:${conn.localAddr.port}: not TLS`), log.join("\n"));
  await until(
    () => server.connections === 0,
    () => `the server to count 0 connections (it counts ${server.connections})`,
  );
  await server.shutdown();
});

Deno.test("nc on the TLS port: a name gets the line at once, silence at the registration timeout", async () => {
  const log: string[] = [];
  const server = startServer({
    tls: { cert, key },
    registrationTimeoutMs: 200,
    log: (line) => log.push(line),
  });
  const named = await stalledPeer(server, new TextEncoder().encode("Bob\n"));
  assert.equal(
    new TextDecoder().decode(new Uint8Array((await readToEnd(named)).bytes)),
    TLS_ONLY_LINE,
  );
  named.close();
  const silent = await stalledPeer(server, null);
  assert.equal(
    new TextDecoder().decode(new Uint8Array((await readToEnd(silent)).bytes)),
    TLS_ONLY_LINE,
  );
  silent.close();
  assert.ok(
    log.includes(`refuse 127.0.0.1:${silent.localAddr.port}: not TLS (nothing received in 200 ms)`),
    log.join("\n"),
  );
  await until(
    () => server.connections === 0,
    () => `the server to count 0 connections (it counts ${server.connections})`,
  );
  await server.shutdown();
});

Deno.test("a handshake that stalls blocks nobody, is dropped at the registration timeout, and frees its sockets", async () => {
  const log: string[] = [];
  const server = startServer({
    tls: { cert, key },
    registrationTimeoutMs: 300,
    log: (line) => log.push(line),
  });
  const before = await netSockets();
  const stalled = await stalledPeer(server, PARTIAL_HELLO);
  const alice = await JsonClient.join(server, "Alice", trusted);
  const bob = await JsonClient.join(server, "Bob", trusted);
  await alice.send({ type: "say", text: "not blocked" });
  assert.equal((await bob.next("message")).text, "not blocked");
  // The server closes it: the end of its stream comes once the TLS side let go.
  assert.deepEqual((await readToEnd(stalled)).bytes, []);
  stalled.close();
  assert.ok(
    log.includes(`drop 127.0.0.1:${stalled.localAddr.port}: no TLS handshake after 300 ms`),
    log.join("\n"),
  );
  assert.equal(server.connections, 2);
  await alice.close();
  await bob.close();
  await until(
    () => server.connections === 0,
    () => `the server to count 0 connections (it counts ${server.connections})`,
  );
  await socketsClosedSince(before);
  await server.shutdown();
});

Deno.test("100 stalled peers from one address do not stop a TLS client from another joining", async () => {
  const log: string[] = [];
  // Both IPv4 and IPv6 (dual stack): ::1 and 127.0.0.1 are two addresses.
  const server = startServer({
    hostname: "::",
    tls: { cert, key },
    maxPerAddress: 4,
    maxPending: 8,
    log: (line) => log.push(line),
  });
  const stalled: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 100; i++) stalled.push(await stalledPeer(server, PARTIAL_HELLO, "::1"));
    // Past 8 pending, newcomers are closed at once; of those 8, the 4 over the
    // address's limit have a second to finish their handshake and be refused.
    await until(
      () => server.connections === 4,
      () => `the server to count 4 connections (it counts ${server.connections})`,
    );
    assert.ok(log.some((line) => line.startsWith("shedding connections")), log.join("\n"));
    assert.equal(
      log.filter((line) => /^refuse \[::1\]:\d+: over 4 connections from /.test(line)).length,
      4,
      log.join("\n"),
    );
    assert.equal(log.filter((line) => /no TLS handshake after 1000 ms$/.test(line)).length, 4);
    // The 4 within the limit still stall (the registration timeout is a minute).
    const alice = await JsonClient.join(server, "Alice", trusted);
    assert.equal(server.connections, 5);
    await cleanUp(server, alice);
  } finally {
    closeAll(stalled);
    await server.shutdown();
  }
});

Deno.test("a peer that half-closes or resets, before or after its handshake, releases everything", async () => {
  const log: string[] = [];
  const server = startServer({ tls: { cert, key }, log: (line) => log.push(line) });
  const before = await netSockets();
  const alice = await JsonClient.join(server, "Alice", trusted);
  // Half-close after joining: the rest of what the server says still arrives.
  const bob = await JsonClient.join(server, "Bob", trusted);
  await (bob.raw.conn as Deno.TlsConn).closeWrite();
  await bob.raw.ended;
  assert.equal((await alice.next("leave")).name, "Bob");
  await bob.close();
  // A reset: closed with the welcome unread.
  const carol = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.addr.port,
    ...trusted.tls,
  });
  await carol.write(new TextEncoder().encode('{"type":"hello","version":1,"name":"Carol"}\n'));
  assert.equal((await alice.next("join")).name, "Carol");
  carol.close();
  assert.equal((await alice.next("leave")).name, "Carol");
  // Before the handshake: half of a hello, then a half-close, or a close.
  const halfHello = await stalledPeer(server, PARTIAL_HELLO);
  await halfHello.closeWrite();
  await readToEnd(halfHello);
  halfHello.close();
  const gone = await stalledPeer(server, PARTIAL_HELLO);
  gone.close();
  await alice.close();
  await until(
    () => server.connections === 0,
    () => `the server to count 0 connections (it counts ${server.connections})`,
  );
  await socketsClosedSince(before);
  await server.shutdown();
  assert.ok(log.some((line) => line.includes("TLS handshake failed")), log.join("\n"));
});

Deno.test("the server closing a TLS session reaches its peer", async () => {
  const log: string[] = [];
  const server = startServer({
    tls: { cert, key },
    registrationTimeoutMs: 300,
    log: (line) => log.push(line),
  });
  const before = await netSockets();
  // Handshake done, no name: the timeout's goodbye, then the end.
  const silent = await JsonClient.connect(server, trusted);
  await silent.raw.ended;
  assert.deepEqual(silent.raw.lines.slice(-1), ["Goodbye (registration timed out)"]);
  // A kick, in the protocol the peer speaks, then the end.
  const bob = await JsonClient.join(server, "Bob", trusted);
  server.hub.closeAll("shutdown", "maintenance");
  assert.equal((await bob.next("bye")).reason, "maintenance");
  await bob.raw.ended;
  await silent.close();
  await bob.close();
  await until(
    () => server.connections === 0,
    () => `the server to count 0 connections (it counts ${server.connections})`,
  );
  await socketsClosedSince(before);
  await server.shutdown();
});

Deno.test("shutdown with TLS peers in every state is prompt and releases everything", async () => {
  // Taken before the server starts: its listener must be closed at the end too.
  const before = await netSockets();
  const server = startServer({ tls: { cert, key } });
  const silent = await stalledPeer(server, null);
  const refused = await stalledPeer(server, new TextEncoder().encode("Bob\n"));
  const handshaking = await stalledPeer(server, PARTIAL_HELLO);
  const unnamed = await JsonClient.connect(server, trusted);
  await unnamed.send({ type: "ping" });
  await unnamed.next("pong");
  const alice = await JsonClient.join(server, "Alice", trusted);
  // Clients close when the server has said goodbye; the others stay open.
  alice.raw.ended.then(() => alice.close());
  unnamed.raw.ended.then(() => unnamed.close());
  await until(
    () => server.connections === 5,
    () => `the server to count 5 connections (it counts ${server.connections})`,
  );
  const started = performance.now();
  await server.shutdown();
  assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`);
  assert.equal((await alice.next("bye")).code, "shutdown");
  for (const conn of [silent, refused, handshaking]) await readToEnd(conn);
  closeAll([silent, refused, handshaking]);
  await unnamed.close();
  await alice.close();
  await socketsClosedSince(before);
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
  assert.equal(
    new TextDecoder().decode(new Uint8Array(bytes)),
    "This chat server does not use TLS; connect without --tls\r\n",
  );
  await server.shutdown();
});
