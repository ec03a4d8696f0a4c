/**
 * A member's sink while a replay of theirs goes on over several turns (see
 * `replay.ts`): what is handed to them meanwhile (a room's new messages, the
 * answers to what they sent) waits until the replay's last page has gone,
 * so that they see the replay in id order, then the live events, each once.
 * A replay asked for meanwhile (`join` with `since`) waits its turn there too.
 *
 * What waits is bounded: past `limit` bytes of JSON (the replay itself has
 * the connection's queue limit's other half), the gate ends, what it held is
 * dropped, and `overflowed` hears it: the connection is closed, as one whose
 * reader falls that far behind is (its client comes back with `since`).
 *
 * @module
 */

import type { ChatEvent, Sink } from "./events.ts";
import { jsonBytes } from "./frame_budget.ts";

/** What a replay waiting its turn counts against the limit: its closure and sources. */
const QUEUED_REPLAY_BYTES = 1024;

/** Something held: an event, or a replay to run; with what it counts. */
interface Held {
  item: ChatEvent | (() => void);
  bytes: number;
}

/** Passes events on, or holds them while a replay pages. */
export class ReplayGate implements Sink {
  #inner: Sink;
  /** While a replay pages: what came meanwhile, events and replays to run, in order. */
  #held: Held[] | null = null;
  #heldBytes = 0;
  #limit: number;
  #overflowed: () => void;
  #ended = false;
  /** Ended for holding too much: nothing more goes to a connection that is being dropped. */
  #dropped = false;
  #cutShort = false;

  /**
   * A gate in front of `inner`, open; past `limit` bytes held, it ends and
   * calls `overflowed`.
   */
  constructor(inner: Sink, limit = Infinity, overflowed: () => void = () => {}) {
    this.#inner = inner;
    this.#limit = limit;
    this.#overflowed = overflowed;
  }

  /** Whether the connection was told `bye`, or held too much: a replay under way stops. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Whether it ended while a replay paged or waited its turn: what that
   * replay had not sent is in no window (a resume replays from the history).
   */
  get cutShort(): boolean {
    return this.#cutShort;
  }

  /** The bytes of JSON held now (a replay waiting counts {@link QUEUED_REPLAY_BYTES}). */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /**
   * Passes `event` on, or holds it while a replay pages. A `bye` goes at
   * once, and what was held is dropped (the connection ends): a client shown
   * a live event before the replay's last page would come back with a
   * `since` past what it missed.
   */
  send(event: ChatEvent): void {
    if (event.type === "bye") {
      this.#end();
      this.#inner.send(event);
    } else if (this.#held) this.#hold(event, jsonBytes(event));
    else if (!this.#dropped) this.#inner.send(event);
  }

  /** Sends a replay's page, ahead of what is held. */
  page(event: ChatEvent): void {
    if (!this.#ended) this.#inner.send(event);
  }

  /** Starts `replay` now, or once the one paging and what was handed before this have gone. */
  run(replay: () => void): void {
    if (this.#ended) return;
    if (this.#held) this.#hold(replay, QUEUED_REPLAY_BYTES);
    else replay();
  }

  /** A replay goes on in a later turn: what is handed meanwhile waits. */
  hold(): void {
    if (!this.#ended) this.#held ??= [];
  }

  /** The replay is over: what waited goes, in order, up to a replay among it that pages in turn. */
  release(): void {
    const held = this.#held;
    this.#held = null;
    this.#heldBytes = 0;
    if (!held) return;
    for (let i = 0; i < held.length; i++) {
      const { item } = held[i];
      if (typeof item === "function") item();
      else this.#inner.send(item);
      if (this.#ended) return;
      // That replay pages: the rest waits for it, ahead of what comes meanwhile.
      if (this.#held !== null) {
        const rest = held.slice(i + 1);
        for (const { bytes } of rest) this.#heldBytes += bytes;
        this.#held = [...rest, ...this.#held];
        return;
      }
    }
  }

  #hold(item: Held["item"], bytes: number): void {
    this.#held!.push({ item, bytes });
    this.#heldBytes += bytes;
    if (this.#heldBytes <= this.#limit) return;
    this.#end();
    this.#dropped = true;
    this.#overflowed();
  }

  /** Nothing more goes through: what was held is dropped. */
  #end(): void {
    if (this.#held !== null) this.#cutShort = true;
    this.#held = null;
    this.#heldBytes = 0;
    this.#ended = true;
  }
}
