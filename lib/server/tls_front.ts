/**
 * TLS for the chat server, on its one public port, with no listener of its own.
 *
 * The public port is plain TCP. Each connection is a {@link TlsArrival} until
 * its peer is told apart by its first byte: a TLS handshake record becomes a
 * {@link TlsStream} on the same TCP connection (node:tls in this process,
 * handed to the owner before its handshake starts); anything else (a person
 * with nc, a plain chat client), or silence past the first byte's wait, gets
 * {@link TLS_ONLY_MESSAGE} and is closed.
 *
 * Deno's own TLS listener cannot close a connection whose handshake never
 * ends (see tls_stream.ts). An earlier version therefore relayed each public
 * connection to an internal `Deno.listenTls` on loopback; any local program
 * could connect to that port too and hold one server descriptor per silent
 * connection, forever. Here there is no other port: whatever a peer does, its
 * one descriptor is the public connection, which the server can close at any
 * time.
 *
 * This module knows nothing about chat; the server decides what to do with
 * each TLS stream (see {@link TlsOwner}).
 *
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import tls from "node:tls";
import { errorMessage } from "../core/errors.ts";
import { writeAll } from "../io/bytes.ts";
import { TLS_ONLY_MESSAGE } from "../protocol/tls_notices.ts";
import { TlsStream } from "./tls_stream.ts";

/** A TLS record starts with its content type: 22 for a handshake (a ClientHello). */
const TLS_HANDSHAKE = 0x16;

/**
 * How long a peer may stay silent before it counts as a person: a TLS client
 * sends its hello at once, and a lost packet comes again within a second
 * (TCP's retransmission time), which a shorter wait would take for silence.
 */
const FIRST_BYTE_WAIT_MS = 1_000;

/**
 * A timer this late means a busy server, not a silent peer (timers come
 * within a few ms on an idle one, GC included).
 */
const BUSY_LATENESS_MS = 100;

/** The first read: enough for most ClientHellos in one go. */
const FIRST_READ_BYTES = 1024;

const encoder = new TextEncoder();
const TLS_ONLY_LINE = encoder.encode(`${TLS_ONLY_MESSAGE}\r\n`);

/** What a {@link TlsFront} tells whoever runs it (the server). */
export interface TlsOwner {
  /**
   * `arrival`'s peer speaks TLS: serve `stream` (its handshake under way) or
   * close it. The arrival is over; the stream holds its connection.
   */
  secured(stream: TlsStream, arrival: TlsArrival): void;
  /** The arrival ended without a TLS stream (refused, gone, or closed): its connection is closed. */
  ended(arrival: TlsArrival): void;
}

/** Settings of a {@link TlsFront}. */
export interface TlsFrontOptions {
  /** Certificate chain (PEM) to serve. */
  cert: string;
  /** The certificate's private key (PEM). */
  key: string;
  /**
   * How long a connection may take to register, in ms: a silent peer is told
   * that this is a TLS port within it.
   */
  registrationTimeoutMs: number;
  /** How long a refused peer may take to close once told why, in ms. */
  lingerMs: number;
  /** Receives the operator's log. */
  log: (line: string) => void;
  /** Takes the TLS streams. */
  owner: TlsOwner;
}

/** What is wrong with a certificate and key; the message says which. */
export class TlsSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlsSetupError";
  }
}

/**
 * The node:tls context for `cert` and `key`, checked: node:tls itself would
 * find a mistake only at the first handshake.
 *
 * @throws {TlsSetupError} when `cert` holds no certificate ("no certificates
 * found"), `key` no private key ("no keys found"), or the key is not the
 * certificate's ("keymismatch"); others from parsing them.
 */
export function secureContext(cert: string, key: string): tls.SecureContext {
  if (!cert.includes("-----BEGIN CERTIFICATE-----")) {
    throw new TlsSetupError("no certificates found");
  }
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(key)) {
    throw new TlsSetupError("no keys found");
  }
  if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
    throw new TlsSetupError("the private key is not the certificate's (keymismatch)");
  }
  return tls.createSecureContext({ cert, key });
}

/**
 * Tells the TLS peers of the public port from the others. Create it, then
 * {@link admit} each TCP connection of the public port.
 */
export class TlsFront {
  #context: tls.SecureContext;
  #options: TlsFrontOptions;
  #arrivals = new Set<TlsArrival>();
  #stopped = false;
  /** What arrivals call back: kept off the public interface. */
  #host: ArrivalHost = {
    firstByteWaitMs: () => Math.min(FIRST_BYTE_WAIT_MS, this.#options.registrationTimeoutMs),
    registrationTimeoutMs: () => this.#options.registrationTimeoutMs,
    lingerMs: () => this.#options.lingerMs,
    log: (line) => this.#options.log(line),
    secured: (arrival, conn, first) => this.#secured(arrival, conn, first),
    ended: (arrival, handedOver) => {
      this.#arrivals.delete(arrival);
      if (!handedOver) this.#options.owner.ended(arrival);
    },
  };

  /**
   * Checks the certificate and key.
   *
   * @throws {TlsSetupError} and others: see {@link secureContext}.
   */
  constructor(options: TlsFrontOptions) {
    this.#options = options;
    this.#context = secureContext(options.cert, options.key);
  }

