/**
 * One chat room: who is in it (in the order they came), its operators,
 * topic, privacy and invitations, and delivery of an event to all of them.
 * A user may be in several rooms; one of them is their current room.
 *
 * A room knows nothing of sockets or terminals; members carry a {@link Sink}.
 * The {@link Hub} owns the rooms and decides who may enter (`room_membership.ts`, `room_operators.ts`).
 *
 * @module
 */

import type { ChatEvent, MessageEvent, Sink } from "./events.ts";
import type { IgnoreList } from "./ignore_list.ts";
import { nameKey } from "./names.ts";

/**
 * A registered user: a name, a sink for their events, where they came from,
 * and whether they proved the name is theirs (an account).
 */
export class Member {
  /** Display name, as the user chose it (NFC). */
  name: string;
  /** Unique key of the name, see {@link nameKey}. */
  key: string;
  /** Where the user's events go. */
  readonly sink: Sink;
  /** The peer's `host:port`, for the operator's log. */
  readonly peer: string;
  /** The peer's address as limits per address count it. */
  readonly address: string;
  /** The user's current room, where what they say goes; null once they have left. */
  room: Room | null = null;
  /** Every room the user is in, in the order they entered them. */
  readonly rooms: Set<Room> = new Set();
  /** Secret that lets the user take this name back after a lost connection. */
  readonly resume: string;
  /**
   * Logged in to the account of this name with its password (or resumed a
   * connection that had): the name is theirs, and private messages sent
   * while they were away are kept for them.
   */
  readonly account: boolean;
  /** When they came (ms since the epoch); a resumed connection keeps the first one's. */
  since: number;
  /** When they last said something (ms since the epoch), for `/whois`'s idle time. */
  active: number;
  /** Their away message (see `away.ts`); null when they are here. */
  away: { text: string; since: number } | null = null;
  /** The names they ignore (see `ignoring.ts`); null when none, so delivery checks cheaply. */
  ignoring: IgnoreList | null = null;

  /** Creates a member; the hub registers it. */
  constructor(
    name: string,
    sink: Sink,
    origin: { peer: string; address: string; resume: string; account?: boolean; now?: number },
  ) {
    this.name = name;
    this.key = nameKey(name);
    this.sink = sink;
    this.peer = origin.peer;
    this.address = origin.address;
    this.resume = origin.resume;
    this.account = origin.account ?? false;
    this.since = this.active = origin.now ?? 0;
  }

  /** Changes the name (the hub checks that the new one is free). */
  rename(name: string): void {
    this.name = name;
    this.key = nameKey(name);
  }
}

/** A room: its members in the order they joined. */
export class Room {
  /** The room's name, without the leading `#`. */
  readonly name: string;
  /** The key the name is unique under (see `room_names.ts`). */
  readonly key: string;
  /** The topic; "" for none. */
  topic = "";
  /** Keys of the names of its operators, present or not (they are remembered by name). */
  readonly ops: Set<string> = new Set();
  /** Only invited users may enter. */
  private = false;
  /** Keys of the names invited in, until they enter. */
  readonly invites: Set<string> = new Set();
  /** When its last member left (ms since the epoch), for forgetting empty rooms. */
  emptySince: number;
  /** Whether anything was ever said in it (a room with history is not forgotten). */
  hasHistory = false;
  #members = new Set<Member>();
  // The last messages, oldest first, for history; a ring of #keep entries.
  #recent: MessageEvent[] = [];
  #keep: number;
  /** The newest id no longer remembered (0: none forgotten since the server started). */
  #forgotten = 0;

  /** Creates an empty room (empty since `now`) that remembers its last `keep` messages. */
  constructor(name: string, keep = 0, now = 0) {
    this.name = name;
    this.key = nameKey(name);
    this.#keep = keep;
    this.emptySince = now;
  }

