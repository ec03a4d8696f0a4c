/**
 * The chat core: users, rooms and everything they can do.
 *
 * This module is pure logic over events. It has no sockets, no terminal and no
 * `Deno.*` calls: a front end registers users with a {@link Sink}, feeds it
 * what they type, and delivers the events it produces. The TCP server in
 * `server.ts` is one such front end; the tests are another.
 *
 * Refusals are thrown as {@link ChatError} inside and reach only the user who
 * caused them, as an `error` event.
 *
 * With a {@link HubStore}, room messages and private messages are stored
 * before anyone sees them: the sender's own copy (the echo) is the
 * acknowledgement, so a message a sender has seen is on disk. One the store
 * refuses is not sent at all (`not_saved`), rather than shown and then lost
 * at the next restart. The store also holds accounts: names that need a
 * password, checked by the front end (the hub never hashes).
 *
 * @module
 */

import { type Bus, LocalBus } from "./bus.ts";
import { COMMANDS, parseInput } from "./commands.ts";
import {
  type ChurnLimits,
  DEFAULT_CHURN,
  DEFAULT_FLOOD,
  DEFAULT_HISTORY,
  type FloodLimits,
  MAILBOX_LIMITS,
  MAX_FRAME_MESSAGE_BYTES,
  MAX_HISTORY,
  MAX_MESSAGE_LENGTH,
} from "./limits.ts";
import { ChatError } from "./errors.ts";
import {
  type ByeCode,
  type ChatEvent,
  ErrorCode,
  type MessageEvent,
  type PrivateEvent,
  PROTOCOL_VERSION,
  type Sink,
  WELCOME_NAMES,
} from "./events.ts";
import { checkName, nameKey } from "./names.ts";
import { Member, Room } from "./room.ts";
import { cleanMessage, codePointLength } from "./sanitize.ts";
import type { AccountBook, Mailbox, MessageLog, StoredMessage, StoredPrivate } from "./store.ts";
import { TokenBucket, TokenBuckets } from "./token_bucket.ts";

/** The room everyone enters first. */
export const DEFAULT_ROOM = "lobby";

/** Longest `/quit` reason, in code points. */
const MAX_REASON_LENGTH = 200;

/** Everyone behind one address together may send this many times one user's flood limits. */
const ADDRESS_FLOOD_FACTOR = 3;

/**
 * Who needs a password: nobody (`off`, accounts are ignored), the owners of
 * names that have an account (`names`), or everyone, so that only account
 * holders get in (`required`).
 */
export type AuthMode = "off" | "names" | "required";

/**
 * What the hub needs of the store: the history, the mailbox, and account
 * look-ups (not account changes), so that tests can pass a fake.
 */
export type HubStore = MessageLog & Mailbox & Pick<AccountBook, "getUser">;

/** What `/history` shows when the server shows joiners nothing (`--history 0`) but stores it all. */
export const DEFAULT_RECALL = 20;

const NO_FLOOD_LIMIT: FloodLimits = { burst: 0, rate: 0, kickAfter: 0 };
const NO_CHURN_LIMIT: ChurnLimits = { burst: 0, rate: 0 };

/** The window in which refused actions are counted towards a kick. */
const FLOOD_WINDOW_MS = 10_000;

/** Settings of a hub. */
export interface HubOptions {
  /** Most users registered at once. @default 100 */
  maxUsers?: number;
  /** Message of the day, shown to each user on joining. */
  motd?: string;
  /** Name and version the server reports in `welcome`. @default "chat" */
  server?: string;
  /** The clock, in milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Receives one line per notable event, for the operator. */
  log?: (line: string) => void;
  /** Flood control per user; null turns it off. @default DEFAULT_FLOOD */
  flood?: FloodLimits | null;
  /** Join churn control per address; null turns it off. @default DEFAULT_CHURN */
  churn?: ChurnLimits | null;
  /** Earlier messages shown to each joiner; 0 keeps no history at all. @default 0 */
  history?: number;
  /** Makes the secret `resume` tokens. @default crypto.randomUUID */
  token?: () => string;
  /**
   * Persistence: room history and private messages are stored (before they
   * are sent) and survive restarts; accounts are looked up in it. Without
   * it, history is kept in memory only, as long as `history` is above 0.
   */
  store?: HubStore;
  /** Which names need a password; anything but "off" needs a `store`. @default "off" */
  auth?: AuthMode;
  /** Carries each room's events to its members. @default a new LocalBus */
  bus?: Bus;
}

