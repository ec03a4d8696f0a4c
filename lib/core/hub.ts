/**
 * The chat core: users, rooms and everything they can do.
 *
 * This module is pure logic over events. It has no sockets, no terminal and no
 * `Deno.*` calls: a front end registers users with a {@link Sink}, feeds it
 * what they type, and delivers the events it produces. The TCP front in
 * `lib/server/` is one such front end; the tests are another.
 *
 * The hub is the coordinator: it knows who is here and in which room, and
 * hands each decision to a policy: registering and resuming
 * (`registration.ts`), renaming (`renaming.ts`), flood and churn control
 * (`flood_control.ts`), posting (`posting.ts`), the offline mailbox
 * (`offline_mail.ts`), room history (`room_history.ts`), the rooms
 * (`rooms.ts`, `room_membership.ts`, `room_operators.ts`), bans (`bans.ts`), and
 * presence: away, ignoring and `/whois` (`presence.ts`).
 *
 * Refusals are thrown as {@link ChatError} inside and reach only the user who
 * caused them, as an `error` event.
 *
 * With a {@link HubStore}, room messages and private messages are stored
 * before anyone sees them (see `posting.ts`). The store also holds accounts:
 * names that need a password, checked by the front end (the hub never hashes).
 *
 * Everyone sees events in the order the hub decided them. A store that
 * commits in groups sends the messages of a turn at its end, so every action
 * but a message first sends the messages waiting ({@link Posting.settle}):
 * `#guard` does it for every user action unless told it posts, and
 * the hub's other doors (register, leave, the operator's actions) call
 * {@link Hub.settle} themselves.
 *
 * @module
 */

import { BanList, banMessage } from "./bans.ts";
import { type Bus, LocalBus } from "./bus.ts";
import { COMMANDS, parseInput } from "./commands.ts";
import { Delivery, type DeliveryRequest } from "./delivery.ts";
import { ChatError } from "./errors.ts";
import {
  type ByeCode,
  type ChatEvent,
  ErrorCode,
  PROTOCOL_VERSION,
  type Sink,
  WELCOME_NAMES,
  type WelcomeEvent,
} from "./events.ts";
import { FloodControl } from "./flood_control.ts";
import {
  type ChurnLimits,
  DEFAULT_MAX_ROOMS_PER_USER,
  DEFAULT_MAX_USERS,
  type FloodLimits,
} from "./limits.ts";
import { nameKey } from "./names.ts";
import { OfflineMail } from "./offline_mail.ts";
import { plural } from "./plural.ts";
import { Posting, type Receipt } from "./posting.ts";
import { Presence } from "./presence.ts";
import { type AuthMode, Registration } from "./registration.ts";
import { checkRename } from "./renaming.ts";
import { Member, type Room } from "./room.ts";
import { listing, RoomMembership } from "./room_membership.ts";
import { RoomOperators } from "./room_operators.ts";
import { RoomHistory } from "./room_history.ts";
import { checkRoomName } from "./room_names.ts";
import { RoomRegistry } from "./rooms.ts";
import { cleanMessage } from "./sanitize.ts";
import type {
  AccountBook,
  BanBook,
  DeliveryLog,
  IgnoreBook,
  Mailbox,
  MessageLog,
  ReplayLog,
  RoomBook,
  StoredBan,
} from "./store.ts";

// Part of the hub's API, declared beside the policy they belong to.
export type { AuthMode } from "./registration.ts";
export { DEFAULT_RECALL } from "./room_history.ts";
export { DEFAULT_ROOM } from "./rooms.ts";

/** Longest `/quit` reason, in code points. */
const MAX_REASON_LENGTH = 200;

/**
 * What the hub needs of the store: the history, the mailbox, and account
 * look-ups (not account changes), so that tests can pass a fake; and, when
 * it has them, rooms, bans and whom account holders ignore.
 */
