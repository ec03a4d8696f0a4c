/**
 * TLS for the chat server, in front of Deno's TLS listener.
 *
 * Deno cannot close a TLS connection whose handshake has not finished: closing
 * it hands the socket to a task that waits for the handshake, with no time
 * limit. A peer that connects to a `Deno.listenTls` port and never finishes
 * its handshake (nc, a port scanner, a prankster) keeps its socket for as long
 * as it likes, whatever the server does.
 *
 * So the public port is plain TCP, and the TLS listener listens on the
 * loopback interface only, where the server itself is its only client. Each
 * public connection is a {@link Relay}: it looks at the first byte; a TLS
 * handshake record is relayed, byte for byte both ways, to the internal TLS
 * listener over a loopback connection of its own; anything else (a person
 * with nc, a plain chat client) gets {@link TLS_ONLY_MESSAGE} and is closed.
 * The server serves the TLS connection that the internal listener accepts,
 * with the public peer's address. Closing the relay's loopback connection
 * ends any handshake on the other side of it (the TLS layer reads the end of
 * its input, fails the handshake and lets go of the socket): a peer that
 * never finishes its handshake is dropped like any other.
 *
 * Any local program can connect to the internal listener too. Only a
 * connection from the local port of a relay's loopback connection is served;
 * any other is closed at once, and never takes the place of a relay's. What
 * closing it does is Deno's: the server's side of a TLS handshake starts at
 * accept, and closing waits for it, so Deno keeps such a socket until its
 * peer sends something (which fails the handshake) or closes. That costs a
 * descriptor for as long as the local program keeps its own end open, and
 * nothing else: no public connection is refused for it.
 *
 * This module knows nothing about chat; the server decides what to do with
 * each TLS connection (see {@link RelayOwner}).
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import { plural } from "../core/plural.ts";
import { TLS_ONLY_MESSAGE } from "../protocol/tls_notices.ts";
import { acceptLoop } from "./accept_loop.ts";

/** A TLS record starts with its content type: 22 for a handshake (a ClientHello). */
const TLS_HANDSHAKE = 0x16;

/**
 * How long a peer may stay silent before it counts as a person: a TLS client
 * sends its hello at once, and a lost packet comes again within a second
 * (TCP's retransmission time), which a shorter wait would take for silence.
 */
const FIRST_BYTE_WAIT_MS = 1_000;

/**
 * How long a connection that the internal listener accepted while relays
 * were connecting may wait for one of them to claim it: a relay's connect
 * can complete a moment after the accept. One accepted while no relay is
 * connecting is another program's, and is closed at once.
 */
const UNCLAIMED_WAIT_MS = 1_000;

/** Connections that no relay claimed are logged at most this often, in a count. */
const UNCLAIMED_REPORT_MS = 1_000;

/**
 * Relay buffers start small and double while reads fill them: an idle
 * connection costs two small buffers, and a busy one moves whole TLS records
 * (16 KiB at most) per read. A read that does not fill the smallest size
 * shrinks the buffer back at once, unlike the session's: the handshake and
 * the welcome grow both buffers, and most connections then sit idle.
 */
const MIN_BUFFER = 1024;
/** Largest relay buffer: a full TLS record. */
const MAX_BUFFER = 16 * 1024;

const encoder = new TextEncoder();
const TLS_ONLY_LINE = encoder.encode(`${TLS_ONLY_MESSAGE}\r\n`);

/** What a {@link TlsFront} tells whoever runs it (the server). */
export interface RelayOwner {
  /**
   * A TLS connection relayed from `relay`'s peer, its handshake not started:
   * serve it (with `relay.remoteAddr` as the peer's address) or close it.
   * When done with it, call `relay.finish()`.
   */
  relayed(conn: Deno.TlsConn, relay: Relay): void;
  /** The relay ended: both its connections are closed. */
  ended(relay: Relay): void;
}

/** Settings of a {@link TlsFront}. */
export interface TlsFrontOptions {
  /** Certificate chain (PEM) to serve. */
  cert: string;
  /** The certificate's private key (PEM). */
  key: string;
  /**
   * Longest a relay may take, once it knows that its peer speaks TLS, to
   * have its TLS connection handed to the owner (the registration timeout);
   * it is closed after that. In ms.
   */
  deadlineMs: number;
  /**
   * How long a relay waits for its peer to close, once the TLS side has
   * finished (or a refused peer was told why), before closing. In ms.
   */
  lingerMs: number;
  /** Receives the operator's log. */
  log: (line: string) => void;
  /** Takes the relayed TLS connections. */
  owner: RelayOwner;
}

/**
 * The internal TLS listener and the relays to it. Create it, then
 * {@link start} it; {@link admit} each TCP connection of the public port.
 */
