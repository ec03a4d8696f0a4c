/**
 * The code of the thread that checkpoints the server's WAL (`checkpoints.ts`
 * starts it): its own `node:sqlite` connection to the database, which copies
 * the pages committed to `chat.db-wal` back into `chat.db` while the
 * server's event loop goes on.
 *
 * The worker is started from a `data:` URL holding {@link checkpointWorker}'s
 * source, not from a file: `deno compile` embeds only the modules imported
 * statically, and a worker module would need `--include` in every build (and
 * a build that forgot it would only fail when the server starts). This module
 * is imported statically, so the function's source is in every executable;
 * the worker imports nothing but `node:sqlite`, which is built into Deno.
 * Blob URLs would not do: compiled executables cannot load them.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** What the worker is given at its start. */
export interface CheckpointSettings {
  /** The database file. */
  path: string;
  /** The least time between two checkpoints, in ms. */
  intervalMs: number;
  /**
   * Frames the WAL may hold before the server restarts it: past them, the
   * worker catches up with the server's last commits before it reports.
   */
  limitPages: number;
}

/** What the worker says after each checkpoint, or why it stopped. */
export type CheckpointNews = CheckpointReport | { error: string };

/** What a checkpoint did. */
export interface CheckpointReport {
  /** Frames in the WAL. */
  frames: number;
  /** Frames of them copied into the database. */
  copied: number;
  /** Why this checkpoint failed (a full disk), when it did; the next is tried as usual. */
  problem?: string;
}

/**
 * What the server sends to end the worker: it closes its connection, then
 * sets `stopped[0]` to 1 and wakes the server, which waits for that (see
 * `Checkpointer.close`).
 */
export interface StopRequest {
  /** A shared flag the server waits on. */
  stopped: Int32Array;
}

/** The part of the worker's global scope the worker uses. */
export interface WorkerScope {
  /**
   * Set to hear the server's "the WAL grew" (0), "checkpoint now" ("now"),
   * or "stop" (a {@link StopRequest}).
   */
  onmessage: ((event: MessageEvent) => void) | null;
  /** Tells the server what a checkpoint did. */
  postMessage(news: CheckpointNews): void;
  /** Ends the worker. */
  close(): void;
}

/**
 * The worker's whole program: opens `settings.path` and, each time the
 * server says its WAL grew, checkpoints it once at least
 * `settings.intervalMs` after the last time, then reports. A passive
 * checkpoint copies what it can without taking any lock from the server.
 * When the WAL holds more than `settings.limitPages` frames, the worker
 * passes again (a few times at most) to copy what the server committed
 * meanwhile, so that the server's restart has little left to copy.
 *
 * It runs in the worker, from its source text: it must use nothing of this
 * module's scope, only its arguments and globals. An error is reported, not
 * thrown (which would print a stack trace): one opening the database ends
 * the worker, one of a checkpoint (a full disk) only that checkpoint.
 */
export function checkpointWorker(
  Database: typeof DatabaseSync,
  scope: WorkerScope,
  settings: CheckpointSettings,
): void {
  const reason = (error: unknown) => error instanceof Error ? error.message : String(error);
  const fail = (error: unknown) => {
    scope.postMessage({ error: reason(error) });
    scope.close();
  };
  let db: DatabaseSync;
  try {
    db = new Database(settings.path);
  } catch (error) {
    fail(error);
    return;
  }
  const passive = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  let last = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const checkpoint = () => {
    let row = passive.get();
    for (
      let pass = 0;
      pass < 3 && Number(row?.log) > settings.limitPages &&
      Number(row?.log) - Number(row?.checkpointed) > settings.limitPages / 16;
      pass++
    ) row = passive.get();
    scope.postMessage({ frames: Number(row?.log ?? 0), copied: Number(row?.checkpointed ?? 0) });
  };
  scope.onmessage = (event) => {
    const stopped = event.data?.stopped;
    if (stopped instanceof Int32Array) {
      // Closed before the server's connection: the last to close removes the WAL files.
      clearTimeout(timer);
      try {
        db.close();
      } catch { /* closing is all that is left to do */ }
      Atomics.store(stopped, 0, 1);
      Atomics.notify(stopped, 0);
      scope.close();
      return;
    }
    // "now": the server waits for the last of a long WAL, to start it over.
    const now = event.data === "now";
    if (now) clearTimeout(timer);
    if (now) timer = undefined;
    timer ??= setTimeout(() => {
      timer = undefined;
      last = Date.now();
      try {
        checkpoint();
      } catch (error) {
        scope.postMessage({ frames: 0, copied: 0, problem: reason(error) });
      }
    }, now ? 0 : Math.max(0, last + settings.intervalMs - Date.now()));
  };
}

/**
 * The module a worker runs to checkpoint by `settings`:
 * {@link checkpointWorker}'s source called with `node:sqlite`'s database.
 *
 * @example
 * ```ts
 * import { checkpointWorkerSource } from "./checkpoint_worker.ts";
 * const source = checkpointWorkerSource({ path: "/tmp/chat.db", intervalMs: 250, limitPages: 9 });
 * console.assert(source.startsWith(`import { DatabaseSync } from "node:sqlite";`));
 * ```
 */
export function checkpointWorkerSource(settings: CheckpointSettings): string {
  return `import { DatabaseSync } from "node:sqlite";\n` +
    `(${checkpointWorker.toString()})(DatabaseSync, self, ${JSON.stringify(settings)});\n`;
}

/**
 * A `data:` URL of the JavaScript module `source`, which a worker can run in
 * an executable too. Every worker starts from one (tools/build.ts checks).
 *
 * @example
 * ```ts
 * import { workerModuleUrl } from "./checkpoint_worker.ts";
 * console.assert(workerModuleUrl("self.close();") === "data:text/javascript,self.close()%3B");
 * ```
 */
export function workerModuleUrl(source: string): string {
  return `data:text/javascript,${encodeURIComponent(source)}`;
}
