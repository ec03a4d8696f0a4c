/**
 * A user's screen for tests of the core alone.
 *
 * @module
 */

import type { ChatEvent, Sink } from "../lib/core/events.ts";

/** The events delivered to one user, in order. */
export class Inbox implements Sink {
  events: ChatEvent[] = [];
  /** Receives an event, as a connection would. */
  send(event: ChatEvent): void {
    this.events.push(event);
  }
  /** Events of one type, oldest first. */
  of<T extends ChatEvent["type"]>(type: T): Extract<ChatEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<ChatEvent, { type: T }> => e.type === type);
  }
  /** The latest event. */
  last(): ChatEvent | undefined {
    return this.events.at(-1);
  }
  /** Forgets what was delivered so far. */
  clear(): void {
    this.events = [];
  }
}
