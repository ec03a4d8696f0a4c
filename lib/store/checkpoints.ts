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
 * A worker that fails, or does not answer within its deadline, costs only
 * checkpoint speed: the server logs it once and SQLite checkpoints on the
 * event loop again, as before. No commit waits for the worker.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import {
  type CheckpointNews,
  type CheckpointSettings,
  checkpointWorkerSource,
  workerModuleUrl,
} from "./checkpoint_worker.ts";

/** The least time between two checkpoints: a few per second, so their fsyncs do not crowd the commits'. */
export const CHECKPOINT_INTERVAL_MS = 250;

/** Frames the WAL may keep before it is truncated: 4,096 pages, 16 MiB. */
export const WAL_LIMIT_PAGES = 4096;

/** How long the worker may take to answer before it counts as hung, in ms. */
export const WORKER_DEADLINE_MS = 30_000;

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
  /** WAL truncations among them. */
  truncations: number;
  /** Truncations that were due but a reader or writer was in the way. */
  blocked: number;
  /** Frames in the WAL after the last checkpoint. */
  frames: number;
}

/**
 * The checkpoint worker of one database, seen from the server's side. Call
 * {@link committed} after each commit and {@link stop} when closing.
 */
export class Checkpointer {
  #worker: Worker | undefined;
  #onLoop: () => void;
  #log: (line: string) => void;
  #deadlineMs: number;
  /** Set once stopped or failed: later news of the worker is not news. */
  #ended = false;
  /** Set from a "the WAL grew" sent until the worker's report. */
  #deadline: ReturnType<typeof setTimeout> | undefined;
  /** What the worker has done so far. */
  readonly counts: CheckpointCounts = { checkpoints: 0, truncations: 0, blocked: 0, frames: 0 };

  /**
   * Starts the worker for the database at `path`. `onLoop` gives the
   * checkpoints back to the server's connection (when the worker fails);
   * `log` hears why, once.
   */
  constructor(
    path: string,
    onLoop: () => void,
    log: (line: string) => void,
    options: CheckpointOptions = {},
  ) {
    this.#onLoop = onLoop;
    this.#log = log;
    this.#deadlineMs = options.deadlineMs ?? WORKER_DEADLINE_MS;
    const settings: CheckpointSettings = {
      path,
      intervalMs: options.intervalMs ?? CHECKPOINT_INTERVAL_MS,
      limitPages: options.limitPages ?? WAL_LIMIT_PAGES,
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

  /** Tells the worker the WAL grew, unless it has yet to answer the last time. */
  committed(): void {
    if (!this.#worker || this.#deadline !== undefined) return;
    this.#worker.postMessage(0);
    this.#deadline = setTimeout(
      () => this.#fail(`did not answer in ${this.#deadlineMs / 1000} s`),
      this.#deadlineMs,
    );
  }

  /** Ends the worker (a checkpoint under way is safe to cut: SQLite finishes it at the next). */
  stop(): void {
    this.#ended = true;
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  #hear(report: CheckpointNews): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if ("error" in report) {
      this.#fail(`stopped (${report.error})`);
      return;
    }
    this.counts.checkpoints++;
    if (report.truncated) this.counts.truncations++;
    if (report.blocked) this.counts.blocked++;
    this.counts.frames = report.frames;
  }

  #fail(why: string): void {
    if (this.#ended) return;
    this.stop();
    this.#onLoop();
    this.#log(
      `the thread that checkpoints the database ${why}; ` +
        `checkpoints run on the main thread from now on (slower, nothing is lost)`,
    );
  }
}
