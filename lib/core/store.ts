/**
 * What the chat core needs kept: room messages (history), private messages
 * waiting for an account's owner (the mailbox), and accounts. The core
 * declares these ports; a store implements them (`lib/store/sqlite_store.ts`
 * today, one shared by several server nodes later).
 *
 * The calls are synchronous, and a write returns once the record is durable:
 * the hub sends a message only after its store has kept it, so the sender's
 * echo means it is saved. A failing call throws; the hub turns that into a
 * `not_saved` refusal for the one user concerned. A store may also offer
 * {@link GroupCommit}: the messages of one turn then share one commit, and
 * the hub hears back about each (kept, or refused) once it is durable.
 *
 * The store hands out message ids: each append returns the next one of one
 * sequence for room and private messages alike, above every id it holds.
 *
 * @module
 */

/** An account. */
export interface StoredUser {
  /** The name as registered (NFC), shown to others. */
  name: string;
  /** The name's `nameKey`, under which it is unique. */
  key: string;
  /** The password hash (see lib/auth/passwords.ts). */
  hash: string;
  /** When the account was made, in milliseconds since the epoch. */
  created: number;
}

/** A room message, as stored. */
export interface StoredMessage {
  /** Its event id. */
  id: number;
  /** When it was said, in milliseconds since the epoch. */
  time: number;
  /** The room it was said in. */
  room: string;
  /** The sender's name at the time. */
  from: string;
  /** The text, already cleaned. */
  text: string;
  /** Whether it was a `/me` action. */
  action: boolean;
}

/** A room message to store; `id` is assigned when omitted. */
export interface NewMessage {
  /** The event id, when the caller assigned it (it must be above every id so far). */
  id?: number;
  /** When it was said, in milliseconds since the epoch. */
  time: number;
  /** The room it was said in. */
  room: string;
  /** The sender's name. */
  from: string;
  /** The text, already cleaned. */
  text: string;
  /** Whether it is a `/me` action. */
  action?: boolean;
}

/** A private message, as stored. */
export interface StoredPrivate {
  /** Its event id. */
  id: number;
  /** When it was sent, in milliseconds since the epoch. */
  time: number;
  /** The sender's name at the time. */
  from: string;
  /** The recipient's name as the sender reached them. */
  to: string;
  /** The text, already cleaned. */
  text: string;
  /** Whether the recipient has been shown it. */
  delivered: boolean;
}

/** A private message to store; `id` is assigned when omitted. */
export interface NewPrivate {
  /** The event id, when the caller assigned it (it must be above every id so far). */
  id?: number;
  /** When it was sent, in milliseconds since the epoch. */
  time: number;
  /** The sender's name. */
  from: string;
  /** The recipient's name. */
  to: string;
  /** The text, already cleaned. */
  text: string;
  /** Whether the recipient saw it at once (online); false keeps it for their return. */
  delivered: boolean;
}

/**
 * What waits in an account's mailbox: messages and the UTF-8 bytes of their
 * text, in all, from one sender, and from senders without an account.
 */
export interface Waiting {
  /** Messages waiting. */
  messages: number;
  /** UTF-8 bytes of their text. */
  bytes: number;
  /** Of them, from the sender asked about (by name, as they were named). */
  fromSender: number;
  /** UTF-8 bytes of the text from the sender asked about. */
  bytesFromSender: number;
  /** Of them, from senders whose name had no account when they sent it. */
  fromStrangers: number;
  /** UTF-8 bytes of the text from senders without an account. */
  bytesFromStrangers: number;
}

/** Private messages from one sender refused for want of room in a mailbox. */
export interface Refusal {
  /** The sender's name; "" for the senders past the first few, counted together. */
  from: string;
  /** How many were refused. */
  messages: number;
}

/** Room messages, in the order of their ids: the history. */
export interface MessageLog {
  /** Keeps a room message; returns its id (the one given, or the next of the sequence). */
  appendMessage(message: NewMessage): number;
  /** The last `limit` messages of `room`, oldest first; with `before`, those with a smaller id. */
  recentMessages(room: string, limit: number, before?: number): StoredMessage[];
}

/** Private messages, and the mailbox of those an account's owner has not been shown yet. */
export interface Mailbox {
  /** Keeps a private message; returns its id (the one given, or the next of the sequence). */
  appendPrivate(message: NewPrivate): number;
  /**
   * Private messages to `name` not yet delivered, oldest first, at most
   * `limit`; with `after`, those with a larger id (pages that are not marked
   * delivered as they go, for a client that acknowledges).
   */
  undelivered(name: string, limit: number, after?: number): StoredPrivate[];
  /** What waits for `name`, and how much of it is from `sender`. */
  waiting(name: string, sender: string): Waiting;
  /** Marks `name`'s waiting messages up to the id `upTo` delivered; returns how many. */
  markDelivered(name: string, upTo: number): number;
  /**
   * Counts one private message from `sender` to `name` refused for want of
   * room. The first `MAILBOX_LIMITS.refusedSenders` senders are counted by
   * name, later ones together under "".
   */
  countRefused(name: string, sender: string): void;
  /** The refusals counted for `name`, by sender in the order they came (""'s last); forgets them. */
  takeRefused(name: string): Refusal[];
}