export class TlsFront {
  #listener: Deno.TlsListener;
  #options: TlsFrontOptions;
  #relays = new Set<Relay>();
  /** Relays connected to the listener, by their local port, until it accepts them. */
  #waiting = new Map<number, Relay>();
  /** Connections accepted before their relay's connect completed, by remote port. */
  #unclaimed = new Map<number, { conn: Deno.TlsConn; timer: ReturnType<typeof setTimeout> }>();
  /** Relays whose loopback connect has not completed yet. */
  #connecting = 0;
  /** Connections closed because no relay claimed them, not logged yet. */
  #rejected = 0;
  #rejectedReportedAt = -Infinity;
  #accepting: Promise<void> = Promise.resolve();
  #stopped = false;
  /** What relays call back: kept off the public interface. */
  #host: RelayHost = {
    addr: () => this.#listener.addr,
    firstByteWaitMs: () => this.firstByteWaitMs,
    connecting: () => {
      this.#connecting++;
    },
    connected: (relay, port) => this.#connected(relay, port),
    ended: (relay, port) => {
      this.#relays.delete(relay);
      if (port !== null && this.#waiting.get(port) === relay) this.#waiting.delete(port);
      this.#options.owner.ended(relay);
    },
  };

  /**
   * Listens for TLS on a free loopback port.
   *
   * @throws Deno's errors about the certificate and key.
   */
  constructor(options: TlsFrontOptions) {
    this.#options = options;
    this.#listener = Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: options.cert,
      key: options.key,
    });
  }

  /** Starts accepting the relays' connections. */
  start(): void {
    this.#accepting = acceptLoop(this.#listener, {
      what: "TLS accept",
      logRecovery: false,
      log: this.#options.log,
      stopping: () => this.#stopped,
      accepted: (conn) => this.#match(conn),
    });
  }

  /** How long a peer may stay silent before it is told that this is a TLS port, in ms. */
  get firstByteWaitMs(): number {
    return Math.min(FIRST_BYTE_WAIT_MS, this.#options.deadlineMs);
  }

  /** The internal listener's address (loopback). */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Relays `conn`, accepted on the public port, whose peer is `peer` (host:port, for the log). */
  admit(conn: Deno.TcpConn, peer: string): Relay {
    const relay = new Relay(this.#host, conn, peer, this.#options);
    this.#relays.add(relay);
    if (this.#stopped) relay.close();
    return relay;
  }

  /**
   * Stops taking connections: closes the internal listener and every relay
   * whose TLS connection has not been handed over yet. The others keep
   * relaying until their sessions say goodbye.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#listener.close();
    for (const relay of this.#relays) if (!relay.claimed) relay.close();
    for (const { conn, timer } of this.#unclaimed.values()) {
      clearTimeout(timer);
      closeQuietly(conn);
    }
    this.#unclaimed.clear();
  }

  /** Stops, closes every relay, and waits until they have all ended. */
  async close(): Promise<void> {
    this.stop();
    for (const relay of this.#relays) relay.close();
    await this.#accepting;
    await Promise.all([...this.#relays].map((relay) => relay.done));
  }

  /**
   * A relay's loopback connect has completed, from local port `port` (null
   * if it failed). Once no relay is connecting, no connection still
   * unclaimed can be a relay's.
   */
  #connected(relay: Relay, port: number | null): void {
    this.#connecting--;
    if (port !== null) {
      const early = this.#unclaimed.get(port);
      if (early) {
        this.#unclaimed.delete(port);
        clearTimeout(early.timer);
        this.#handOver(relay, early.conn);
      } else {
        this.#waiting.set(port, relay);
      }
    }
    if (this.#connecting === 0) {
      for (const [port, { conn, timer }] of this.#unclaimed) {
        this.#unclaimed.delete(port);
        clearTimeout(timer);
        this.#reject(conn);
      }
    }
  }

  /** Finds the relay whose loopback connection `conn` is: the one connected from its port. */
  #match(conn: Deno.TlsConn): void {
    const { hostname, port } = conn.remoteAddr;
    // Relays connect from 127.0.0.1; another address is another program.
    const relay = hostname === "127.0.0.1" ? this.#waiting.get(port) : undefined;
    if (relay) {
      this.#waiting.delete(port);
      this.#handOver(relay, conn);
      return;
    }
    // No relay is connecting: it is another program's. Otherwise it may be
    // the relay's whose connect has not completed yet: it waits for it.
    if (hostname !== "127.0.0.1" || this.#connecting === 0 || this.#unclaimed.has(port)) {
      this.#reject(conn);
      return;
    }
    const timer = setTimeout(() => {
      this.#unclaimed.delete(port);
      this.#reject(conn);
    }, UNCLAIMED_WAIT_MS);
    this.#unclaimed.set(port, { conn, timer });
  }

  /** Closes a connection that no relay claimed; says so in the log, at most once a second. */
  #reject(conn: Deno.TlsConn): void {
    closeQuietly(conn);
    this.#rejected++;
    const now = performance.now();
    if (now - this.#rejectedReportedAt < UNCLAIMED_REPORT_MS) return;
    this.#options.log(
      `TLS accept: closed ${plural(this.#rejected, "connection")} not from a relay`,
    );
    this.#rejected = 0;
    this.#rejectedReportedAt = now;
  }

  #handOver(relay: Relay, conn: Deno.TlsConn): void {
    if (!relay.claim()) {
      // The relay was closed meanwhile, so its end of this connection is
      // closed too: this close does not wait on a handshake.
      closeQuietly(conn);
      return;
    }
    this.#options.owner.relayed(conn, relay);
  }
}

/** What a relay needs from its front. */
interface RelayHost {
  /** The internal listener's address. */
  addr(): Deno.NetAddr;
  /** See {@link TlsFront.firstByteWaitMs}. */
  firstByteWaitMs(): number;
  /** The relay starts its loopback connect. */
  connecting(): void;
  /** The relay's loopback connect has completed, from local port `port`; null if it failed. */
  connected(relay: Relay, port: number | null): void;
  /** The relay has ended; `port` is its loopback connection's local port, if it had one. */
  ended(relay: Relay, port: number | null): void;
}

/**
 * One public connection of a TLS port: told apart (TLS or not), then
 * relayed to the internal TLS listener until either side is done.
 */
export class Relay {
  /** The public peer's address: the one the session reports and limits count. */
  readonly remoteAddr: Deno.NetAddr;
  /** The public peer's `host:port`, for the log. */
  readonly peer: string;
  /** Resolves when both connections are closed. */
  readonly done: Promise<void>;
  #host: RelayHost;
  #options: TlsFrontOptions;
  #outer: Deno.TcpConn;
  #inner: Deno.TcpConn | null = null;
  #innerPort: number | null = null;
  /** Deadline to be handed over (once told apart), then the linger time. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #claimed = false;
  #closed = false;
  /** The session is done with the TLS connection: what the peer sends is dropped. */
  #finishing = false;
  /** A write to the loopback connection is in progress. */
  #writingInner = false;
  /** The loopback connection has been closed for writing. */
  #innerShut = false;
  /** The peer closed its side (end of input). */
  #outerDone = false;
  /** The TLS side closed its side. */
  #innerDone = false;
  /** The linger timer is set: the end is near. */
  #lingering = false;

  /** Starts relaying `outer`; use {@link TlsFront.admit}. */
  constructor(host: RelayHost, outer: Deno.TcpConn, peer: string, options: TlsFrontOptions) {
    this.#host = host;
    this.#options = options;
    this.#outer = outer;
    this.remoteAddr = outer.remoteAddr;
    this.peer = peer;
    this.done = this.#run();
  }

  /** Whether its TLS connection has been handed to the owner. */
  get claimed(): boolean {
    return this.#claimed;
  }

  /** Marks the TLS connection as handed over; false if the relay is closed. */
  claim(): boolean {
    if (this.#closed) return false;
    this.#claimed = true;
    // From here on the session's own timers (registration, drain) apply.
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return true;
  }

  /**
   * The session is done with the TLS connection (it has closed it): relay
   * what it sent last, then close, waiting at most the linger time for the
   * peer. Ends a handshake still pending on the other side too.
   */
  finish(): void {
    if (this.#closed || this.#finishing) return;
    this.#finishing = true;
    this.#linger();
    // Not during a write: that write would fail and cut everything at once.
    if (!this.#writingInner) this.#shutInner();
  }

  /** Closes both connections now. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    closeQuietly(this.#outer);
    if (this.#inner) closeQuietly(this.#inner);
  }

  async #run(): Promise<void> {
    try {
      const buffer = new Uint8Array(MIN_BUFFER);
      const read = this.#outer.read(buffer).catch(() => null);
      const first = await this.#sniff(read);
      if (first === null || this.#closed) return;
      if (first === "silent" || buffer[0] !== TLS_HANDSHAKE) {
        await this.#refuse(buffer, first === "silent" ? read : null);
        return;
      }
      // Told apart within the first byte's wait; relayed until the session
      // takes over, within the registration time.
      this.#timer = setTimeout(Relay.#onTimer, this.#options.deadlineMs, this);
      const { hostname, port } = this.#host.addr();
      let inner: Deno.TcpConn;
      this.#host.connecting();
      try {
        inner = await Deno.connect({ hostname, port });
      } catch (error) {
        this.#host.connected(this, null);
        // Out of file descriptors, say: worth the operator's knowing.
        if (!this.#closed) {
          this.#options.log(`drop ${this.peer}: cannot relay to TLS (${errorMessage(error)})`);
        }
        return;
      }
      // Said even when closed meanwhile: the other end, if accepted, is closed then.
      this.#innerPort = inner.localAddr.port;
      this.#host.connected(this, this.#innerPort);
      if (this.#closed) {
        closeQuietly(inner);
        return;
      }
      this.#inner = inner;
      try {
        inner.setNoDelay(true);
      } catch {
        // Only a latency nicety.
      }
      await this.#toInner(buffer.subarray(0, first));
      await Promise.all([this.#pumpOut(buffer), this.#pumpIn()]);
    } catch {
      // A reset, a refused loopback connect, or close(): either way, all ends here.
    } finally {
      this.close();
      this.#host.ended(this, this.#innerPort);
    }
  }

  /** The first bytes' count, null if the peer left, "silent" if nothing came in time. */
  async #sniff(read: Promise<number | null>): Promise<number | null | "silent"> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silent = new Promise<"silent">((resolve) => {
      timer = setTimeout(resolve, this.#host.firstByteWaitMs(), "silent");
    });
    try {
      return await Promise.race([read, silent]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Tells a peer that does not speak TLS to use it, and closes. Closing with
   * its input unread would reset the connection, which can destroy the line
   * before the peer reads it: what it still sends is read and dropped until
   * it closes too, for the linger time at most.
   */
  async #refuse(buffer: Uint8Array, pending: Promise<number | null> | null): Promise<void> {
    const silence = pending ? ` (nothing received in ${this.#host.firstByteWaitMs()} ms)` : "";
    this.#options.log(`refuse ${this.peer}: not TLS${silence}`);
    await writeAll(this.#outer, TLS_ONLY_LINE);
    await this.#outer.closeWrite();
    this.#linger();
    let read = pending ?? this.#outer.read(buffer);
    while ((await read) !== null && !this.#closed) read = this.#outer.read(buffer);
  }

  /** Peer to TLS listener, until the peer's end of input. */
  async #pumpOut(first: Uint8Array): Promise<void> {
    const buffer = new GrowingBuffer(first);
    while (true) {
      const n = await this.#outer.read(buffer.bytes);
      if (n === null) break;
      if (!this.#finishing) await this.#toInner(buffer.bytes.subarray(0, n));
      buffer.took(n);
    }
    this.#outerDone = true;
    this.#shutInner();
    this.#endIfDone();
  }

  /** TLS listener to peer, until the TLS side's end of output. */
  async #pumpIn(): Promise<void> {
    const inner = this.#inner!;
    const buffer = new GrowingBuffer(new Uint8Array(MIN_BUFFER));
    while (true) {
      const n = await inner.read(buffer.bytes);
      if (n === null) break;
      await writeAll(this.#outer, buffer.bytes.subarray(0, n));
      buffer.took(n);
    }
    this.#innerDone = true;
    await this.#outer.closeWrite();
    // The session has said all; the peer gets the linger time to close.
    this.#linger();
    this.#endIfDone();
  }

  async #toInner(bytes: Uint8Array): Promise<void> {
    this.#writingInner = true;
    try {
      await writeAll(this.#inner!, bytes);
    } finally {
      this.#writingInner = false;
    }
    if (this.#finishing) this.#shutInner();
  }

  /**
   * Closes the loopback connection for writing: the TLS side reads its end
   * of input, which also ends a handshake it is still waiting for.
   */
  #shutInner(): void {
    if (this.#innerShut || !this.#inner || this.#closed) return;
    this.#innerShut = true;
    try {
      this.#inner.closeWrite().catch(() => {});
    } catch {
      // Reset already: the TLS side has read its end.
    }
  }

  #endIfDone(): void {
    if (this.#outerDone && this.#innerDone) this.close();
  }

  /** Closes everything after the linger time, unless both sides have closed before. */
  #linger(): void {
    if (this.#closed || this.#lingering) return;
    this.#lingering = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(Relay.#onTimer, this.#options.lingerMs, this);
  }

  static #onTimer(relay: Relay): void {
    relay.#timer = undefined;
    relay.close();
  }
}

/** A read buffer that grows while reads fill it and shrinks after a small one. */
class GrowingBuffer {
  bytes: Uint8Array;

  constructor(initial: Uint8Array) {
    this.bytes = initial;
  }

  /** Notes that a read filled `n` bytes (once they are no longer needed). */
  took(n: number): void {
    const size = this.bytes.length;
    if (n === size && size < MAX_BUFFER) this.bytes = new Uint8Array(size * 2);
    else if (n < MIN_BUFFER && size > MIN_BUFFER) this.bytes = new Uint8Array(MIN_BUFFER);
  }
}

/** Writes all of `bytes`; each write waits for room, so nothing queues up in memory. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await conn.write(done === 0 ? bytes : bytes.subarray(done));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}