  /** Remembers a message for history (when the room keeps any). */
  remember(message: MessageEvent): void {
    this.hasHistory = true;
    if (this.#keep <= 0) {
      this.#forgotten = message.id;
      return;
    }
    this.#recent.push(message);
    if (this.#recent.length > this.#keep) {
      this.#forgotten = this.#recent[this.#recent.length - this.#keep - 1].id;
    }
    // Trimming in batches keeps this O(1) on average.
    if (this.#recent.length >= 2 * this.#keep) this.#recent = this.#recent.slice(-this.#keep);
  }

  /**
   * The last `count` messages remembered, oldest first; with `before`, the
   * last `count` of those with a smaller id (the page before it).
   */
  recent(count: number, before?: number): MessageEvent[] {
    if (count <= 0 || this.#keep <= 0) return [];
    // The ring may hold up to twice #keep; only the last #keep count as remembered.
    let kept = this.#recent.slice(-this.#keep);
    if (before !== undefined) {
      // Ids grow with each message, so the page ends where they reach `before`.
      const end = kept.findIndex((message) => message.id >= before);
      if (end >= 0) kept = kept.slice(0, end);
    }
    return kept.slice(-Math.min(count, kept.length));
  }

  /**
   * The messages remembered with an id above `since`, oldest first, and
   * whether they are all that was said after it since the server started.
   */
  rememberedAfter(since: number): { messages: MessageEvent[]; complete: boolean } {
    const kept = this.#keep > 0 ? this.#recent.slice(-this.#keep) : [];
    return {
      messages: kept.filter((message) => message.id > since),
      complete: this.#forgotten <= since,
    };
  }

  /** How many members the room has. */
  get size(): number {
    return this.#members.size;
  }

  /** Member names in the order they joined; the first `limit` of them when given. */
  names(limit = Infinity): string[] {
    const names: string[] = [];
    for (const member of this.#members) {
      if (names.length >= limit) break;
      names.push(member.name);
    }
    return names;
  }

  /** Whether `member` is in the room. */
  has(member: Member): boolean {
    return this.#members.has(member);
  }

  /** Adds a member (their current room is the caller's to set); the caller announces it. */
  add(member: Member): void {
    this.#members.add(member);
    member.rooms.add(this);
  }

  /** Puts `next` in the place of `previous` (a resumed connection), keeping the order. */
  replace(previous: Member, next: Member): void {
    const members = [...this.#members].map((m) => m === previous ? next : m);
    this.#members = new Set(members);
    previous.rooms.delete(this);
    next.rooms.add(this);
    if (previous.room === this) {
      previous.room = null;
      next.room = this;
    }
  }

  /** Removes a member; the caller announces it and picks their next current room. */
  remove(member: Member): void {
    this.#members.delete(member);
    member.rooms.delete(this);
    if (member.room === this) member.room = null;
  }

  /** Whether `member` is one of its operators. */
  isOp(member: Member): boolean {
    return this.ops.has(member.key);
  }

  /** Names of the operators present, in join order. */
  operators(): string[] {
    const names: string[] = [];
    for (const member of this.#members) if (this.ops.has(member.key)) names.push(member.name);
    return names;
  }

  /** The member present longest, when no operator is present (succession); else undefined. */
  successor(): Member | undefined {
    let first: Member | undefined;
    for (const member of this.#members) {
      if (this.ops.has(member.key)) return undefined;
      first ??= member;
    }
    return first;
  }

  /**
   * Gives the same event object to every member except `skip`, and a
   * message to none who ignore its sender.
   */
  broadcast(event: ChatEvent, skip?: Member): void {
    // The sender's key, worked out once, and only when someone here ignores anyone.
    let from: string | undefined;
    for (const member of this.#members) {
      if (member === skip) continue;
      if (
        member.ignoring !== null && event.type === "message" &&
        member.ignoring.hasKey(from ??= nameKey(event.from))
      ) continue;
      member.sink.send(event);
    }
  }

  /** All members, for shutdown. */
  members(): Member[] {
    return [...this.#members];
  }
}
