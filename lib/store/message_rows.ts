/**
 * Room messages written many rows to a statement: a group commit's messages
 * go into `messages` with a few multi-row `INSERT`s, not one call each.
 * Measured (docs/PERFORMANCE.md): 1.1 to 1.6 µs a message against 2.6 to
 * 4.2 µs one by one, most of which was the cost of a call into SQLite.
 *
 * @module
 */

import type { StatementSync } from "node:sqlite";

/** One row of `messages`, its values in column order. */
export type MessageRow = [
  id: number,
  time: number,
  room: string,
  sender: string,
  text: string,
  action: number,
];

/** Rows a statement takes, largest first: any number of rows is a few statements, each prepared once. */
const CHUNKS = [64, 16, 4, 1];

const INSERTS = new Map(
  CHUNKS.map((rows) => [
    rows,
    "INSERT INTO messages (id, time, room, sender, text, action) VALUES " +
    Array(rows).fill("(?, ?, ?, ?, ?, ?)").join(", "),
  ]),
);

/** Inserts `rows` into `messages`, in order, with the statements `statement` prepares (and keeps). */
export function insertMessages(
  statement: (sql: string) => StatementSync,
  rows: readonly MessageRow[],
): void {
  let at = 0;
  for (const size of CHUNKS) {
    const insert = INSERTS.get(size)!;
    for (; rows.length - at >= size; at += size) {
      statement(insert).run(...rows.slice(at, at + size).flat());
    }
  }
}
