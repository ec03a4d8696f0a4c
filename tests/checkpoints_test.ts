/**
 * WAL checkpoints off the event loop (lib/store/checkpoints.ts): the
 * server's commits never checkpoint, a worker thread does, the WAL stays
 * bounded under a stream of commits and comes back under its bound once a
 * reader lets go of its snapshot, and a worker that fails or stops answering
 * costs no message. Asserted on the WAL's size and the worker's counts, not
 * on time.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { CheckpointOptions } from "../lib/store/checkpoints.ts";
import { DATABASE_FILE, Store } from "../lib/store/sqlite_store.ts";
import { JsonClient, until, withDir } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";

/** A WAL frame: a 4 KiB page and its 24-byte header. */
const FRAME = 4096 + 24;

/** Size of the WAL file of the store in `dir` (0 when there is none). */
function walSize(dir: string): number {
  try {
    return Deno.statSync(join(dir, `${DATABASE_FILE}-wal`)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

/** Commits one message of `bytes` characters, in its own transaction. */
function commit(store: Store, bytes: number, i = 0): void {
  store.appendMessage({
    time: Date.now(),
    room: "小屋",
    from: "小明",
    text: `${i} `.repeat(bytes / 2),
  });
}

/** A turn of the event loop: what the server gives the worker's reports between commits. */
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Opens a store in `dir` with checkpoints started by `options`; returns it and its log. */
function openWithCheckpoints(dir: string, options: CheckpointOptions) {
  const store = Store.open(dir);
  const log: string[] = [];
  const checkpoints = store.startCheckpoints((line) => log.push(line), options);
  return { store, log, checkpoints };
}

Deno.test("the server's own commits never checkpoint: the WAL grows past SQLite's 1,000 pages until the worker's turn", async () => {
  await withDir((dir) => {
    const { store, checkpoints } = openWithCheckpoints(dir, { intervalMs: 60_000 });
    try {
      // 60 commits of about 26 frames: 1,500 frames, past SQLite's automatic checkpoint at 1,000.
      for (let i = 0; i < 60; i++) commit(store, 100_000, i);
      assert.equal(checkpoints.counts.checkpoints, 0, "the worker waits for its interval");
      // A checkpoint on the loop at 1,000 pages would have had the WAL reused from its start.
      assert.ok(walSize(dir) > 1_300 * FRAME, `the WAL is ${walSize(dir)} bytes`);
    } finally {
      store.close();
    }
  });
});

Deno.test("the worker checkpoints: the database file gets the pages committed, with no checkpoint on the loop", async () => {
  await withDir(async (dir) => {
    const { store, checkpoints, log } = openWithCheckpoints(dir, { intervalMs: 0 });
    try {
      commit(store, 200, 7);
      await until(() => checkpoints.counts.checkpoints > 0, "a checkpoint reported");
      // The message's page is in chat.db itself, copied there from the WAL.
      assert.ok(fileHolds(join(dir, DATABASE_FILE), "7 7 7 7 7 7"), "the message is in chat.db");
      assert.deepEqual(log, []);
    } finally {
      store.close();
    }
  });
});

Deno.test("the WAL stays bounded under a stream of commits, and comes back under its bound once a reader lets go of its snapshot", async () => {
  await withDir(async (dir) => {
    const limitPages = 64;
    const bound = limitPages * FRAME;
    const { store, checkpoints, log } = openWithCheckpoints(dir, { intervalMs: 5, limitPages });
    try {
      // A steady stream, a commit a turn: each passive checkpoint is overtaken by the next
      // commit, so the WAL would never be reused from its start without restarts.
      let largest = 0;
      for (let i = 0; i < 400; i++) {
        commit(store, 16_000, i);
        largest = Math.max(largest, walSize(dir));
        await turn();
      }
      // 400 commits wrote about 2,000 frames; the WAL held a fraction of them at most.
      assert.ok(largest < 8 * bound, `the WAL reached ${largest} bytes (bound ${bound})`);
      assert.ok(checkpoints.counts.restarts > 0, "restarted under the stream");

      // A reader holding a snapshot: nothing past it can be checkpointed, and the WAL grows.
      const reader = new DatabaseSync(join(dir, DATABASE_FILE));
      try {
        reader.exec("BEGIN");
        reader.prepare("SELECT count(*) FROM messages").get();
        let i = 0;
        await until(async () => {
          commit(store, 16_000, i++);
          await turn();
          return walSize(dir) > 2 * checkpoints.fileLimit && checkpoints.counts.blocked > 0;
        }, () => `the WAL to grow past its file limit (${walSize(dir)} bytes)`);
        reader.exec("COMMIT");
      } finally {
        reader.close();
      }
      // Let go: the next restart starts it over, and the commit after it cuts the file back,
      // while the commits go on.
      let i = 0;
      await until(async () => {
        commit(store, 16_000, i++);
        await turn();
        return walSize(dir) <= checkpoints.fileLimit;
      }, () => `the WAL to come back under ${checkpoints.fileLimit} bytes (${walSize(dir)} bytes)`);
      // The operator heard why the disk filled, once, and that it is over.
      assert.equal(log.length, 2, log.join("\n"));
      assert.match(
        log[0],
        /^the database's write-ahead log \(.*chat\.db-wal\) holds \d+ MiB and grows: another program reads the database \(a backup, or sqlite3 left open\) and keeps it from starting over until it is done$/,
      );
      assert.match(log[1], /^the database's write-ahead log started over \(it held \d+ MiB\)$/);
    } finally {
      store.close();
    }
  });
});

for (
  const [what, workerSource, deadlineMs] of [
    ["fails", "throw new Error('no such thing');", 60_000],
    [
      "reports an error",
      "self.onmessage = () => self.postMessage({ error: 'disk I/O error' });",
      60_000,
    ],
    ["is gone (closed)", "self.close();", 100],
    ["hangs", "self.onmessage = () => { for (;;); };", 100],
  ] as const
) {
  Deno.test(`a checkpoint worker that ${what} costs no message: it is logged once, and checkpoints run on the loop again`, async () => {
    await withDir(async (dir) => {
      const { store, checkpoints, log } = openWithCheckpoints(dir, { workerSource, deadlineMs });
      try {
        let i = 0;
        await until(() => {
          commit(store, 100, i++);
          return !checkpoints.running;
        }, "the worker to count as failed");
        // 60 more commits of about 26 frames: past SQLite's automatic checkpoint at 1,000.
        for (let j = 0; j < 60; j++) commit(store, 100_000, j);
        await turn();
        assert.equal(store.recentMessages("小屋", 1_000).length, i + 60, "every message kept");
        assert.equal(log.length, 1, log.join("\n"));
        assert.match(
          log[0],
          /^the thread that checkpoints the database .+; checkpoints run on the main thread from now on/,
        );
        // Checkpointed on the loop: the WAL was reused from its start at 1,000 pages.
        assert.ok(walSize(dir) < 1_100 * FRAME, `the WAL is ${walSize(dir)} bytes`);
      } finally {
        store.close();
      }
    });
  });
}

Deno.test("a checkpoint that fails (a full disk) is logged once, and the worker goes on", async () => {
  await withDir(async (dir) => {
    const workerSource =
      "self.onmessage = () => self.postMessage({ frames: 0, copied: 0, problem: 'database or disk is full' });";
    const { store, checkpoints, log } = openWithCheckpoints(dir, { workerSource });
    try {
      let i = 0;
      await until(() => {
        commit(store, 100, i++);
        return checkpoints.counts.problems >= 3;
      }, "three failed checkpoints");
      assert.deepEqual(log, [
        "a checkpoint of the database failed (database or disk is full); tried again after each commit",
      ]);
      assert.equal(checkpoints.running, true);
    } finally {
      store.close();
    }
  });
});

Deno.test("closing the store ends its worker, even while a checkpoint waits, and leaves every message in chat.db", async () => {
  await withDir((dir) => {
    const { store, checkpoints } = openWithCheckpoints(dir, { intervalMs: 60_000 });
    for (let i = 0; i < 5; i++) commit(store, 1_000, i);
    store.close();
    assert.equal(checkpoints.running, false);
    // Everything is in chat.db: the WAL is empty, or gone.
    assert.equal(walSize(dir), 0);
    const again = Store.open(dir);
    try {
      assert.equal(again.recentMessages("小屋", 10).length, 5);
    } finally {
      again.close();
    }
  });
});

Deno.test("closing the store waits for its worker's connection: when close() returns, chat.db is alone in the directory", async () => {
  await withDir(async (dir) => {
    for (let round = 0; round < 10; round++) {
      const { store, checkpoints } = openWithCheckpoints(dir, { intervalMs: 0 });
      // A report: the worker has its connection open.
      let i = 0;
      await until(() => {
        commit(store, 1_000, i++);
        return checkpoints.counts.checkpoints > 0;
      }, "a checkpoint by the worker");
      // A long WAL, so that the worker is likely copying it when the store closes.
      for (let j = 0; j < 20; j++) commit(store, 50_000, j);
      // Closed at various moments of the worker's copy (at once, it has not started).
      await new Promise((resolve) => setTimeout(resolve, round % 5));
      store.close();
      // The last connection to close removes the WAL files: the server's, the worker's closed first.
      // deno-lint-ignore no-sync-fn-in-async-fn -- listed before the event loop turns again
      const left = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
      assert.deepEqual(left, [DATABASE_FILE], `round ${round}`);
    }
  });
});

Deno.test("chat serve --data checkpoints in its worker: a message reaches chat.db itself while it runs", async () => {
  await withDir(async (dir) => {
    const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0", "--data", dir]);
    const ann = await JsonClient.join(await server.port(), "小明");
    const text = "checkpointed by the worker, 小明 says";
    await ann.send({ type: "say", text });
    await ann.next("message");
    // Only a checkpoint copies it from the WAL into chat.db; the server's own would wait
    // for 1,000 pages.
    await until(() => fileHolds(join(dir, DATABASE_FILE), text), "the message in chat.db");
    await ann.close();
    server.child.kill("SIGTERM");
    const { code } = await server.finish();
    assert.equal(code, 0);
    assert.ok(!server.log.some((line) => /checkpoints/.test(line)), server.log.join("\n"));
  });
});

/** Whether the file at `path` holds `text`, as UTF-8. */
function fileHolds(path: string, text: string): boolean {
  return Buffer.from(Deno.readFileSync(path)).includes(text);
}
