/**
 * `chat join` follows end-to-end delivery (issue 15), in a real terminal
 * (tmux) against a real `chat serve`: through a loopback proxy that can stop
 * passing the server's bytes (a frozen link) and then cut the client's side
 * while the server's side stays open (so the server thinks the connection
 * alive, as with a Wi-Fi link that died), the client comes back, is shown the
 * room messages it missed once each, and a line it sent meanwhile arrives
 * once and shows once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { chatCommand } from "./_chat_command.ts";
import { JsonClient, within } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";
import { rowsWith, screenShows, shellLine, typeLine, withTerminal } from "./_tmux.ts";

// Coming back takes the client's back-off (half a second, then more): longer than WAIT_MS.
const BACK_WAIT_MS = 20_000;

/** One client's connection through the proxy: its two sockets and the pumps between them. */
interface Pair {
  client: Deno.Conn;
  server: Deno.Conn;
  // The server's bytes are read and dropped instead of passed on: a link frozen one way.
  stalled: boolean;
  pumps: Promise<void>[];
}

/**
 * A TCP proxy on a loopback port to `port`, that can freeze the way back to
 * its clients (`stall`) and then drop them while keeping their server side
 * open (`cut`). Small on purpose: what these tests need, no more.
 */
class StallProxy {
  readonly port: number;
  #listener: Deno.Listener;
  #pairs: Pair[] = [];
  #accepting: Promise<void>;

  constructor(port: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept(port);
  }

  async #accept(port: number): Promise<void> {
    for await (const client of this.#listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port });
      const pair: Pair = { client, server, stalled: false, pumps: [] };
      pair.pumps.push(pump(client, server, pair, false), pump(server, client, pair, true));
      this.#pairs.push(pair);
    }
  }

  /** From now on, what the server sends to the clients connected so far is lost. */
  stall(): void {
    for (const pair of this.#pairs) pair.stalled = true;
  }

  /** Closes the client side of the connections so far; their server side stays open. */
  cut(): void {
    for (const pair of this.#pairs) {
      pair.stalled = true;
      close(pair.client);
    }
  }

  /** Closes everything and waits for the pumps. */
  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting.catch(() => {});
    for (const pair of this.#pairs) {
      close(pair.client);
      close(pair.server);
    }
    await Promise.all(this.#pairs.flatMap((pair) => pair.pumps));
  }
}

// Copies `from` to `to` until either ends; the server's bytes (`back`) are dropped while stalled.
async function pump(from: Deno.Conn, to: Deno.Conn, pair: Pair, back: boolean): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  try {
    while (true) {
      const n = await from.read(buffer);
      if (n === null) break;
      if (back && pair.stalled) continue;
      let done = 0;
      while (done < n) done += await to.write(buffer.subarray(done, n));
    }
  } catch {
    // A socket closed by `cut` or `close`: the pump ends.
  }
  // A cut client's server side stays open (the server must not notice): `close` ends it.
  if (!pair.stalled) close(to);
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/** Polls the screen until `pattern` shows; resolves to the whole screen. */
async function shows(socket: string, pattern: RegExp, ms = BACK_WAIT_MS): Promise<string> {
  return (await screenShows(socket, pattern, ms)).input;
}

/** `chat serve`, a proxy to it, and Alice's `chat join` through the proxy in a terminal. */
async function withAliceBehindProxy(
  body: (socket: string, proxy: StallProxy, bob: JsonClient) => Promise<void>,
): Promise<void> {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0"]);
  let proxy: StallProxy | null = null;
  let bob: JsonClient | null = null;
  try {
    const port = await server.port();
    proxy = new StallProxy(port);
    bob = await JsonClient.join(port, "Bob");
    const socket = `chat-delivery-${crypto.randomUUID()}`;
    const join = chatCommand(["join", `127.0.0.1:${proxy.port}`, "--name", "Alice"]);
    await withTerminal(socket, `${shellLine(join)}; echo "[exit $?]"; sleep 60`, {
      columns: 100,
      rows: 40,
      env: { NO_COLOR: "1", CHAT_NAME: "", CHAT_PASSWORD: "" },
    }, async () => {
      await shows(socket, /Welcome, Alice!/);
      await body(socket, proxy!, bob!);
    });
  } finally {
    await bob?.close();
    await proxy?.close();
    server.child.kill("SIGTERM");
    await within(server.finish(), () => "chat serve did not stop");
  }
}

Deno.test("chat join shows the room messages said while its link was dead, once each", async () => {
  await withAliceBehindProxy(async (socket, proxy, bob) => {
    await bob.type("before the drop");
    await shows(socket, /Bob: before the drop/);
    proxy.stall();
    for (const text of ["missed one", "missed two"]) {
      await bob.type(text);
      // Bob's echo: the server has handed it to Alice's (dead) connection too.
      await bob.next("message", (m) => m.text === text);
    }
    proxy.cut();
    await shows(socket, /Reconnected to .* as Alice/);
    const screen = await shows(socket, /Bob: missed two/);
    for (const text of ["before the drop", "missed one", "missed two"]) {
      assert.equal(rowsWith(screen, `Bob: ${text}`).length, 1, screen);
    }
    // In the order they were said.
    assert.ok(screen.indexOf("Bob: missed one") < screen.indexOf("Bob: missed two"), screen);
  });
});

Deno.test("a line sent while the link froze arrives once and shows once, marked unsent meanwhile", async () => {
  await withAliceBehindProxy(async (socket, proxy, bob) => {
    proxy.stall();
    await typeLine(socket, "said while frozen");
    const got = await bob.next("message");
    assert.deepEqual([got.from, got.text], ["Alice", "said while frozen"]);
    // No answer comes back: the prompt says a line waits for one.
    await shows(socket, /^\(1 unsent\) Alice>/m);
    proxy.cut();
    await shows(socket, /Reconnected to .* as Alice/);
    await shows(socket, /Alice: said while frozen/);
    await shows(socket, /^Alice> *$/m);
    // Sent again once back, with the same cid: the server did not post it twice.
    await typeLine(socket, "and then this");
    const next = await bob.next("message");
    assert.deepEqual([next.from, next.text], ["Alice", "and then this"]);
    const screen = await shows(socket, /Alice: and then this/);
    assert.equal(rowsWith(screen, "Alice: said while frozen").length, 1, screen);
  });
});
