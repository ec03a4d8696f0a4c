/**
 * Fan-out: how an event said in a room reaches its members.
 *
 * The hub publishes a room's events on a {@link Bus}; each room of the hub
 * subscribes to its own. The {@link LocalBus} hands an event straight to the
 * room's members in this process. A bus shared by several server nodes (in
 * Redis, say) would carry the event to every node, each delivering it to the
 * members connected there.
 *
 * @module
 */

import type { ChatEvent } from "./events.ts";
import type { Member } from "./room.ts";

/** Delivers a room's events to the members of that room that it knows. */
export type Deliver = (event: ChatEvent, skip?: Member) => void;

/** Carries each room's events to whoever subscribed to that room. */
export interface Bus {
  /**
   * Delivers `event` to the members of `room` (its name, without `#`),
   * except `skip`; in order, before it returns on this node.
   */
  publish(room: string, event: ChatEvent, skip?: Member): void;
  /** Delivers the events published to `room` with `deliver`; returns how to stop. */
  subscribe(room: string, deliver: Deliver): () => void;
}

/** The bus of a server that runs in one process: publishing is delivering. */
export class LocalBus implements Bus {
  #rooms = new Map<string, Set<Deliver>>();

  /** Hands `event` to every subscriber of `room`, synchronously. */
  publish(room: string, event: ChatEvent, skip?: Member): void {
    const subscribers = this.#rooms.get(room);
    if (!subscribers) return;
    for (const deliver of subscribers) deliver(event, skip);
  }

  /** Adds `deliver` to `room`'s subscribers. */
  subscribe(room: string, deliver: Deliver): () => void {
    let subscribers = this.#rooms.get(room);
    if (!subscribers) this.#rooms.set(room, subscribers = new Set());
    subscribers.add(deliver);
    return () => {
      subscribers.delete(deliver);
      if (subscribers.size === 0) this.#rooms.delete(room);
    };
  }
}
