/**
 * The JSON protocol on a connection: one frame per line (see
 * docs/PROTOCOL.md). A client registers with `hello` (name, and password or
 * resume token where needed), then sends frames that go to the hub; events
 * come back as JSON lines. A client that stays silent is pinged, and answers.
 *
 * @module
 */

import { type ChatEvent, ErrorCode, PROTOCOL_VERSION } from "../core/events.ts";
import { ChatError } from "../core/errors.ts";
import type { Member } from "../core/room.ts";
import { type ClientFrame, decodeClientFrame, encodeEvent, FrameError } from "../protocol/json.ts";
import type { Connection, Protocol } from "./connection.ts";
import type { Login, LoginListener } from "./login.ts";

/** A JSON client's session: its frames in, its events out. */
export class JsonSession implements Protocol, LoginListener {
  #connection: Connection;
  #login: Login;

  /** Serves `connection`'s peer in JSON; `login` (its attempts so far) reports to this session. */
  constructor(connection: Connection, login: Login) {
    this.#connection = connection;
    this.#login = login;
    login.listener = this;
  }

  /** A program reads the code of every error. */
  get readsErrorCodes(): boolean {
    return true;
  }

  /** A client answers a `ping`, so one that does not is dropped. */
  get answersPings(): boolean {
    return true;
  }

  /** Nothing to do: the client speaks first, with `hello`. */
  opened(): void {}

  /** Every byte is data. */
  received(_buffer: Uint8Array, n: number): number {
    return n;
  }

  /** Handles one frame. */
  line(text: string): void {
    if (this.#connection.turnedAway()) return;
    this.#onFrame(text);
  }

  /** Sends the refusal as an `error` event, counted as a failed attempt before registering. */
  refuse(code: ErrorCode, message: string): void {
    this.#login.refuse(code, message);
  }

  /** Nothing to ask again: a client tries again when it is told why not. */
  retry(): void {}

  /** Nothing to do: a client waits for the answer to its `hello` on its own. */
  checked(): void {}

  /** The event as a JSON line. */
  encode(event: ChatEvent): Uint8Array {
    return encodeEvent(event);
  }

  /** Sends a `ping`, whose `pong` shows the client is alive. */
  ping(now: number): void {
    this.#connection.send({ type: "ping", token: String(now) });
  }

  /** No timers of its own to stop. */
  ended(): void {}

  #onFrame(line: string): void {
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(line);
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      const member = this.#connection.member;
      const cid = error instanceof FrameError ? error.cid : undefined;
      if (member && cid !== undefined) {
        // So that the client can drop the pending line this frame carried; after the answers
        // to what it sent before, and a replay's pages.
        this.#connection.context.hub.answer(member, {
          type: "error",
          code: error.code,
          message: error.message,
          cid,
        });
      } else {
        this.#login.refuse(error.code, error.message);
      }
      return;
    }
    const connection = this.#connection;
    const member = connection.member;
    if (frame.type === "ping") {
      const pong = {
        type: "pong" as const,
        ...(frame.token !== undefined ? { token: frame.token } : {}),
      };
      // Frames are answered in order: the echoes of messages sent before it come first.
      if (member) connection.context.hub.answer(member, pong);
      else connection.send(pong);
    } else if (frame.type === "pong") {
      // Keepalive answer: receiving it was the point.
    } else if (frame.type === "hello") {
      this.#hello(frame);
    } else if (!member) {
      if (frame.type === "quit") connection.send({ type: "bye", code: "quit", reason: "quit" });
      else this.#login.refuse(ErrorCode.NotRegistered, 'Send "hello" with your name first');
    } else if ("cid" in frame && frame.cid !== undefined) {
      connection.context.hub.answering(frame.cid, () => this.#dispatch(member, frame));
    } else {
      this.#dispatch(member, frame);
    }
  }

  #hello(frame: ClientFrame & { type: "hello" }): void {
    const connection = this.#connection;
    const login = this.#login;
    if (frame.batch === true) connection.batchLines();
    if (connection.member) {
      login.refuse(
        ErrorCode.AlreadyRegistered,
        `You are already registered as ${connection.member.name}`,
      );
      return;
    }
    if (login.checking) {
      login.refuse(
        ErrorCode.Busy,
        "Your password is still being checked; wait for the answer",
      );
      return;
    }
    if (frame.version !== PROTOCOL_VERSION) {
      const message =
        `Protocol version ${frame.version} is not supported; this server speaks ${PROTOCOL_VERSION}`;
      login.refuse(ErrorCode.VersionUnsupported, message);
      connection.send({ type: "bye", code: "version", reason: message });
      return;
    }
    const name = frame.name.trim();
    const delivery = {
      ...(frame.since !== undefined ? { since: frame.since, stream: frame.stream } : {}),
      ...(frame.acks === true ? { acks: true } : {}),
    };
    if (login.needsPassword(name, frame.resume)) {
      if (frame.password === undefined) {
        // Clients ask for the password only when told it is needed: the first time is free.
        login.requirePassword(name);
      } else {
        login.logIn(name, frame.password, frame.resume, delivery);
      }
      return;
    }
    login.register(frame.name, frame.resume, delivery);
  }

  #dispatch(member: Member, frame: ClientFrame): void {
    const hub = this.#connection.context.hub;
    switch (frame.type) {
      case "say":
        return hub.say(member, frame.text, frame.room);
      case "me":
        return hub.act(member, frame.text, frame.room);
      case "msg":
        return hub.whisper(member, frame.to, frame.text);
      case "nick":
        return hub.rename(member, frame.name);
      case "who":
        return hub.who(member, frame.room);
      case "help":
        return hub.help(member);
      case "quit":
        return hub.quit(member, frame.reason);
      case "input":
        return hub.handleLine(member, frame.text, frame.room);
      case "history":
        return hub.history(member, frame.count, frame.before, frame.room);
      case "join":
        return hub.join(member, frame.room, frame.since);
      case "ack":
        return hub.ack(member, frame.id);
      case "part":
        return hub.part(member, frame.room, frame.reason);
      case "rooms":
        return hub.rooms(member);
      case "topic":
        return hub.topic(member, frame.room, frame.text);
      case "kick":
        return hub.roomKick(member, frame.room, frame.name, frame.reason);
      case "op":
      case "deop":
        return hub.setOperator(member, frame.room, frame.name, frame.type === "op");
      case "invite":
        return hub.invite(member, frame.room, frame.name);
      case "private":
      case "public":
        return hub.setPrivate(member, frame.room, frame.type === "private");
      case "away":
        return hub.away(member, frame.text);
      case "ignore":
        return frame.name === undefined ? hub.ignoreList(member) : hub.ignore(member, frame.name);
      case "unignore":
        return hub.unignore(member, frame.name);
      case "whois":
        return hub.whois(member, frame.name);
    }
  }
}
