/**
 * The plain-text interface, for a person with `nc` or `telnet`: a welcome
 * and a name prompt, then lines of chat both ways, rendered as plain text.
 *
 * A name that needs its password gets a `Password: ` prompt after it; a
 * telnet client is asked not to echo what is typed there. Lines typed while
 * the password is checked are kept and handled after the answer. Telnet
 * commands are taken out of what the peer sends, and its Ctrl+C ends the
 * session.
 *
 * @module
 */

import type { ChatEvent, ErrorCode } from "../core/events.ts";
import { encodePlain, NAME_PROMPT } from "../protocol/plain_text.ts";
import { TelnetFilter } from "../protocol/telnet.ts";
import type { Connection, Protocol } from "./connection.ts";
import type { Login, LoginListener } from "./login.ts";

/** The prompt for an account's password, after the name, in a plain-text session. */
export const PASSWORD_PROMPT = "Password: ";

/**
 * Lines a plain-text peer may type while its password is checked; they are
 * handled when the answer comes (a script piping name, password and
 * messages into nc loses none), and any beyond are dropped.
 */
const MAX_TYPED_AHEAD = 16;

/** Sent to a silent plain-text peer so that a dead connection is noticed; terminals ignore it. */
const NUL = new Uint8Array([0]);

const CARRIAGE_RETURN = 0x0d;
const NEWLINE = 0x0a;

const encoder = new TextEncoder();
const NAME_PROMPT_BYTES = encoder.encode(NAME_PROMPT);
const PASSWORD_PROMPT_BYTES = encoder.encode(PASSWORD_PROMPT);
const CRLF = encoder.encode("\r\n");

/**
 * Offered each line typed at the name prompt: takes over (and handles) one
 * that shows the peer is a program after all, and says whether it did (see
 * sniff.ts).
 */
export type ProtocolSwitch = (connection: Connection, login: Login, line: string) => boolean;

/** A person's session in plain text. */
export class TextSession implements Protocol, LoginListener {
  #connection: Connection;
  #login: Login;
  /** Where a line at the name prompt may show a program: null where none is expected. */
  #protocolSwitch: ProtocolSwitch | null;
  #telnet: TelnetFilter | null = null;
  /** A plain-text peer ended a line with CR LF, as telnet does and nc does not. */
  #crlf = false;
  /** The account name a plain-text peer is giving the password of, at the prompt. */
  #passwordFor: string | null = null;
  /** The last `leave` or `rename` shown, not to show the same one for each shared room. */
  #lastSaid = "";
  /** Lines a plain-text peer typed during the check, handled after it (made when needed). */
  #typedAhead: string[] | null = null;

  /**
   * Serves `connection`'s peer in plain text; `login` (its attempts so far)
   * reports to this session. `protocolSwitch` is asked about each line at
   * the name prompt.
   */
  constructor(connection: Connection, login: Login, protocolSwitch: ProtocolSwitch | null = null) {
    this.#connection = connection;
    this.#login = login;
    this.#protocolSwitch = protocolSwitch;
    login.listener = this;
  }

  /** A person reads the goodbye of a full server alone. */
  get readsErrorCodes(): boolean {
    return false;
  }

  /** A person cannot answer a ping: a silent one is never dropped for it. */
  get answersPings(): boolean {
    return false;
  }

  /** Nothing to do: the prompt comes with {@link greet}. */
  opened(): void {}

  /** Welcomes a person and asks for a name; a full server says goodbye instead. */
  greet(): void {
    const connection = this.#connection;
    if (connection.turnedAway()) return;
    const hub = connection.context.hub;
    connection.write(
      encoder.encode(`Welcome to chat! ${hub.userCount} of ${hub.maxUsers} users online.\r\n`),
    );
    if (hub.isFull()) {
      connection.send({ type: "bye", code: "room_full", reason: hub.fullMessage() });
      return;
    }
    connection.write(NAME_PROMPT_BYTES);
  }

