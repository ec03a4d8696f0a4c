/**
 * `Store.close()` with writes still waiting for the end of the turn, as at a
 * server's shutdown: they are committed, durably, and their owners hear so
 * before close returns; nothing asked for is dropped in silence.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Store } from "../lib/store/sqlite_store.ts";
import { withDir } from "./_helpers.ts";

Deno.test("closing the store commits the writes waiting for the end of the turn and answers their owners first", async () => {
  await withDir((dir) => {
    const store = Store.open(dir, { exclusive: true });
    const answers: string[] = [];
    for (const text of ["one", "two"]) {
      store.commitSoon!(
        () => store.appendMessage({ time: 1, room: "lobby", from: "Ann", text }),
        (id) => answers.push(`${text} kept as ${id}`),
        () => answers.push(`${text} refused`),
      );
    }
    store.close();
    assert.deepEqual(answers, ["one kept as 1", "two kept as 2"]);
    const again = Store.open(dir, { exclusive: true });
    try {
      assert.deepEqual(again.recentMessages("lobby", 10).map((m) => m.text), ["one", "two"]);
    } finally {
      again.close();
    }
  });
});

Deno.test("a write asked for after the store closed is refused to its owner, not lost in silence", async () => {
  await withDir(async (dir) => {
    const store = Store.open(dir);
    store.close();
    const answer = Promise.withResolvers<string>();
    store.commitSoon!(
      () => store.appendMessage({ time: 1, room: "lobby", from: "Ann", text: "late" }),
      (id) => answer.resolve(`kept as ${id}`),
      (error) => answer.resolve(`refused: ${error instanceof Error ? error.message : error}`),
    );
    assert.match(await answer.promise, /^refused: /);
  });
});
