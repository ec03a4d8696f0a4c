/**
 * A member's sink while a replay of theirs goes on over several turns (see
 * `replay.ts`): what is handed to them meanwhile (a room's new messages, the
 * answers to what they sent) waits until the replay's last page has gone,
 * so that they see the replay in id order, then the live events, each once.
 * A replay asked for meanwhile (`join` with `since`) waits its turn there too.
 *
 * @module
 */

import type { ChatEvent, Sink } from "./events.ts";

/** Passes events on, or holds them while a replay pages. */
export class ReplayGate implements Sink {
  #inner: Sink;
  /** While a replay pages: what came meanwhile, events and replays to run, in order. */
  #held: (ChatEvent | (() => void))[] | null = null;
  #ended = false;

  /** A gate in front of `inner`, open. */
  constructor(inner: Sink) {
    this.#inner = inner;
  }

  /** Whether the connection was told `bye`: a replay under way stops. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Passes `event` on, or holds it while a replay pages. A `bye` goes at
   * once, and what was held is dropped (the connection ends): a client shown
   * a live event before the replay's last page would come back with a
   * `since` past what it missed.
   */
  send(event: ChatEvent): void {
    if (event.type === "bye") {
      this.#held = null;
      this.#ended = true;
    }
    if (this.#held) this.#held.push(event);
    else this.#inner.send(event);
  }

  /** Sends a replay's page, ahead of what is held. */
  page(event: ChatEvent): void {
    if (!this.#ended) this.#inner.send(event);
  }

  /** Starts `replay` now, or once the one paging and what was handed before this have gone. */
  run(replay: () => void): void {
    if (this.#held) this.#held.push(replay);
    else replay();
  }

  /** A replay goes on in a later turn: what is handed meanwhile waits. */
  hold(): void {
    this.#held ??= [];
  }

  /** The replay is over: what waited goes, in order, up to a replay among it that pages in turn. */
  release(): void {
    const held = this.#held;
    this.#held = null;
    if (!held) return;
    for (let i = 0; i < held.length; i++) {
      const item = held[i];
      if (typeof item === "function") item();
      else this.#inner.send(item);
      // That replay pages: the rest waits for it, ahead of what comes meanwhile.
      if (this.#held !== null) {
        this.#held = [...held.slice(i + 1), ...this.#held];
        return;
      }
    }
  }
}
