/**
 * TLS on the public port alone (lib/server/tls_front.ts, tls_stream.ts): a
 * local program finds no other port to hold the server's descriptors with;
 * every way a TLS peer can end (silence mid-handshake, a close or a reset
 * mid-handshake, a reset mid-session) frees its one socket at once or at the
 * deadline; a handshake of garbage fails alone; a busy server does not take a
 * TLS client for silent. Then the whole program:
 * `chat serve --tls-cert`, `chat join --tls --ca`, a bot on node:tls and a
 * plain-text client over TLS chat together, a plain peer is told to use TLS,
 * and SIGTERM says goodbye to each.
 *
 * @module
 */

import assert from "node:assert/strict";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { makeCertificate } from "../lib/auth/certs.ts";
import { type LineRead, readLines } from "../lib/io/line_reader.ts";
import { TLS_ONLY_MESSAGE } from "../lib/protocol/tls_notices.ts";
import type { ChatServer } from "../lib/serve/chat_server.ts";
import { spawnJoin } from "./chat_helpers.ts";
import {
  cleanUp,
  JsonClient,
  LineClient,
  startServer,
  streamReader,
  until,
  withDir,
  within,
} from "./_helpers.ts";
import { listeningPorts, procSockets, socketsOnPort } from "./_proc.ts";
import { ServeProcess } from "./_serve_process.ts";

const { cert, key } = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
const trusted = { tls: { caCerts: [cert] } };

/** The start of a ClientHello (handshake record, TLS 1.0 framing, a length), and no more. */
const PARTIAL_HELLO = new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4]);

/** A whole ClientHello for this certificate, as node:tls writes it first. */
async function clientHello(): Promise<Uint8Array> {
  const hello = Promise.withResolvers<Uint8Array>();
  const capture = new Duplex({
    read() {},
    write(chunk: Uint8Array, _encoding, callback) {
      hello.resolve(new Uint8Array(chunk));
      callback();
    },
  });
  const client = tls.connect({ socket: capture, ca: [cert], servername: "localhost" });
  client.on("error", () => {});
  try {
    return await within(hello.promise, () => "node:tls wrote no ClientHello");
  } finally {
    client.destroy();
  }
}

/** Reads until the peer closes or resets; rejects if that takes longer than WAIT_MS. */
async function ended(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  const drain = async () => {
    try {
      while ((await conn.read(buffer)) !== null) { /* dropped */ }
    } catch {
      // A reset ends it too.
    }
  };
  await within(drain(), () => "the server left the connection open");
}

/** How many sockets the server (in this process) holds on its public port; null if /proc cannot tell. */
async function serverSockets(server: ChatServer): Promise<number | null> {
  const sockets = await procSockets();
  return sockets && socketsOnPort(sockets, server.addr.port);
}

/** Waits until the server holds `count` sockets on its port (where /proc can tell). */
async function serverHolds(server: ChatServer, count: number): Promise<void> {
  let held: number | null = null;
  await until(async () => {
    held = await serverSockets(server);
    return held === null || held === count;
  }, () => `the server to hold ${count} sockets on its port (it holds ${held})`);
}

/** A node:net socket to `port`, connected. */
async function netSocket(port: number): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  await within(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    }),
    () => "could not connect",
  );
  return socket;
}

/** A JSON bot on node:tls: its frames as they come, and a way to wait for one. */
class NodeTlsBot {
  readonly frames: Record<string, unknown>[] = [];
  readonly socket: tls.TLSSocket;
  #rest = "";
  #seen = 0;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      const lines = (this.#rest + text).split("\n");
      this.#rest = lines.pop()!;
      for (const line of lines) this.frames.push(JSON.parse(line));
    });
    socket.on("error", () => {});
  }

  /** Connects over `transport` (or a new connection to `port`) and says hello as `name`. */
  static async join(port: number, name: string, transport?: net.Socket): Promise<NodeTlsBot> {
    const socket = tls.connect({
      ...(transport ? { socket: transport } : { host: "127.0.0.1", port }),
      ca: [cert],
      servername: "localhost",
    });
    await within(
      new Promise((resolve, reject) => {
        socket.once("secureConnect", resolve);
        socket.once("error", reject);
      }),
      () => "the node:tls handshake did not finish",
    );
    const bot = new NodeTlsBot(socket);
    bot.send({ type: "hello", version: 1, name });
    await bot.next("welcome");
    return bot;
  }

  send(frame: Record<string, unknown>): void {
    this.socket.write(JSON.stringify(frame) + "\n");
  }

  /** The next frame of `type` after the last one returned. */
  async next(type: string): Promise<Record<string, unknown>> {
    let found = -1;
    await until(() => {
      found = this.frames.findIndex((frame, i) => i >= this.#seen && frame.type === type);
      return found >= 0;
    }, () => `a ${type} frame; got ${JSON.stringify(this.frames.slice(this.#seen))}`);
    this.#seen = found + 1;
    return this.frames[found];
  }
}