/** Where a registration comes from; every field is optional. */
export interface Origin {
  /** The peer's `host:port`, for the log. */
  peer?: string;
  /** The peer's IP address, for join churn control. */
  address?: string;
  /** The `resume` token of an earlier welcome, to take the name back. */
  resume?: string;
  /** The front end has checked this name's account password: the user is its owner. */
  account?: boolean;
}

/** What the hub tracks about a user beyond the room: flood state, quietness. */
interface Standing {
  bucket: TokenBucket | null;
  refusedSince: number;
  refused: number;
  /** Joined while their address was churning: their join and leave are not announced. */
  quiet: boolean;
}

/** All users and rooms of one server, and the rules between them. */
export class Hub {
  #users = new Map<string, Member>();
  #rooms = new Map<string, Room>();
  /** The next message id, when there is no store to hand them out. */
  #nextId = 1;
  #maxUsers: number;
  #motd: string | undefined;
  #server: string;
  #now: () => number;
  #log: (line: string) => void;
  #flood: FloodLimits;
  #churn: ChurnLimits;
  #churnBuckets: TokenBuckets | null;
  #addressBuckets: TokenBuckets | null;
  #standing = new WeakMap<Member, Standing>();
  #depth = 0;
  #token: () => string;
  #history: number;
  #store: HubStore | null;
  #auth: AuthMode;
  #bus: Bus;

  /**
   * Creates a hub with one empty room, {@link DEFAULT_ROOM}.
   *
   * @throws {TypeError} when `auth` is not "off" but there is no `store`.
   */
  constructor(options: HubOptions = {}) {
    this.#store = options.store ?? null;
    this.#auth = options.auth ?? "off";
    if (this.#auth !== "off" && !this.#store) {
      throw new TypeError(`Accounts (auth "${this.#auth}") need a store`);
    }
    this.#maxUsers = options.maxUsers ?? 100;
    this.#motd = options.motd ? cleanMessage(options.motd) : undefined;
    this.#server = options.server ?? "chat";
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    this.#token = options.token ?? (() => crypto.randomUUID());
    this.#flood = options.flood === undefined ? DEFAULT_FLOOD : options.flood ?? NO_FLOOD_LIMIT;
    this.#churn = options.churn === undefined ? DEFAULT_CHURN : options.churn ?? NO_CHURN_LIMIT;
    this.#churnBuckets = this.#churn.rate > 0
      ? new TokenBuckets(this.#churn.burst, this.#churn.rate)
      : null;
    this.#addressBuckets = this.#flood.rate > 0
      ? new TokenBuckets(
        this.#flood.burst * ADDRESS_FLOOD_FACTOR,
        this.#flood.rate * ADDRESS_FLOOD_FACTOR,
      )
      : null;
    this.#history = Math.max(0, Math.min(options.history ?? DEFAULT_HISTORY, MAX_HISTORY));
    // Without a store, rooms keep the longest history /history may ask for,
    // if history is on; with one, history is read from it.
    const keep = !this.#store && this.#history > 0 ? MAX_HISTORY : 0;
    this.#bus = options.bus ?? new LocalBus();
    this.#addRoom(new Room(DEFAULT_ROOM, keep));
  }

  /** Adds `room`, which receives what the bus carries for it. */
  #addRoom(room: Room): void {
    this.#rooms.set(room.name, room);
    this.#bus.subscribe(room.name, (event, skip) => room.broadcast(event, skip));
  }

