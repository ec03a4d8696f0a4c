/**
 * Posting: room messages and private messages, checked, stored, then sent.
 *
 * With a store, a message is stored before anyone sees it: the sender's
 * own copy (the echo) is the acknowledgement, so a message a sender has
 * seen is on disk. One the store refuses is not sent at all (`not_saved`),
 * rather than shown and then lost at the next restart. The store hands out
 * the ids; without one, they are counted here. A store that commits in
 * groups ({@link GroupCommit}) keeps the messages (room and private) of one
 * turn of the event loop in one transaction; each is sent once that is on
 * disk, or refused then. Everything a message says (its sender's name
 * included) is taken when it is posted; the hub {@link Posting.settle}s the
 * messages waiting before any other event, so that nobody sees, say, a
 * `leave` or a rename before a message sent ahead of it.
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
import type { DeliveryLog, GroupCommit, Mailbox, MessageLog } from "./store.ts";
import { StoreOutage } from "./store_outage.ts";

/**
 * What posting needs of the store: somewhere to keep each message, and
 * perhaps a way to keep the messages of one turn together.
 */
export type PostingStore =
  & Pick<MessageLog, "appendMessage">
  & Pick<Mailbox, "appendPrivate">
  & Partial<GroupCommit>
  & Partial<Pick<DeliveryLog, "lastId">>;

/**
 * What a frame with a client-chosen id (`cid`) is told about the message it
 * posts: `sent` once it went out (after the echo), or it was refused.
 */
export interface Receipt {
  /** The frame's client-chosen id, carried by a refusal sent later. */
  readonly cid: string;
  /** The message went out with `id`. */
  sent(id: number): void;
  /** The message was refused; nothing went out. */
  failed(): void;
}

/** What a sender is told when their message could not be kept. */
export const NOT_SAVED = "Message not sent: the server could not save it";

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
  /** The newest id sent so far (or that the store held at the start). */
  #lastId: number;
  #store: PostingStore | null;
  #bus: Bus;
  #now: () => number;
  #log: (line: string) => void;
  /** A full disk refuses every message: the log says so once, not once each. */
  #outage: StoreOutage;
  /** How many messages of each sender wait for their group's commit. */
  #waiting = new Map<Member, number>();

  /** Posting through `options.bus`, storing in `options.store`. */
  constructor(options: PostingOptions) {
    this.#store = options.store;
    this.#bus = options.bus;
    this.#now = options.now;
    this.#log = options.log;
    this.#outage = new StoreOutage(options.now, options.log);
    this.#lastId = options.store?.lastId ?? 0;
  }

  /** The newest message id sent so far: a client welcomed now has missed nothing up to it. */
  get lastId(): number {
    return this.#lastId;
  }

  /**
   * Sends a message (or a `/me` action) from `member` to `room`, the sender
   * included, once it is stored.
   */
  post(member: Member, room: Room, text: string, action: boolean, receipt?: Receipt): void {
    const clean = checkText(text);
    const time = this.#now();
    // The name as it is now: a rename in the same turn comes after this message.
    const from = member.name;
    this.#keepThenSend(
      member,
      `message from ${from} in #${room.name}`,
      (store) => store.appendMessage({ time, room: room.name, from, text: clean, action }),
      (id) => {
        const message: MessageEvent = {
          type: "message",
          id,
          time,
          room: room.name,
          from,
          text: clean,
          ...(action ? { action: true as const } : {}),
        };
        this.#bus.publish(room.name, message);
        room.remember(message);
        this.#log(action ? `* ${from} ${clean}` : `<${from}> ${clean}`);
      },
      receipt,
    );
  }

  /**
   * Sends a private message to `target`, who is online (unless they ignore
   * the sender); the sender gets the same event as a receipt, whether or
   * not, and hears it when the target is away.
   */
  whisper(
    member: Member,
    target: Member,
    text: string,
    receipt?: Receipt,
    delivered = true,
  ): void {
    const clean = checkText(text);
    this.privateMessage(member, target.name, clean, delivered, (event) => {
      if (!ignores(target, event.from)) target.sink.send(event);
      if (target !== member) member.sink.send(event);
      if (target.away && target !== member) member.sink.send(awayEvent(target));
      // The operator sees that it happened, not what was said.
      this.#log(`private ${event.from} -> ${event.to} (${codePointLength(clean)} chars)`);
    }, receipt);
  }

  /**
   * A private message from `member` to `to`, stored (as `delivered` or
   * waiting), then handed to `send`.
   */
  privateMessage(
    member: Member,
    to: string,
    text: string,
    delivered: boolean,
    send: (event: PrivateEvent) => void,
    receipt?: Receipt,
  ): void {
    const time = this.#now();
    const from = member.name;
    this.#keepThenSend(
      member,
      `private message from ${from}`,
      (store) => store.appendPrivate({ time, from, to, text, delivered }),
      (id) => send({ type: "private", id, time, from, to, text }),
      receipt,
    );
  }

  /**
   * Sends the messages waiting for their group's commit now (committing it),
   * so that the event about to go out cannot overtake them; with `sender`,
   * only when some of them are theirs (for an answer to them alone).
   */
  settle(sender?: Member): void {
    if (sender && !this.#waiting.has(sender)) return;
    this.#store?.commitNow?.();
  }

  /**
   * Keeps a message from `member` with `append`, then `send`s it with its id.
   * With a store that commits in groups, both happen once the group is on
   * disk, and a refusal reaches `member` then; otherwise now, and a refusal
   * is thrown (see {@link save}).
   */
  #keepThenSend(
    member: Member,
    what: string,
    append: (store: PostingStore) => number,
    sendNow: (id: number) => void,
    receipt?: Receipt,
  ): void {
    const send = (id: number) => {
      if (id > this.#lastId) this.#lastId = id;
      sendNow(id);
      receipt?.sent(id);
    };
    const store = this.#store;
    if (!store?.commitSoon) {
      // Stored first: the sender's echo tells them it is saved. The store hands out the id.
      send(this.#keep(what, append) ?? this.#nextId++);
      return;
    }
    this.#waiting.set(member, (this.#waiting.get(member) ?? 0) + 1);
    store.commitSoon(() => append(store), (id) => {
      this.#settled(member);
      this.#outage.stored();
      send(id);
    }, (error) => {
      this.#settled(member);
      this.#outage.refused(what, errorMessage(error));
      const cid = receipt ? { cid: receipt.cid } : {};
      member.sink.send({ type: "error", code: ErrorCode.NotSaved, message: NOT_SAVED, ...cid });
      receipt?.failed();
    });
  }

  /** One message of `member`'s no longer waits. */
  #settled(member: Member): void {
    const left = (this.#waiting.get(member) ?? 1) - 1;
    if (left > 0) this.#waiting.set(member, left);
    else this.#waiting.delete(member);
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
      throw new ChatError(ErrorCode.NotSaved, NOT_SAVED);
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
