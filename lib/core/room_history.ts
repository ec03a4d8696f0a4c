/**
 * Room history: what a joiner is shown, `/history`, and the `history` frame
 * that pages back. With a store, history is read from it; without one, each
 * room remembers its own last messages ({@link Room.remember}).
 *
 * @module
 */

import { ChatError, errorMessage } from "./errors.ts";
import { ErrorCode, type MessageEvent } from "./events.ts";
import { newestThatFit } from "./frame_budget.ts";
import { ignores } from "./ignoring.ts";
import { DEFAULT_HISTORY, MAX_HISTORY } from "./limits.ts";
import type { Member, Room } from "./room.ts";
import type { MessageLog, StoredMessage } from "./store.ts";

/**
 * Most reads of the history for one page, when the member ignores someone:
 * a page of ignored messages is read past, up to this many pages deep, so
 * that a page is full while there is more, yet one request never scans
 * without bound. Past it the page carries `before`, where to go on.
 */
export const MAX_PAGE_READS = 5;

/** What `/history` shows when the server shows joiners nothing (`--history 0`) but stores it all. */
export const DEFAULT_RECALL = 20;

/** How a hub keeps and shows the history of its rooms. */
export class RoomHistory {
  /** Earlier messages shown to each joiner. */
  #shown: number;
  #store: MessageLog | null;
  #log: (line: string) => void;

  /**
   * Shows joiners `shown` earlier messages (0 keeps no history at all,
   * unless there is a `store`), read from `store` when there is one.
   */
  constructor(shown: number | undefined, store: MessageLog | null, log: (line: string) => void) {
    this.#shown = Math.max(0, Math.min(shown ?? DEFAULT_HISTORY, MAX_HISTORY));
    this.#store = store;
    this.#log = log;
  }

  /** How many messages each room remembers itself. */
  get roomMemory(): number {
    // Without a store, rooms keep the longest history /history may ask for,
    // if history is on; with one, history is read from it.
    return !this.#store && this.#shown > 0 ? MAX_HISTORY : 0;
  }

  /** Sends someone who just joined `room` its last messages, when the hub shows joiners any. */
  showJoiner(member: Member, room: Room): void {
    if (this.#shown <= 0) return;
    const earlier = newestThatFit(this.#recentOrNothing(member, room, this.#shown));
    if (earlier.length > 0) {
      member.sink.send({ type: "history", room: room.name, messages: earlier });
    }
  }

  /**
   * Sends the member the last messages of `room` (`/history [N]`): N,
   * or as many as joiners are shown ({@link DEFAULT_RECALL} when that is
   * none but the server stores history).
   *
   * @throws {ChatError} when the server keeps no history, or `count` is not
   * a whole number from 1 to MAX_HISTORY.
   */
  recall(member: Member, room: Room, count: string): void {
    this.#checkKept();
    const wanted = count.trim();
    // Digits only, and few: "1e3", "0x10", "2.5", "-1" and a page of nines are all refused.
    const n = wanted === "" ? undefined : /^\d{1,4}$/.test(wanted) ? Number(wanted) : NaN;
    if (n !== undefined && !(n >= 1 && n <= MAX_HISTORY)) {
      throw new ChatError(
        ErrorCode.BadArguments,
        `Usage: /history [N], N a whole number from 1 to ${MAX_HISTORY}`,
      );
    }
    this.#send(member, room, n);
  }

  /**
   * Sends the member `count` messages of `room` before the id `before`
   * (the newest when not given): the JSON `history` frame, for paging back.
   * `count` defaults as for `/history`. Messages from names the member
   * ignores are left out and read past (see {@link MAX_PAGE_READS}); a page
   * cut short that way carries `before`, the id to page back from. An empty
   * page without `before` means there is nothing earlier.
   *
   * @throws {ChatError} `bad_arguments` when the server keeps no history,
   * `count` is not a whole number from 1 to MAX_HISTORY, or `before` is not
   * a whole number above 0.
   */
  page(member: Member, room: Room, count?: number, before?: number): void {
    this.#checkKept();
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
    this.#send(member, room, count, before);
  }

  /** Refuses when the server keeps no history. */
  #checkKept(): void {
    if (!this.#store && this.#shown <= 0) {
      throw new ChatError(ErrorCode.BadArguments, "This server keeps no history");
    }
  }

  /** Sends `count` messages before `before` (default: as many as /history shows). */
  #send(member: Member, room: Room, count: number | undefined, before?: number): void {
    const n = count ?? (this.#shown > 0 ? this.#shown : DEFAULT_RECALL);
    let page: Page;
    try {
      page = this.#unignored(member, room, n, before);
    } catch (error) {
      this.#log(`cannot read the history of #${room.name}: ${errorMessage(error)}`);
      throw new ChatError(ErrorCode.NotSaved, "History not shown: the server could not read it");
    }
    member.sink.send({
      type: "history",
      room: room.name,
      messages: newestThatFit(page.messages),
      ...(page.more !== undefined ? { before: page.more } : {}),
    });
  }

  /** Joiner history: a store that cannot be read costs the joiner their history, not their join. */
  #recentOrNothing(member: Member, room: Room, count: number): MessageEvent[] {
    try {
      return this.#unignored(member, room, count).messages;
    } catch (error) {
      this.#log(`cannot read the history of #${room.name}: ${errorMessage(error)}`);
      return [];
    }
  }

  /**
   * The last `count` messages of `room` before `before` that `member` does
   * not ignore, read back past ignored ones at most MAX_PAGE_READS times;
   * `more` is where to go on when that stopped it short of `count`.
   */
  #unignored(member: Member, room: Room, count: number, before?: number): Page {
    let read = this.#recent(room, count, before);
    if (!member.ignoring) return { messages: read };
    let kept = unignored(member, read);
    for (let reads = 1; kept.length < count && read.length === count; reads++) {
      // A full read means there may be more: go on from its oldest, unless that is too deep.
      if (reads >= MAX_PAGE_READS) return { messages: kept, more: read[0].id };
      read = this.#recent(room, count, read[0].id);
      kept = [...unignored(member, read), ...kept].slice(-count);
    }
    return { messages: kept };
  }

  /** The last `count` messages of `room` before the id `before`, from the store or the room. */
  #recent(room: Room, count: number, before?: number): MessageEvent[] {
    if (!this.#store) return room.recent(count, before);
    return this.#store.recentMessages(room.name, count, before).map(toMessageEvent);
  }
}

/** A page of history, and where to go on when it was cut short. */
interface Page {
  messages: MessageEvent[];
  more?: number;
}

/** `messages` without those from names `member` ignores. */
function unignored(member: Member, messages: MessageEvent[]): MessageEvent[] {
  return member.ignoring ? messages.filter((message) => !ignores(member, message.from)) : messages;
}

/** A stored room message as the `message` event it was. */
export function toMessageEvent(stored: StoredMessage): MessageEvent {
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

/** Whether `value` is a whole number from `min` to `max` (not NaN, not 2.5, not "3"). */
function isWholeIn(value: unknown, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}
