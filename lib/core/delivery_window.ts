/**
 * A connection's delivery window: the `message` and `private` events handed
 * to a member that acknowledges what it is shown (`hello` with `acks`), live
 * or in the replay of a room joined with `since`, kept from its last `ack`
 * on, so that a `resume` after a lost connection can replay exactly what the
 * lost one was handed and perhaps never showed.
 *
 * The events are the objects the rooms hand to everyone: the window costs a
 * slot each, not a copy. It holds at most WINDOW_LIMIT; past it the oldest
 * go and the floor rises, and a resume from below the floor falls back to
 * the history (see `delivery.ts`).
 *
 * @module
 */

import type { ChatEvent, MessageEvent, PrivateEvent, ReplayEvent, Sink } from "./events.ts";
import { nameKey } from "./names.ts";

/** Most events a window keeps unacknowledged. */
export const WINDOW_LIMIT = 4096;

/** An event with an id that a client acknowledges: a room message or a private message. */
export type Delivered = MessageEvent | PrivateEvent;

/** The events handed to one member above its last acknowledgement. */
export class DeliveryWindow {
  /** Oldest first; those before #head are gone (trimmed in batches, so that an ack is O(1)). */
  #events: Delivered[] = [];
  #head = 0;
  /** Every event handed with an id above it is held. */
  #floor: number;
  /** The last id acknowledged. */
  #acked: number;
  /** The newest id handed to the connection (or known to it at its welcome). */
  #newest: number;
  #limit: number;
  /**
   * The newest private message to the owner (an account) that waits for an
   * ack to count as delivered; 0 when none waits, so that an ack writes
   * nothing to the store then.
   */
  unmarked = 0;
  /**
   * Whether an ack may count private messages delivered: not once mail at
   * or below one it would mark was left out of a replay (marking goes by id).
   */
  marks = true;

  /**
   * An empty window over everything handed after the id `floor` (the newest
   * id when the connection was welcomed), keeping at most `limit` events.
   */
  constructor(floor: number, limit = WINDOW_LIMIT) {
    this.#floor = this.#acked = this.#newest = floor;
    this.#limit = limit;
  }

  /** Every event handed with an id above it is held: a replay from there on is exact. */
  get floor(): number {
    return this.#floor;
  }

  /** The newest id handed to the connection, or known to it when it was welcomed. */
  get newest(): number {
    return this.#newest;
  }

  /** How many events are held. */
  get size(): number {
    return this.#events.length - this.#head;
  }

  /** Keeps an event handed to the connection; past the limit, the oldest goes. */
  record(event: Delivered): void {
    if (event.id > this.#newest) this.#newest = event.id;
    this.#events.push(event);
    if (this.size > this.#limit) {
      this.#floor = Math.max(this.#floor, this.#events[this.#head].id);
      this.#head++;
      this.#compact();
    }
  }

  /**
   * The client has shown everything up to `id`: those events go. An id above
   * the newest handed, or below an earlier acknowledgement, is ignored
   * (returns false).
   */
  ack(id: number): boolean {
    if (id > this.#newest || id < this.#acked) return false;
    this.#acked = id;
    this.#floor = Math.max(this.#floor, id);
    while (this.#head < this.#events.length && this.#events[this.#head].id <= id) this.#head++;
    this.#compact();
    return true;
  }

  /**
   * Accepts acks from `id` up, though the window began above it: a client
   * that logged in with `since` acknowledges from there (what it showed of
   * the replay), below the `last` the window began at when anything it is
   * never shown (another room, others' private chats) came in between.
   */
  allowFrom(id: number): void {
    this.#acked = Math.min(this.#acked, id);
  }

  /**
   * Holds from `id` on only: what was handed at or below it is not all here
   * (a replay from the history that the window did not record, or one whose
   * last page named a gap), so a resume from below it goes to the history,
   * which says what it cannot reach. Acks up to `id` are accepted.
   */
  raiseFloor(id: number): void {
    this.#floor = Math.max(this.#floor, id);
    this.#newest = Math.max(this.#newest, id);
  }

  /** Whether the window holds everything handed after `since`. */
  covers(since: number): boolean {
    return this.#floor <= since;
  }

  /** The events held with an id above `since`, in id order, each once. */
  after(since: number): Delivered[] {
    const found: Delivered[] = [];
    const seen = new Set<number>();
    for (let i = this.#head; i < this.#events.length; i++) {
      const event = this.#events[i];
      if (event.id <= since || seen.has(event.id)) continue;
      seen.add(event.id);
      found.push(event);
    }
    // Posting hands them out in id order; sorted all the same, it costs nothing when they are.
    return found.sort((a, b) => a.id - b.id);
  }

  /**
   * The newest private message held (so never acknowledged) that the name
   * of key `key` did not send itself; 0 when none.
   */
  newestPrivateTo(key: string): number {
    for (let i = this.#events.length - 1; i >= this.#head; i--) {
      const event = this.#events[i];
      if (event.type === "private" && nameKey(event.from) !== key) return event.id;
    }
    return 0;
  }

  /** Drops the slots before #head once they are half the array: amortized O(1) per event. */
  #compact(): void {
    if (this.#head > 64 && this.#head * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#head);
      this.#head = 0;
    }
  }
}

/**
 * The sink of a member that acknowledges: records each `message` and
 * `private` in its window (and those of a `replay` above its floor), then
 * passes every event on. `window` changes when a resume hands over the
 * window of the connection it replaces.
 */
export class WindowedSink implements Sink {
  /** Where the events handed are recorded. */
  window: DeliveryWindow;
  #inner: Sink;
  /** The key of the account whose private messages wait for an ack; null for none. */
  #owner: string | null;

  /**
   * Records into `window`, delivers to `inner`; notes the private messages
   * to the account `owner` (a name's key) in the window's `unmarked`.
   */
  constructor(inner: Sink, window: DeliveryWindow, owner: string | null = null) {
    this.#inner = inner;
    this.window = window;
    this.#owner = owner;
  }

  /** Records a message or private message, then delivers the event. */
  send(event: ChatEvent): void {
    if (event.type === "message" || event.type === "private") {
      this.window.record(event);
      if (event.type === "private" && this.#owner !== null && nameKey(event.to) === this.#owner) {
        this.window.unmarked = Math.max(this.window.unmarked, event.id);
      }
    }
    this.#inner.send(event);
  }

  /**
   * Records the messages of a replay's page above the window's floor (the
   * page itself goes out through the replay gate, ahead of what it holds): a
   * room joined with `since` replays messages said after the window began,
   * and a resume before they are acknowledged needs them as much as those
   * handed live.
   */
  recordReplay(page: ReplayEvent): void {
    for (const message of page.messages) {
      if (message.id > this.window.floor) this.window.record(message);
    }
  }
}