Deno.test("with a certificate the server listens on its port only; 50 stalled handshakes there are dropped with their sockets", async () => {
  const log: string[] = [];
  const server = startServer({
    tls: { cert, key },
    registrationTimeoutMs: 500,
    maxPerAddress: 0,
    log: (line) => log.push(line),
  });
  const stalled: Deno.Conn[] = [];
  let alice: JsonClient | null = null;
  try {
    const sockets = await procSockets();
    if (sockets === null) return; // Not Linux: no /proc to look at.
    // A local program sees one port to connect to: the public one.
    assert.deepEqual(listeningPorts(sockets), [server.addr.port]);
    for (let i = 0; i < 50; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      await conn.write(PARTIAL_HELLO);
      stalled.push(conn);
    }
    // They keep their ends open; the server lets go of its own at the deadline (on a loaded
    // machine, some before the last has connected: the log, not a count at one moment, says so).
    await Promise.all(stalled.map(ended));
    await serverHolds(server, 0);
    assert.equal(
      log.filter((line) => / no TLS handshake after 500 ms$/.test(line)).length,
      50,
      log.join("\n"),
    );
    assert.equal(server.connections, 0);
    alice = await JsonClient.join(server, "Alice", trusted);
    await serverHolds(server, 1);
  } finally {
    for (const conn of stalled) conn.close();
    await cleanUp(server, ...(alice ? [alice] : []));
  }
});

