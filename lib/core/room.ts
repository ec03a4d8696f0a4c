/**
 * One chat room: who is in it, and delivery of an event to all of them.
 *
 * A room knows nothing of sockets or terminals; members carry a {@link Sink}.
 * The {@link Hub} owns the rooms and decides who may enter.
 *
 * @module
 */

import type { ChatEvent, MessageEvent, Sink } from "./events.ts";
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
  /** The room the user is in; null once they have left. */
  room: Room | null = null;
  /** Secret that lets the user take this name back after a lost connection. */
  readonly resume: string;
  /**
   * Logged in to the account of this name with its password (or resumed a
   * connection that had): the name is theirs, and private messages sent
   * while they were away are kept for them.
   */
  readonly account: boolean;

  /** Creates a member; the hub registers it. */
  constructor(
    name: string,
    sink: Sink,
    origin: { peer: string; address: string; resume: string; account?: boolean },
  ) {
    this.name = name;
    this.key = nameKey(name);
    this.sink = sink;
    this.peer = origin.peer;
    this.address = origin.address;
    this.resume = origin.resume;
    this.account = origin.account ?? false;
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
  #members = new Set<Member>();
  // The last messages, oldest first, for history; a ring of #keep entries.
  #recent: MessageEvent[] = [];
  #keep: number;

  /** Creates an empty room that remembers its last `keep` messages. */
  constructor(name: string, keep = 0) {
    this.name = name;
    this.#keep = keep;
  }

  /** Remembers a message for history (when the room keeps any). */
  remember(message: MessageEvent): void {
    if (this.#keep <= 0) return;
    this.#recent.push(message);
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

  /** Adds a member; the caller announces it. */
  add(member: Member): void {
    this.#members.add(member);
    member.room = this;
  }

  /** Puts `next` in the place of `previous` (a resumed connection), keeping the order. */
  replace(previous: Member, next: Member): void {
    const members = [...this.#members].map((m) => m === previous ? next : m);
    this.#members = new Set(members);
    previous.room = null;
    next.room = this;
  }

  /** Removes a member; the caller announces it. */
  remove(member: Member): void {
    this.#members.delete(member);
    if (member.room === this) member.room = null;
  }

  /** Gives the same event object to every member except `skip`. */
  broadcast(event: ChatEvent, skip?: Member): void {
    for (const member of this.#members) {
      if (member !== skip) member.sink.send(event);
    }
  }

  /** All members, for shutdown. */
  members(): Member[] {
    return [...this.#members];
  }
}
