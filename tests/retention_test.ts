/**
 * Retention (lib/store/retention.ts) on real databases: what `--keep-days`
 * and `--keep-messages` delete and keep, in steps of bounded size, and the
 * space given back to the file system; then through `chat serve`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { PRUNE_BATCH, PRUNE_WALK } from "../lib/store/retention.ts";
import { DatabaseSync } from "node:sqlite";
import { DATABASE_FILE, Store } from "../lib/store/sqlite_store.ts";
import { JsonClient, withDir } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 11, 6);

/** Stores `count` messages from Ann, fast: all in one commit. */
function fill(
  store: Store,
  count: number,
  message: (i: number) => { time: number; room: string; text: string },
): void {
  for (let i = 0; i < count; i++) {
    store.commitSoon?.(
      () => store.appendMessage({ ...message(i), from: "Ann" }),
      () => {},
      () => {},
    );
  }
  store.commitNow();
}

/** Runs a whole pass of `store`'s pruner by `policy`; returns its counts. */
function prune(store: Store, keepDays: number, keepMessages: number) {
  const pruner = store.pruner({ keepDays, keepMessages }, () => NOW);
  for (const _ of pruner.pass()) { /* one step each */ }
  return pruner.counts;
}

Deno.test("pruning keeps the newest --keep-messages of each room and nothing older than --keep-days", async () => {
  await withDir((dir) => {
    const store = Store.open(dir);
    try {
      // Oldest first, as ids grow with time.
      for (let i = 0; i < 3; i++) {
        store.appendMessage({
          time: NOW - 10 * DAY + i,
          room: "小屋",
          from: "小明",
          text: `old ${i}`,
        });
      }
      const oldRead = {
        time: NOW - 10 * DAY,
        from: "Ann",
        to: "Bo",
        text: "read",
        delivered: true,
      };
      store.appendPrivate(oldRead);
      store.appendPrivate({ ...oldRead, text: "unread", delivered: false });
      store.appendPrivate({ ...oldRead, time: NOW - DAY, text: "read lately" });
      fill(store, 1_200, (i) => ({ time: NOW - DAY, room: "big", text: `big ${i}` }));
      store.appendMessage({ time: NOW - DAY, room: "小屋", from: "小明", text: "recent" });

      const counts = prune(store, 7, 1_000);

      assert.deepEqual(store.recentMessages("小屋", 10).map((m) => m.text), ["recent"]);
      const big = store.recentMessages("big", 1000).map((m) => m.text);
      assert.equal(big.length, 1_000);
      assert.equal(big[0], "big 200");
      assert.equal(big.at(-1), "big 1199");
      assert.deepEqual(store.undelivered("Bo", 10).map((m) => m.text), ["unread"]);
      assert.equal(counts.messages, 203);
      assert.equal(counts.privates, 1);
      // 200 rows of one room and 3 of another: no step deletes more than a batch.
      assert.ok(counts.steps >= 3, `${counts.steps} steps`);
    } finally {
      store.close();
    }
  });
});

Deno.test("pruning a room far over --keep-messages walks to its cutoff a bounded step at a time, and keeps exactly the newest", async () => {
  await withDir((dir) => {
    const store = Store.open(dir);
    const reader = new DatabaseSync(join(dir, DATABASE_FILE));
    /** How many messages `room` holds, and the text of its oldest. */
    const held = (room: string) => {
      const row = reader.prepare(
        "SELECT count(*) AS n, (SELECT text FROM messages WHERE room = ?1 ORDER BY id LIMIT 1) AS oldest FROM messages WHERE room = ?1",
      ).get(room);
      return [Number(row?.n), row?.oldest];
    };
    try {
      fill(store, 30_000, (i) => ({ time: NOW, room: "big", text: `big ${i}` }));
      fill(store, 3, (i) => ({ time: NOW, room: "small", text: `small ${i}` }));
      for (const keep of [2.5 * PRUNE_WALK, 2 * PRUNE_WALK]) {
        const pruner = store.pruner({ keepDays: 0, keepMessages: keep }, () => NOW);
        // Turns the pass gave back to the event loop before it deleted anything.
        let walking = 0;
        for (const _ of pruner.pass()) if (pruner.counts.messages === 0) walking++;
        assert.ok(
          walking >= Math.ceil(keep / PRUNE_WALK) - 1,
          `the walk past ${keep} messages took ${walking + 1} steps`,
        );
        assert.deepEqual(held("big"), [keep, `big ${30_000 - keep}`]);
        assert.deepEqual(held("small"), [3, "small 0"]);
      }
    } finally {
      reader.close();
      store.close();
    }
  });
});

Deno.test("pruning deletes at most one batch a step, and gives the space back to the file system", async () => {
  await withDir((dir) => {
    // 8 MB of text: more free pages than are kept for new messages.
    const text = "x".repeat(4_000);
    let store = Store.open(dir, { exclusive: true });
    fill(
      store,
      2_000,
      (i) => ({ time: NOW - DAY, room: "lobby", text: `${i} ${text}` }),
    );
    store.close();
    const full = Deno.statSync(join(dir, DATABASE_FILE)).size;

    store = Store.open(dir, { exclusive: true });
    const pruner = store.pruner({ keepDays: 0, keepMessages: 10 }, () => NOW);
    const before = () => store.recentMessages("lobby", 1000).length;
    let largest = 0;
    let left = before();
    for (const _ of pruner.pass()) {
      const now = before();
      largest = Math.max(largest, left - now);
      left = now;
    }
    assert.equal(before(), 10);
    assert.equal(largest, PRUNE_BATCH, "the largest step deletes one batch");
    assert.ok(pruner.counts.pages > 0, "pages given back");
    store.close();
    const pruned = Deno.statSync(join(dir, DATABASE_FILE)).size;
    // What is left: the 10 messages, and VACUUM_SLACK_PAGES (4 MiB) kept free for new ones.
    assert.ok(pruned < full / 1.8, `${full} bytes before, ${pruned} after`);
  });
});

Deno.test("chat serve --keep-messages prunes each room's history when it starts", async () => {
  await withDir(async (dir) => {
    const args = ["--host", "127.0.0.1", "--port", "0", "--data", dir, "--flood-rate", "0"];
    const first = new ServeProcess(args);
    const ann = await JsonClient.join(await first.port(), "Ann");
    for (let i = 1; i <= 8; i++) {
      await ann.send({ type: "say", text: `line ${i}` });
      await ann.next("message");
    }
    await ann.close();
    first.child.kill("SIGTERM");
    assert.equal((await first.finish()).code, 0);

    const second = new ServeProcess([...args, "--keep-messages", "3"]);
    const port = await second.port();
    await second.waitFor(/pruned 5 room and 0 private messages/);
    const bo = await JsonClient.join(port, "Bo");
    await bo.send({ type: "history", count: 100 });
    const page = (await bo.next("history")).messages as { text: string }[];
    assert.deepEqual(page.map((m) => m.text), ["line 6", "line 7", "line 8"]);
    await bo.close();
    second.child.kill("SIGTERM");
    assert.equal((await second.finish()).code, 0);
  });
});
