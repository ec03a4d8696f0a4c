/**
 * What a replay reads from the store (see lib/core/delivery.ts): a room's
 * messages after an id, an account's private messages (to or from it)
 * after an id, and whether retention deleted some of them (the newest id it
 * deleted is kept in the `meta` table by `retention.ts`).
 *
 * @module
 */

import type { SQLInputValue, StatementSync } from "node:sqlite";
import { nameKey } from "../core/names.ts";
import type { StoredMessage, StoredPrivate } from "../core/store.ts";

/** Above every id: a read with no upper end (SQLite's integers are 64-bit; ids stay far below). */
const NO_END = Number.MAX_SAFE_INTEGER;

/** The replay's reads over a store's statements. */
export class ReplayReads {
  #statement: (sql: string) => StatementSync;
  #read: <T>(query: () => T) => T;

  /** Reads through the store's statement cache (`statement`) and its error wording (`read`). */
  constructor(statement: (sql: string) => StatementSync, read: <T>(query: () => T) => T) {
    this.#statement = statement;
    this.#read = read;
  }

  /**
   * The rows of `sql` for `values`, each an array of its columns: node:sqlite
   * makes rows as objects at about twice the cost, and a replay reads
   * 10,000 (the statements are the replay's own, in the store's cache).
   */
  #rows(sql: string, ...values: SQLInputValue[]): unknown[][] {
    return this.#read(() => {
      // Node's API (v22.16), in Deno's node:sqlite, not yet in its types.
      const statement = this.#statement(sql) as StatementSync & {
        setReturnArrays(enabled: boolean): void;
      };
      statement.setReturnArrays(true);
      return statement.all(...values) as unknown[];
    }) as unknown[][];
  }

  /** The newest `limit` messages of `room` with an id above `since` and below `before`, oldest first. */
  messagesAfter(room: string, since: number, limit: number, before = NO_END): StoredMessage[] {
    const rows = this.#rows(
      `SELECT id, time, room, sender, text, action FROM messages
       WHERE room = ? AND id > ? AND id < ? ORDER BY id DESC LIMIT ?`,
      room,
      since,
      Math.min(before, NO_END),
      limit,
    );
    return rows.reverse().map(([id, time, room, sender, text, action]) => ({
      id: Number(id),
      time: Number(time),
      room: String(room),
      from: String(sender),
      text: String(text),
      action: action === 1,
    }));
  }

  /**
   * The newest `limit` private messages to `name` (by its key) or from it (as
   * named: an account's name does not change) with an id above `since` and
   * below `before`, oldest first; none from before its account was made (a
   * guest who had the name then was someone else).
   */
  privatesAfter(name: string, since: number, limit: number, before = NO_END): StoredPrivate[] {
    const end = Math.min(before, NO_END);
    const rows = this.#rows(
      `SELECT id, time, sender, recipient, text, delivered FROM (
         SELECT * FROM (SELECT * FROM privates WHERE recipient_key = ? AND id > ? AND id < ?
                        ORDER BY id DESC LIMIT ?)
         UNION
         SELECT * FROM (SELECT * FROM privates WHERE sender = ? AND id > ? AND id < ?
                        ORDER BY id DESC LIMIT ?)
       ) WHERE time >= COALESCE((SELECT created FROM users WHERE key = ?), 0)
       ORDER BY id DESC LIMIT ?`,
      nameKey(name),
      since,
      end,
      limit,
      name,
      since,
      end,
      limit,
      nameKey(name),
      limit,
    );
    return rows.reverse().map(privateFromRow);
  }

  /**
   * The oldest `limit` private messages to `name` (by its key) not yet
   * delivered with an id above `after`, oldest first: a login's kept mail,
   * a page at a time.
   */
  undeliveredAfter(name: string, after: number, limit: number): StoredPrivate[] {
    return this.#rows(
      `SELECT id, time, sender, recipient, text, delivered FROM privates
       WHERE recipient_key = ? AND delivered = 0 AND id > ? ORDER BY id LIMIT ?`,
      nameKey(name),
      after,
      limit,
    ).map(privateFromRow);
  }

  /**
   * The newest `limit` private messages to `name` (by its key) not yet
   * delivered with an id below `before`, oldest first.
   */
  undeliveredBefore(name: string, before: number, limit: number): StoredPrivate[] {
    const rows = this.#rows(
      `SELECT id, time, sender, recipient, text, delivered FROM privates
       WHERE recipient_key = ? AND delivered = 0 AND id < ? ORDER BY id DESC LIMIT ?`,
      nameKey(name),
      Math.min(before, NO_END),
      limit,
    );
    return rows.reverse().map(privateFromRow);
  }

  /**
   * Whether retention may have deleted messages of `room` (null: private
   * messages) with an id above `since`. It deletes the oldest first, so a
   * room that still has one at or below `since` lost none after it.
   */
  prunedSince(room: string | null, since: number): boolean {
    const key = room === null ? "pruned_privates" : "pruned_messages";
    const pruned = this.#read(() =>
      this.#statement("SELECT CAST(value AS INTEGER) AS id FROM meta WHERE key = ?").get(key)
    );
    if (Number(pruned?.id ?? 0) <= since) return false;
    if (room === null) return true;
    const older = this.#read(() =>
      this.#statement("SELECT 1 AS found FROM messages WHERE room = ? AND id <= ? LIMIT 1")
        .get(room, since)
    );
    return older === undefined;
  }
}

/** A row of the `messages` table (id, time, room, sender, text, action) as a stored message. */
export function messageFromRow(row: Record<string, unknown>): StoredMessage {
  return {
    id: Number(row.id),
    time: Number(row.time),
    room: String(row.room),
    from: String(row.sender),
    text: String(row.text),
    action: row.action === 1,
  };
}

/** A row of the `privates` table (id, time, sender, recipient, text, delivered) as a private message. */
function privateFromRow([id, time, sender, recipient, text, delivered]: unknown[]): StoredPrivate {
  return {
    id: Number(id),
    time: Number(time),
    from: String(sender),
    to: String(recipient),
    text: String(text),
    delivered: delivered === 1,
  };
}
