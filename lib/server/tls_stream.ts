/**
 * A server's TLS session over an accepted TCP connection, offered as the few
 * calls a {@link Connection} makes of a `Deno.Conn`: `read`, `write`,
 * `closeWrite`, `close`, and `handshake`.
 *
 * Deno's own TLS (`Deno.listenTls`) cannot close a connection whose
 * handshake has not finished: closing it hands the socket to a task that
 * waits for the handshake, with no time limit, so a peer that never finishes
 * its handshake keeps its socket. Here node:tls does the TLS in this process,
 * over a stream of our own on top of the TCP connection: it only turns the
 * bytes read from the connection into plaintext, and plaintext into bytes to
 * write. The TCP connection stays ours, and {@link TlsStream.close} closes it
 * at once, mid-handshake or not: its descriptor is free when `close` returns.
 *
 * The cost: the handshake's work runs on this thread (Deno's listener ran it
 * on its own), and an idle session holds about 17 KB more than a relayed
 * one did; one descriptor instead of three (docs/PERFORMANCE.md).
 *
 * However the peer ends, reading ends: its close_notify or its end of stream
 * (FIN) is the end of input, once what came before has been read; a reset
 * fails the read. Before the handshake is done, any of them (or a failed
 * handshake) fails {@link TlsStream.handshake} instead.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import { setImmediate } from "node:timers";
import tls from "node:tls";
import { writeAll } from "../io/bytes.ts";

/**
 * Transport reads start with a small buffer that doubles while reads fill it,
 * up to a full TLS record: an idle connection's pending read holds the small
 * one. Each read is copied out, so the buffer is used again.
 */
const MIN_READ = 1024;
/** Largest transport read buffer: a full TLS record and its header. */
const MAX_READ = 16 * 1024 + 5;

/** What the peer's side of a {@link TlsStream} has come to. */
type PeerState = "open" | "ended" | "failed";

/** A read waiting for the peer. */
interface Waiter {
  buffer: Uint8Array;
  resolve: (n: number | null) => void;
  reject: (error: unknown) => void;
}

/** Raised by calls on a stream that was closed. */
export class StreamClosedError extends Error {
  constructor() {
    super("The TLS connection is closed");
    this.name = "StreamClosedError";
  }
}

/**
 * The server's side of a TLS session on `tcp`, accepted by a TCP listener.
 * The handshake starts at once; {@link handshake} tells when it is done.
 */
export class TlsStream {
  /** The peer's address: the TCP connection's own. */
  readonly remoteAddr: Deno.NetAddr;
  /** This side's address. */
  readonly localAddr: Deno.NetAddr;
  #tcp: Deno.TcpConn;
  #socket: tls.TLSSocket;
  #handshake: Promise<void>;
  /** Plaintext received and not read yet; the socket is paused while there is some. */
  #pending: Uint8Array | null = null;
  #peer: PeerState = "open";
  #error: unknown = null;
  #waiter: Waiter | null = null;
  #closed = false;

