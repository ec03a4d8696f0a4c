/**
 * One connection's life on the server: work out which protocol the peer
 * speaks, register a name, feed lines to the hub, and leave when it ends.
 *
 * A peer whose first byte opens a JSON object speaks the JSON protocol; anyone
 * else (`nc`, `telnet`) gets a plain-text session. A text peer sees a prompt
 * shortly after connecting; a JSON client sends `hello` at once and never
 * waits for it.
 *
 * @module
 */

import { ChatError } from "./errors.ts";
import { type ChatEvent, ErrorCode, PROTOCOL_VERSION, type Sink } from "./events.ts";
import type { Hub } from "./hub.ts";
import { type LineRead, LineSplitter } from "./line_reader.ts";
import { Outbox, type OutboxFailure, TURN_FLUSHER } from "./outbox.ts";
import { encodePlain, NAME_PROMPT } from "./plain_text.ts";
import { addressKey } from "./address.ts";
import { TelnetFilter } from "./telnet.ts";
import { type ClientFrame, decodeClientFrame, encodeEvent } from "./protocol.ts";
import type { Member } from "./room.ts";

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

  /** Wraps an accepted connection; call {@link run} to serve it. */
  constructor(
    conn: Deno.Conn,
    hub: Hub,
    limits: SessionLimits,
    log: (line: string) => void,
    owner: SessionOwner | null = null,
  ) {
    this.#conn = conn;
    this.#owner = owner;
    this.#hub = hub;
    this.#limits = limits;
    this.#log = log;
    this.peer = formatAddress(conn.remoteAddr);
    this.address = conn.remoteAddr.transport === "tcp"
      ? addressKey(conn.remoteAddr.hostname)
      : this.peer;
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
    this.#armPrompt();
    // Static callbacks with the session as argument: no closure per connection.
    this.#registrationTimer = setTimeout(
      Session.#onRegistrationTimer,
      this.#limits.registrationTimeoutMs,
      this,
    );
    this.#reading = true;
    try {
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
        this.#conn.closeWrite();
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
    if (this.#mode === "unknown" && buffer[0] === OPEN_BRACE) this.#mode = "json";
    if (this.#mode === "json") return n;
    // Only a peer that may be a person gets a telnet filter.
    const telnet = (this.#telnet ??= new TelnetFilter()).filter(buffer.subarray(0, n));
    if (telnet.reply) this.#outbox.push(telnet.reply);
    if (telnet.stop) this.#interrupted();
    return telnet.length;
  }

  /** Ctrl+C in telnet: the person wants out. */
  #interrupted(): void {
    if (this.#member) this.#hub.quit(this.#member, "quit");
    else this.send({ type: "bye", code: "quit", reason: "quit" });
  }

  /** Shows the name prompt again to a plain-text peer still choosing a name. */
  #promptAgain(): void {
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
    if (this.#mode === "unknown") {
      this.#mode = line.startsWith("{") ? "json" : "text";
      if (this.#mode === "text") this.#prompted = true;
    } else if (this.#mode === "text" && !this.#member && line.startsWith("{")) {
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

  #registerText(name: string): void {
    if (!name.trim()) {
      this.#write(NAME_PROMPT);
      return;
    }
    try {
      this.#becomeMember(
        this.#hub.register(name, this, { peer: this.peer, address: this.address }),
      );
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      if (error.code === ErrorCode.RoomFull) {
        this.send({ type: "bye", code: "room_full", reason: error.message });
      } else {
        this.#refuse(error.code, error.message);
        this.#promptAgain();
      }
    }
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
    if (frame.version !== PROTOCOL_VERSION) {
      const message =
        `Protocol version ${frame.version} is not supported; this server speaks ${PROTOCOL_VERSION}`;
      this.#refuse(ErrorCode.VersionUnsupported, message);
      this.send({ type: "bye", code: "version", reason: message });
      return;
    }
    try {
      this.#becomeMember(this.#hub.register(frame.name, this, {
        peer: this.peer,
        address: this.address,
        ...(frame.resume !== undefined ? { resume: frame.resume } : {}),
      }));
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      this.#refuse(error.code, error.message);
      if (error.code === ErrorCode.RoomFull) {
        this.send({ type: "bye", code: "room_full", reason: error.message });
      }
    }
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
    }
  }
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
