/**
 * Test helpers for the web page's WebSocket: a JSON-protocol client over
 * Deno's WebSocket, and a raw handshake for what a browser would send (an
 * `Origin`) or would not do (stop reading).
 *
 * @module
 */

import type { ChatEvent } from "../lib/core/events.ts";
import { WAIT_MS, within } from "./_helpers.ts";

/** A JSON-protocol client over a WebSocket: frames in, events kept in order. */
export class WsClient {
  readonly socket: WebSocket;
  /** Every event received so far. */
  readonly events: ChatEvent[] = [];
  /** How many frames each message held, in order (more than one only with `batch`). */
  readonly framesPerMessage: number[] = [];
  #seen = 0;
  #changed = Promise.withResolvers<void>();
  #closed = Promise.withResolvers<void>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      const text = typeof event.data === "string"
        ? event.data
        : new TextDecoder().decode(event.data);
      const lines = text.split("\n");
      for (const line of lines) this.events.push(JSON.parse(line));
      this.framesPerMessage.push(lines.length);
      this.#wake();
    };
    socket.onclose = () => {
      this.#closed.resolve();
      this.#wake();
    };
  }

  /** Opens a WebSocket to `url` (ws://host:port/socket). */
  static async open(url: string): Promise<WsClient> {
    const socket = new WebSocket(url);
    const opened = Promise.withResolvers<void>();
    socket.onopen = () => opened.resolve();
    socket.onerror = () => opened.reject(new Error(`cannot open ${url}`));
    await opened.promise;
    return new WsClient(socket);
  }

  /**
   * Opens a WebSocket and registers as `name`, waiting for `welcome`; `hello`
   * holds more of the hello frame (`batch`).
   */
  static async join(
    url: string,
    name: string,
    hello: Record<string, unknown> = {},
  ): Promise<WsClient> {
    const client = await WsClient.open(url);
    client.send({ type: "hello", version: 1, name, ...hello });
    await client.next("welcome");
    return client;
  }

  /** Sends one frame as a text message (a string is sent as it is). */
  send(frame: Record<string, unknown> | string): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Waits for the next event of `type` (after the last one waited for) that satisfies `where`. */
  async next<T extends ChatEvent["type"]>(
    type: T,
    where: (event: Extract<ChatEvent, { type: T }>) => boolean = () => true,
  ): Promise<Extract<ChatEvent, { type: T }>> {
    const deadline = performance.now() + WAIT_MS;
    while (true) {
      const index = this.events.findIndex((e, i) =>
        i >= this.#seen && e.type === type && where(e as Extract<ChatEvent, { type: T }>)
      );
      if (index >= 0) {
        this.#seen = index + 1;
        return this.events[index] as Extract<ChatEvent, { type: T }>;
      }
      const left = deadline - performance.now();
      if (left <= 0 || this.socket.readyState === WebSocket.CLOSED) {
        throw new Error(`no ${type} event; got:\n${JSON.stringify(this.events)}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#changed.promise,
        new Promise((resolve) => timer = setTimeout(resolve, left)),
      ]);
      clearTimeout(timer);
    }
  }

  /** Closes the socket and waits until it is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.#closed.promise;
  }

  #wake(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }
}

/**
 * Opens a TCP connection to `port` and asks for a WebSocket at /socket with
 * these extra headers (a `Host` among them replaces 127.0.0.1:PORT); resolves
 * to the connection and the response's status line.
 */
export async function rawUpgrade(
  port: number,
  headers: Record<string, string> = {},
): Promise<{ conn: Deno.Conn; status: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines = [
    "GET /socket HTTP/1.1",
    ...(headers.Host === undefined ? [`Host: 127.0.0.1:${port}`] : []),
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  await conn.write(new TextEncoder().encode(`${lines.join("\r\n")}\r\n\r\n`));
  // The status line arrives in the first read.
  const buffer = new Uint8Array(1024);
  const n = await conn.read(buffer);
  const text = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
  return { conn, status: text.split("\r\n")[0] };
}

/** A client's WebSocket text frame (masked, as a client's must be) holding `text`. */
export function maskedFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const header = payload.length < 126
    ? [0x81, 0x80 | payload.length]
    : [0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
  const mask = [1, 2, 3, 4];
  const frame = new Uint8Array(header.length + 4 + payload.length);
  frame.set(header);
  frame.set(mask, header.length);
  for (let i = 0; i < payload.length; i++) {
    frame[header.length + 4 + i] = payload[i] ^ mask[i % 4];
  }
  return frame;
}

/**
 * Asks `conn` for `path` by the name `host` (the `Host` header a browser
 * sends, whatever address the name led to); resolves to the response's status
 * line and body once the server has closed the connection, and closes it.
 */
export async function rawGet(
  conn: Deno.Conn,
  host: string,
  path = "/",
): Promise<{ status: string; body: string }> {
  try {
    const head = [`GET ${path} HTTP/1.1`, `Host: ${host}`, "Connection: close"];
    await conn.write(new TextEncoder().encode(`${head.join("\r\n")}\r\n\r\n`));
    const text = await within(
      new Response(conn.readable).text(),
      () => `no response to GET ${path} for ${host}`,
    );
    return { status: text.split("\r\n")[0], body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    try {
      conn.close();
    } catch { /* closed with its readable */ }
  }
}
