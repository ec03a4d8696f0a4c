/**
 * One connection's life on the server, whatever protocol its peer speaks:
 * the TLS handshake where there is one, reading lines, the one writer (an
 * {@link Outbox}), the time limit to register, keepalive, and closing
 * cleanly. What the lines mean and how events are written belongs to the
 * connection's {@link Protocol}: the connection hands it each line and asks
 * it to encode each event. A protocol may hand the peer over to another
 * (see sniff.ts); the registration and login flow that every protocol uses
 * is in login.ts.
 *
 * @module
 */

import type { Gatekeeper } from "../auth/gatekeeper.ts";
import { errorMessage } from "../core/errors.ts";
import { type ChatEvent, ErrorCode, type Sink } from "../core/events.ts";
import type { Hub } from "../core/hub.ts";
import type { Member } from "../core/room.ts";
import { type LineRead, LineSplitter } from "../io/line_reader.ts";
import { Outbox, type OutboxFailure, TURN_FLUSHER } from "../io/outbox.ts";
import { addressKey, formatAddress } from "./address.ts";
import type { Transport } from "./transport.ts";

/** Limits and timings of a connection. */
export interface ConnectionLimits {
  /** Longest line accepted, in bytes. */
  maxLineBytes: number;
  /** Most bytes queued for a peer before it is dropped as too slow. */
  queueLimitBytes: number;
  /** How long a peer may take to register, in milliseconds. */
  registrationTimeoutMs: number;
  /** How long to wait for a JSON `hello` before prompting for a name, in milliseconds. */
  promptDelayMs: number;
  /** How long to wait for a closing connection's queue to drain, in milliseconds. */
  drainTimeoutMs: number;
  /**
   * A JSON client silent this long is pinged, and dropped when it stays
   * silent as long again; 0 turns keepalive off. In milliseconds.
   */
  pingIntervalMs: number;
}

/**
 * What a connection tells whoever runs it (the server): one object for all
 * connections, where a callback or promise chain per connection cost memory.
 */
export interface ConnectionOwner {
  /** The connection's peer registered a name: it counts as a user, no longer as pending. */
  registered(connection: Connection): void;
  /**
   * The connection stopped serving its peer: it sends and handles nothing
   * more. It may still be closing for a moment (see {@link Connection.run}).
   */
  stopped(connection: Connection): void;
  /** The connection's `run` is about to resolve; called after {@link stopped}. */
  ended(connection: Connection): void;
}

/**
 * What the connections of one front end share: one object for all of them,
 * instead of a field each per connection.
 */
export interface ConnectionContext {
  /** The chat core. */
  hub: Hub;
  /** Checks account passwords; null when no name needs one (the hub refuses those). */
  gatekeeper: Gatekeeper | null;
  /** Limits and timings of each connection. */
  limits: ConnectionLimits;
  /** Receives the operator's log, one line per event. */
  log: (line: string) => void;
  /** Told when connections register, stop and end. */
  owner: ConnectionOwner | null;
  /** The protocol a new connection starts with (the TCP front's tells the peer's apart). */
  start: (connection: Connection) => Protocol;
  /**
   * The web page's port, where a browser that opened the chat port is sent
   * (see http_answer.ts); null, or left out, when no page is served.
   */
  webPort?: () => number | null;
}

/**
 * What a protocol brings to a connection: what the peer's lines mean and how
 * events are written for it. One object per connection, holding that
 * protocol's state for the peer; the connection calls it, one call at a time.
 */
export interface Protocol {
  /** The connection can carry bytes (after its TLS handshake, if any) and waits for the peer. */
  opened(): void;
  /**
   * Takes the `n` bytes just read into `buffer`, before they are split into
   * lines; may take out what is not data (telnet commands), in place.
   * Returns how many bytes at the start of `buffer` are data.
   */
  received(buffer: Uint8Array, n: number): number;
  /** Handles a line from the peer. */
  line(text: string): void;
  /**
   * Tells the peer why something it did was refused; before it registers,
   * that counts as a failed attempt (see login.ts).
   */
  refuse(code: ErrorCode, message: string): void;
  /** Asks again for what a refused line may have been the answer to (a name), if anything. */
  retry(): void;
  /** The bytes that show `event` to this peer, or null when it has nothing to show for it. */
  encode(event: ChatEvent): Uint8Array | null;
  /** Whether the peer answers {@link ping}: one that does is dropped when it stays silent. */
  readonly answersPings: boolean;
  /** Keepalive for a registered peer silent for the ping interval; `now` is the time in ms. */
  ping(now: number): void;
  /** The connection has ended: timers of the protocol's own are stopped. */
  ended(): void;
}