/** Accounts: names that need a password. */
export interface AccountBook {
  /** The account of `name` (compared by its key), if there is one. */
  getUser(name: string): StoredUser | undefined;
  /** Replaces the password hash of `name`'s account; false when there is none. */
  setPassword(name: string, hash: string): boolean;
}

/** A room as kept: what survives a restart besides its history. */
export interface StoredRoom {
  /** Its name, without `#`. */
  name: string;
  /** Its topic; "" for none. */
  topic: string;
  /** Keys of its operators' names. */
  ops: string[];
  /** Whether it is entered by invitation only. */
  private: boolean;
  /** When its last member left, in ms since the epoch. */
  emptySince: number;
  /** Whether it has messages (read, not written: the messages say it). */
  hasHistory?: boolean;
}

/** Rooms, by name. */
export interface RoomBook {
  /** Keeps (or replaces) a room, under its name's key. */
  saveRoom(room: StoredRoom): void;
  /** Forgets the room of this name's key. */
  forgetRoom(key: string): void;
  /** Every room kept. */
  listRooms(): StoredRoom[];
}

/** Someone kept out of the whole server for a while, by name or by address. */
export interface StoredBan {
  /** What is banned: a name (by its key) or an address. */
  kind: "name" | "address";
  /** The name as typed, or the address. */
  value: string;
  /** What it is kept under: the name's key, or the address. */
  key: string;
  /** Until when, in ms since the epoch; null until lifted. */
  until: number | null;
  /** Why, as the operator said it; "" for no reason given. */
  reason: string;
}

/** Bans of names and addresses. */
export interface BanBook {
  /** Keeps (or replaces) a ban of this kind and key. */
  saveBan(ban: StoredBan): void;
  /** Lifts the ban of this kind and key. */
  removeBan(kind: StoredBan["kind"], key: string): void;
  /** Every ban kept. */
  listBans(): StoredBan[];
}

/**
 * Writes that share one commit (group commit): a store that offers it commits
 * the writes asked for in one turn of the event loop in one transaction, so
 * that a busy server pays for one flush to disk per turn, not per message.
 */
export interface GroupCommit {
  /**
   * Runs `write` (which calls this store's appends) in the transaction of the
   * current group, soon; once that group is durable, calls `done` with what
   * `write` returned. When the group cannot be kept, none of it is, and
   * `failed` is called for each of its writes instead. Callbacks come in the
   * order the writes were asked for.
   */
  commitSoon<T>(write: () => T, done: (result: T) => void, failed: (error: unknown) => void): void;
  /**
   * Commits the current group now, calling its callbacks before returning:
   * for an event that must not overtake the messages asked for before it.
   */
  commitNow(): void;
}

/** Whom each account holder ignores (see `ignoring.ts`), kept across logins. */
export interface IgnoreBook {
  /** The names the account `name` (compared by its key) ignores, in the order added. */
  ignoredBy(name: string): string[];
  /** Replaces the names the account `name` ignores; none forgets the list. */
  setIgnored(name: string, names: string[]): void;
}

/**
 * The sequence of message ids (see `delivery.ts`): its name, kept so that ids
 * stay meaningful across restarts, and the newest id handed out.
 */
export interface DeliveryLog {
  /** Names the sequence (at most 64 characters), made once for this store. */
  readonly stream: string;
  /** The newest id handed out (0 when none). */
  readonly lastId: number;
}

/** What a replay reads: messages after an id (see `delivery.ts`). */
export interface ReplayLog {
  /**
   * The newest `limit` messages of `room` with an id above `since` (and
   * below `before`, to read back a page at a time), oldest first.
   */
  messagesAfter(room: string, since: number, limit: number, before?: number): StoredMessage[];
  /**
   * The newest `limit` private messages to or from `name` with an id above
   * `since` (and below `before`), oldest first.
   */
  privatesAfter(name: string, since: number, limit: number, before?: number): StoredPrivate[];
  /**
   * The newest `limit` private messages to `name` not yet delivered with an
   * id below `before`, oldest first: the mail a replay reads back a page at
   * a time.
   */
  undeliveredBefore(name: string, before: number, limit: number): StoredPrivate[];
  /** Whether retention may have deleted messages of `room` (null: private ones) after `since`. */
  prunedSince(room: string | null, since: number): boolean;
}

/** Everything a chat server keeps. */
export interface ChatStore
  extends MessageLog, Mailbox, AccountBook, RoomBook, BanBook, IgnoreBook, DeliveryLog, ReplayLog {}