export type HubStore =
  & MessageLog
  & Mailbox
  & Pick<AccountBook, "getUser">
  & Partial<RoomBook & BanBook & IgnoreBook & DeliveryLog & ReplayLog>;

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
  /** Whether one address makes rooms at ROOM_CREATION's pace (see rooms.ts). @default true */
  roomPace?: boolean;
  /** Carries each room's events to its members. @default a new LocalBus */
  bus?: Bus;
  /** Most rooms on the server. @default DEFAULT_MAX_ROOMS */
  maxRooms?: number;
  /** Most rooms one user may be in. @default DEFAULT_MAX_ROOMS_PER_USER */
  maxRoomsPerUser?: number;
  /** Most bytes of JSON one replay queues: under the connections' queue limit. @default MAX_REPLAY_BYTES */
  replayBytes?: number;
  /**
   * Runs a step of a long replay in a later turn of the event loop, after
   * the sockets' I/O (a timer), so that the other connections are served
   * between its pages. @default at once: a replay is sent in one go
   */
  nextTurn?: (step: () => void) => void;
  /**
   * A monotonic clock in ms (`performance.now`) that times those steps: a
   * turn takes several while they fit in a few ms (see `turns.ts`).
   * @default none: a step a turn
   */
  turnClock?: () => number;
}

/** Where a registration comes from, and what it asks of delivery; every field is optional. */
export interface Origin extends DeliveryRequest {
  /** The peer's `host:port`, for the log. */
  peer?: string;
  /** The peer's IP address, for join churn control. */
  address?: string;
  /** The `resume` token of an earlier welcome, to take the name back. */
  resume?: string;
  /** The front end has checked this name's account password: the user is its owner. */
  account?: boolean;
}

/** All users and rooms of one server, and the rules between them. */
export class Hub {
  #users = new Map<string, Member>();
  #rooms: RoomRegistry;
  #membership: RoomMembership;
  #operators: RoomOperators;
  #bans: BanList;
  #maxUsers: number;
  #motd: string | undefined;
  #server: string;
  #now: () => number;
  #log: (line: string) => void;
  #token: () => string;
  #bus: Bus;
  /** How deep in nested user actions we are: flood control counts the outermost only. */
  #depth = 0;
  #registration: Registration;
  #flood: FloodControl;
  #posting: Posting;
  #mail: OfflineMail;
  #roomHistory: RoomHistory;
  #presence: Presence;
  #delivery: Delivery;
  /** The `cid` of the frame being handled, for its answers (see {@link Hub.answering}). */
  #cid: string | undefined;
  /** Whether a refusal was sent since handleLine() began: its command is not remembered as run. */
  #refused = false;
  /** The `since` of the `join` being handled: the room's history comes as a replay after it. */
  #joinSince: number | undefined;
  /** The room a `join` frame being handled names: its refusals name it, for a client's rejoins. */
  #joinRoom: string | undefined;

