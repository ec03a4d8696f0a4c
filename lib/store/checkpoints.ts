/**
 * WAL checkpoints off the event loop. SQLite copies the pages committed to
 * `chat.db-wal` back into `chat.db` in "checkpoints", by default inside the
 * commit that takes the WAL past 1,000 pages: 40 to 170 ms with the event
 * loop stopped, the longest stalls of a data server (docs/PERFORMANCE.md).
 * `chat serve` turns that off on its connection and hands checkpoints to a
 * worker thread with its own connection (`checkpoint_worker.ts`); the
 * server only tells it, after a commit, that the WAL grew (one message at a
 * time, so an idle server wakes no thread).
 *
 * Those checkpoints are passive: they never hold the server's writes, and
 * under a steady stream of commits they never catch up with the last one,
 * so SQLite never starts the WAL over, and it would grow without end. When
 * the worker reports the WAL past {@link WAL_LIMIT_PAGES}, it is asked for one
 * more pass at once, while the pruner waits ({@link Checkpointer.catchingUp});
 * then the server restarts the WAL on its own connection: it copies the few
 * frames left, and the next commit writes the WAL from its start again (1 to
 * 4 ms measured; nothing when a reader still holds an older snapshot, and it
 * tries again later). On the server's
 * thread, so as not to fight its commits for the write lock. A restart, not
 * a truncation (which took 50 to 80 ms to cut a 40 MB file): the file is
 * cut back only past {@link walFileLimit}, at the commit after a restart.
 *
 * A worker that fails, or does not answer within its deadline, costs only
 * checkpoint speed: the server logs it once and SQLite checkpoints on the
 * event loop again, as before. No commit waits for the worker.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { errorMessage } from "../core/errors.ts";
import {
  type CheckpointNews,
  type CheckpointSettings,
  checkpointWorkerSource,
  type StopRequest,
  workerModuleUrl,
} from "./checkpoint_worker.ts";

/** The least time between two checkpoints: a few per second, so their fsyncs do not crowd the commits'. */
export const CHECKPOINT_INTERVAL_MS = 250;

/** Frames the WAL may hold before the server restarts it: 4,096 pages, 16 MiB. */
export const WAL_LIMIT_PAGES = 4096;

/** How long the worker may take to answer before it counts as hung, in ms. */
export const WORKER_DEADLINE_MS = 30_000;

/**
 * How long closing the store waits for the worker to close its connection,
 * in ms: at most one checkpoint under way (170 ms measured at the WAL's limit).
 */
export const WORKER_STOP_MS = 2_000;

/**
 * The size the WAL file is cut back to when it grew past it: four times the
 * frames allowed, so that a busy server's WAL, restarted at its limit, is
 * not cut at every restart.
 */
export function walFileLimit(limitPages: number, pageSize: number): number {
  return 4 * limitPages * pageSize;
}

/** SQLite's own automatic checkpoint, in pages, used again when the worker is gone. */
export const ON_LOOP_CHECKPOINT_PAGES = 1000;

/** How checkpoints run; the defaults are the server's. */
export interface CheckpointOptions {
  /** @default {@link CHECKPOINT_INTERVAL_MS} */
  intervalMs?: number;
  /** @default {@link WAL_LIMIT_PAGES} */
  limitPages?: number;
  /** @default {@link WORKER_DEADLINE_MS} */
  deadlineMs?: number;
  /** A module to run instead of the checkpoint worker: tests start one that fails. */
  workerSource?: string;
}

/** What the worker has done so far. */
export interface CheckpointCounts {
  /** Checkpoints reported. */
  checkpoints: number;
  /** WAL restarts after them, on the server's connection. */
  restarts: number;
  /** Restarts that were due but a reader was in the way. */
  blocked: number;
  /** Frames in the WAL after the last checkpoint. */
  frames: number;
  /** Checkpoints that failed (a full disk), each tried again after the next commit. */
  problems: number;
  /** The longest restart, on the event loop, in ms. */
  longestRestartMs: number;
}

/**
 * The checkpoints of one database, off the event loop: call {@link committed}
 * after each commit, and {@link stop} before closing the connection.
 */
