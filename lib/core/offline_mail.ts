/**
 * The offline mailbox: a private message to an account whose owner is away
 * is kept for their next login (where accounts count), within
 * MAILBOX_LIMITS, and delivered then in `missed` pages. Each sender has a
 * share of it, and senders without an account half of it together, so that
 * one stranger cannot fill it for everyone; what was refused is counted, and
 * the owner is told at login who tried.
 *
 * @module
 */

import { ChatError, errorMessage } from "./errors.ts";
import { ErrorCode, type InfoEvent, type MissedEvent, type PrivateEvent } from "./events.ts";
import { oldestThatFit, utf8Length } from "./frame_budget.ts";
import { ignores } from "./ignoring.ts";
import { MAILBOX_LIMITS, MAX_HISTORY } from "./limits.ts";
import { plural } from "./plural.ts";
import { checkText, type Posting, type Receipt } from "./posting.ts";
import type { AuthMode } from "./registration.ts";
import type { Member } from "./room.ts";
import { cleanMessage, codePointLength } from "./sanitize.ts";
import type { AccountBook, Mailbox, Refusal, StoredPrivate, Waiting } from "./store.ts";

/** Most private messages in one `missed` event; the store returns no more at once either. */
const MISSED_PAGE = MAX_HISTORY;

/** What the mailbox needs of the store: the waiting messages, and who has an account. */
export type MailStore = Mailbox & Pick<AccountBook, "getUser">;

/** Settings of {@link OfflineMail}. */
export interface OfflineMailOptions {
  /** Which names need a password; with "off", a registered name cannot log in to read its mail. */
  auth: AuthMode;
  /** Where messages wait; without one, nothing is kept. */
  store: MailStore | null;
  /** Stores each kept message before its sender's receipt, as for any private message. */
  posting: Posting;
  /** Receives one line per message kept and per delivery, for the operator. */
  log: (line: string) => void;
}

/** Keeps private messages for absent account holders, and hands them over at login. */
export class OfflineMail {
  #auth: AuthMode;
  #store: MailStore | null;
  #posting: Posting;
  #log: (line: string) => void;
  /** Counting refusals failed last time: the log has said so. */
  #countFailing = false;

  /** A mailbox in `options.store`. */
  constructor(options: OfflineMailOptions) {
    this.#auth = options.auth;
    this.#store = options.store;
    this.#posting = options.posting;
    this.#log = options.log;
  }

