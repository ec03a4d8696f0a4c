/**
 * Registering a peer's name, the same for every protocol. A name that
 * belongs to an account (or any name, where the server admits account
 * holders only) needs its password, which the {@link Gatekeeper} checks,
 * asynchronously; the hub registers the name once it has said yes. A resume
 * token from an earlier `welcome` takes a name back without the password.
 * Refused attempts are counted, and a peer that keeps failing is dropped.
 *
 * A login knows nothing of how its protocol asks for a name or shows an
 * answer: refusals go to the peer as `error` events, and what else happened
 * to the protocol session serving the peer (its {@link LoginListener}).
 *
 * @module
 */

import type { Gatekeeper } from "../auth/gatekeeper.ts";
import { ChatError, errorMessage } from "../core/errors.ts";
import { type ChatEvent, ErrorCode } from "../core/events.ts";
import type { DeliveryRequest } from "../core/delivery.ts";
import { BannedError, type Origin } from "../core/hub.ts";
import type { Connection } from "./connection.ts";

/** Refused attempts (names, bad frames) a peer may make before registering. */
const MAX_ATTEMPTS = 10;

/** What a {@link Login} tells the protocol session serving its peer. */
export interface LoginListener {
  /**
   * Whether the peer reads error codes: a program gets the error of a full
   * server before its goodbye; a person reads the goodbye alone.
   */
  readonly readsErrorCodes: boolean;
  /** A name or password was refused and the peer may try again: ask again, if the protocol asks. */
  retry(): void;
  /** A password check has ended, `ok` or not, and the peer is still there unregistered. */
  checked(ok: boolean): void;
}

/** A peer whose protocol is not known yet hears nothing from the login. */
const UNDECIDED: LoginListener = { readsErrorCodes: true, retry() {}, checked() {} };

/** The registration of one connection's peer: its attempts, and its password check. */
export class Login {
  /** Told how attempts end: the protocol session serving the peer now. */
  listener: LoginListener = UNDECIDED;
  #connection: Connection;
  #attempts = 0;
  /** Times the peer was told that a name needs its password. */
  #passwordRequired = 0;
  /** A password check is running for this peer. */
  #checking = false;

  /** The login of `connection`'s peer, with the connection's hub and gatekeeper. */
  constructor(connection: Connection) {
    this.#connection = connection;
  }

  /** Whether a password check is running for this peer. */
  get checking(): boolean {
    return this.#checking;
  }

  /**
   * Whether `name` needs its password: never without a gatekeeper (the hub
   * then refuses the names that would), and not with a valid `resume` token.
   */
  needsPassword(name: string, resume?: string): boolean {
    const { hub, gatekeeper } = this.#connection.context;
    // A valid resume token was issued to a connection that had logged in: no password again.
    return gatekeeper !== null && !hub.canResume(name, resume) && hub.needsPassword(name);
  }

  /**
   * Tells the peer, in a `password_required` error, that `name` needs its
   * password (see {@link needsPassword}). The first time is how a client
   * learns it, and is free; each time after counts as a refused attempt, as
   * a wrong password does: a client that sends the password when asked never
   * hears it twice.
   */
  requirePassword(name: string): void {
    const message = this.#gatekeeper()?.passwordRequired(name) ?? "";
    if (this.#passwordRequired++ === 0) {
      this.#connection.send({ type: "error", code: ErrorCode.PasswordRequired, message });
    } else {
      this.refuse(ErrorCode.PasswordRequired, message);
    }
  }

  /**
   * Registers `name` (taking it back with a `resume` token); a refusal goes
   * to the peer, who may try again, except when the server is full.
   */
  register(name: string, resume?: string, delivery: DeliveryRequest = {}): void {
    this.#enter(name, this.#origin(resume, delivery));
  }

  /**
   * Has the gatekeeper check `password` for `name`, then registers the name
   * as an account holder's, or tells the peer why not (a failed attempt).
   * A peer gone meanwhile gets nothing.
   */
  logIn(name: string, password: string, resume?: string, delivery: DeliveryRequest = {}): void {
    const gatekeeper = this.#gatekeeper();
    if (!gatekeeper) return;
    const connection = this.#connection;
    const origin = this.#origin(resume, delivery);
    this.#checking = true;
    gatekeeper.login(name, password, connection.address).then((verdict) => {
      this.#checking = false;
      if (connection.closing || connection.registered) return;
      if (verdict.ok) {
        this.#enter(name, { ...origin, account: true });
      } else {
        this.refuse(verdict.code, verdict.message);
        this.listener.retry();
      }
      this.listener.checked(verdict.ok);
    }).catch((error) => {
      // A bug, not a wrong password: the peer is not left waiting forever.
      this.#checking = false;
      connection.context.log(`error ${connection.peer}: ${errorMessage(error)}`);
      connection.drop();
    });
  }

  /**
   * Tells the peer why something was refused, in an `error` event; before it
   * registers, that counts as a failed attempt. Once registered, it comes in
   * order: after the answers to what it sent before, and a replay's pages.
   */
  refuse(code: ErrorCode, message: string): void {
    const member = this.#connection.member;
    const error = { type: "error" as const, code, message };
    if (member) this.#connection.context.hub.answer(member, error);
    else this.#connection.send(error);
    this.#failedAttempt();
  }

  /**
   * Counts a refused attempt to register; a peer that keeps failing (a
   * script guessing names, say) is disconnected instead of filling the log.
   */
  #failedAttempt(): void {
    const connection = this.#connection;
    if (connection.registered || ++this.#attempts < MAX_ATTEMPTS) return;
    connection.context.log(`drop ${connection.peer}: ${MAX_ATTEMPTS} failed attempts to register`);
    connection.send({
      type: "bye",
      code: "refused",
      reason: "Too many failed attempts to register",
    });
  }

  #gatekeeper(): Gatekeeper | null {
    return this.#connection.context.gatekeeper;
  }

  #origin(resume: string | undefined, delivery: DeliveryRequest): Origin {
    const connection = this.#connection;
    return {
      ...delivery,
      peer: connection.peer,
      address: connection.address,
      ...(resume !== undefined ? { resume } : {}),
    };
  }

  #enter(name: string, origin: Origin): void {
    const connection = this.#connection;
    try {
      connection.become(connection.context.hub.register(name, connection, origin));
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      const full = error.code === ErrorCode.RoomFull;
      const banned = error instanceof BannedError;
      // A plain-text peer reads the goodbye alone; a program gets the error code too.
      if (!(full || banned) || this.listener.readsErrorCodes) {
        this.refuse(error.code, error.message);
      }
      if (full) connection.send({ type: "bye", code: "room_full", reason: error.message });
      else if (banned) connection.send(banGoodbye(error));
      else this.listener.retry();
    }
  }
}

/** The goodbye of a banned peer: why, and until when. */
function banGoodbye(error: BannedError): ChatEvent {
  const until = error.ban.until;
  return {
    type: "bye",
    code: "banned",
    reason: error.message,
    ...(until !== null ? { until } : {}),
  };
}