export class Checkpointer {
  #db: DatabaseSync;
  #worker: Worker | undefined;
  #log: (line: string) => void;
  #deadlineMs: number;
  #limitPages: number;
  /** Set from a "the WAL grew" sent until the worker's report. */
  #deadline: ReturnType<typeof setTimeout> | undefined;
  /** Set by a commit while the worker had yet to answer: it is told again once it does. */
  #grewSince = false;
  /** Set from a report of the WAL past its limit until the restart. */
  #catchingUp = false;
  /** Set once a checkpoint failed and the log said so: the next failures are counted only. */
  #toldProblem = false;
  /**
   * Set once the log said a reader keeps the WAL from starting over, past
   * its file limit; cleared when it starts over (and the log says so).
   */
  #toldHeld = false;
  #pageSize: number;
  /** Set once stopped or failed: later news of the worker is not news. */
  #ended = false;
  /** Bytes the WAL file is cut back to, at the commit after a restart, when it grew past them. */
  readonly fileLimit: number;
  /** What the worker has done so far. */
  readonly counts: CheckpointCounts = {
    checkpoints: 0,
    restarts: 0,
    blocked: 0,
    frames: 0,
    problems: 0,
    longestRestartMs: 0,
  };

  /**
   * Turns off SQLite's automatic checkpoints on `db` (the server's
   * connection to the database at `path`) and starts the worker; `log` hears,
   * once, if it fails.
   */
  constructor(
    db: DatabaseSync,
    path: string,
    log: (line: string) => void,
    options: CheckpointOptions = {},
  ) {
    this.#db = db;
    this.#log = log;
    this.#deadlineMs = options.deadlineMs ?? WORKER_DEADLINE_MS;
    this.#limitPages = options.limitPages ?? WAL_LIMIT_PAGES;
    db.exec("PRAGMA wal_autocheckpoint = 0");
    const pageSize = Number(db.prepare("PRAGMA page_size").get()?.page_size);
    this.#pageSize = pageSize;
    this.fileLimit = walFileLimit(this.#limitPages, pageSize);
    db.exec(`PRAGMA journal_size_limit = ${this.fileLimit}`);
    const settings: CheckpointSettings = {
      path,
      intervalMs: options.intervalMs ?? CHECKPOINT_INTERVAL_MS,
      limitPages: this.#limitPages,
    };
    const source = options.workerSource ?? checkpointWorkerSource(settings);
    let worker: Worker;
    try {
      worker = new Worker(workerModuleUrl(source), { type: "module", name: "chat checkpoints" });
    } catch (error) {
      this.#fail(`could not start (${errorMessage(error)})`);
      return;
    }
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent<CheckpointNews>) => this.#hear(event.data);
    worker.onerror = (event) => {
      // Handled here: an error not prevented would end the server.
      event.preventDefault();
      this.#fail(`failed (${event.message.replace(/^Uncaught (\(in promise\) )?/, "")})`);
    };
    worker.onmessageerror = () => this.#fail("sent something unreadable");
  }

  /** Whether checkpoints run in the worker (false once it has failed or stopped). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /**
   * Whether the WAL is past its limit and the worker copies the last of it:
   * a writer that can wait (the pruner) should, so that the restart that
   * follows has little to copy and to flush on the event loop.
   */
  get catchingUp(): boolean {
    return this.#catchingUp;
  }

  /** Tells the worker the WAL grew (once it has answered, when it has yet to). */
  committed(): void {
    if (this.#deadline !== undefined) this.#grewSince = true;
    else this.#ask(0);
  }

  #ask(what: 0 | "now"): void {
    if (!this.#worker || this.#deadline !== undefined) return;
    this.#worker.postMessage(what);
    this.#deadline = setTimeout(
      () => this.#fail(`did not answer in ${this.#deadlineMs / 1000} s`),
      this.#deadlineMs,
    );
  }

