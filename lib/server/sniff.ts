/**
 * Telling which protocol a TCP peer speaks from what it sends first. A peer
 * whose first byte opens a JSON object speaks the JSON protocol; anyone else
 * (`nc`, `telnet`) gets a plain-text session. A text peer sees a prompt
 * shortly after connecting; a JSON client sends `hello` at once and never
 * waits for it, and one that comes after the prompt all the same still
 * speaks JSON. A byte order mark before the first line does not count. A
 * peer whose first byte opens a TLS handshake, on a server without TLS, is
 * told so in one plain line and closed; one whose first line is an HTTP
 * request (a browser) is sent to the web page (see http_answer.ts).
 *
 * @module
 */

import type { ChatEvent, ErrorCode } from "../core/events.ts";
import { encodeEvent } from "../protocol/json.ts";
import { NOT_TLS_MESSAGE } from "../protocol/tls_notices.ts";
import type { Connection, Protocol } from "./connection.ts";
import { HttpAnswer, isHttpRequestLine } from "./http_answer.ts";
import { JsonSession } from "./json_session.ts";
import { Login } from "./login.ts";
import { TextSession } from "./text_session.ts";

const OPEN_BRACE = 0x7b;
/** U+FEFF, the byte order mark: bytes EF BB BF in UTF-8. */
const BYTE_ORDER_MARK = 0xfeff;
/** A TLS record starts with its content type, 22 for a handshake, then the version's major 3. */
const TLS_HANDSHAKE = 0x16;
const TLS_MAJOR = 0x03;

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

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
 * Starts telling apart the protocol of a new TCP connection's peer: the
 * first protocol of the TCP front's connections.
 */
export function sniff(connection: Connection): Protocol {
  return new Sniffer(connection);
}

/**
 * The protocol of a connection whose peer is not told apart yet; it hands
 * the peer to its session once it knows which.
 */
class Sniffer implements Protocol {
  #connection: Connection;
  /** The peer's attempts to register, which its session takes over. */
  #login: Login;
  /** Made at the first bytes that may be a person's: its telnet filter reads them. */
  #text: TextSession | null = null;
  #firstRead = true;
  // Cleared once the peer is told apart: a timer pending per connection was
  // memory for nothing.
  #promptTimer: Timer | undefined;
  #promptDue = 0;
  #promptDeferred = false;
  #promptConfirming = false;

  constructor(connection: Connection) {
    this.#connection = connection;
    this.#login = new Login(connection);
  }

  /** Nobody has registered yet. */
  get answersPings(): boolean {
    return false;
  }

  /** Waits for a JSON `hello` for a moment before taking the peer for a person. */
  opened(): void {
    this.#armPrompt();
  }

  /** Notes whether the first bytes open a TLS handshake or JSON. */
  received(buffer: Uint8Array, n: number): number {
    if (this.#firstRead) {
      this.#firstRead = false;
      if (!this.#connection.tls && isTlsHello(buffer, n)) {
        this.#notTls();
        return 0;
      }
    }
    if (buffer[0] === OPEN_BRACE) {
      this.#handOver(new JsonSession(this.#connection, this.#login));
      return n;
    }
    // Only a peer that may be a person gets a telnet filter.
    return this.#textSession().received(buffer, n);
  }

  /**
   * A first line that opens JSON (after a byte order mark, if any) is a
   * program's; any other, a person's.
   */
  line(line: string): void {
    const text = withoutBom(line);
    if (isHttpRequestLine(text)) {
      this.#handOver(new HttpAnswer(this.#connection, text));
      return;
    }
    const session = text.startsWith("{")
      ? new JsonSession(this.#connection, this.#login)
      : this.#textSession();
    this.#handOver(session);
    session.line(text);
  }

  /** Sends the refusal, counted as a failed attempt. */
  refuse(code: ErrorCode, message: string): void {
    this.#login.refuse(code, message);
  }

  /** Nothing was asked yet. */
  retry(): void {}

  /** Until the peer is told apart, events go out as JSON, for a program: a person saw nothing yet. */
  encode(event: ChatEvent): Uint8Array {
    return encodeEvent(event);
  }

  /** Nobody has registered yet: never called. */
  ping(): void {}

  /** Stops the prompt timer. */
  ended(): void {
    this.#stopPrompt();
  }

  #textSession(): TextSession {
    // It hears the login from now on, though the peer may still turn out to
    // speak JSON: no attempt to register starts before a line decides.
    return this.#text ??= new TextSession(this.#connection, this.#login, switchToJson);
  }

  #handOver(session: Protocol): void {
    this.#stopPrompt();
    this.#connection.use(session);
  }

  #stopPrompt(): void {
    clearTimeout(this.#promptTimer);
    this.#promptTimer = undefined;
  }

  #armPrompt(delayMs = this.#connection.context.limits.promptDelayMs): void {
    this.#promptDue = performance.now() + delayMs;
    // A static callback with the sniffer as argument: no closure per connection.
    this.#promptTimer = setTimeout(Sniffer.#onPromptTimer, delayMs, this);
  }

  static #onPromptTimer(sniffer: Sniffer): void {
    sniffer.#promptTimer = undefined;
    if (sniffer.#connection.protocol !== sniffer) return;
    if (!sniffer.#promptDeferred && performance.now() - sniffer.#promptDue > LATE_PROMPT_MS) {
      // A busy server (a join storm): read what is waiting before deciding
      // that the peer is a person, or a JSON client is greeted as one.
      sniffer.#promptDeferred = true;
      sniffer.#armPrompt();
    } else if (!sniffer.#promptConfirming) {
      sniffer.#promptConfirming = true;
      sniffer.#armPrompt(PROMPT_CONFIRM_MS);
    } else {
      const text = sniffer.#textSession();
      sniffer.#handOver(text);
      text.greet();
    }
  }

  /**
   * A TLS client on this plain server: its TLS layer cannot show a line of
   * text, but it fails at once on one (instead of waiting for a handshake
   * that never comes), and someone reading the bytes sees why.
   */
  #notTls(): void {
    const connection = this.#connection;
    connection.context.log(
      `refuse ${connection.peer}: it speaks TLS, and this server does not use TLS`,
    );
    this.#handOver(this.#textSession());
    connection.write(encoder.encode(`${NOT_TLS_MESSAGE}\r\n`));
    void connection.end();
  }
}

/**
 * Takes a line at the name prompt that opens JSON (true if it did): a JSON
 * client that was slower than the prompt. Finishes the prompt's line, then
 * speaks JSON.
 */
function switchToJson(connection: Connection, login: Login, line: string): boolean {
  const text = withoutBom(line);
  if (!text.startsWith("{")) return false;
  connection.write(CRLF);
  const json = new JsonSession(connection, login);
  connection.use(json);
  json.line(text);
  return true;
}

/**
 * `line` without a leading UTF-8 byte order mark, which some editors and
 * Windows tools write before the first line of what they send: it says how
 * the text is encoded, and is not part of it.
 */
function withoutBom(line: string): string {
  return line.charCodeAt(0) === BYTE_ORDER_MARK ? line.slice(1) : line;
}

/** Whether the first bytes read look like a TLS ClientHello: a handshake record of TLS 1.x. */
function isTlsHello(buffer: Uint8Array, n: number): boolean {
  return n > 0 && buffer[0] === TLS_HANDSHAKE && (n < 2 || buffer[1] === TLS_MAJOR);
}
