/**
 * The offline mailbox: a private message to an account whose owner is away
 * is kept for their next login (where accounts count), within
 * MAILBOX_LIMITS, and delivered then in `missed` pages.
 *
 * @module
 */

import { ChatError, errorMessage } from "./errors.ts";
import { ErrorCode, type PrivateEvent } from "./events.ts";
import { oldestThatFit, utf8Length } from "./frame_budget.ts";
import { MAILBOX_LIMITS, MAX_HISTORY } from "./limits.ts";
import { plural } from "./plural.ts";
import { checkText, type Posting } from "./posting.ts";
import type { AuthMode } from "./registration.ts";
import type { Member } from "./room.ts";
import { cleanMessage, codePointLength } from "./sanitize.ts";
import type { AccountBook, Mailbox, StoredPrivate, Waiting } from "./store.ts";

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
   * @throws {ChatError} `no_such_user`, `not_allowed` (their mailbox is
   * full), `not_saved`, or a refusal of the text.
   */
  keep(member: Member, to: string, text: string): void {
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
    const full = waiting && mailboxFull(waiting, utf8Length(clean));
    if (full) {
      throw new ChatError(
        ErrorCode.NotAllowed,
        `${owner.name} is away and ${full}; this one was not kept`,
      );
    }
    const event = this.#posting.privateMessage(member, owner.name, clean, false);
    member.sink.send({ ...event, offline: true });
    this.#log(
      `private ${member.name} -> ${owner.name}, kept: away (${codePointLength(clean)} chars)`,
    );
  }

  /**
   * Sends an account holder the private messages kept for them, oldest
   * first, in `missed` pages, each marked delivered once sent. A store that
   * fails stops it (they stay waiting for the next login); the login goes on.
   */
  deliverMissed(member: Member): void {
    const store = this.#store;
    if (!store) return;
    let total = 0;
    try {
      for (;;) {
        const found = store.undelivered(member.name, MISSED_PAGE);
        if (found.length === 0) break;
        const page = oldestThatFit(found.map(toPrivateEvent));
        member.sink.send({ type: "missed", messages: page });
        total += page.length;
        // Marked after sending: the sink has them queued, in order, before anything else.
        const marked = store.markDelivered(member.name, page[page.length - 1].id);
        // A page that could not be marked would come back forever; a short one was the last.
        if (marked === 0 || (page.length === found.length && found.length < MISSED_PAGE)) break;
      }
    } catch (error) {
      this.#log(
        `cannot deliver the private messages kept for ${member.name}: ${errorMessage(error)}`,
      );
    }
    if (total > 0) {
      this.#log(`delivered ${plural(total, "kept private message")} to ${member.name}`);
    }
  }
}

/** Why a mailbox cannot take a message of `bytes` more, or "" when it can. */
function mailboxFull(waiting: Waiting, bytes: number): string {
  if (waiting.fromSender >= MAILBOX_LIMITS.fromOneSender) {
    return `has ${waiting.fromSender} private messages from you waiting already`;
  }
  if (waiting.messages >= MAILBOX_LIMITS.messages || waiting.bytes + bytes > MAILBOX_LIMITS.bytes) {
    return "their mailbox is full";
  }
  return "";
}

function toPrivateEvent(stored: StoredPrivate): PrivateEvent {
  return {
    type: "private",
    id: stored.id,
    time: stored.time,
    from: stored.from,
    to: stored.to,
    text: stored.text,
  };
}