  /** Number of registered users. */
  get userCount(): number {
    return this.#users.size;
  }

  /** The most users this hub admits. */
  get maxUsers(): number {
    return this.#maxUsers;
  }

  /** Whether a newcomer would be turned away. */
  isFull(): boolean {
    return this.#users.size >= this.#maxUsers;
  }

  /** Names of everyone registered, in the order they joined. */
  userNames(): string[] {
    return [...this.#users.values()].map((m) => m.name);
  }

  /**
   * Whether `name` needs its account password to register: always where
   * only account holders get in (`auth: "required"`), when the name has an
   * account with `auth: "names"`, never with `auth: "off"`. When the store
   * cannot be read, it does (a name is not handed out unchecked).
   */
  needsPassword(name: string): boolean {
    if (this.#auth === "off") return false;
    if (this.#auth === "required") return true;
    try {
      return this.#store?.getUser(name.trim()) !== undefined;
    } catch (error) {
      this.#log(`cannot look up the account ${cleanName(name)}: ${reason(error)}`);
      return true;
    }
  }

  /**
   * Whether a `hello` with this `resume` token would take `name` back. The
   * token was issued to a connection that got in (with its password, if it
   * needed one), so the front end need not ask for the password again; the
   * resumed member keeps the account flag of the one it replaces.
   */
  canResume(name: string, token: string | undefined): boolean {
    if (!token) return false;
    const checked = checkName(name);
    if (!checked.ok) return false;
    const holder = this.#users.get(nameKey(checked.name));
    return holder !== undefined && sameSecret(token, holder.resume);
  }

  /**
   * Registers a user under `name` and puts them in the default room: they get
   * `welcome` (with a `resume` token), everyone else a `join`. A joiner then
   * gets the room's last messages (`history`, when the hub shows any), and
   * an account holder the private messages kept while they were away
   * (`missed`, in pages).
   *
   * `origin.address` identifies where the user connects from (an IP
   * address), for join churn control: joins from an address that keeps
   * joining are not announced. `origin.resume` is the token of an earlier
   * `welcome`: it takes the name back from a connection that was lost but
   * not yet noticed, silently for the room. `origin.account` says the front
   * end has checked the name's password.
   *
   * @throws {ChatError} `name_invalid`, `password_required`, `name_taken` or
   * `room_full`; the connection may try again (except when full).
   */
  register(name: string, sink: Sink, origin: Origin = {}): Member {
    const peer = origin.peer ?? "local";
    const address = origin.address ?? peer;
    const checked = checkName(name);
    if (!checked.ok) {
      this.#log(`refused name from ${peer}: ${checked.reason}`);
      throw new ChatError(ErrorCode.NameInvalid, checked.reason);
    }
    const found = this.#users.get(nameKey(checked.name));
    const holder = found && origin.resume && sameSecret(origin.resume, found.resume)
      ? found
      : undefined;
    if (!origin.account && !holder && this.needsPassword(checked.name)) {
      this.#log(`refused ${checked.name} from ${peer}: no password`);
      throw new ChatError(
        ErrorCode.PasswordRequired,
        this.#auth === "required"
          ? "This server admits account holders only: give your name and password"
          : `The name ${checked.name} belongs to an account: give its password`,
      );
    }
    if (found && !holder) {
      this.#log(`refused name ${checked.name} from ${peer}: taken`);
      throw new ChatError(ErrorCode.NameTaken, `The name ${checked.name} is taken`);
    }
    if (!holder && this.isFull()) {
      this.#log(`refused ${checked.name} from ${peer}: room full (${this.#maxUsers})`);
      throw new ChatError(ErrorCode.RoomFull, this.fullMessage());
    }
    // A resumed connection keeps the account of the one it replaces.
    const account = holder?.account === true || origin.account === true;
    const member = new Member(holder?.name ?? this.#accountName(checked.name, account), sink, {
      peer,
      address,
      resume: this.#token(),
      account,
    });
    const now = this.#now();
    const previous = holder && this.#standing.get(holder);
    this.#standing.set(
      member,
      previous ?? {
        bucket: this.#flood.rate > 0
          ? new TokenBucket(this.#flood.burst, this.#flood.rate, now)
          : null,
        refusedSince: now,
        refused: 0,
        quiet: !this.#takeJoin(address, now),
      },
    );
    const room = holder?.room ?? this.#rooms.get(DEFAULT_ROOM)!;
    if (holder) {
      // The old connection is gone or going: it hands over without a leave.
      holder.sink.send({ type: "bye", code: "replaced", reason: "Resumed on another connection" });
      room.replace(holder, member);
    } else {
      room.add(member);
    }
    this.#users.set(member.key, member);
    sink.send({
      type: "welcome",
      version: PROTOCOL_VERSION,
      name: member.name,
      room: room.name,
      users: room.names(WELCOME_NAMES),
      count: room.size,
      ...(this.#motd ? { motd: this.#motd } : {}),
      server: this.#server,
      resume: member.resume,
      ...(member.account ? { account: true as const } : {}),
    });
    if (holder) {
      // The connection it replaces was shown the history and the kept messages already.
      this.#log(`resume ${member.name} from ${peer}`);
      return member;
    }
    if (this.#history > 0) {
      const earlier = newestThatFit(this.#recentOrNothing(room, this.#history));
      if (earlier.length > 0) sink.send({ type: "history", room: room.name, messages: earlier });
    }
    if (member.account) this.#deliverMissed(member);
    const quiet = this.#standing.get(member)?.quiet;
    if (!quiet) {
      this.#bus.publish(
        room.name,
        { type: "join", time: now, room: room.name, name: member.name, count: room.size },
        member,
      );
    }
    this.#log(
      `join ${member.name}${member.account ? " (account)" : ""} from ${peer} (${
        usersCount(this.#users.size)
      })${quiet ? " unannounced: too many joins from " + address : ""}`,
    );
    return member;
  }

  /**
   * The name an account holder is shown by: the account's, as registered
   * (`bob` logs in as `Bob`), or `name` when that cannot be read.
   */
  #accountName(name: string, account: boolean): string {
    if (!account || !this.#store) return name;
    try {
      return this.#store.getUser(name)?.name ?? name;
    } catch (error) {
      this.#log(`cannot look up the account ${name}: ${reason(error)}`);
      return name;
    }
  }

  /** Joiner history: a store that cannot be read costs the joiner their history, not their join. */
  #recentOrNothing(room: Room, count: number): MessageEvent[] {
    try {
      return this.#recent(room, count);
    } catch (error) {
      this.#log(`cannot read the history of #${room.name}: ${reason(error)}`);
      return [];
    }
  }

  /** The last `count` messages of `room` before the id `before`, from the store or the room. */
  #recent(room: Room, count: number, before?: number): MessageEvent[] {
    if (!this.#store) return room.recent(count, before);
    return this.#store.recentMessages(room.name, count, before).map(toMessageEvent);
  }

  /**
   * Sends an account holder the private messages kept for them, oldest
   * first, in `missed` pages, each marked delivered once sent. A store that
   * fails stops it (they stay waiting for the next login); the login goes on.
   */
  #deliverMissed(member: Member): void {
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
      this.#log(`cannot deliver the private messages kept for ${member.name}: ${reason(error)}`);
    }
    if (total > 0) {
      this.#log(
        `delivered ${total} kept private message${total === 1 ? "" : "s"} to ${member.name}`,
      );
    }
  }

  /** Takes a join token for `address`; false when it has joined too often lately. */
  #takeJoin(address: string, now: number): boolean {
    return this.#churnBuckets?.take(address, now) ?? true;
  }

  /** The sentence a refused newcomer reads when the server is full. */
  fullMessage(): string {
    return `The room is full (${usersCount(this.#maxUsers)}); try again later`;
  }

  /**
   * Handles one line as a person typed it: a `/command`, `@name text`, the
   * word `exit`, or a message to the room. Refusals go to `member` only.
   */
  handleLine(member: Member, line: string): void {
    const input = parseInput(line);
    // Leaving is never refused, however fast someone typed before.
    const free = input.kind === "command" && COMMANDS.get(input.name)?.name === "quit";
    this.#guard(member, () => {
      if (input.kind === "say") this.say(member, input.text);
      else COMMANDS.run(this, member, input.name, input.args);
    }, free);
  }

  /**
   * Runs one user action: checks flood control once (nested calls, such as
   * handleLine() running say(), count once), and sends a {@link ChatError}
   * it throws to `member` only.
   */
  #guard(member: Member, action: () => void, free = false): void {
    this.#depth++;
    try {
      if (this.#depth === 1 && !free && !this.#admit(member)) return;
      action();
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      member.sink.send({ type: "error", code: error.code, message: error.message });
    } finally {
      this.#depth--;
    }
  }

  /**
   * Flood control: takes a token for the member's action. Refuses with a
   * "slow down" error, or disconnects a member who keeps flooding (false).
   */
  #admit(member: Member): boolean {
    const standing = this.#standing.get(member);
    if (!standing?.bucket) return true;
    const now = this.#now();
    // Both the user's own bucket and their address's shared one must allow it,
    // so that many users behind one address cannot multiply the flood.
    if (standing.bucket.take(now) && (this.#addressBuckets?.take(member.address, now) ?? true)) {
      return true;
    }
    if (now - standing.refusedSince > FLOOD_WINDOW_MS) {
      standing.refusedSince = now;
      standing.refused = 0;
    }
    if (++standing.refused >= this.#flood.kickAfter) {
      this.#log(`kick ${member.name}: flooding`);
      member.sink.send({ type: "bye", code: "flood", reason: "Disconnected for flooding" });
      this.leave(member, "disconnected for flooding");
      return false;
    }
    throw new ChatError(
      ErrorCode.Flood,
      `Slow down: at most ${this.#flood.rate} messages per second; that one was not sent`,
    );
  }

  /** Sends a message to the member's room, the sender included. */
  say(member: Member, text: string): void {
    this.#post(member, text, false);
  }

  /** Sends a `/me` action to the member's room. */
  act(member: Member, text: string): void {
    this.#post(member, text, true);
  }

  #post(member: Member, text: string, action: boolean): void {
    this.#guard(member, () => {
      const room = this.#roomOf(member);
      const clean = this.#checkText(text);
      const time = this.#now();
      // Stored first: the sender's echo tells them it is saved. The store hands out the id.
      const id = this.#save(
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
    });
  }

  /**
   * Sends a private message; the sender gets the same event as a receipt.
   * To an account whose owner is away (where accounts count), it is kept
   * for their next login, and the sender's receipt says so (`offline`).
   */
  whisper(member: Member, to: string, text: string): void {
    this.#guard(member, () => {
      this.#roomOf(member);
      const wanted = to.trim().replace(/^@/, "");
      const target = this.#users.get(nameKey(wanted));
      if (!target) {
        this.#keepPrivate(member, wanted, text);
        return;
      }
      const clean = this.#checkText(text);
      const event = this.#privateMessage(member, target.name, clean, true);
      target.sink.send(event);
      if (target !== member) member.sink.send(event);
      // The operator sees that it happened, not what was said.
      this.#log(`private ${member.name} -> ${target.name} (${codePointLength(clean)} chars)`);
    });
  }

  /** A private message from `member` to `to`, stored (as `delivered` or waiting) before it is sent. */
  #privateMessage(member: Member, to: string, text: string, delivered: boolean): PrivateEvent {
    const time = this.#now();
    const id = this.#save(
      `private message from ${member.name}`,
      (store) => store.appendPrivate({ time, from: member.name, to, text, delivered }),
    ) ?? this.#nextId++;
    return { type: "private", id, time, from: member.name, to, text };
  }

  /**
   * A private message to `to`, who is not online: kept for them when the
   * name has an account (and accounts count here), else refused.
   */
  #keepPrivate(member: Member, to: string, text: string): void {
    const missing = () =>
      new ChatError(ErrorCode.NoSuchUser, `No user named ${cleanMessage(to)} is here`);
    // Without accounts a registered name cannot log in to read it: nobody is there.
    if (this.#auth === "off" || !this.#store) throw missing();
    const store = this.#store;
    const owner = this.#save(`private message from ${member.name}`, () => store.getUser(to));
    if (!owner) throw missing();
    const clean = this.#checkText(text);
    // Nobody may fill an account's mailbox (and the disk) while its owner is away.
    const waiting = this.#save(
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
    const event = this.#privateMessage(member, owner.name, clean, false);
    member.sink.send({ ...event, offline: true });
    this.#log(
      `private ${member.name} -> ${owner.name}, kept: away (${codePointLength(clean)} chars)`,
    );
  }

  /**
   * Runs a store operation for `what` (words for the log); when it fails,
   * for whatever reason, the operator is told and the user gets `not_saved`:
   * nothing was sent.
   */
  #save<T>(what: string, write: (store: HubStore) => T): T | undefined {
    if (!this.#store) return undefined;
    try {
      return write(this.#store);
    } catch (error) {
      this.#log(`not saved: ${what}: ${reason(error)}`);
      throw new ChatError(ErrorCode.NotSaved, "Message not sent: the server could not save it");
    }
  }

  /**
   * Changes the member's name, if the new one is valid and free. Where
   * accounts count, an account holder's name is their account's and stays,
   * and nobody takes a name that has an account.
   */
  rename(member: Member, name: string): void {
    this.#guard(member, () => {
      const room = this.#roomOf(member);
      if (this.#auth === "required" || (this.#auth !== "off" && member.account)) {
        throw new ChatError(
          ErrorCode.NotAllowed,
          "Your name is your account here; it cannot change",
        );
      }
      const checked = checkName(name);
      if (!checked.ok) throw new ChatError(ErrorCode.NameInvalid, checked.reason);
      const key = nameKey(checked.name);
      const holder = this.#users.get(key);
      if (holder && holder !== member) {
        throw new ChatError(ErrorCode.NameTaken, `The name ${checked.name} is taken`);
      }
      if (checked.name === member.name) {
        throw new ChatError(ErrorCode.BadArguments, `You are already called ${member.name}`);
      }
      if (this.needsPassword(checked.name)) {
        throw new ChatError(
          ErrorCode.NameTaken,
          `The name ${checked.name} belongs to an account; only its owner can use it`,
        );
      }
      const old = member.name;
      this.#users.delete(member.key);
      member.rename(checked.name);
      this.#users.set(member.key, member);
      const event: ChatEvent = {
        type: "rename",
        time: this.#now(),
        room: room.name,
        from: old,
        to: member.name,
      };
      // A user whose join was not announced is not revealed by a rename.
      if (this.#standing.get(member)?.quiet) member.sink.send(event);
      else this.#bus.publish(room.name, event);
      this.#log(`rename ${old} -> ${member.name}`);
    });
  }

  /** Tells the member who is in their room. */
  who(member: Member): void {
    this.#guard(member, () => {
      const room = this.#roomOf(member);
      member.sink.send({ type: "users", room: room.name, names: room.names() });
    });
  }

  /**
   * Sends the member the last messages of their room (`/history [N]`): N,
   * or as many as joiners are shown ({@link DEFAULT_RECALL} when that is
   * none but the server stores history).
   *
   * @throws {ChatError} when the server keeps no history, or `count` is not
   * a whole number from 1 to MAX_HISTORY.
   */
  recall(member: Member, count: string): void {
    this.#guard(member, () => {
      const room = this.#historyRoom(member);
      const wanted = count.trim();
      // Digits only, and few: "1e3", "0x10", "2.5", "-1" and a page of nines are all refused.
      const n = wanted === "" ? undefined : /^\d{1,4}$/.test(wanted) ? Number(wanted) : NaN;
      if (n !== undefined && !(n >= 1 && n <= MAX_HISTORY)) {
        throw new ChatError(
          ErrorCode.BadArguments,
          `Usage: /history [N], N a whole number from 1 to ${MAX_HISTORY}`,
        );
      }
      this.#sendHistory(member, room, n);
    });
  }

  /**
   * Sends the member `count` messages of their room before the id `before`
   * (the newest when not given): the JSON `history` frame, for paging back.
   * `count` defaults as for `/history`. An empty page means there is nothing
   * earlier.
   *
   * @throws {ChatError} `bad_arguments` when the server keeps no history,
   * `count` is not a whole number from 1 to MAX_HISTORY, or `before` is not
   * a whole number above 0.
   */
  history(member: Member, count?: number, before?: number): void {
    this.#guard(member, () => {
      const room = this.#historyRoom(member);
      // Checked here too, not only by the protocol: any front end may call it.
      if (count !== undefined && !isWholeIn(count, 1, MAX_HISTORY)) {
        throw new ChatError(
          ErrorCode.BadArguments,
          `History "count" must be a whole number from 1 to ${MAX_HISTORY}`,
        );
      }
      if (before !== undefined && !isWholeIn(before, 1, Number.MAX_SAFE_INTEGER)) {
        throw new ChatError(
          ErrorCode.BadArguments,
          `History "before" must be a message id, a whole number above 0`,
        );
      }
      this.#sendHistory(member, room, count, before);
    });
  }

  /** The member's room, when the server keeps its history. */
  #historyRoom(member: Member): Room {
    const room = this.#roomOf(member);
    if (!this.#store && this.#history <= 0) {
      throw new ChatError(ErrorCode.BadArguments, "This server keeps no history");
    }
    return room;
  }

  /** Sends `count` messages before `before` (default: as many as /history shows). */
  #sendHistory(member: Member, room: Room, count: number | undefined, before?: number): void {
    const n = count ?? (this.#history > 0 ? this.#history : DEFAULT_RECALL);
    let messages: MessageEvent[];
    try {
      messages = this.#recent(room, n, before);
    } catch (error) {
      this.#log(`cannot read the history of #${room.name}: ${reason(error)}`);
      throw new ChatError(ErrorCode.NotSaved, "History not shown: the server could not read it");
    }
    member.sink.send({ type: "history", room: room.name, messages: newestThatFit(messages) });
  }

  /** Sends the help text to the member. */
  help(member: Member): void {
    this.#guard(member, () => member.sink.send({ type: "info", text: COMMANDS.help() }));
  }

  /**
   * The member leaves on purpose: they get `bye`, the room a `leave`. The
   * front end closes the connection when it has delivered the `bye`.
   */
  quit(member: Member, reason = ""): void {
    const why = shortReason(reason) || "quit";
    member.sink.send({ type: "bye", code: "quit", reason: why });
    this.leave(member, why);
  }

  /**
   * Removes the member and tells the room. Safe to call more than once: a
   * front end calls it whenever a connection ends, however it ended.
   */
  leave(member: Member, reason: string): void {
    if (this.#users.get(member.key) !== member) return;
    this.#users.delete(member.key);
    const room = member.room;
    if (!room) return;
    room.remove(member);
    if (!this.#standing.get(member)?.quiet) {
      this.#bus.publish(room.name, {
        type: "leave",
        time: this.#now(),
        room: room.name,
        name: member.name,
        count: room.size,
        reason,
      });
    }
    this.#log(`leave ${member.name} (${reason}) (${usersCount(this.#users.size)})`);
  }

  /**
   * Disconnects the user called `name` on the operator's word; the room is
   * told why. Returns false when nobody has that name.
   */
  kick(name: string, reason = ""): boolean {
    const member = this.#users.get(nameKey(name.trim()));
    if (!member) return false;
    const why = shortReason(reason);
    const said = why ? `Disconnected by the operator: ${why}` : "Disconnected by the operator";
    member.sink.send({ type: "bye", code: "kicked", reason: said });
    this.leave(member, why ? `kicked: ${why}` : "kicked");
    this.#log(`kick ${member.name}${why ? ": " + why : ""}`);
    return true;
  }

  /** Sends an announcement from the server to every user. */
  announce(text: string): void {
    const clean = cleanMessage(text);
    if (!clean) return;
    const event: ChatEvent = { type: "notice", time: this.#now(), text: clean };
    for (const member of this.#users.values()) member.sink.send(event);
    this.#log(`announce: ${clean}`);
  }

  /** Says goodbye to everyone (`bye` with `code`) and empties the hub. */
  closeAll(code: ByeCode, reason: string): void {
    const event: ChatEvent = { type: "bye", code, reason };
    for (const member of this.#users.values()) {
      member.sink.send(event);
      member.room?.remove(member);
    }
    this.#users.clear();
  }

  #roomOf(member: Member): Room {
    if (!member.room || this.#users.get(member.key) !== member) {
      throw new ChatError(ErrorCode.NotRegistered, "You are not in a room");
    }
    return member.room;
  }

  #checkText(text: string): string {
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
}

