/**
 * Retention: how much history a data directory keeps, and the pruning that
 * holds it there without stalling the server.
 *
 * Room messages older than `keepDays`, room messages past the newest
 * `keepMessages` of their room, and private messages older than `keepDays`
 * once delivered (by the time they were sent: a year-old message read today
 * goes at the next pass) are deleted; private messages still waiting for their
 * reader are not (the mailbox limits bound them). Pruning runs in steps of at
 * most {@link PRUNE_BATCH} rows, one transaction each, with the event loop
 * free between them, so that no step holds the server up for more than a few
 * milliseconds (docs/PERFORMANCE.md has the longest measured). The space
 * freed goes to new messages first; beyond {@link VACUUM_SLACK_PAGES} free
 * pages, the file is shrunk in steps too (`auto_vacuum = INCREMENTAL`).
 *
 * @module
 */

import type { StatementSync } from "node:sqlite";
import { errorMessage } from "../core/errors.ts";

/** How much history is kept. */
export interface RetentionPolicy {
  /** Days room messages and delivered private messages are kept; 0: no age limit. */
  keepDays: number;
  /** Room messages kept per room, the newest; 0: no count limit. */
  keepMessages: number;
}

/** A year: a class or a team looks back over its year, and no further than that. */
export const DEFAULT_KEEP_DAYS = 365;

/** Per room: a year of a busy room (270 a day), 20 to 50 MB on disk. */
export const DEFAULT_KEEP_MESSAGES = 100_000;

/** Most rows one pruning step deletes: a few milliseconds' work. */
export const PRUNE_BATCH = 100;

/**
 * Messages of a room one step walks past to find the newest of them beyond
 * `keepMessages`: one `OFFSET` of 100,000 (the default) took 14 to 18 ms with
 * the event loop stopped, once per room and pass; 10,000 take 1 to 2.
 */
export const PRUNE_WALK = 10_000;

/** How often a pass looks for something to prune, in ms. */
export const PRUNE_INTERVAL_MS = 10 * 60_000;

/** How long a pass waits, between steps, while the store asks it to (the WAL catching up), in ms. */
export const PRUNE_HOLD_MS = 5;

/** Free pages kept for new messages before the file is shrunk (1,024 pages: 4 MiB). */
export const VACUUM_SLACK_PAGES = 1024;

/** Pages one step gives back to the file system. */
const VACUUM_STEP_PAGES = 256;

const DAY_MS = 24 * 60 * 60 * 1000;

/** What pruning has done so far, for the log and for measuring. */
export interface PruneCounts {
  /** Room messages deleted. */
  messages: number;
  /** Delivered private messages deleted. */
  privates: number;
  /** Pages given back to the file system. */
  pages: number;
  /** Steps run. */
  steps: number;
  /** The longest step, in ms. */
  longestStepMs: number;
}

/**
 * Prunes one database by a policy, a bounded step at a time: {@link pass}
 * yields after each step, and {@link Pruner.start} runs passes on a timer
 * with the event loop free between steps.
 */
export class Pruner {
  /** Prepares (once) a statement of the store's connection: the store's own cache. */
  #statement: (sql: string) => StatementSync;
  #policy: RetentionPolicy;
  #transact: (work: () => void) => void;
  #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  /** Totals since the pruner was made. */
  readonly counts: PruneCounts = { messages: 0, privates: 0, pages: 0, steps: 0, longestStepMs: 0 };

  /**
   * A pruner by `policy` of the database whose statements `statement`
   * prepares; `transact` runs a step in one transaction (the store's, so that
   * it waits for other writes); `now` in ms.
   */
  constructor(
    statement: (sql: string) => StatementSync,
    policy: RetentionPolicy,
    transact: (work: () => void) => void,
    now: () => number = Date.now,
  ) {
    this.#statement = statement;
    this.#policy = policy;
    this.#transact = transact;
    this.#now = now;
  }

  /** Whether the policy prunes anything at all. */
  get active(): boolean {
    return this.#policy.keepDays > 0 || this.#policy.keepMessages > 0;
  }