  /**
   * Serves TLS on `tcp`, whose first bytes, already read from it, are
   * `first` (the start of the peer's ClientHello).
   */
  constructor(tcp: Deno.TcpConn, first: Uint8Array, context: tls.SecureContext) {
    this.#tcp = tcp;
    this.remoteAddr = tcp.remoteAddr;
    this.localAddr = tcp.localAddr;
    const { stream, start } = transport(tcp, first);
    this.#socket = new tls.TLSSocket(stream, { isServer: true, secureContext: context });
    // Deno's node:tls throws out of a callback, which ends the process, when
    // bytes it cannot parse are there already as the TLS socket starts (on
    // the next tick); once started, it reports them as a failed handshake.
    setImmediate(start);
    const socket = this.#socket;
    this.#handshake = new Promise<void>((resolve, reject) => {
      socket.once("secure", () => resolve());
      // Whichever comes first: a later one does nothing.
      socket.once("error", reject);
      socket.once("end", () => reject(new Error("the peer closed during the TLS handshake")));
      socket.once(
        "close",
        () => reject(new Error("the connection closed during the TLS handshake")),
      );
    });
    // Awaited by whoever serves the connection; a failure is theirs to report.
    this.#handshake.catch(() => {});
    socket.on("data", (chunk: Buffer) => this.#received(chunk));
    socket.on("end", () => this.#peerDone("ended", null));
    socket.on("error", (error: unknown) => this.#peerDone("failed", error));
    socket.on("close", () => this.#peerDone("ended", null));
  }

  /** Resolves when the handshake is done; rejects when it failed or the connection ended first. */
  handshake(): Promise<void> {
    return this.#handshake;
  }

  /**
   * Reads plaintext into `buffer`: how many bytes, or null at the peer's end
   * of input (and once the stream is closed). Rejects when the connection
   * failed (a reset). One read at a time.
   */
  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#pending !== null) return Promise.resolve(this.#take(buffer));
    if (this.#closed || this.#peer === "ended") return Promise.resolve(null);
    if (this.#peer === "failed") return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#waiter = { buffer, resolve, reject };
    });
  }

  /**
   * Writes `bytes` as plaintext; resolves to their length once they are
   * encrypted and written to the TCP connection, so a peer that does not read
   * holds writes back, as a `Deno.Conn`'s does.
   */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new StreamClosedError());
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (error) => error ? reject(error) : resolve(bytes.length));
    });
  }

  /**
   * Closes this side for writing, after what was written: a close_notify,
   * then the end of the TCP stream. The peer's side stays open for reading.
   */
  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(new StreamClosedError());
    return new Promise((resolve) => {
      // A stream destroyed meanwhile calls back with an error: closed all the same.
      this.#socket.end(() => resolve());
      this.#socket.once("close", () => resolve());
    });
  }

  /** Closes the connection now, whatever it is doing; a read in progress ends (null). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = null;
    this.#socket.destroy();
    try {
      this.#tcp.close();
    } catch {
      // Closed already, by the transport's end.
    }
    this.#settle(null, null);
  }

  /** Hands plaintext to the waiting read, or keeps it (pausing the socket) until one comes. */
  #received(chunk: Uint8Array): void {
    if (this.#closed) return;
    if (this.#pending === null) {
      this.#pending = chunk;
    } else {
      // A chunk the socket had ready when it was paused.
      const joined = new Uint8Array(this.#pending.length + chunk.length);
      joined.set(this.#pending);
      joined.set(chunk, this.#pending.length);
      this.#pending = joined;
    }
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter.resolve(this.#take(waiter.buffer));
    }
    if (this.#pending !== null) this.#socket.pause();
  }

  /** Copies pending plaintext into `buffer`; resumes the socket once all is read. */
  #take(buffer: Uint8Array): number {
    const pending = this.#pending!;
    const n = Math.min(buffer.length, pending.length);
    buffer.set(n === pending.length ? pending : pending.subarray(0, n));
    if (n < pending.length) {
      this.#pending = pending.subarray(n);
    } else {
      this.#pending = null;
      if (!this.#closed) this.#socket.resume();
    }
    return n;
  }

  /** The peer's side is over: a read waiting for it ends; later reads say so too. */
  #peerDone(state: Exclude<PeerState, "open">, error: unknown): void {
    if (this.#peer === "open") {
      this.#peer = state;
      this.#error = error;
    }
    // Pending plaintext is read first: the waiter, if any, has none left.
    if (this.#pending === null) this.#settle(this.#peer === "failed" ? this.#error : null, null);
  }

  #settle(error: unknown, n: number | null): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    this.#waiter = null;
    if (error !== null) waiter.reject(error);
    else waiter.resolve(n);
  }
}

/**
 * The byte stream node:tls runs over: the TCP connection, with `first`
 * (already read from it) coming first, once `start` is called; nothing is
 * read before. Closing the stream (destroy) closes the TCP connection;
 * ending it closes the connection for writing.
 */
function transport(tcp: Deno.TcpConn, first: Uint8Array): { stream: Duplex; start(): void } {
  let size = MIN_READ;
  let buffer = new Uint8Array(size);
  let started = false;
  let reading = false;
  const duplex = new Duplex({
    // The peer's end of input leaves this side open (the TLS socket takes
    // this from the stream under it): what was queued for the peer still goes.
    allowHalfOpen: true,
    read() {
      if (reading || !started) return;
      reading = true;
      tcp.read(buffer).then((n) => {
        reading = false;
        if (n === null) {
          duplex.push(null);
          return;
        }
        const bytes = Buffer.from(buffer.subarray(0, n));
        if (n === size && size < MAX_READ) {
          size = Math.min(size * 2, MAX_READ);
          buffer = new Uint8Array(size);
        } else if (n < MIN_READ && size > MIN_READ) {
          size = MIN_READ;
          buffer = new Uint8Array(size);
        }
        duplex.push(bytes);
      }, (error) => duplex.destroy(error));
    },
    write(chunk: Uint8Array, _encoding, callback) {
      writeAll(tcp, chunk).then(() => callback(), callback);
    },
    final(callback) {
      tcp.closeWrite().then(() => callback(), () => callback());
    },
    destroy(error, callback) {
      try {
        tcp.close();
      } catch {
        // Closed already.
      }
      callback(error);
    },
  });
  const start = () => {
    if (started || duplex.destroyed) return;
    started = true;
    duplex.push(Buffer.from(first));
  };
  return { stream: duplex, start };
}