  /**
   * Creates a hub with `#lobby` and the rooms the store kept.
   *
   * @throws {TypeError} when `auth` is not "off" but there is no `store`.
   */
  constructor(options: HubOptions = {}) {
    const store = options.store ?? null;
    this.#log = options.log ?? (() => {});
    this.#registration = new Registration({
      auth: options.auth,
      store,
      find: (name) => this.#find(name),
      log: this.#log,
    });
    this.#maxUsers = options.maxUsers ?? DEFAULT_MAX_USERS;
    this.#motd = options.motd ? cleanMessage(options.motd) : undefined;
    this.#server = options.server ?? "chat";
    this.#now = options.now ?? Date.now;
    this.#token = options.token ?? (() => crypto.randomUUID());
    this.#bus = options.bus ?? new LocalBus();
    // Up to the rooms one may be in: all a client joins again after a restart.
    this.#flood = new FloodControl(
      this.#now,
      options.flood,
      options.churn,
      options.maxRoomsPerUser ?? DEFAULT_MAX_ROOMS_PER_USER,
    );
    this.#posting = new Posting({ store, bus: this.#bus, now: this.#now, log: this.#log });
    this.#mail = new OfflineMail({
      auth: this.#registration.auth,
      store,
      posting: this.#posting,
      log: this.#log,
    });
    this.#roomHistory = new RoomHistory(options.history, store, this.#log);
    const book = store?.listRooms && store.saveRoom && store.forgetRoom ? store as RoomBook : null;
    this.#rooms = new RoomRegistry({
      maxRooms: options.maxRooms,
      maxRoomsPerUser: options.maxRoomsPerUser,
      paced: options.roomPace !== false,
      memory: this.#roomHistory.roomMemory,
      book,
      now: this.#now,
      log: this.#log,
      opened: (room) =>
        this.#bus.subscribe(room.name, (event, skip) => room.broadcast(event, skip)),
    });
    this.#membership = new RoomMembership({
      registry: this.#rooms,
      bus: this.#bus,
      now: this.#now,
      log: this.#log,
      isQuiet: (member) => this.#flood.isQuiet(member),
      showHistory: (member, room) =>
        this.#joinSince !== undefined
          ? this.#delivery.replayRoom(member, room, this.#joinSince)
          : this.#roomHistory.showJoiner(member, room),
    });
    this.#operators = new RoomOperators({
      registry: this.#rooms,
      bus: this.#bus,
      now: this.#now,
      log: this.#log,
      find: (name) => this.#find(name),
      membership: this.#membership,
    });
    this.#presence = new Presence({
      store,
      find: (name) => this.#find(name),
      members: () => this.#users.values(),
      now: this.#now,
      log: this.#log,
    });
    const banBook = store?.listBans && store.saveBan && store.removeBan ? store as BanBook : null;
    this.#bans = new BanList(banBook, this.#now, this.#log);
    this.#delivery = new Delivery({
      stream: store?.stream ?? crypto.randomUUID(),
      store: store?.messagesAfter ? store as HubStore & ReplayLog : null,
      now: this.#now,
      log: this.#log,
      newest: () => this.#posting.lastId,
      replayBytes: options.replayBytes,
      nextTurn: options.nextTurn,
      turnClock: options.turnClock,
      present: (member) => this.#users.get(member.key) === member,
      // Its connection closes (and leaves) next: a leave here could run inside a room's broadcast.
      overflowed: (sink) => {
        const member = [...this.#users.values()].find((m) => m.sink === sink);
        if (member) this.#log(`drop ${member.name}: too much waiting behind a replay`);
      },
    });
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

  /** Whether `name` needs its account password (see {@link Registration.needsPassword}). */
  needsPassword(name: string): boolean {
    return this.#registration.needsPassword(name);
  }

  /**
   * Whether a `hello` with this `resume` token would take `name` back, with
   * no password asked again (see {@link Registration.canResume}).
   */
  canResume(name: string, token: string | undefined): boolean {
    return this.#registration.canResume(name, token);
  }

  /**
   * Registers a user under `name` and puts them in the default room: they get
   * `welcome` (with a `resume` token), everyone else a `join`. A joiner then
   * gets the room's last messages (`history`, when the hub shows any), and
   * an account holder the private messages kept while they were away
   * (`missed`, in pages; a long one's over turns, as a replay's).
   *
   * `origin.address` identifies where the user connects from (an IP
   * address), for join churn control: joins from an address that keeps
   * joining are not announced. `origin.resume` is the token of an earlier
   * `welcome`: it takes the name back from a connection that was lost but
   * not yet noticed, silently for the room. `origin.account` says the front
   * end has checked the name's password.
   *
   * @throws {ChatError} `name_invalid`, `password_required`, `name_taken`,
   * `room_full` or `banned` (a {@link BannedError}); the connection may try
   * again (except when full or banned).
   */
  register(name: string, sink: Sink, origin: Origin = {}): Member {
    this.settle();
    const peer = origin.peer ?? "local";
    const address = origin.address ?? peer;
    const { name: wanted, holder } = this.#registration.admit(name, origin, peer);
    const ban = this.#bans.find(wanted, address);
    if (ban) {
      this.#log(`refused ${wanted} from ${peer}: banned (${ban.kind} ${ban.value})`);
      throw new BannedError(ban);
    }
    if (!holder && this.isFull()) {
      this.#log(`refused ${wanted} from ${peer}: room full (${this.#maxUsers})`);
      throw new ChatError(ErrorCode.RoomFull, this.fullMessage());
    }
    // A resumed connection keeps the account of the one it replaces.
    const account = holder?.account === true || origin.account === true;
    const member = new Member(
      holder?.name ?? this.#registration.accountName(wanted, account),
      this.#delivery.sinkFor(sink, origin, this.#posting.lastId, account ? nameKey(wanted) : null),
      { peer, address, resume: this.#token(), account, now: this.#now() },
    );
    const now = this.#now();
    this.#presence.arrived(member, holder);
    this.#flood.enter(member, now, holder);
    const room = holder?.room ?? this.#rooms.lobby;
    if (holder) {
      // The old connection is gone or going: it hands over without a leave.
      holder.sink.send({ type: "bye", code: "replaced", reason: "Resumed on another connection" });
      for (const held of [...holder.rooms]) held.replace(holder, member);
    } else {
      room.add(member);
      member.room = room;
    }
    this.#users.set(member.key, member);
    sink.send(this.#welcome(member, room));
    if (holder) {
      // The connection it replaces was shown the history and the kept messages, unless their
      // pages were still going: without `since` (which replays them), the rest comes now.
      const kept = this.#delivery.missedUpTo(holder);
      this.#delivery.resumed(holder, member, origin);
      if (kept !== undefined && origin.since === undefined) {
        const upTo = this.#posting.lastId;
        this.#delivery.missed(member, (turn) => this.#mail.missed(member, upTo, turn, kept), kept);
      }
      this.#log(`resume ${member.name} from ${peer}`);
      return member;
    }
    if (!this.#delivery.joined(member, origin)) {
      this.#roomHistory.showJoiner(member, room);
      if (member.account) {
        // In pages, a few a turn; to a client that acknowledges, kept mail counts as delivered
        // once acknowledged: its connection may die before it showed them.
        const upTo = this.#posting.lastId;
        this.#delivery.missed(member, (turn) => this.#mail.missed(member, upTo, turn));
      }
    } else if (member.account) {
      // The replay held the kept messages; who could not leave one is still told.
      this.#mail.tellRefused(member);
    }
    const quiet = this.#flood.isQuiet(member);
    if (!quiet) {
      this.#bus.publish(
        room.name,
        { type: "join", time: now, room: room.name, name: member.name, count: room.size },
        member,
      );
    }
    this.#log(
      `join ${member.name}${member.account ? " (account)" : ""} from ${peer} (${
        plural(this.#users.size, "user")
      })${quiet ? " unannounced: too many joins from " + address : ""}`,
    );
    return member;
  }

  /** What `member`, just in `room`, is told first. */
  #welcome(member: Member, room: Room): WelcomeEvent {
    return {
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
      rooms: [room.name, ...[...member.rooms].filter((r) => r !== room).map((r) => r.name)],
      stream: this.#delivery.stream,
      last: this.#posting.lastId,
    };
  }

  /** The sentence a refused newcomer reads when the server is full. */
  fullMessage(): string {
    return `The room is full (${plural(this.#maxUsers, "user")}); try again later`;
  }

  /**
   * Handles one line as a person typed it: a `/command`, `@name text`, the
   * word `exit`, or a message to the room. Refusals go to `member` only.
   */
  handleLine(member: Member, line: string, room?: string): void {
    const input = parseInput(line);
    // Leaving is never refused, however fast someone typed before.
    const free = input.kind === "command" && COMMANDS.get(input.name)?.name === "quit";
    // A command resent after a lost connection (a `/part`, a `/topic`) runs once, as a message posts once.
    const once = input.kind === "command" && COMMANDS.get(input.name)?.posts !== true
      ? this.#cid
      : undefined;
    if (once !== undefined && this.#delivery.ranBefore(member, once)) return;
    this.#refused = false;
    // Only a dispatch: the action it runs settles, or not, for itself.
    this.#guard(member, () => {
      if (input.kind === "say") this.say(member, input.text, room);
      else COMMANDS.run(this, member, input.name, input.args, room);
    }, { free, posts: true });
    // A refused one may be taken when sent again (a flood refusal, say).
    if (once !== undefined && !this.#refused) this.#delivery.ran(member, once);
  }

  /**
   * Runs one user action: checks flood control once (nested calls, such as
   * handleLine() running say(), count once), sends the messages waiting
   * first unless the action `posts` one (see {@link Hub.settle}), and sends
   * a {@link ChatError} it throws to `member` only.
   */
  #guard(
    member: Member,
    action: () => void,
    { free = false, posts = false, joining = false }: {
      free?: boolean;
      posts?: boolean;
      joining?: boolean;
    } = {},
  ): void {
    this.#depth++;
    try {
      if (this.#depth === 1 && !free && !this.#flood.admit(member, joining)) {
        this.#disconnectFlooder(member);
        return;
      }
      if (!posts) this.settle();
      action();
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      // A refusal comes after the echoes of the messages sent before the line refused.
      this.settle(member);
      const wait = error.wait !== undefined ? { wait: error.wait } : {};
      this.#refused = true;
      const cid = this.#cid !== undefined ? { cid: this.#cid } : {};
      const room = this.#joinRoom !== undefined ? { room: this.#joinRoom } : {};
      member.sink.send({
        type: "error",
        code: error.code,
        message: error.message,
        ...wait,
        ...cid,
        ...room,
      });
    } finally {
      this.#depth--;
    }
  }

  /**
   * Sends the messages waiting for the end of the turn now: an event that is
   * not a message must not overtake them, nor a change (a leave, a rename)
   * reach back into them. With `sender`, only when messages of theirs wait:
   * before an answer to them alone (a refusal; a front end's `pong`), which
   * must come after the answers to what they sent before.
   */
  settle(sender?: Member): void {
    this.#posting.settle(sender);
  }
  /**
   * Answers a frame of `member`'s that only it hears of (a front end's
   * `pong`): after the answers to what it sent before, and after the pages
   * of a replay under way (which hold those back).
   */
  answer(member: Member, event: ChatEvent): void {
    this.settle(member);
    member.sink.send(event);
  }

  /** Disconnects a member who kept flooding after being told to slow down. */
  #disconnectFlooder(member: Member): void {
    this.settle();
    this.#log(`kick ${member.name}: flooding`);
    member.sink.send({ type: "bye", code: "flood", reason: "Disconnected for flooding" });
    this.leave(member, "disconnected for flooding");
  }

  /** Sends a message to `room` (the member's current room by default), the sender included. */
  say(member: Member, text: string, room?: string): void {
    this.#post(member, text, false, room);
  }

  /** Sends a `/me` action to `room` (the member's current room by default). */
  act(member: Member, text: string, room?: string): void {
    this.#post(member, text, true, room);
  }

  #post(member: Member, text: string, action: boolean, room?: string): void {
    this.#guard(member, () => {
      const to = this.#roomOf(member, room);
      this.#posted((receipt) => this.#posting.post(member, to, text, action, receipt), member);
    }, { posts: true });
  }

  /**
   * Posts with `post` for `member`, once per `cid` of the frame being
   * handled: a resent one is answered `sent` and not posted again.
   */
  #posted(post: (receipt?: Receipt) => void, member: Member): void {
    const cid = this.#cid;
    if (cid !== undefined && this.#delivery.resent(member, cid)) return;
    const receipt = cid !== undefined ? this.#delivery.receipt(member, cid) : undefined;
    try {
      post(receipt);
    } catch (error) {
      receipt?.failed();
      throw error;
    }
    member.active = this.#now();
  }

  /**
   * Handles a frame that carries a client-chosen id (`cid`): its refusals
   * carry it, and a message it posts is posted once per cid (see `delivery.ts`).
   */
  answering(cid: string | undefined, action: () => void): void {
    const outer = this.#cid;
    this.#cid = cid;
    try {
      action();
    } finally {
      this.#cid = outer;
    }
  }

  /**
   * `ack`: the member's client has shown every message up to `id`. Not
   * counted as a message; a client that sends them too fast is a flooder.
   */
  ack(member: Member, id: number): void {
    if (this.#users.get(member.key) !== member) return;
    if (!this.#delivery.ack(member, id)) this.#disconnectFlooder(member);
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
      const target = this.#find(wanted);
      this.#posted((receipt) => {
        if (target) {
          const delivered = !this.#delivery.awaitsAck(target);
          this.#posting.whisper(member, target, text, receipt, delivered);
        } else this.#mail.keep(member, wanted, text, receipt);
      }, member);
    }, { posts: true });
  }

  /** `/away [text]`: marks the member away with `text`, or back without it. */
  away(member: Member, text = ""): void {
    this.#guard(member, () => {
      this.#roomOf(member);
      this.#presence.away(member, text);
    });
  }

  /** `/ignore NAME`: the member stops seeing what NAME says (see `ignoring.ts`). */
  ignore(member: Member, name: string): void {
    this.#guard(member, () => {
      this.#roomOf(member);
      this.#presence.ignore(member, name);
    });
  }

  /** `/unignore NAME`: the member sees what NAME says again. */
  unignore(member: Member, name: string): void {
    this.#guard(member, () => {
      this.#roomOf(member);
      this.#presence.unignore(member, name);
    });
  }

  /** `/ignore` alone: tells the member whom they ignore. */
  ignoreList(member: Member): void {
    this.#guard(member, () => {
      this.#roomOf(member);
      this.#presence.list(member);
    });
  }

  /** `/whois NAME`: tells the member what they may know of NAME (see `whois.ts`). */
  whois(member: Member, name: string): void {
    this.#guard(member, () => {
      this.#roomOf(member);
      this.#presence.whois(member, name);
    });
  }

  /**
   * Changes the member's name, if the new one is valid and free. Where
   * accounts count, an account holder's name is their account's and stays,
   * and nobody takes a name that has an account.
   */
  rename(member: Member, name: string): void {
    this.#guard(member, () => {
      this.#roomOf(member);
      const next = checkRename(member, name, this.#registration, (n) => this.#bans.findName(n));
      const old = member.name;
      member.rename(next);
      // Rebuilt in place, not re-added last: the operator's /who keeps join order, as users' does.
      this.#users = new Map(
        [...this.#users].map(([key, m]) => m === member ? [m.key, m] : [key, m]),
      );
      this.#membership.renamed(member, old);
      this.#presence.renamed(member, old);
      this.#log(`rename ${old} -> ${member.name}`);
    });
  }

  /**
   * Tells the member who is in `room`: their current room by default, or
   * any public room, or a private one they are in.
   */
  who(member: Member, room?: string): void {
    this.#guard(member, () => {
      const current = this.#roomOf(member);
      const shown = room?.trim() ? this.#membership.visibleRoom(member, room) : current;
      this.#membership.who(member, shown);
    });
  }

  /**
   * Sends the member the last messages of their room (`/history [N]`), or
   * refuses (see {@link RoomHistory.recall}).
   */
  recall(member: Member, count: string, room?: string): void {
    this.#guard(member, () => {
      this.#roomHistory.recall(member, this.#roomOf(member, room), count);
    });
  }

  /**
   * Sends the member `count` messages of their room before the id `before`:
   * the JSON `history` frame, for paging back (see {@link RoomHistory.page}).
   */
  history(member: Member, count?: number, before?: number, room?: string): void {
    this.#guard(member, () => {
      this.#roomHistory.page(member, this.#roomOf(member, room), count, before);
    });
  }

  /**
   * `/join #name`: enters (or creates, or switches to) a room (see
   * {@link RoomMembership.join}); with `since`, a room new to the member shows
   * its messages after that id as `replay` pages instead of its last ones.
   */
  join(member: Member, room: string, since?: number): void {
    const frame = this.#depth === 0;
    // A `join` frame, not a `/join` line: right after a login, a room that is
    // there is entered again without a flood token (see flood_control.ts).
    const free = frame && this.#exists(room) && this.#flood.rejoin(member);
    const outer = this.#joinRoom;
    if (frame) this.#joinRoom = room.startsWith("#") ? room.slice(1) : room;
    try {
      this.#guard(member, () => {
        this.#roomOf(member);
        this.#joinSince = since;
        try {
          this.#membership.join(member, room);
        } finally {
          this.#joinSince = undefined;
        }
      }, { free, joining: frame });
    } finally {
      this.#joinRoom = outer;
    }
  }

  /** Whether the room `typed` names exists (false for a name that is not one). */
  #exists(typed: string): boolean {
    try {
      return this.#rooms.get(checkRoomName(typed)) !== undefined;
    } catch (error) {
      if (error instanceof ChatError) return false;
      throw error;
    }
  }

  /** `/part [#name] [reason]`: leaves `room` (the current one by default). */
  part(member: Member, room?: string, reason = ""): void {
    this.#guard(member, () => {
      this.#membership.part(member, this.#roomOf(member, room), shortReason(reason));
    });
  }

  /** `/rooms`: lists the public rooms and the member's own. */
  rooms(member: Member): void {
    this.#guard(member, () => {
      this.#roomOf(member);
      this.#membership.list(member);
    });
  }

  /** `/topic [text]`: shows the topic of `room`, or sets it (an operator). */
  topic(member: Member, room?: string, text?: string): void {
    this.#guard(member, () => {
      this.#operators.topic(member, this.#roomOf(member, room), text);
    });
  }

  /** `/kick NAME [reason]` by a room's operator: puts `name` out of `room`. */
  roomKick(member: Member, room: string | undefined, name: string, reason = ""): void {
    this.#guard(member, () => {
      this.#operators.kick(member, this.#roomOf(member, room), name, shortReason(reason));
    });
  }

  /** `/op NAME` or `/deop NAME` (`op` false) by a room's operator. */
  setOperator(member: Member, room: string | undefined, name: string, op: boolean): void {
    this.#guard(member, () => {
      this.#operators.setOperator(member, this.#roomOf(member, room), name, op);
    });
  }

  /** `/invite NAME` by a room's operator. */
  invite(member: Member, room: string | undefined, name: string): void {
    this.#guard(member, () => {
      this.#operators.invite(member, this.#roomOf(member, room), name);
    });
  }

  /** `/private` or `/public` (`privateRoom` false) by a room's operator. */
  setPrivate(member: Member, room: string | undefined, privateRoom: boolean): void {
    this.#guard(member, () => {
      this.#operators.setPrivate(member, this.#roomOf(member, room), privateRoom);
    });
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
    this.settle();
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
    this.settle();
    this.#delivery.left(member);
    this.#users.delete(member.key);
    this.#membership.leaveAll(member, reason);
    this.#log(`leave ${member.name} (${reason}) (${plural(this.#users.size, "user")})`);
  }

  /**
   * Disconnects the user called `name` on the operator's word; the room is
   * told why. Returns false when nobody has that name.
   */
  kick(name: string, reason = ""): boolean {
    const member = this.#find(name.trim());
    if (!member) return false;
    this.settle();
    const why = shortReason(reason);
    const said = why ? `Disconnected by the operator: ${why}` : "Disconnected by the operator";
    member.sink.send({ type: "bye", code: "kicked", reason: said });
    this.leave(member, why ? `kicked: ${why}` : "kicked");
    this.#log(`kick ${member.name}${why ? ": " + why : ""}`);
    return true;
  }

  /**
   * The operator bans a name or an address (`target`: an address when it
   * reads as one) for `minutes` (undefined: until lifted); whoever it keeps
   * out and is online is disconnected, told why and until when.
   */
  ban(target: string, minutes: number | undefined, reason = ""): StoredBan {
    this.settle();
    const value = target.trim();
    const kind = isAddress(value) ? "address" : "name";
    const ban = this.#bans.add(kind, value, minutes, shortReason(reason));
    for (const member of [...this.#users.values()]) {
      if (this.#bans.find(member.name, member.address) !== ban) continue;
      member.sink.send({
        type: "bye",
        code: "banned",
        reason: banMessage(ban),
        ...(ban.until !== null ? { until: ban.until } : {}),
      });
      this.leave(member, "banned");
    }
    this.#log(`ban ${kind} ${value}${minutes === undefined ? "" : ` for ${minutes} min`}`);
    return ban;
  }

  /** The operator lifts the ban of a name or address; false when there was none. */
  unban(target: string): boolean {
    const lifted = this.#bans.remove(target.trim());
    if (lifted) this.#log(`unban ${target.trim()}`);
    return lifted;
  }

  /** The bans in force. */
  bans(): StoredBan[] {
    return this.#bans.list();
  }

  /** Every room, private ones included, for the operator. */
  roomList(): ReturnType<typeof listing>[] {
    return [...this.#rooms.all()].map((room) => listing(room, false));
  }

  /**
   * The members of the room `name` in join order, operators marked `@`, for
   * the operator; undefined when there is no such room.
   *
   * @throws {ChatError} `room_invalid`.
   */
  roomMembers(name: string): string[] | undefined {
    const room = this.#rooms.get(checkRoomName(name));
    return room?.members().map((m) => room.isOp(m) ? `@${m.name}` : m.name);
  }

  /**
   * The operator announces `text` to the room `name` alone; false when
   * there is no such room.
   *
   * @throws {ChatError} `room_invalid`.
   */
  announceTo(name: string, text: string): boolean {
    const room = this.#rooms.get(checkRoomName(name));
    if (!room) return false;
    const clean = cleanMessage(text);
    if (!clean) return true;
    this.settle();
    this.#bus.publish(room.name, {
      type: "notice",
      time: this.#now(),
      text: clean,
      room: room.name,
    });
    this.#log(`announce to #${room.name}: ${clean}`);
    return true;
  }

  /**
   * The operator removes the room `name` (see {@link RoomMembership.close});
   * returns its name as made, undefined when there is no such room.
   *
   * @throws {ChatError} `room_invalid`; `not_allowed` for `#lobby`.
   */
  dropRoom(name: string, reason = ""): string | undefined {
    const room = this.#rooms.get(checkRoomName(name));
    if (!room) return undefined;
    // The messages waiting for their commit go first, while the room is there to get them.
    this.settle();
    this.#membership.close(room, shortReason(reason));
    return room.name;
  }

  /** Forgets the rooms that have been empty, without history, for a day; call it now and then. */
  sweepRooms(): void {
    this.#rooms.sweep();
  }

  /** Sends an announcement from the server to every user. */
  announce(text: string): void {
    const clean = cleanMessage(text);
    if (!clean) return;
    this.settle();
    const event: ChatEvent = { type: "notice", time: this.#now(), text: clean };
    for (const member of this.#users.values()) member.sink.send(event);
    this.#log(`announce: ${clean}`);
  }

  /** Says goodbye to everyone (`bye` with `code`) and empties the hub. */
  closeAll(code: ByeCode, reason: string): void {
    this.settle();
    const event: ChatEvent = { type: "bye", code, reason };
    const rooms = new Set<Room>();
    for (const member of this.#users.values()) {
      member.sink.send(event);
      for (const room of [...member.rooms]) {
        room.remove(member);
        rooms.add(room);
      }
    }
    this.#users.clear();
    // Kept as empty from now: a day's grace counts from the restart, not from their last quiet.
    for (const room of rooms) this.#rooms.emptied(room);
  }

  /** The user registered under `name` (compared by its key), if any. */
  #find(name: string): Member | undefined {
    return this.#users.get(nameKey(name));
  }

  /**
   * The room `room` names, which the member is in, or their current room.
   *
   * @throws {ChatError} `not_registered` once they have left; else as
   * {@link RoomMembership.roomOf}.
   */
  #roomOf(member: Member, room?: string): Room {
    if (!member.room || this.#users.get(member.key) !== member) {
      throw new ChatError(ErrorCode.NotRegistered, "You are not in a room");
    }
    return this.#membership.roomOf(member, room);
  }
}

/** Registration refused: the name or the address is banned. */
export class BannedError extends ChatError {
  /** The ban, with its end and reason. */
  readonly ban: StoredBan;
  /** Says why, and until when. */
  constructor(ban: StoredBan) {
    super(ErrorCode.Banned, banMessage(ban));
    this.ban = ban;
  }
}

/** Whether a ban target reads as an IP address (v4, or v6 with its colons) rather than a name. */
function isAddress(value: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(value) || value.includes(":");
}

/** A reason as people see it: cleaned, and cut to MAX_REASON_LENGTH characters (not UTF-16 units). */
function shortReason(reason: string): string {
  return [...cleanMessage(reason)].slice(0, MAX_REASON_LENGTH).join("");
}
