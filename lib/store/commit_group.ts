/**
 * Group commit: the writes asked for in one turn of the event loop, committed
 * in one transaction at its end; each write's owner hears back once that
 * transaction is on disk, in the order the writes were asked for.
 *
 * With `synchronous=FULL`, each commit waits for an fsync (1 to 2 ms on the
 * development machine, with the event loop stopped): one commit per message
 * capped a server at 3,500 to 4,500 messages a second. One commit per turn
 * pays that once for every message read in the turn, and a busy turn reads
 * more (what arrived during the last fsync). A group whose commit fails is
 * refused as a whole: none of it is kept, and each owner is told.
 *
 * The flush to disk stays on the event loop. Measured (docs/PERFORMANCE.md),
 * handing it to a thread (`synchronous=NORMAL`, then an `fdatasync` of the
 * WAL off the loop) was slower: each message then waits for the end of the
 * flush under way and for its own.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";

/** One write of a group, with what to do once its group is settled. */
interface Pending {
  write(): void;
  done(): void;
  failed(error: unknown): void;
}

/**
 * Collects writes and commits them together at the end of the turn.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommitGroup } from "./commit_group.ts";
 * const log: string[] = [];
 * const group = new CommitGroup((writes) => {
 *   writes();
 *   log.push("commit");
 * });
 * group.add(() => log.push("a"), () => log.push("done a"), () => {});
 * group.add(() => log.push("b"), () => log.push("done b"), () => {});
 * group.commit();
 * assert.deepEqual(log, ["a", "b", "commit", "done a", "done b"]);
 * ```
 */
export class CommitGroup {
  #transact: (writes: () => void) => void;
  #pending: Pending[] = [];
  /** The end-of-turn commit, when one is due. */
  #scheduled: ReturnType<typeof setImmediate> | undefined;

  /** A group committed by `transact`, which runs `writes` in one durable transaction or throws. */
  constructor(transact: (writes: () => void) => void) {
    this.#transact = transact;
  }

  /**
   * Runs `write` in the transaction at the end of this turn; once that is on
   * disk, `done` with its result, or `failed` with why the group was not kept.
   */
  add<T>(write: () => T, done: (result: T) => void, failed: (error: unknown) => void): void {
    let result: T;
    this.#pending.push({
      write: () => {
        result = write();
      },
      done: () => done(result),
      failed,
    });
    // setImmediate runs after the I/O callbacks of the turn: every line read in it is in.
    this.#scheduled ??= setImmediate(CommitGroup.#run, this);
  }

  /** Commits the writes waiting now (early, when a read must see them), then answers their owners. */
  commit(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const group = this.#pending;
    if (group.length === 0) return;
    this.#pending = [];
    try {
      this.#transact(() => {
        for (const pending of group) pending.write();
      });
    } catch (error) {
      for (const pending of group) pending.failed(error);
      return;
    }
    for (const pending of group) pending.done();
  }

  static #run(group: CommitGroup): void {
    group.commit();
  }
}
