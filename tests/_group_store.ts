/**
 * A store in memory for tests of the core that commits in groups, as the
 * SQLite store does (`GroupCommit`): messages wait for `commitNow`.
 *
 * @module
 */

import type { HubStore } from "../lib/core/hub.ts";
import type {
  GroupCommit,
  NewMessage,
  NewPrivate,
  Refusal,
  StoredMessage,
  StoredPrivate,
  StoredUser,
  Waiting,
} from "../lib/core/store.ts";

/**
 * A store in memory that commits in groups as the SQLite store does: what is
 * asked for waits for the end of the turn (the test's `turn`) or for an
 * action that must not overtake it (`commitNow`); on a full disk the whole
 * group fails.
 */
export class GroupStore implements HubStore, GroupCommit {
  /** The disk is full: the next commits fail, as a whole. */
  full = false;
  #nextId = 1;
  #messages: StoredMessage[] = [];
  #committed: (NewMessage | NewPrivate)[] = [];
  #group: { write: () => unknown; done: (result: never) => void; failed: (e: unknown) => void }[] =
    [];

  appendMessage(message: NewMessage): number {
    const id = message.id ?? this.#nextId;
    this.#nextId = id + 1;
    this.#messages.push({ ...message, id, action: message.action ?? false });
    this.#committed.push({ ...message, id });
    return id;
  }
  recentMessages(room: string, limit: number, before = Infinity): StoredMessage[] {
    return this.#messages.filter((m) => m.room === room && m.id < before).slice(-limit);
  }
  appendPrivate(message: NewPrivate): number {
    const id = message.id ?? this.#nextId;
    this.#nextId = id + 1;
    this.#committed.push({ ...message, id });
    return id;
  }
  // No accounts: nothing is ever kept for anyone.
  undelivered(): StoredPrivate[] {
    return [];
  }
  waiting(): Waiting {
    return {
      messages: 0,
      bytes: 0,
      fromSender: 0,
      bytesFromSender: 0,
      fromStrangers: 0,
      bytesFromStrangers: 0,
    };
  }
  markDelivered(): number {
    return 0;
  }
  countRefused(): void {}
  takeRefused(): Refusal[] {
    return [];
  }
  getUser(): StoredUser | undefined {
    return undefined;
  }
  /** The newest id handed out (0 when none). */
  get lastId(): number {
    return this.#nextId - 1;
  }
  /** The messages and private messages kept since the last call, in id order. */
  takeCommitted(): ((NewMessage | NewPrivate) & { id: number })[] {
    const committed = this.#committed as ((NewMessage | NewPrivate) & { id: number })[];
    this.#committed = [];
    return committed;
  }
  commitSoon<T>(write: () => T, done: (result: T) => void, failed: (error: unknown) => void): void {
    this.#group.push({ write, done: done as (result: never) => void, failed });
  }
  commitNow(): void {
    const group = this.#group;
    this.#group = [];
    if (this.full) {
      for (const { failed } of group) failed(new Error("No space left on device"));
      return;
    }
    const results = group.map(({ write }) => write());
    group.forEach(({ done }, i) => done(results[i] as never));
  }
}