/** Most private messages in one `missed` event; the store returns no more at once either. */
const MISSED_PAGE = MAX_HISTORY;

const encoder = new TextEncoder();

function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/** The newest of `messages` (oldest first) whose JSON fits in MAX_FRAME_MESSAGE_BYTES. */
function newestThatFit<T>(messages: T[]): T[] {
  let bytes = 0;
  let first = messages.length;
  while (first > 0) {
    bytes += utf8Length(JSON.stringify(messages[first - 1])) + 1;
    if (bytes > MAX_FRAME_MESSAGE_BYTES) break;
    first--;
  }
  return messages.slice(first);
}

/** The oldest of `messages` whose JSON fits in MAX_FRAME_MESSAGE_BYTES; at least one. */
function oldestThatFit<T>(messages: T[]): T[] {
  let bytes = 0;
  let end = 0;
  while (end < messages.length) {
    bytes += utf8Length(JSON.stringify(messages[end])) + 1;
    if (bytes > MAX_FRAME_MESSAGE_BYTES && end > 0) break;
    end++;
  }
  return messages.slice(0, end);
}

/** Why a mailbox cannot take a message of `bytes` more, or "" when it can. */
function mailboxFull(
  waiting: { messages: number; fromSender: number; bytes: number },
  bytes: number,
): string {
  if (waiting.fromSender >= MAILBOX_LIMITS.fromOneSender) {
    return `has ${waiting.fromSender} private messages from you waiting already`;
  }
  if (waiting.messages >= MAILBOX_LIMITS.messages || waiting.bytes + bytes > MAILBOX_LIMITS.bytes) {
    return "their mailbox is full";
  }
  return "";
}

function toMessageEvent(stored: StoredMessage): MessageEvent {
  return {
    type: "message",
    id: stored.id,
    time: stored.time,
    room: stored.room,
    from: stored.from,
    text: stored.text,
    ...(stored.action === true ? { action: true as const } : {}),
  };
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

/** Whether `value` is a whole number from `min` to `max` (not NaN, not 2.5, not "3"). */
function isWholeIn(value: unknown, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

/** What went wrong, in words, for the log. */
function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A name someone typed, safe and short enough for the log. */
function cleanName(name: string): string {
  return [...cleanMessage(name)].slice(0, 40).join("");
}

function usersCount(count: number): string {
  return count === 1 ? "1 user" : `${count} users`;
}

/** Compares two secrets in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** A reason as people see it: cleaned, and cut to MAX_REASON_LENGTH characters (not UTF-16 units). */
function shortReason(reason: string): string {
  return [...cleanMessage(reason)].slice(0, MAX_REASON_LENGTH).join("");
}
