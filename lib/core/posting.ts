/**
 * Posting: room messages and private messages, checked, stored, then sent.
 *
 * With a store, a message is stored before anyone sees it: the sender's
 * own copy (the echo) is the acknowledgement, so a message a sender has
 * seen is on disk. One the store refuses is not sent at all (`not_saved`),
 * rather than shown and then lost at the next restart. The store hands out
 * the ids; without one, they are counted here.
 *
 * @module
 */

import { awayEvent } from "./away.ts";
import type { Bus } from "./bus.ts";
import { ChatError, errorMessage } from "./errors.ts";
import { ErrorCode, type MessageEvent, type PrivateEvent } from "./events.ts";
import { ignores } from "./ignoring.ts";
import { MAX_MESSAGE_LENGTH } from "./limits.ts";
import type { Member, Room } from "./room.ts";
import { cleanMessage, codePointLength } from "./sanitize.ts";
import type { Mailbox, MessageLog } from "./store.ts";
import { StoreOutage } from "./store_outage.ts";

/** What posting needs of the store: somewhere to keep each message. */
export type PostingStore = Pick<MessageLog, "appendMessage"> & Pick<Mailbox, "appendPrivate">;

/** Settings of {@link Posting}. */
export interface PostingOptions {
  /** Keeps each message before it is sent, and hands out the ids; none keeps nothing. */
  store: PostingStore | null;
  /** Carries room messages to the room's members. */
  bus: Bus;
  /** The clock, in milliseconds since the epoch. */
  now: () => number;
  /** Receives one line per message, for the operator. */
  log: (line: string) => void;
}

/**
 * The text of a message as it is sent: cleaned, and checked.
 *
 * @throws {ChatError} `empty_message` or `message_too_long`.
 */
export function checkText(text: string): string {
  const clean = cleanMessage(text);
  if (!clean.trim()) {
    throw new ChatError(ErrorCode.EmptyMessage, "Empty message not sent; type some text first");
  }
  const length = codePointLength(clean);
  if (length > MAX_MESSAGE_LENGTH) {
    throw new ChatError(
      ErrorCode.MessageTooLong,
      `Message not sent: ${length} characters, the limit is ${MAX_MESSAGE_LENGTH}`,
    );
  }
  return clean;
}

/** Sends messages, each stored first when there is a store. */
export class Posting {
  /** The next message id, when there is no store to hand them out. */
  #nextId = 1;
  #store: PostingStore | null;
  #bus: Bus;
  #now: () => number;
  #log: (line: string) => void;
  /** A full disk refuses every message: the log says so once, not once each. */
  #outage: StoreOutage;

  /** Posting through `options.bus`, storing in `options.store`. */
  constructor(options: PostingOptions) {
    this.#store = options.store;
    this.#bus = options.bus;
    this.#now = options.now;
    this.#log = options.log;
    this.#outage = new StoreOutage(options.now, options.log);
  }

  /** Sends a message (or a `/me` action) from `member` to `room`, the sender included. */
  post(member: Member, room: Room, text: string, action: boolean): void {
    const clean = checkText(text);
    const time = this.#now();
    // Stored first: the sender's echo tells them it is saved. The store hands out the id.
    const id = this.#keep(
      `message from ${member.name} in #${room.name}`,
      (store) =>
        store.appendMessage({ time, room: room.name, from: member.name, text: clean, action }),
    ) ?? this.#nextId++;
    const message: MessageEvent = {
      type: "message",
      id,
      time,
      room: room.name,
      from: member.name,
      text: clean,
      ...(action ? { action: true as const } : {}),
    };
    this.#bus.publish(room.name, message);
    room.remember(message);
    this.#log(action ? `* ${member.name} ${clean}` : `<${member.name}> ${clean}`);
  }

  /**
   * Sends a private message to `target`, who is online (unless they ignore
   * the sender); the sender gets the same event as a receipt, whether or
   * not, and hears it when the target is away.
   */
  whisper(member: Member, target: Member, text: string): void {
    const clean = checkText(text);
    const event = this.privateMessage(member, target.name, clean, true);
    if (!ignores(target, member.name)) target.sink.send(event);
    if (target !== member) member.sink.send(event);
    if (target.away && target !== member) member.sink.send(awayEvent(target));
    // The operator sees that it happened, not what was said.
    this.#log(`private ${member.name} -> ${target.name} (${codePointLength(clean)} chars)`);
  }

  /**
   * A private message from `member` to `to`, stored (as `delivered` or
   * waiting) before it is sent.
   */
  privateMessage(member: Member, to: string, text: string, delivered: boolean): PrivateEvent {
    const time = this.#now();
    const id = this.#keep(
      `private message from ${member.name}`,
      (store) => store.appendPrivate({ time, from: member.name, to, text, delivered }),
    ) ?? this.#nextId++;
    return { type: "private", id, time, from: member.name, to, text };
  }

  /**
   * Runs a store operation for `what` (words for the log); when it fails,
   * for whatever reason, the operator is told (once for a run of failures,
   * see {@link StoreOutage}) and the user gets `not_saved`: nothing was
   * sent. Without a store, runs nothing and returns undefined.
   *
   * @throws {ChatError} `not_saved` when the operation throws.
   */
  save<T>(what: string, write: (store: PostingStore) => T): T | undefined {
    if (!this.#store) return undefined;
    try {
      return write(this.#store);
    } catch (error) {
      this.#outage.refused(what, errorMessage(error));
      throw new ChatError(ErrorCode.NotSaved, "Message not sent: the server could not save it");
    }
  }

  /**
   * {@link save} for a write that keeps a message. Only one that succeeds
   * ends an outage: on a full disk, reads (an account, a mailbox's size) work.
   */
  #keep<T>(what: string, write: (store: PostingStore) => T): T | undefined {
    const kept = this.save(what, write);
    this.#outage.stored();
    return kept;
  }
}