  /**
   * A private message to `to`, who is not online: kept for them when the
   * name has an account (and accounts count here), else refused. The
   * sender's receipt says it was kept (`offline`).
   *
   * @throws {ChatError} `no_such_user`, `not_allowed` (no room for it in
   * their mailbox, or in the sender's share of it), `not_saved`, or a
   * refusal of the text.
   */
  keep(member: Member, to: string, text: string, receipt?: Receipt): void {
    const missing = () =>
      new ChatError(ErrorCode.NoSuchUser, `No user named ${cleanMessage(to)} is here`);
    // Without accounts a registered name cannot log in to read it: nobody is there.
    if (this.#auth === "off" || !this.#store) throw missing();
    const store = this.#store;
    const owner = this.#posting.save(
      `private message from ${member.name}`,
      () => store.getUser(to),
    );
    if (!owner) throw missing();
    const clean = checkText(text);
    // Nobody may fill an account's mailbox (and the disk) while its owner is away.
    const waiting = this.#posting.save(
      `private message from ${member.name}`,
      () => store.waiting(to, member.name),
    );
    const full = waiting && mailboxFull(waiting, utf8Length(clean), !member.account);
    if (full) {
      this.#countRefused(owner.name, member.name);
      throw new ChatError(
        ErrorCode.NotAllowed,
        `${owner.name} is away and ${full}; this one was not kept`,
      );
    }
    this.#posting.privateMessage(member, owner.name, clean, false, (event) => {
      member.sink.send({ ...event, offline: true });
      this.#log(
        `private ${event.from} -> ${owner.name}, kept: away (${codePointLength(clean)} chars)`,
      );
    }, receipt);
  }

  /**
   * The private messages kept for `member` (an account holder) with an id
   * up to `upTo` (the newest at its login: later ones come live), oldest
   * first, as `missed` pages through `send`: the step returned sends the
   * next page, and returns true once the last has gone, and after it the
   * lines telling who could not leave one; from `after` on, when another
   * connection was sent those up to it. `sent` hears each page's newest id;
   * each page is marked delivered once sent, or with `mark` false (a client
   * that acknowledges) waits for the `ack` that covers it. A store that
   * fails ends it (the rest waits for the next login), and `failed` hears
   * it: an ack must not mark what was not sent.
   */
  missed(member: Member, upTo: number, { send, mark = true, sent = () => {}, failed = () => {} }: {
    send: (event: MissedEvent | InfoEvent) => void;
    mark?: boolean;
    sent?: (newest: number) => void;
    failed?: () => void;
  }, after = 0): () => boolean {
    const store = this.#store;
    let total = 0;
    let newest = after;
    const end = () => {
      if (total > 0) {
        const until = mark ? "" : " (delivered once acknowledged)";
        this.#log(`delivered ${plural(total, "kept private message")} to ${member.name}${until}`);
      }
      if (store) this.#tellRefused(member, store, send);
      return true;
    };
    return () => {
      if (!store) return true;
      try {
        const found = store.undelivered(member.name, MISSED_PAGE, newest)
          .filter((message) => message.id <= upTo);
        if (found.length === 0) return end();
        const page = oldestThatFit(found.map(toPrivateEvent));
        // Marked delivered all the same: those from the ignored are not kept for later.
        const shown = page.filter((message) => !ignores(member, message.from));
        if (shown.length > 0) send({ type: "missed", messages: shown });
        total += page.length;
        newest = page[page.length - 1].id;
        // Marked after sending: the sink has them queued, in order, before anything else.
        if (mark) store.markDelivered(member.name, newest);
        sent(newest);
        // A short page was the last.
        return page.length === found.length && found.length < MISSED_PAGE ? end() : false;
      } catch (error) {
        this.#log(
          `cannot deliver the private messages kept for ${member.name}: ${errorMessage(error)}`,
        );
        failed();
        return end();
      }
    };
  }

  /** Tells an account holder who could not leave them a message (the end of a login's replay). */
  tellRefused(member: Member): void {
    if (this.#store) this.#tellRefused(member, this.#store, (event) => member.sink.send(event));
  }

  /**
   * Counts a refused message for its recipient's next login. A store that
   * fails loses the count only (the sender is told all the same), and is
   * logged once until counting works again: a flood on a full disk is not
   * a line each.
   */
  #countRefused(name: string, sender: string): void {
    try {
      this.#store?.countRefused(name, sender);
      this.#countFailing = false;
    } catch (error) {
      if (this.#countFailing) return;
      this.#countFailing = true;
      this.#log(`cannot count private messages refused for want of room: ${errorMessage(error)}`);
    }
  }

  /** Tells an account holder, one line per sender, which private messages were not kept. */
  #tellRefused(member: Member, store: MailStore, send: (event: InfoEvent) => void): void {
    let refused: Refusal[];
    try {
      refused = store.takeRefused(member.name);
    } catch (error) {
      this.#log(`cannot read the refusals counted for ${member.name}: ${errorMessage(error)}`);
      return;
    }
    for (const { from, messages } of refused) {
      send({ type: "info", text: notKept(from || "other senders", messages) });
    }
    const total = refused.reduce((sum, refusal) => sum + refusal.messages, 0);
    if (total > 0) {
      this.#log(`told ${member.name} of ${plural(total, "private message")} not kept`);
    }
  }
}

/** The line that tells an account holder `count` messages from `from` were refused. */
function notKept(from: string, count: number): string {
  const [were, them] = count === 1 ? ["was", "it"] : ["were", "them"];
  return `${plural(count, "private message")} from ${from} ${were} not kept while you were ` +
    `away: your mailbox had no room for ${them}`;
}

/**
 * Why a mailbox cannot take a message of `bytes` more from a sender
 * (a `stranger` when without an account), or "" when it can.
 */
function mailboxFull(waiting: Waiting, bytes: number, stranger: boolean): string {
  const limits = MAILBOX_LIMITS;
  if (waiting.fromSender >= limits.fromOneSender) {
    return `has ${waiting.fromSender} private messages from you waiting already`;
  }
  if (waiting.bytesFromSender + bytes > limits.bytesFromOneSender) {
    return "your private messages waiting for them would pass your share of their mailbox " +
      `(${limits.bytesFromOneSender / 1024} KiB)`;
  }
  const strangers = waiting.fromStrangers >= limits.fromStrangers ||
    waiting.bytesFromStrangers + bytes > limits.bytesFromStrangers;
  if (stranger && strangers) {
    return "their mailbox has no more room for private messages from people without an account";
  }
  if (waiting.messages >= limits.messages || waiting.bytes + bytes > limits.bytes) {
    return "their mailbox is full";
  }
  return "";
}

/** A stored private message as the `private` event it was. */
export function toPrivateEvent(stored: StoredPrivate): PrivateEvent {
  return {
    type: "private",
    id: stored.id,
    time: stored.time,
    from: stored.from,
    to: stored.to,
    text: stored.text,
  };
}
