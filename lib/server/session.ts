/**
 * One connection's life on the server: work out which protocol the peer
 * speaks, register a name, feed lines to the hub, and leave when it ends.
 *
 * A peer whose first byte opens a JSON object speaks the JSON protocol; anyone
 * else (`nc`, `telnet`) gets a plain-text session. A text peer sees a prompt
 * shortly after connecting; a JSON client sends `hello` at once and never
 * waits for it. A peer whose first byte opens a TLS handshake, on a server
 * without TLS, is told so in one plain line and closed.
 *
 * A name that belongs to an account (or any name, where the server admits
 * account holders only) needs its password: in `hello`, or at a `Password: `
 * prompt after the name for a plain-text peer. The {@link Gatekeeper} checks
 * it, asynchronously; the session registers the name once it has said yes.
 *
 * @module
 */

import type { Gatekeeper } from "../auth/gatekeeper.ts";
import { ChatError } from "../core/errors.ts";
import { type ChatEvent, ErrorCode, PROTOCOL_VERSION, type Sink } from "../core/events.ts";
import { type Hub, type Origin } from "../core/hub.ts";
import { type LineRead, LineSplitter } from "../io/line_reader.ts";
import { Outbox, type OutboxFailure, TURN_FLUSHER } from "../io/outbox.ts";
import { encodePlain, NAME_PROMPT } from "../protocol/plain_text.ts";
import { addressKey } from "./address.ts";
import { TelnetFilter } from "../protocol/telnet.ts";
import { NOT_TLS_MESSAGE } from "../protocol/tls_notices.ts";
import { type ClientFrame, decodeClientFrame, encodeEvent } from "../protocol/json.ts";
import type { Member } from "../core/room.ts";

/** Limits and timings of a session. */
export interface SessionLimits {
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

type Mode = "unknown" | "json" | "text";

const encoder = new TextEncoder();
const OPEN_BRACE = 0x7b;
/** A TLS record starts with its content type, 22 for a handshake, then the version's major 3. */
const TLS_HANDSHAKE = 0x16;
const TLS_MAJOR = 0x03;
const CARRIAGE_RETURN = 0x0d;
const NEWLINE = 0x0a;

/** The prompt for an account's password, after the name, in a plain-text session. */
export const PASSWORD_PROMPT = "Password: ";

/**
 * Lines a plain-text peer may type while its password is checked; they are
 * handled when the answer comes (a script piping name, password and
 * messages into nc loses none), and any beyond are dropped.
 */
const MAX_TYPED_AHEAD = 16;

/** Refused attempts (names, bad frames) a peer may make before registering. */
const MAX_ATTEMPTS = 10;

/** Sent to a silent plain-text peer so that a dead connection is noticed; terminals ignore it. */
const NUL = new Uint8Array([0]);

/**
 * A prompt timer that fires this much later than it was due shows an event
 * loop too busy to have read what may already be waiting: a JSON client's
 * `hello`. Such a prompt is put off once, by the prompt delay again.
 */
const LATE_PROMPT_MS = 50;

/**
 * A prompt that comes due waits this long more (the next timer, about 2 ms in
 * Deno), so that the event loop polls the connection once before deciding
 * that its peer is a person: in a join storm the timer can come due while a
 * `hello` is already in the socket, not yet read.
 */
const PROMPT_CONFIRM_MS = 0;

type Timer = ReturnType<typeof setTimeout>;

/**
 * What a session tells whoever runs it (the server): one object for all
 * sessions, where a callback or promise chain per connection cost memory.
 */
export interface SessionOwner {
  /** The session's peer registered a name: it counts as a user, no longer as pending. */
  registered(session: Session): void;
  /**
   * The session stopped serving its peer: it sends and handles nothing more.
   * It may still be closing the connection for a moment (see `run`).
   */
  stopped(session: Session): void;
  /** The session's `run` is about to resolve; called after {@link stopped}. */
  ended(session: Session): void;
}

/** A connected peer, from accept to close. */
export class Session implements Sink {
  /** The peer's `host:port`, for the log. */
  readonly peer: string;
  /** The peer's address as limits per address count it (see addressKey). */
  readonly address: string;
  #conn: Deno.Conn;
  #hub: Hub;
  #limits: SessionLimits;
  #log: (line: string) => void;
  #outbox: Outbox;
  #mode: Mode = "unknown";
  #member: Member | null = null;
  #prompted = false;
  #closing = false;
  /** Nothing more is sent: the connection is closed, or closed for writing and lingering. */
  #closed = false;
  /** The connection itself has been closed. */
  #released = false;
  /** The read loop is running: input still arrives and is read. */
  #reading = false;
  #lingerTimer: Timer | undefined;
  #owner: SessionOwner | null;
  #stopNoted = false;
  #leaveReason = "disconnected";
  // Both are cleared once the peer registers: a timer pending for a minute
  // per registered connection was memory for nothing.
  #promptTimer: Timer | undefined;
  #promptDue = 0;
  #promptDeferred = false;
  #promptConfirming = false;
  #registrationTimer: Timer | undefined;
  #refusal: string | null = null;
  #lastHeard = Date.now();
  #pinged = false;
  #attempts = 0;
  #telnet: TelnetFilter | null = null;
  #gatekeeper: Gatekeeper | null;
  /** The connection is TLS: its handshake comes before anything else. */
  #tls: boolean;
  /** Bytes can be sent: always on plain TCP, after the handshake with TLS. */
  #ready: boolean;
  #firstRead = true;
  /** A plain-text peer ended a line with CR LF, as telnet does and nc does not. */
  #crlf = false;
  /** The account name a plain-text peer is giving the password of, at the prompt. */
  #passwordFor: string | null = null;
  /** A password check is running for this peer. */
  #checking = false;
  /** Lines a plain-text peer typed during the check, handled after it. */
  #typedAhead: string[] = [];