  /** Ends the worker (a checkpoint under way is safe to cut: SQLite finishes it at the next). */
  stop(): void {
    this.#ended = true;
    this.#catchingUp = false;
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  /**
   * Ends the worker, waiting (at most {@link WORKER_STOP_MS}) for it to close
   * its connection, and copies the whole WAL into the database, emptying it.
   * The server's connection then closes last, and SQLite removes the WAL
   * files with it: a worker that closed later would remove them after
   * `Store.close()` returned, while the data directory is being copied or
   * removed.
   */
  close(): void {
    if (this.#worker) {
      const stopped = new Int32Array(new SharedArrayBuffer(4));
      try {
        this.#worker.postMessage({ stopped } satisfies StopRequest);
        // A synchronous wait on the event loop, once, at shutdown: the worker needs no answer from it.
        Atomics.wait(stopped, 0, 0, WORKER_STOP_MS);
      } catch { /* a worker that cannot be asked is terminated below */ }
    }
    this.stop();
    if (!this.#db.isOpen || this.#db.isTransaction) return;
    try {
      this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch { /* SQLite finishes it when the database is next opened */ }
  }

  #hear(news: CheckpointNews): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if ("error" in news) {
      this.#fail(`stopped (${news.error})`);
      return;
    }
    if (news.problem !== undefined) {
      this.counts.problems++;
      if (!this.#toldProblem) {
        this.#toldProblem = true;
        this.#log(
          `a checkpoint of the database failed (${news.problem}); tried again after each commit`,
        );
      }
    } else this.counts.checkpoints++;
    this.counts.frames = news.frames;
    if (news.frames <= this.#limitPages) {
      this.#catchingUp = false;
    } else if (!this.#catchingUp) {
      this.#catchingUp = true;
      this.#ask("now");
    } else {
      this.#catchingUp = false;
      this.#restart();
    }
    // What was committed while the worker copied may be past what it copied.
    if (this.#grewSince && this.#deadline === undefined) {
      this.#grewSince = false;
      this.#ask(0);
    }
  }

  /** Copies what is left of the WAL so the next commit starts it over, unless a reader is in the way. */
  #restart(): void {
    const db = this.#db;
    if (!db.isOpen || db.isTransaction) return;
    const wait = Number(db.prepare("PRAGMA busy_timeout").get()?.timeout ?? 0);
    const start = performance.now();
    // Not a moment's wait for a reader: its snapshot ends when it wants.
    db.exec("PRAGMA busy_timeout = 0");
    try {
      const busy = Number(db.prepare("PRAGMA wal_checkpoint(RESTART)").get()?.busy) !== 0;
      if (busy) this.counts.blocked++;
      else this.counts.restarts++;
      this.#tellHeld(busy);
    } catch {
      /* the next commit meets what went wrong, and says so */
    } finally {
      db.exec(`PRAGMA busy_timeout = ${wait}`);
    }
    const took = performance.now() - start;
    this.counts.longestRestartMs = Math.max(this.counts.longestRestartMs, took);
  }

  /**
   * Tells the operator, once, when a reader (a backup, a `sqlite3` left
   * open) has kept the WAL from starting over until it grew past its file
   * limit: the disk fills for a reason they can end. And when it is over.
   */
  #tellHeld(busy: boolean): void {
    const mib = (this.counts.frames * this.#pageSize / 2 ** 20).toFixed(0);
    if (busy && !this.#toldHeld && this.counts.frames * this.#pageSize > this.fileLimit) {
      this.#toldHeld = true;
      this.#log(
        `the database's write-ahead log (${this.#db.location()}-wal) holds ${mib} MiB and grows: ` +
          `another program reads the database (a backup, or sqlite3 left open) and keeps it ` +
          `from starting over until it is done`,
      );
    } else if (!busy && this.#toldHeld) {
      this.#toldHeld = false;
      this.#log(`the database's write-ahead log started over (it held ${mib} MiB)`);
    }
  }

  #fail(why: string): void {
    if (this.#ended) return;
    this.stop();
    if (this.#db.isOpen) this.#db.exec(`PRAGMA wal_autocheckpoint = ${ON_LOOP_CHECKPOINT_PAGES}`);
    this.#log(
      `the thread that checkpoints the database ${why}; ` +
        `checkpoints run on the main thread from now on (slower, nothing is lost)`,
    );
  }
}