type Timer = ReturnType<typeof setTimeout>;

/** A connected peer, from accept to close; the hub's sink for its member. */
export class Connection implements Sink {
  /** The peer's `host:port`, for the log. */
  readonly peer: string;
  /** The peer's address as limits per address count it (see addressKey). */
  readonly address: string;
  /** What this connection shares with the others of its front end. */
  readonly context: ConnectionContext;
  #conn: Transport;
  #outbox: Outbox;
  #protocol: Protocol;
  #member: Member | null = null;
  #closing = false;
  /** Nothing more is sent: the connection is closed, or closed for writing and lingering. */
  #closed = false;
  /** The connection itself has been closed. */
  #released = false;
  /** The read loop is running: input still arrives and is read. */
  #reading = false;
  #lingerTimer: Timer | undefined;
  #stopNoted = false;
  #leaveReason = "disconnected";
  // Cleared once the peer registers: a timer pending for a minute per
  // registered connection was memory for nothing.
  #registrationTimer: Timer | undefined;
  #refusal: string | null = null;
  #lastHeard = Date.now();
  /** The peer has sent something (a byte, or a TLS handshake's first data). */
  #heard = false;
  #pinged = false;
  /** The connection is TLS: its handshake comes before anything else. */
  #tls: boolean;
  /** Bytes can be sent: always on plain TCP, after the handshake with TLS. */
  #ready: boolean;