  /** Takes telnet commands out of what the peer sends (in place); answers and acts on them. */
  received(buffer: Uint8Array, n: number): number {
    const connection = this.#connection;
    const telnet = (this.#telnet ??= new TelnetFilter()).filter(buffer.subarray(0, n));
    if (telnet.reply) connection.write(telnet.reply);
    if (telnet.stop) this.#interrupted();
    if (!connection.registered && !this.#crlf) this.#crlf = hasCrlf(buffer, telnet.length);
    return telnet.length;
  }

  /** Handles a line: a name, a password, or chat once registered. */
  line(text: string): void {
    const connection = this.#connection;
    if (!connection.registered) {
      if (this.#login.checking) {
        const typedAhead = this.#typedAhead ??= [];
        if (typedAhead.length < MAX_TYPED_AHEAD) typedAhead.push(text);
        return;
      }
      if (this.#passwordFor === null && this.#protocolSwitch?.(connection, this.#login, text)) {
        return;
      }
    }
    if (connection.turnedAway()) return;
    if (connection.member) connection.context.hub.handleLine(connection.member, text);
    else this.#register(text);
  }

  /** Sends the refusal as an error line, counted as a failed attempt before registering. */
  refuse(code: ErrorCode, message: string): void {
    this.#login.refuse(code, message);
  }

  /**
   * Shows the name prompt again to a plain-text peer still choosing a name
   * (one at the password prompt starts again from the name).
   */
  retry(): void {
    if (this.#passwordFor !== null) this.#endPasswordPrompt();
    const connection = this.#connection;
    if (!connection.registered && !connection.closing) connection.write(NAME_PROMPT_BYTES);
  }

  /** Handles the lines typed during the check that ended. */
  checked(ok: boolean): void {
    // What was typed meanwhile may be the password again, typed ahead: read
    // as a name, it would be shown to the room.
    if (!ok) this.#typedAhead = null;
    this.#replayTypedAhead();
  }

  /** The event as a line of plain text, as this peer sees it (its own lines differ). */
  encode(event: ChatEvent): Uint8Array | null {
    const member = this.#connection.member;
    // Someone leaving the chat, or renamed, is told once per shared room: shown once.
    if (event.type === "leave" || event.type === "rename") {
      const said = `${event.type} ${event.time} ${
        event.type === "leave" ? event.name : event.from
      }`;
      if (said === this.#lastSaid) return null;
      this.#lastSaid = said;
    }
    return encodePlain(event, member?.name ?? "", member?.room?.name);
  }

  /**
   * A silent plain-text peer cannot answer a ping; it gets a NUL byte,
   * which its terminal ignores, so that a dead connection fails to deliver
   * it and is noticed (after the system's retransmission time).
   */
  ping(): void {
    this.#connection.write(NUL);
  }

  /** No timers of its own to stop. */
  ended(): void {}

  #register(line: string): void {
    if (this.#passwordFor !== null) {
      this.#passwordEntered(this.#passwordFor, line);
      return;
    }
    const name = line.trim();
    if (!name) {
      this.#connection.write(NAME_PROMPT_BYTES);
      return;
    }
    if (this.#login.needsPassword(name)) {
      this.#passwordFor = name;
      this.#askPassword();
      return;
    }
    this.#login.register(name);
  }

  /**
   * Prompts a plain-text peer for the password. A telnet client is asked to
   * stop echoing (the server offers to echo, and then does not); nc always
   * shows what is typed. A peer counts as telnet once it has sent a telnet
   * command, or ended its lines with CR LF as telnet does.
   */
  #askPassword(): void {
    if (this.#telnet && (this.#telnet.seen || this.#crlf)) {
      this.#connection.write(this.#telnet.willEcho());
    }
    this.#connection.write(PASSWORD_PROMPT_BYTES);
  }

  /** The line after the password prompt: check it. An empty one goes back to the name. */
  #passwordEntered(name: string, password: string): void {
    this.#endPasswordPrompt();
    if (password === "") {
      this.#connection.write(NAME_PROMPT_BYTES);
      return;
    }
    this.#login.logIn(name, password);
  }

  /** Leaves the password prompt; a telnet client echoes again. */
  #endPasswordPrompt(): void {
    this.#passwordFor = null;
    // Unless the client refused the offer, the Enter was not echoed either:
    // end the prompt's line for them.
    if (this.#telnet?.echoing) {
      this.#connection.write(this.#telnet.wontEcho());
      this.#connection.write(CRLF);
    }
  }

  /**
   * Handles the lines a plain-text peer typed during a password check, until
   * another starts. They go to the connection's protocol: one of them may
   * have shown a program, which speaks JSON from there on.
   */
  #replayTypedAhead(): void {
    const connection = this.#connection;
    const typedAhead = this.#typedAhead;
    if (typedAhead === null) return;
    while (typedAhead.length > 0 && !this.#login.checking && !connection.closing) {
      connection.protocol.line(typedAhead.shift()!);
    }
    if (connection.closing || typedAhead.length === 0) this.#typedAhead = null;
  }

  /** Ctrl+C in telnet: the person wants out. */
  #interrupted(): void {
    const connection = this.#connection;
    if (connection.member) connection.context.hub.quit(connection.member, "quit");
    else connection.send({ type: "bye", code: "quit", reason: "quit" });
  }
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