  /** Tells apart `conn`, accepted on the public port, whose peer is `peer` (host:port, for the log). */
  admit(conn: Deno.TcpConn, peer: string): TlsArrival {
    const arrival = new TlsArrival(this.#host, conn, peer);
    this.#arrivals.add(arrival);
    if (this.#stopped) arrival.close();
    return arrival;
  }

  /** Stops taking connections: closes every arrival not told apart yet, or being refused. */
  stop(): void {
    this.#stopped = true;
    for (const arrival of this.#arrivals) arrival.close();
  }

  /** Stops, and waits until every arrival has ended. */
  async close(): Promise<void> {
    this.stop();
    await Promise.all([...this.#arrivals].map((arrival) => arrival.done));
  }

  /** Hands `conn` to the owner as a TLS stream; false (after logging why) if none could start. */
  #secured(arrival: TlsArrival, conn: Deno.TcpConn, first: Uint8Array): boolean {
    let stream: TlsStream;
    try {
      stream = new TlsStream(conn, first, this.#context);
    } catch (error) {
      this.#options.log(`drop ${arrival.peer}: cannot start TLS (${errorMessage(error)})`);
      return false;
    }
    this.#options.owner.secured(stream, arrival);
    return true;
  }
}

/** What an arrival needs from its front. */
interface ArrivalHost {
  /** How long a peer may stay silent before it is told that this is a TLS port, in ms. */
  firstByteWaitMs(): number;
  /** How long a refused peer may take to close once told why, in ms. */
  lingerMs(): number;
  /** How long a connection may take to register, in ms: the longest an arrival waits. */
  registrationTimeoutMs(): number;
  /** The operator's log. */
  log(line: string): void;
  /** The arrival's peer speaks TLS: `conn` goes to the owner; false if it could not (still the arrival's). */
  secured(arrival: TlsArrival, conn: Deno.TcpConn, first: Uint8Array): boolean;
  /** The arrival is over; `handedOver` if its connection went to the owner. */
  ended(arrival: TlsArrival, handedOver: boolean): void;
}

/**
 * One public connection of a TLS port until its peer is told apart: handed
 * over as a {@link TlsStream}, or told to use TLS and closed.
 */
export class TlsArrival {
  /** The peer's address: the one the session reports and limits count. */
  readonly remoteAddr: Deno.NetAddr;
  /** The peer's `host:port`, for the log. */
  readonly peer: string;
  /** Resolves when the arrival is over: handed over, or its connection closed. */
  readonly done: Promise<void>;
  #host: ArrivalHost;
  #conn: Deno.TcpConn;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #handedOver = false;

  /** Starts telling `conn` apart; use {@link TlsFront.admit}. */
  constructor(host: ArrivalHost, conn: Deno.TcpConn, peer: string) {
    this.#host = host;
    this.#conn = conn;
    this.remoteAddr = conn.remoteAddr;
    this.peer = peer;
    this.done = this.#run();
  }

  /** Closes its connection now, unless it was handed over. */
  close(): void {
    if (this.#closed || this.#handedOver) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      this.#conn.close();
    } catch {
      // Closed already.
    }
  }

  async #run(): Promise<void> {
    try {
      const buffer = new Uint8Array(FIRST_READ_BYTES);
      const read = this.#conn.read(buffer).catch(() => null);
      const first = await this.#sniff(read);
      if (first === null || this.#closed) return;
      if (first !== "silent" && buffer[0] === TLS_HANDSHAKE) {
        this.#handedOver = this.#host.secured(this, this.#conn, buffer.subarray(0, first));
        return;
      }
      await this.#refuse(buffer, first === "silent" ? read : null);
    } catch {
      // A reset, or close(): either way, it ends here.
    } finally {
      this.close();
      this.#host.ended(this, this.#handedOver);
    }
  }

  /**
   * The first bytes' count, null if the peer left, "silent" if nothing came
   * in time.
   *
   * Handshakes run on this thread: in a storm of them, the server may not
   * get to a read for a second, and the wait's timer comes late. Silence
   * measured then is the server's, not the peer's (110 of 300 TLS clients
   * connecting at once were told to use TLS, none since): while the timer
   * comes late, the wait starts again, within the time to register; and a
   * read that completed in time gets one more turn of the event loop to
   * come in.
   */
  async #sniff(read: Promise<number | null>): Promise<number | null | "silent"> {
    const wait = this.#host.firstByteWaitMs();
    const deadline = performance.now() + this.#host.registrationTimeoutMs();
    while (true) {
      const armed = performance.now();
      const first = await within(read, wait);
      if (first !== "silent") return first;
      const now = performance.now();
      if (now - armed - wait <= BUSY_LATENESS_MS || now + wait > deadline) break;
    }
    return await within(read, 0);
  }

  /**
   * Tells a peer that does not speak TLS to use it, and closes. Closing with
   * its input unread would reset the connection, which can destroy the line
   * before the peer reads it: what it still sends is read and dropped until
   * it closes too, for the linger time at most.
   */
  async #refuse(buffer: Uint8Array, pending: Promise<number | null> | null): Promise<void> {
    const silence = pending ? ` (nothing received in ${this.#host.firstByteWaitMs()} ms)` : "";
    this.#host.log(`refuse ${this.peer}: not TLS${silence}`);
    await writeAll(this.#conn, TLS_ONLY_LINE);
    await this.#conn.closeWrite();
    this.#timer = setTimeout(() => this.close(), this.#host.lingerMs());
    let read = pending ?? this.#conn.read(buffer);
    while ((await read) !== null && !this.#closed) read = this.#conn.read(buffer);
  }
}

/** What `read` gives, or "silent" if `ms` pass first. */
async function within(
  read: Promise<number | null>,
  ms: number,
): Promise<number | null | "silent"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<"silent">((resolve) => {
    timer = setTimeout(resolve, ms, "silent");
  });
  try {
    return await Promise.race([read, silent]);
  } finally {
    clearTimeout(timer);
  }
}