  /**
   * Runs a pass now and then every {@link PRUNE_INTERVAL_MS}, one step per
   * turn of the event loop; `log` hears what each pass deleted, and why a
   * step failed (a pass that fails is tried again at the next interval).
   * While `hold` says so, the next step waits (the store's WAL catching up).
   */
  start(log: (line: string) => void, hold: () => boolean = () => false): void {
    if (this.#timer !== undefined || !this.active) return;
    const runPass = () => {
      this.#timer = undefined;
      const before = { ...this.counts };
      const steps = this.pass();
      const step = () => {
        this.#timer = undefined;
        if (!this.#running) return;
        let done: boolean | undefined;
        try {
          done = steps.next().done;
        } catch (error) {
          log(`pruning stopped until the next pass: ${errorMessage(error)}`);
          done = true;
        }
        if (!done) {
          this.#timer = setTimeout(step, hold() ? PRUNE_HOLD_MS : 0);
          return;
        }
        const messages = this.counts.messages - before.messages;
        const privates = this.counts.privates - before.privates;
        if (messages + privates > 0) {
          log(
            `pruned ${messages} room and ${privates} private messages ` +
              `(--keep-days ${this.#policy.keepDays}, --keep-messages ${this.#policy.keepMessages})`,
          );
        }
        this.#timer = setTimeout(runPass, PRUNE_INTERVAL_MS);
      };
      step();
    };
    this.#running = true;
    this.#timer = setTimeout(runPass, 0);
  }

  /** Stops pruning (a step under way is finished). */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * One pass over the database, a step per `next()`: old room messages,
   * rooms over their count, old delivered private messages, then giving
   * space back. Each step deletes at most {@link PRUNE_BATCH} rows.
   */
  *pass(): Generator<void, void, void> {
    const { keepDays, keepMessages } = this.#policy;
    if (keepDays > 0) {
      const before = this.#now() - keepDays * DAY_MS;
      // Ids grow with time: the oldest rows come first, and the pass stops at the first newer one.
      while (this.#step(() => this.#pruneOld("messages", "", before)) === PRUNE_BATCH) yield;
      yield;
      while (
        this.#step(() => this.#pruneOld("privates", "WHERE delivered = 1", before)) ===
          PRUNE_BATCH
      ) yield;
      yield;
    }
    if (keepMessages > 0) {
      let room = this.#get("SELECT room FROM messages ORDER BY room LIMIT 1")?.room;
      while (typeof room === "string") {
        // The newest message of the room that is past the count: it and older ones go.
        // Found walking down from the newest, at most PRUNE_WALK messages a step.
        const name = room;
        let cutoff: number | undefined;
        let from = Number.MAX_SAFE_INTEGER;
        let skip = keepMessages;
        for (;;) {
          const walk = Math.min(skip, PRUNE_WALK);
          // The last hop passes `skip` messages and takes the next; the others stop on their last.
          const last = walk === skip;
          const below = from;
          const id = this.#timed(() => this.#idBelow(name, below, last ? walk : walk - 1));
          if (last) cutoff = id;
          if (last || id === undefined) break;
          from = id;
          skip -= walk;
          yield;
        }
        if (cutoff !== undefined) {
          const upTo = cutoff;
          while (this.#step(() => this.#pruneRoom(name, upTo)) === PRUNE_BATCH) yield;
        }
        yield;
        room = this.#get("SELECT room FROM messages WHERE room > ? ORDER BY room LIMIT 1", room)
          ?.room;
      }
    }
    while (Number(this.#get("PRAGMA freelist_count")?.freelist_count ?? 0) > VACUUM_SLACK_PAGES) {
      this.#step(() => {
        const free = Number(this.#get("PRAGMA freelist_count")?.freelist_count ?? 0);
        // One row per page freed: each must be stepped (exec would free one).
        this.#statement(`PRAGMA incremental_vacuum(${VACUUM_STEP_PAGES})`).all();
        const after = Number(this.#get("PRAGMA freelist_count")?.freelist_count ?? 0);
        this.counts.pages += free - after;
        return 0;
      }, false);
      if (Number(this.#get("PRAGMA auto_vacuum")?.auto_vacuum) !== 2) break;
      yield;
    }
  }

  /** Runs one step, timed; returns how many rows it deleted. */
  #step(work: () => number, inTransaction = true): number {
    return this.#timed(() => {
      if (!inTransaction) return work();
      let deleted = 0;
      this.#transact(() => {
        deleted = work();
      });
      return deleted;
    });
  }

  /** Runs `work` as one step, counted and timed. */
  #timed<T>(work: () => T): T {
    const start = performance.now();
    const result = work();
    this.counts.steps++;
    this.counts.longestStepMs = Math.max(this.counts.longestStepMs, performance.now() - start);
    return result;
  }

  #pruneOld(table: "messages" | "privates", where: string, before: number): number {
    const rows = this.#statement(
      `DELETE FROM ${table} WHERE id IN
         (SELECT id FROM ${table} ${where} ORDER BY id LIMIT ${PRUNE_BATCH}) AND time < ?
       RETURNING id`,
    ).all(before);
    const deleted = rows.length;
    if (table === "messages") this.counts.messages += deleted;
    else this.counts.privates += deleted;
    this.#notePruned(table, Math.max(0, ...rows.map((row) => Number(row.id))));
    return deleted;
  }

  /** Remembers the newest id deleted, so that a replay from before it reports a gap. */
  #notePruned(table: "messages" | "privates", upTo: number): void {
    if (upTo <= 0) return;
    this.#statement(
      `UPDATE meta SET value = max(CAST(value AS INTEGER), ?) WHERE key = ?`,
    ).run(upTo, `pruned_${table}`);
  }

  #pruneRoom(room: string, upTo: number): number {
    const deleted = Number(
      this.#statement(
        `DELETE FROM messages WHERE id IN
           (SELECT id FROM messages WHERE room = ? AND id <= ? ORDER BY id LIMIT ${PRUNE_BATCH})`,
      ).run(room, upTo).changes,
    );
    this.counts.messages += deleted;
    if (deleted > 0) this.#notePruned("messages", upTo);
    return deleted;
  }

  /** The id of `room`'s message below id `below` that has `offset` newer ones below it too. */
  #idBelow(room: string, below: number, offset: number): number | undefined {
    const id = this.#get(
      "SELECT id FROM messages WHERE room = ? AND id < ? ORDER BY id DESC LIMIT 1 OFFSET ?",
      room,
      below,
      offset,
    )?.id;
    return typeof id === "number" || typeof id === "bigint" ? Number(id) : undefined;
  }

  #get(sql: string, ...values: (string | number)[]): Record<string, unknown> | undefined {
    return this.#statement(sql).get(...values);
  }
}