  /**
   * Wraps an accepted connection; call {@link run} to serve it. A TLS
   * connection (`Deno.TlsConn`) is told apart by its `handshake` method.
   * Without a `gatekeeper` no password is ever checked: names that need one
   * are refused by the hub. `remoteAddr` is the peer's address when it is
   * not the connection's own: a TLS connection relayed over loopback comes
   * from the server itself (see tls_front.ts).
   */
  constructor(
    conn: Deno.Conn,
    hub: Hub,
    limits: SessionLimits,
    log: (line: string) => void,
    owner: SessionOwner | null = null,
    gatekeeper: Gatekeeper | null = null,
    remoteAddr: Deno.Addr = conn.remoteAddr,
  ) {
    this.#conn = conn;
    this.#gatekeeper = gatekeeper;
    this.#tls = "handshake" in conn;
    this.#ready = !this.#tls;
    this.#owner = owner;
    this.#hub = hub;
    this.#limits = limits;
    this.#log = log;
    this.peer = formatAddress(remoteAddr);
    this.address = remoteAddr.transport === "tcp" ? addressKey(remoteAddr.hostname) : this.peer;
    this.#outbox = new Outbox(conn, {
      limit: limits.queueLimitBytes,
      // A turn's worth of events for this peer in one write: see TurnFlusher.
      scheduler: TURN_FLUSHER,
      onFailure: (why, error) => this.#onOutboxFailure(why, error),
    });
  }

  /**
   * Serves the connection until it ends; never throws. After a goodbye the
   * connection is closed for writing first, and `run` ends when the peer
   * closes too or the drain timeout passes (see #close).
   */
  async run(): Promise<void> {
    this.#log(`connect ${this.peer}`);
    // Static callbacks with the session as argument: no closure per connection.
    // The registration time limit covers a TLS handshake that never finishes.
    this.#registrationTimer = setTimeout(
      Session.#onRegistrationTimer,
      this.#limits.registrationTimeoutMs,
      this,
    );
    this.#reading = true;
    try {
      if (this.#tls && !(await this.#handshake())) return;
      if (!this.#closing) this.#armPrompt();
      // One read loop, not an async iterator over a reader: each layer of
      // async iteration kept a few more promises and frames alive per idle
      // connection.
      const splitter = new LineSplitter(this.#limits.maxLineBytes);
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
      this.#log(`error ${this.peer}: ${describeError(error)}`);
    } finally {
      this.#reading = false;
      this.#clearTimers();
      try {
        if (this.#member) this.#hub.leave(this.#member, this.#leaveReason);
        // A peer that half-closed (end of input) still gets what was queued for it.
        await this.#drainAndClose();
      } finally {
        // Whatever went wrong above, the connection and the server's counts are released.
        this.#release();
        this.#stopped();
        this.#log(`disconnect ${this.peer}`);
        this.#owner?.ended(this);
      }
    }
  }

  /** Completes a TLS handshake; false (after logging why) when it failed. */
  async #handshake(): Promise<boolean> {
    try {
      await (this.#conn as Deno.TlsConn).handshake();
    } catch (error) {
      // Closed here (a shutdown, the registration timeout): said already, or nothing to say.
      if (!this.#closed) {
        this.#log(`drop ${this.peer}: TLS handshake failed (${describeError(error)})`);
      }
      return false;
    }
    this.#ready = true;
    return !this.#closed;
  }

  #onRead(read: LineRead): void {
    // What a closing peer still sends is read and ignored: see #close.
    if (this.#closing) return;
    if (read.kind === "too_long") {
      this.#refuse(
        ErrorCode.LineTooLong,
        `Line too long (limit ${this.#limits.maxLineBytes} bytes); it was ignored`,
      );
      this.#promptAgain();
    } else if (read.kind === "bad_encoding") {
      this.#refuse(ErrorCode.BadEncoding, "Line is not valid UTF-8; it was ignored");
      this.#promptAgain();
    } else {
      this.#onLine(read.text);
    }
  }

  /** Queues an event for this peer in its protocol; a `bye` closes the session after it. */
  send(event: ChatEvent): void {
    if (this.#closed) return;
    if (!this.#ready) {
      // Mid-handshake nothing can be sent; a goodbye just closes.
      if (event.type === "bye") this.#close();
      return;
    }
    if (this.#mode === "text") {
      const bytes = encodePlain(event, this.#member?.name ?? "");
      if (bytes !== null) this.#outbox.push(bytes);
    } else {
      this.#outbox.push(encodeEvent(event));
    }
    if (event.type === "bye") {
      if (event.code === "quit") this.#leaveReason = event.reason;
      void this.end();
    }
  }

  /** Stops reading, lets the queue drain for a moment, and closes. */
  async end(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await this.#drainAndClose();
  }

  async #drainAndClose(): Promise<void> {
    if (this.#closed) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#outbox.drained(),
      new Promise<void>((resolve) => timer = setTimeout(resolve, this.#limits.drainTimeoutMs)),
    ]);
    clearTimeout(timer);
    this.#close(true);
  }

  /** Whether the peer has registered a name. */
  get registered(): boolean {
    return this.#member !== null;
  }

  /**
   * Turns the peer away once its protocol is known, with `message` (too many
   * connections from its address).
   */
  refuse(message: string): void {
    this.#refusal = message;
  }

  /**
   * Keepalive, called periodically by the server: pings a JSON client that
   * has been silent for the ping interval, and drops one that stayed silent
   * for twice that. A silent plain-text peer cannot answer a ping; it gets a
   * NUL byte, which its terminal ignores, so that a dead connection fails
   * to deliver it and is noticed (after the system's retransmission time).
   */
  keepalive(now: number): void {
    const interval = this.#limits.pingIntervalMs;
    if (interval <= 0 || !this.#member || this.#closing) return;
    const silent = now - this.#lastHeard;
    if (this.#mode === "text") {
      if (silent >= interval && !this.#pinged) {
        this.#pinged = true;
        this.#outbox.push(NUL);
      }
      return;
    }
    if (silent >= 2 * interval && this.#pinged) {
      this.#log(`drop ${this.peer}: no answer to ping for ${silent} ms`);
      this.#leaveReason = "no response";
      this.#close();
    } else if (silent >= interval && !this.#pinged) {
      this.#pinged = true;
      this.send({ type: "ping", token: String(now) });
    }
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
        this.#lingerTimer = setTimeout(Session.#onLingerTimer, this.#limits.drainTimeoutMs, this);
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
    this.#owner?.stopped(this);
  }

  static #onLingerTimer(session: Session): void {
    session.#lingerTimer = undefined;
    session.#release();
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
      this.#log(`drop ${this.peer}: send queue over ${this.#limits.queueLimitBytes} bytes`);
    } else {
      this.#leaveReason = "connection lost";
      this.#log(`drop ${this.peer}: write failed (${describeError(error)})`);
    }
    this.#close();
  }

  /**
   * Notes that the peer is alive and whether its first byte opens JSON, and
   * takes telnet commands out of what a plain-text peer sends (in place).
   * Returns how many of the `n` bytes read are data.
   */
  #received(buffer: Uint8Array, n: number): number {
    if (this.#closing) return n;
    this.#lastHeard = Date.now();
    this.#pinged = false;
    if (this.#firstRead) {
      this.#firstRead = false;
      if (!this.#tls && this.#mode === "unknown" && isTlsHello(buffer, n)) {
        this.#notTls();
        return 0;
      }
    }
    if (this.#mode === "unknown" && buffer[0] === OPEN_BRACE) this.#mode = "json";
    if (this.#mode === "json") return n;
    // Only a peer that may be a person gets a telnet filter.
    const telnet = (this.#telnet ??= new TelnetFilter()).filter(buffer.subarray(0, n));
    if (telnet.reply) this.#outbox.push(telnet.reply);
    if (telnet.stop) this.#interrupted();
    if (!this.#member && !this.#crlf) this.#crlf = hasCrlf(buffer, telnet.length);
    return telnet.length;
  }

  /**
   * A TLS client on this plain server: its TLS layer cannot show a line of
   * text, but it fails at once on one (instead of waiting for a handshake
   * that never comes), and someone reading the bytes sees why.
   */
  #notTls(): void {
    this.#log(`refuse ${this.peer}: it speaks TLS, and this server does not use TLS`);
    this.#mode = "text";
    this.#write(`${NOT_TLS_MESSAGE}\r\n`);
    void this.end();
  }

  /** Ctrl+C in telnet: the person wants out. */
  #interrupted(): void {
    if (this.#member) this.#hub.quit(this.#member, "quit");
    else this.send({ type: "bye", code: "quit", reason: "quit" });
  }

  /**
   * Shows the name prompt again to a plain-text peer still choosing a name
   * (one at the password prompt starts again from the name).
   */
  #promptAgain(): void {
    if (this.#passwordFor !== null) this.#endPasswordPrompt();
    if (this.#mode === "text" && !this.#member && !this.#closing) this.#write(NAME_PROMPT);
  }

  /**
   * Counts a refused attempt to register; a peer that keeps failing (a
   * script guessing names, say) is disconnected instead of filling the log.
   */
  #failedAttempt(): boolean {
    if (this.#member || ++this.#attempts < MAX_ATTEMPTS) return false;
    this.#log(`drop ${this.peer}: ${MAX_ATTEMPTS} failed attempts to register`);
    this.send({ type: "bye", code: "refused", reason: "Too many failed attempts to register" });
    return true;
  }

  #armPrompt(delayMs = this.#limits.promptDelayMs): void {
    this.#promptDue = performance.now() + delayMs;
    this.#promptTimer = setTimeout(Session.#onPromptTimer, delayMs, this);
  }

  static #onPromptTimer(session: Session): void {
    session.#promptTimer = undefined;
    if (session.#mode !== "unknown" || session.#prompted) return;
    if (!session.#promptDeferred && performance.now() - session.#promptDue > LATE_PROMPT_MS) {
      // A busy server (a join storm): read what is waiting before deciding
      // that the peer is a person, or a JSON client is greeted as one.
      session.#promptDeferred = true;
      session.#armPrompt();
    } else if (!session.#promptConfirming) {
      session.#promptConfirming = true;
      session.#armPrompt(PROMPT_CONFIRM_MS);
    } else {
      session.#greetText();
    }
  }

  static #onRegistrationTimer(session: Session): void {
    session.#registrationTimer = undefined;
    session.#registrationExpired();
  }

  #clearTimers(): void {
    clearTimeout(this.#promptTimer);
    clearTimeout(this.#registrationTimer);
    this.#promptTimer = undefined;
    this.#registrationTimer = undefined;
  }

  /** Takes the hub's member for this session; the timers of registration are done with. */
  #becomeMember(member: Member): void {
    this.#member = member;
    this.#clearTimers();
    this.#owner?.registered(this);
  }

  #greetText(): void {
    if (this.#mode !== "unknown" || this.#prompted) return;
    this.#prompted = true;
    this.#mode = "text";
    if (this.#turnAway()) return;
    this.#write(
      `Welcome to chat! ${this.#hub.userCount} of ${this.#hub.maxUsers} users online.\r\n`,
    );
    if (this.#hub.isFull()) {
      this.send({ type: "bye", code: "room_full", reason: this.#hub.fullMessage() });
      return;
    }
    this.#write(NAME_PROMPT);
  }

  #registrationExpired(): void {
    if (this.#member || this.#closing) return;
    if (!this.#ready) {
      // Nothing can be said mid-handshake. Closing the connection frees it
      // only once the handshake ends: the server then closes the relay in
      // front of it (see tls_front.ts), which ends the handshake.
      this.#log(
        `drop ${this.peer}: no TLS handshake after ${this.#limits.registrationTimeoutMs} ms`,
      );
      this.#close();
      return;
    }
    this.#log(`drop ${this.peer}: no name after ${this.#limits.registrationTimeoutMs} ms`);
    this.#refuse(ErrorCode.Timeout, "No name was given in time");
    this.send({ type: "bye", code: "timeout", reason: "registration timed out" });
  }

  /** Sends the refusal set by {@link refuse}, if any, and closes; true if it did. */
  #turnAway(): boolean {
    if (this.#refusal === null) return false;
    if (!this.#closing) {
      this.#refuse(ErrorCode.TooManyConnections, this.#refusal);
      this.send({ type: "bye", code: "too_many_connections", reason: this.#refusal });
    }
    return true;
  }

  #write(text: string): void {
    this.#outbox.push(encoder.encode(text));
  }

  #refuse(code: ErrorCode, message: string): void {
    this.send({ type: "error", code, message });
    this.#failedAttempt();
  }

  #onLine(line: string): void {
    if (this.#checking && this.#mode === "text" && !this.#member) {
      if (this.#typedAhead.length < MAX_TYPED_AHEAD) this.#typedAhead.push(line);
      return;
    }
    if (this.#mode === "unknown") {
      this.#mode = line.startsWith("{") ? "json" : "text";
      if (this.#mode === "text") this.#prompted = true;
    } else if (
      this.#mode === "text" && !this.#member && this.#passwordFor === null && line.startsWith("{")
    ) {
      // A JSON client that was slower than the prompt: finish the prompt's
      // line, then speak JSON.
      this.#write("\r\n");
      this.#mode = "json";
    }
    if (this.#turnAway()) return;
    if (this.#mode === "json") this.#onFrame(line);
    else if (this.#member) this.#hub.handleLine(this.#member, line);
    else this.#registerText(line);
  }

  #registerText(line: string): void {
    if (this.#passwordFor !== null) {
      this.#passwordEntered(this.#passwordFor, line);
      return;
    }
    const name = line.trim();
    if (!name) {
      this.#write(NAME_PROMPT);
      return;
    }
    if (this.#gatekeeper && this.#hub.needsPassword(name)) {
      this.#passwordFor = name;
      this.#askPassword();
      return;
    }
    this.#enter(name, this.#origin());
  }

  /**
   * Prompts a plain-text peer for the password. A telnet client is asked to
   * stop echoing (the server offers to echo, and then does not); nc always
   * shows what is typed. A peer counts as telnet once it has sent a telnet
   * command, or ended its lines with CR LF as telnet does.
   */
  #askPassword(): void {
    if (this.#telnet && (this.#telnet.seen || this.#crlf)) {
      this.#outbox.push(this.#telnet.willEcho());
    }
    this.#write(PASSWORD_PROMPT);
  }

  /** The line after the password prompt: check it. An empty one goes back to the name. */
  #passwordEntered(name: string, password: string): void {
    this.#endPasswordPrompt();
    if (password === "") {
      this.#write(NAME_PROMPT);
      return;
    }
    this.#login(name, password, this.#origin());
  }

  /** Leaves the password prompt; a telnet client echoes again. */
  #endPasswordPrompt(): void {
    this.#passwordFor = null;
    // Unless the client refused the offer, the Enter was not echoed either:
    // end the prompt's line for them.
    if (this.#telnet?.echoing) {
      this.#outbox.push(this.#telnet.wontEcho());
      this.#write("\r\n");
    }
  }

  #origin(resume?: string): Origin {
    return {
      peer: this.peer,
      address: this.address,
      ...(resume !== undefined ? { resume } : {}),
    };
  }

  /**
   * Registers `name`; a refusal goes to the peer, who may try again (a
   * plain-text peer is prompted for a name again), except when the server
   * is full.
   */
  #enter(name: string, origin: Origin): void {
    try {
      this.#becomeMember(this.#hub.register(name, this, origin));
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      const full = error.code === ErrorCode.RoomFull;
      // A plain-text peer reads the goodbye alone; a program gets the error code too.
      if (!full || this.#mode !== "text") this.#refuse(error.code, error.message);
      if (full) this.send({ type: "bye", code: "room_full", reason: error.message });
      else this.#promptAgain();
    }
  }

  /**
   * Has the gatekeeper check `password` for `name`, then registers the name
   * as an account holder's, or tells the peer why not (a failed attempt).
   * A peer gone meanwhile gets nothing.
   */
  #login(name: string, password: string, origin: Origin): void {
    const gatekeeper = this.#gatekeeper;
    if (!gatekeeper) return;
    this.#checking = true;
    gatekeeper.login(name, password, this.address).then((verdict) => {
      this.#checking = false;
      if (this.#closing || this.#member) return;
      if (verdict.ok) {
        this.#enter(name, { ...origin, account: true });
      } else {
        // What was typed meanwhile may be the password again, typed ahead:
        // read as a name, it would be shown to the room.
        this.#typedAhead = [];
        this.#refuse(verdict.code, verdict.message);
        this.#promptAgain();
      }
      this.#replayTypedAhead();
    }).catch((error) => {
      // A bug, not a wrong password: the peer is not left waiting forever.
      this.#checking = false;
      this.#log(`error ${this.peer}: ${describeError(error)}`);
      this.#close();
    });
  }

  /** Handles the lines a plain-text peer typed during a password check, until another starts. */
  #replayTypedAhead(): void {
    while (this.#typedAhead.length > 0 && !this.#checking && !this.#closing) {
      this.#onLine(this.#typedAhead.shift()!);
    }
    if (this.#closing) this.#typedAhead = [];
  }

  #onFrame(line: string): void {
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(line);
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      this.#refuse(error.code, error.message);
      return;
    }
    const member = this.#member;
    if (frame.type === "ping") {
      this.send({ type: "pong", ...(frame.token !== undefined ? { token: frame.token } : {}) });
    } else if (frame.type === "pong") {
      // Keepalive answer: receiving it was the point.
    } else if (frame.type === "hello") {
      this.#hello(frame);
    } else if (!member) {
      if (frame.type === "quit") this.send({ type: "bye", code: "quit", reason: "quit" });
      else this.#refuse(ErrorCode.NotRegistered, 'Send "hello" with your name first');
    } else {
      this.#dispatch(member, frame);
    }
  }

  #hello(frame: ClientFrame & { type: "hello" }): void {
    if (this.#member) {
      this.#refuse(
        ErrorCode.AlreadyRegistered,
        `You are already registered as ${this.#member.name}`,
      );
      return;
    }
    if (this.#checking) {
      this.#refuse(
        ErrorCode.Busy,
        "Your password is still being checked; wait for the answer",
      );
      return;
    }
    if (frame.version !== PROTOCOL_VERSION) {
      const message =
        `Protocol version ${frame.version} is not supported; this server speaks ${PROTOCOL_VERSION}`;
      this.#refuse(ErrorCode.VersionUnsupported, message);
      this.send({ type: "bye", code: "version", reason: message });
      return;
    }
    const origin = this.#origin(frame.resume);
    const gatekeeper = this.#gatekeeper;
    const name = frame.name.trim();
    // A valid resume token was issued to a connection that had logged in: no password again.
    if (gatekeeper && !this.#hub.canResume(name, frame.resume) && this.#hub.needsPassword(name)) {
      if (frame.password === undefined) {
        // Not a failed attempt: clients ask for the password only when told it is needed.
        this.send({
          type: "error",
          code: ErrorCode.PasswordRequired,
          message: gatekeeper.passwordRequired(name),
        });
      } else {
        this.#login(name, frame.password, origin);
      }
      return;
    }
    this.#enter(frame.name, origin);
  }

  #dispatch(member: Member, frame: ClientFrame): void {
    const hub = this.#hub;
    switch (frame.type) {
      case "say":
        return hub.say(member, frame.text);
      case "me":
        return hub.act(member, frame.text);
      case "msg":
        return hub.whisper(member, frame.to, frame.text);
      case "nick":
        return hub.rename(member, frame.name);
      case "who":
        return hub.who(member);
      case "help":
        return hub.help(member);
      case "quit":
        return hub.quit(member, frame.reason);
      case "input":
        return hub.handleLine(member, frame.text);
      case "history":
        return hub.history(member, frame.count, frame.before);
    }
  }
}

/** Whether the first bytes read look like a TLS ClientHello: a handshake record of TLS 1.x. */
function isTlsHello(buffer: Uint8Array, n: number): boolean {
  return n > 0 && buffer[0] === TLS_HANDSHAKE && (n < 2 || buffer[1] === TLS_MAJOR);
}

/** Whether the first `n` bytes of `buffer` hold a CR LF line ending. */
function hasCrlf(buffer: Uint8Array, n: number): boolean {
  let at = buffer.indexOf(NEWLINE);
  while (at !== -1 && at < n) {
    if (at > 0 && buffer[at - 1] === CARRIAGE_RETURN) return true;
    at = buffer.indexOf(NEWLINE, at + 1);
  }
  return false;
}

/** Formats an address as `host:port`, with brackets around IPv6 hosts. */
export function formatAddress(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return addr.transport;
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/** A short, human description of an error, without a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