Deno.test("a peer that closes or resets mid-handshake is let go at once, long before the deadline", async () => {
  const log: string[] = [];
  // The deadline is a minute: only noticing the peer's end can free its socket in time.
  const server = startServer({ tls: { cert, key }, log: (line) => log.push(line) });
  const hello = await clientHello();
  try {
    // A FIN once the server has answered the ClientHello.
    const closing = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await closing.write(hello);
    assert.ok((await closing.read(new Uint8Array(16 * 1024)))! > 0, "the server's first flight");
    await closing.closeWrite();
    await ended(closing);
    closing.close();
    // A reset at the same point.
    const resetting = await netSocket(server.addr.port);
    const answered = new Promise((resolve) => resetting.once("data", resolve));
    resetting.write(hello);
    await within(answered, () => "no answer to the ClientHello");
    resetting.resetAndDestroy();
    await until(
      () => server.connections === 0,
      () => `0 connections (the server counts ${server.connections})`,
    );
    await serverHolds(server, 0);
    assert.equal(
      log.filter((line) => / TLS handshake failed \(/.test(line)).length,
      2,
      log.join("\n"),
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("handshakes of garbage, sent whole in the first packet, fail one by one and the server goes on", async () => {
  const log: string[] = [];
  const server = startServer({ tls: { cert, key }, log: (line) => log.push(line) });
  // A handshake record's header and a body that is no ClientHello; and bytes after 0x16.
  const records = [
    new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x5f, ...new Array(95).fill(0xaa)]),
    new Uint8Array([0x16, ...new Array(299).fill(0x41)]),
  ];
  try {
    for (const record of records) {
      for (let i = 0; i < 5; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
        await conn.write(record);
        await ended(conn);
        conn.close();
      }
    }
    const alice = await JsonClient.join(server, "Alice", trusted);
    await alice.close();
    assert.equal(
      log.filter((line) => / TLS handshake failed \(/.test(line)).length,
      10,
      log.join("\n"),
    );
  } finally {
    await server.shutdown();
  }
});

/**
 * A TLS client in a process of its own: it connects, prints "connected",
 * sends its ClientHello 200 ms later, says hello as Late, and prints the
 * first line the server sends (or the error).
 */
const LATE_CLIENT = `
  import net from "node:net";
  import tls from "node:tls";
  const [port, cert] = [Number(Deno.args[0]), Deno.args[1]];
  const raw = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => raw.once("connect", resolve));
  console.log("connected");
  await new Promise((resolve) => setTimeout(resolve, 200));
  const socket = tls.connect({ socket: raw, ca: [cert], servername: "localhost" });
  socket.on("error", (error) => { console.log("error: " + error.message); Deno.exit(0); });
  await new Promise((resolve) => socket.once("secureConnect", resolve));
  socket.write('{"type":"hello","version":1,"name":"Late"}\\n');
  socket.setEncoding("utf8");
  socket.on("data", (text) => { console.log(text.split("\\n")[0]); Deno.exit(0); });
`;

Deno.test("a server too busy to read a ClientHello for a second does not take its client for silent", async () => {
  const log: string[] = [];
  const server = startServer({ tls: { cert, key }, log: (line) => log.push(line) });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", LATE_CLIENT, String(server.addr.port), cert],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdout = streamReader(child.stdout);
  const lines = readLines(stdout);
  const line = async () => {
    const next = await within(lines.next(), () => "the client said nothing");
    return next.done || next.value.kind !== "line" ? "(end)" : next.value.text;
  };
  try {
    assert.equal(await line(), "connected");
    await until(() => server.connections === 1, "the server to take the connection");
    // The server's thread does nothing else for 1.5 s, as in a storm of
    // handshakes; meanwhile the ClientHello comes, and the first byte's wait passes.
    const busyUntil = performance.now() + 1_500;
    while (performance.now() < busyUntil) { /* busy */ }
    assert.match(await line(), /^\{"type":"welcome"/);
    assert.ok(!log.some((entry) => entry.includes("not TLS")), log.join("\n"));
  } finally {
    await stdout.cancel();
    await within(child.status, () => "the client did not exit");
    await server.shutdown();
  }
});

Deno.test("a TLS session reset mid-session ends at once: the others see its user leave, its socket is freed", async () => {
  const server = startServer({ tls: { cert, key } });
  const alice = await JsonClient.join(server, "Alice", trusted);
  const transport = await netSocket(server.addr.port);
  try {
    const bot = await NodeTlsBot.join(server.addr.port, "Bot", transport);
    assert.equal((await alice.next("join")).name, "Bot");
    bot.send({ type: "say", text: "about to vanish" });
    assert.equal((await alice.next("message")).text, "about to vanish");
    await serverHolds(server, 2);
    transport.resetAndDestroy();
    const leave = await alice.next("leave");
    assert.deepEqual([leave.name, leave.reason], ["Bot", "disconnected"]);
    await serverHolds(server, 1);
    assert.equal(server.connections, 1);
  } finally {
    transport.destroy();
    await cleanUp(server, alice);
  }
});

Deno.test("chat join --tls --ca, a bot on node:tls and a plain-text client chat on one TLS server; a plain peer is told to use TLS; SIGTERM says goodbye to each", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/cert.pem`, cert);
    await Deno.writeTextFile(`${dir}/key.pem`, key);
    const server = new ServeProcess([
      ...["--host", "127.0.0.1", "--port", "0"],
      ...["--tls-cert", `${dir}/cert.pem`, "--tls-key", `${dir}/key.pem`],
    ]);
    const port = await server.port();
    const join = spawnJoin([
      `127.0.0.1:${port}`,
      ...["--tls", "--ca", `${dir}/cert.pem`, "--name", "Alice"],
    ]);
    const joinOut = streamReader(join.stdout);
    const joinLines = readLines(joinOut);
    const joinSaw: string[] = [];
    const joinShows = (pattern: RegExp) =>
      within(
        (async () => {
          while (true) {
            const next: IteratorResult<LineRead> = await joinLines.next();
            if (next.done) throw new Error(`chat join ended:\n${joinSaw.join("\n")}`);
            if (next.value.kind !== "line") continue;
            joinSaw.push(next.value.text);
            if (pattern.test(next.value.text)) return;
          }
        })(),
        () => `chat join showed no ${pattern}:\n${joinSaw.join("\n")}`,
      );
    const stdin = join.stdin.getWriter();
    let bot: NodeTlsBot | null = null;
    let carol: LineClient | null = null;
    try {
      await joinShows(/Welcome, Alice!/);
      bot = await NodeTlsBot.join(port, "Bot");
      carol = await LineClient.connect(port, trusted);
      await carol.waitFor(/^Welcome to chat!/);
      await carol.write("Carol\n");
      await carol.waitFor(/Welcome, Carol!/);
      bot.send({ type: "say", text: "hello from node:tls" });
      assert.equal((await bot.next("message")).text, "hello from node:tls", "its echo");
      await joinShows(/Bot: hello from node:tls$/);
      await carol.waitFor(/Bot: hello from node:tls$/);
      await stdin.write(new TextEncoder().encode("hello from chat join\n"));
      const fromAlice = await bot.next("message");
      assert.deepEqual([fromAlice.from, fromAlice.text], ["Alice", "hello from chat join"]);
      await carol.waitFor(/Alice: hello from chat join$/);
      await carol.write("hello in plain text\n");
      assert.equal((await bot.next("message")).text, "hello in plain text");
      await joinShows(/Carol: hello in plain text$/);
      // Plain TCP on the TLS port: one line, then the end.
      const plain = await LineClient.connect(port);
      await plain.waitFor(TLS_ONLY_MESSAGE);
      await within(plain.ended, () => "the plain peer was left open");
      await plain.close();
      server.child.kill("SIGTERM");
      assert.equal((await bot.next("bye")).code, "shutdown");
      await carol.waitFor(/\*\*\* The server is shutting down/);
      const { code } = await within(join.status, () => "chat join did not exit");
      assert.equal(code, 0, joinSaw.join("\n"));
      const finished = await server.finish();
      assert.equal(finished.code, 0, finished.stderr);
    } finally {
      bot?.socket.destroy();
      await carol?.close();
      await stdin.close().catch(() => {});
      await joinOut.cancel().catch(() => {});
      await join.stderr.cancel().catch(() => {});
      try {
        join.kill();
      } catch {
        // Exited already.
      }
      try {
        server.child.kill("SIGTERM");
        await server.finish();
      } catch {
        // Exited already, and read.
      }
    }
  });
});