  /**
   * Wraps an accepted connection (or another {@link Transport}); call
   * {@link run} to serve it. A TLS connection is told apart by its
   * `handshake` method. `remoteAddr` is the peer's address when it is not
   * the connection's own.
   */
  constructor(
    conn: Transport,
    context: ConnectionContext,
    remoteAddr: Deno.Addr = conn.remoteAddr,
  ) {
    this.#conn = conn;
    this.context = context;
    this.#tls = conn.handshake !== undefined;
    this.#ready = !this.#tls;
    this.peer = formatAddress(remoteAddr);
    this.address = remoteAddr.transport === "tcp" ? addressKey(remoteAddr.hostname) : this.peer;
    this.#outbox = new Outbox(conn, {
      limit: context.limits.queueLimitBytes,
      // A turn's worth of events for this peer in one write: see TurnFlusher.
      scheduler: TURN_FLUSHER,
      onFailure: (why, error) => this.#onOutboxFailure(why, error),
    });
    this.#protocol = context.start(this);
  }

  /**
   * Serves the connection until it ends; never throws. After a goodbye the
   * connection is closed for writing first, and `run` ends when the peer
   * closes too or the drain timeout passes (see #close).
   */
  async run(): Promise<void> {
    const { limits, log } = this.context;
    log(`connect ${this.peer}`);
    // Static callbacks with the connection as argument: no closure per connection.
    // The registration time limit covers a TLS handshake that never finishes.
    this.#registrationTimer = setTimeout(
      Connection.#onRegistrationTimer,
      limits.registrationTimeoutMs,
      this,
    );
    this.#reading = true;
    try {
      if (this.#tls && !(await this.#handshake())) return;
      if (!this.#closing) this.#protocol.opened();
      // One read loop, not an async iterator over a reader: each layer of
      // async iteration kept a few more promises and frames alive per idle
      // connection.
      const splitter = new LineSplitter(limits.maxLineBytes);
      while (true) {
        const buffer = splitter.buffer;
        let n: number | null;
        try {
          n = await this.#conn.read(buffer);
        } catch {
          // A reset or closed connection: what it left unfinished was never meant to be sent.
          break;
        }
        if (n === null) {
          for (const read of splitter.finish()) this.#onRead(read);
          break;
        }
        for (const read of splitter.take(n, this.#received(buffer, n))) this.#onRead(read);
      }
    } catch (error) {
      log(`error ${this.peer}: ${errorMessage(error)}`);
    } finally {
      this.#reading = false;
      this.#clearRegistrationTimer();
      this.#protocol.ended();
      try {
        if (this.#member) this.context.hub.leave(this.#member, this.#leaveReason);
        // A peer that half-closed (end of input) still gets what was queued for it.
        await this.#drainAndClose();
      } finally {
        // Whatever went wrong above, the connection and the server's counts are released.
        this.#release();
        this.#stopped();
        log(`disconnect ${this.peer}`);
        this.context.owner?.ended(this);
      }
    }
  }

  /** Whether the connection is TLS. */
  get tls(): boolean {
    return this.#tls;
  }

  /** Whether the connection is ending: what the peer still sends is ignored. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Whether the peer has sent anything yet: a silent one gives way first when places run out. */
  get heard(): boolean {
    return this.#heard;
  }

  /** Whether the peer has registered a name. */
  get registered(): boolean {
    return this.#member !== null;
  }

  /** The hub's member for this peer, once it has registered. */
  get member(): Member | null {
    return this.#member;
  }

  /** Queues an event for this peer in its protocol; a `bye` closes the connection after it. */
  send(event: ChatEvent): void {
    if (this.#closed) return;
    if (!this.#ready) {
      // Mid-handshake nothing can be sent; a goodbye just closes.
      if (event.type === "bye") this.#close();
      return;
    }
    const bytes = this.#protocol.encode(event);
    if (bytes !== null) this.#outbox.push(bytes);
    if (event.type === "bye") {
      if (event.code === "quit") this.#leaveReason = event.reason;
      void this.end();
    }
  }

  /** Queues bytes of the protocol's own (a prompt, a telnet answer) as they are. */
  write(bytes: Uint8Array): void {
    this.#outbox.push(bytes);
  }

  /** Lets the transport send several lines in one message (a WebSocket peer's `batch`). */
  batchLines(): void {
    this.#conn.batchLines?.();
  }

  /** The protocol the peer speaks (or the one still finding out which). */
  get protocol(): Protocol {
    return this.#protocol;
  }

  /** Hands the peer to another protocol: the one the first protocol found it speaks. */
  use(protocol: Protocol): void {
    this.#protocol = protocol;
  }

  /** Takes the hub's member for this connection; the time limit to register is done with. */
  become(member: Member): void {
    this.#member = member;
    this.#clearRegistrationTimer();
    // The welcome itself can overflow the queue and stop the connection, which
    // then counted as unregistered when it stopped: it must not count as a user.
    if (!this.#stopNoted) this.context.owner?.registered(this);
  }

  /** Stops reading, lets the queue drain for a moment, and closes. */
  async end(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await this.#drainAndClose();
  }

  /** Closes the connection at once, for a peer that is dead or stuck (or a bug). */
  drop(): void {
    this.#close();
  }

  /**
   * Turns the peer away once its protocol is known, with `message` (too many
   * connections from its address).
   */
  turnAway(message: string): void {
    this.#refusal = message;
  }

  /**
   * For a protocol that knows its peer's: sends the refusal set by
   * {@link turnAway}, if any, and closes; true if the peer is turned away.
   */
  turnedAway(): boolean {
    if (this.#refusal === null) return false;
    this.sendAway(this.#refusal);
    return true;
  }

  /**
   * Tells the peer, in its protocol, that it is one of too many connections
   * (`message` says whose), and closes. A peer mid-TLS-handshake cannot be
   * told: it is closed.
   */
  sendAway(message: string): void {
    if (this.#closing) return;
    this.#protocol.refuse(ErrorCode.TooManyConnections, message);
    // The refusal may have been its last attempt, with a goodbye of its own.
    if (!this.#closing) this.send({ type: "bye", code: "too_many_connections", reason: message });
  }

  /**
   * Keepalive, called periodically by the server: pings a peer that has
   * been silent for the ping interval, and drops one that answers pings
   * (a JSON client) and stayed silent for twice that. What a ping is
   * belongs to the protocol (see {@link Protocol.ping}).
   */
  keepalive(now: number): void {
    const interval = this.context.limits.pingIntervalMs;
    if (interval <= 0 || !this.#member || this.#closing) return;
    const silent = now - this.#lastHeard;
    if (silent >= 2 * interval && this.#pinged && this.#protocol.answersPings) {
      this.context.log(`drop ${this.peer}: no answer to ping for ${silent} ms`);
      this.#leaveReason = "no response";
      this.#close();
    } else if (silent >= interval && !this.#pinged) {
      this.#pinged = true;
      this.#protocol.ping(now);
    }
  }

  /** Completes a TLS handshake; false (after logging why) when it failed. */
  async #handshake(): Promise<boolean> {
    try {
      await this.#conn.handshake!();
    } catch (error) {
      // Closed here (a shutdown, the registration timeout): said already, or nothing to say.
      if (!this.#closed) {
        this.context.log(`drop ${this.peer}: TLS handshake failed (${errorMessage(error)})`);
      }
      return false;
    }
    this.#ready = true;
    return !this.#closed;
  }

  /**
   * Notes that the peer is alive, and lets the protocol take what is not
   * data out of the bytes read. Returns how many of the `n` bytes are data.
   */
  #received(buffer: Uint8Array, n: number): number {
    if (this.#closing) return n;
    this.#heard = true;
    this.#lastHeard = Date.now();
    this.#pinged = false;
    return this.#protocol.received(buffer, n);
  }

  #onRead(read: LineRead): void {
    // What a closing peer still sends is read and ignored: see #close.
    if (this.#closing) return;
    if (read.kind === "too_long") {
      this.#protocol.refuse(
        ErrorCode.LineTooLong,
        `Line too long (limit ${this.context.limits.maxLineBytes} bytes); it was ignored`,
      );
      this.#protocol.retry();
    } else if (read.kind === "bad_encoding") {
      this.#protocol.refuse(ErrorCode.BadEncoding, "Line is not valid UTF-8; it was ignored");
      this.#protocol.retry();
    } else {
      this.#protocol.line(read.text);
    }
  }

  async #drainAndClose(): Promise<void> {
    if (this.#closed) return;
    let timer: Timer | undefined;
    await Promise.race([
      this.#outbox.drained(),
      new Promise<void>((resolve) =>
        timer = setTimeout(resolve, this.context.limits.drainTimeoutMs)
      ),
    ]);
    clearTimeout(timer);
    this.#close(true);
  }

  /**
   * Stops sending. With `linger`, while the peer may still be sending, the
   * connection is only closed for writing: the kernel resets a socket closed
   * with unread input, and a reset can make the peer lose the last lines sent
   * to it (its `bye`), as happened to a kicked flooder whose input had not all
   * been read. The read loop then reads and ignores the rest until the peer
   * closes too, or for the drain timeout at most. Without `linger` (a dead or
   * stuck peer) the connection is closed at once.
   */
  #close(linger = false): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = true;
    this.#stopped();
    if (linger && this.#reading) {
      try {
        // A TLS connection sends its close_notify here; a failure is a peer already gone.
        this.#conn.closeWrite().catch(() => {});
        this.#lingerTimer = setTimeout(
          Connection.#onLingerTimer,
          this.context.limits.drainTimeoutMs,
          this,
        );
        return;
      } catch {
        // Already reset by the peer: close it now.
      }
    }
    this.#release();
  }

  #stopped(): void {
    if (this.#stopNoted) return;
    this.#stopNoted = true;
    this.context.owner?.stopped(this);
  }

  static #onLingerTimer(connection: Connection): void {
    connection.#lingerTimer = undefined;
    connection.#release();
  }

  /** Closes the connection, which also ends a read in progress. */
  #release(): void {
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    if (this.#released) return;
    this.#released = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer's reset; nothing left to release.
    }
  }

  #onOutboxFailure(why: OutboxFailure, error?: unknown): void {
    if (this.#closing) return;
    if (why === "overflow") {
      this.#leaveReason = "too slow to keep up";
      this.context.log(
        `drop ${this.peer}: send queue over ${this.context.limits.queueLimitBytes} bytes`,
      );
    } else {
      this.#leaveReason = "connection lost";
      this.context.log(`drop ${this.peer}: write failed (${errorMessage(error)})`);
    }
    this.#close();
  }

  static #onRegistrationTimer(connection: Connection): void {
    connection.#registrationTimer = undefined;
    connection.#registrationExpired();
  }

  #clearRegistrationTimer(): void {
    clearTimeout(this.#registrationTimer);
    this.#registrationTimer = undefined;
  }

  #registrationExpired(): void {
    if (this.#member || this.#closing) return;
    const { limits, log } = this.context;
    if (!this.#ready) {
      // Nothing can be said mid-handshake: the connection is closed, at once
      // (see tls_stream.ts).
      log(`drop ${this.peer}: no TLS handshake after ${limits.registrationTimeoutMs} ms`);
      this.#close();
      return;
    }
    log(`drop ${this.peer}: no name after ${limits.registrationTimeoutMs} ms`);
    this.#protocol.refuse(ErrorCode.Timeout, "No name was given in time");
    this.send({ type: "bye", code: "timeout", reason: "registration timed out" });
  }
}
