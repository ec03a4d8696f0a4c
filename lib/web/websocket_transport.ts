/**
 * A WebSocket as a {@link Transport}, so that the web page's users go
 * through the same connection life as TCP clients (lib/server/connection.ts):
 * the same line cap, login, flood control, keepalive and queue limit.
 *
 * Each message from the browser is one JSON frame: it is read as that frame
 * followed by a line ending (raw line breaks inside it, which JSON allows
 * only as whitespace, read as spaces, so a message is never two frames).
 * Each line the connection writes goes out as one binary message of UTF-8
 * JSON without its line ending: binary, because the server encodes every
 * event once as bytes, and a text message would decode them again for each
 * recipient. A peer that said `batch` in its `hello` gets each write (what
 * a turn queued for it) as one message instead, its lines separated by
 * newlines as on TCP: Deno writes every message to the socket on its own,
 * so one per frame cost twice what a TCP delivery does.
 *
 * A browser that stops reading makes the socket's `bufferedAmount` grow: a
 * write then waits for it to drain, the connection's outbox fills meanwhile,
 * and past the queue limit the browser is dropped, as a TCP peer is.
 *
 * @module
 */

import type { Transport } from "../server/transport.ts";

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;

/** Bytes the socket may hold unsent before a write waits (as a kernel's send buffer would). */
const HIGH_WATER_BYTES = 256 * 1024;
/** How often a waiting write looks at the socket again (it has no event for draining). */
const DRAIN_POLL_MS = 10;
/** Messages received but not read yet beyond this many bytes: the peer floods; it is closed. */
const MAX_UNREAD_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

/** The policy violation close code of RFC 6455. */
const POLICY_VIOLATION = 1008;

/** A server-side WebSocket (from `Deno.upgradeWebSocket`) read and written as a byte stream. */
export class WebSocketTransport implements Transport {
  /** The browser's address. */
  readonly remoteAddr: Deno.NetAddr;
  #socket: WebSocket;
  /** Messages not read yet, each already ending in a newline. */
  #unread: Uint8Array[] = [];
  #unreadBytes = 0;
  /** How much of the first unread message was read. */
  #offset = 0;
  #ended = false;
  /** Resolves once the socket is closed or closing. */
  #gone = Promise.withResolvers<void>();
  /** Several lines per message: the peer asked for it. */
  #batch = false;
  #reader: PromiseWithResolvers<void> | null = null;
  #opened: Promise<void>;
  /** Longest message kept whole: a longer one is cut, and the connection refuses it as too long. */
  #maxMessageBytes: number;

  /**
   * Wraps `socket`, which may still be opening; `maxLineBytes` is the
   * connection's line cap (a longer message is kept only up to it).
   */
  constructor(socket: WebSocket, remoteAddr: Deno.NetAddr, maxLineBytes: number) {
    this.#socket = socket;
    this.remoteAddr = remoteAddr;
    this.#maxMessageBytes = maxLineBytes + 1;
    socket.binaryType = "arraybuffer";
    const opened = Promise.withResolvers<void>();
    this.#opened = opened.promise;
    socket.onopen = () => opened.resolve();
    socket.onmessage = (event) => this.#received(event.data);
    socket.onclose = () => {
      opened.resolve();
      this.#end();
    };
    // An error is followed by close, which is what the connection needs to know.
    socket.onerror = (event) => event.preventDefault();
  }

  /** Copies what the browser sent into `buffer`; null once the socket has closed. */
  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#unread.length === 0) {
      if (this.#ended) return null;
      this.#reader = Promise.withResolvers<void>();
      await this.#reader.promise;
    }
    const first = this.#unread[0];
    const n = Math.min(buffer.length, first.length - this.#offset);
    buffer.set(first.subarray(this.#offset, this.#offset + n));
    this.#offset += n;
    if (this.#offset === first.length) {
      this.#unread.shift();
      this.#unreadBytes -= first.length;
      this.#offset = 0;
    }
    return n;
  }

  /** Sends every later write as one message, its lines separated by newlines. */
  batchLines(): void {
    this.#batch = true;
  }

  /**
   * Sends each line of `bytes` as one message (with {@link batchLines}, all
   * of them as one); resolves once the socket's unsent bytes are back under
   * its high-water mark. Every write the connection makes is whole lines
   * (events end in a newline).
   */
  async write(bytes: Uint8Array): Promise<number> {
    const socket = this.#socket;
    if (socket.readyState === WebSocket.CONNECTING) await this.#opened;
    if (socket.readyState !== WebSocket.OPEN) throw new Deno.errors.BrokenPipe("WebSocket closed");
    if (this.#batch) {
      const end = bytes.at(-1) === NEWLINE ? bytes.length - 1 : bytes.length;
      if (end > 0) socket.send(bytes.subarray(0, end));
    } else {
      let start = 0;
      while (start < bytes.length) {
        let end = bytes.indexOf(NEWLINE, start);
        if (end < 0) end = bytes.length;
        if (end > start) socket.send(bytes.subarray(start, end));
        start = end + 1;
      }
    }
    while (socket.bufferedAmount > HIGH_WATER_BYTES && socket.readyState === WebSocket.OPEN) {
      // Closing ends the wait at once: no timer is left behind the connection.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise((resolve) => timer = setTimeout(resolve, DRAIN_POLL_MS)),
        this.#gone.promise,
      ]);
      clearTimeout(timer);
    }
    return bytes.length;
  }

  /** Starts the closing handshake; reads go on until the browser answers it. */
  closeWrite(): Promise<void> {
    this.#closeSocket(1000);
    return Promise.resolve();
  }

  /** Closes the socket; a read waiting ends with null. */
  close(): void {
    this.#closeSocket(1000);
    this.#end();
  }

  #closeSocket(code: number): void {
    this.#gone.resolve();
    const state = this.#socket.readyState;
    if (state === WebSocket.CLOSING || state === WebSocket.CLOSED) return;
    try {
      this.#socket.close(code);
    } catch {
      // Already closing underneath: nothing left to do.
    }
  }

  #received(data: unknown): void {
    if (this.#ended) return;
    let bytes: Uint8Array;
    if (typeof data === "string") {
      // At most 3 bytes per UTF-16 unit: no more is encoded than the cap keeps.
      const text = data.length * 3 > this.#maxMessageBytes
        ? data.slice(0, this.#maxMessageBytes)
        : data;
      bytes = encoder.encode(text);
    } else if (data instanceof ArrayBuffer) {
      bytes = new Uint8Array(data);
    } else {
      return;
    }
    const length = Math.min(bytes.length, this.#maxMessageBytes);
    const line = new Uint8Array(length + 1);
    line.set(bytes.subarray(0, length));
    for (let i = 0; i < length; i++) {
      if (line[i] === NEWLINE || line[i] === CARRIAGE_RETURN) line[i] = SPACE;
    }
    line[length] = NEWLINE;
    this.#unreadBytes += line.length;
    if (this.#unreadBytes > MAX_UNREAD_BYTES) {
      this.#closeSocket(POLICY_VIOLATION);
      this.#end();
      return;
    }
    this.#unread.push(line);
    this.#wake();
  }

  #end(): void {
    this.#gone.resolve();
    if (this.#ended) return;
    this.#ended = true;
    this.#unread = [];
    this.#unreadBytes = 0;
    this.#wake();
  }

  #wake(): void {
    const reader = this.#reader;
    this.#reader = null;
    reader?.resolve();
  }
}
