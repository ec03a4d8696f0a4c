/**
 * Group commit (lib/store/commit_group.ts) through a real server and store:
 * the messages of one turn share one transaction, each goes out only once
 * its group is on disk, in id order for everyone, and a group that cannot be
 * kept is refused as a whole (`not_saved`, nothing echoed, the operator told
 * once). The kill -9 test of `chat serve --data` is in serve_data_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MAILBOX_LIMITS } from "../lib/core/limits.ts";
import { cleanUp, JsonClient, startServer, tempStore } from "./_helpers.ts";

/** Frames as one write: the server reads them in one turn of its event loop. */
function burst(frames: Record<string, unknown>[]): string {
  return frames.map((frame) => JSON.stringify(frame) + "\n").join("");
}

/** Makes the store refuse messages whose text starts with `boom`, as a full disk would. */
function refuseBooms(path: string): void {
  const db = new DatabaseSync(path);
  db.exec(
    `CREATE TRIGGER refuse_boom BEFORE INSERT ON messages WHEN NEW.text LIKE 'boom%'
     BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
  );
  db.close();
}

Deno.test("a group the store cannot keep is refused whole: not_saved for each, nothing echoed, one log line", async () => {
  const temp = await tempStore();
  refuseBooms(temp.store.path);
  const log: string[] = [];
  const server = startServer({ store: temp.store, flood: null, log: (line) => log.push(line) });
  const ann = await JsonClient.join(server, "Ann");
  const bo = await JsonClient.join(server, "Bo");
  try {
    // One read, one turn, one transaction: "boom" fails it, and "one" and "two" with it.
    await ann.raw.write(burst([
      { type: "say", text: "one" },
      { type: "say", text: "boom" },
      { type: "say", text: "two" },
    ]));
    for (let i = 0; i < 3; i++) assert.equal((await ann.next("error")).code, "not_saved");
    await ann.send({ type: "say", text: "after" });
    // Nothing of the refused group went out before "after", to Ann or to Bo.
    assert.equal((await ann.next("message")).text, "after");
    assert.equal((await bo.next("message")).text, "after");
    assert.deepEqual(temp.store.recentMessages("lobby", 10).map((m) => m.text), ["after"]);
    assert.equal(log.filter((line) => line.startsWith("not saved:")).length, 1, log.join("\n"));
    assert.ok(log.includes("storing works again after 3 messages were refused"), log.join("\n"));
  } finally {
    await cleanUp(server, ann, bo);
    await temp.dispose();
  }
});

Deno.test("messages of many senders in one turn go out once stored, in id order, the same for everyone", async () => {
  const temp = await tempStore();
  const server = startServer({ store: temp.store, flood: null });
  const names = ["Ann", "Bo", "小明"];
  const clients = await Promise.all(names.map((name) => JsonClient.join(server, name)));
  const each = 30;
  try {
    await Promise.all(clients.map((client) =>
      client.raw.write(burst(
        Array.from({ length: each }, (_, i) => ({ type: "say", text: `${client.name} ${i}` })),
      ))
    ));
    const seen: { id: number; text: string }[][] = [];
    for (const client of clients) {
      const got: { id: number; text: string }[] = [];
      while (got.length < names.length * each) {
        const message = await client.next("message");
        got.push({ id: message.id, text: message.text });
        if (client === clients[0]) {
          // On disk by the time anyone is shown it: a reader of the file finds it.
          const db = new DatabaseSync(temp.store.path, { readOnly: true });
          const row = db.prepare("SELECT text FROM messages WHERE id = ?").get(message.id);
          db.close();
          assert.equal(row?.text, message.text);
        }
      }
      seen.push(got);
    }
    const ids = seen[0].map((m) => m.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "ids ascending");
    for (const other of seen.slice(1)) assert.deepEqual(other, seen[0], "everyone, one order");
    for (const name of names) {
      const mine = seen[0].filter((m) => m.text.startsWith(`${name} `)).map((m) => m.text);
      assert.deepEqual(mine, Array.from({ length: each }, (_, i) => `${name} ${i}`));
    }
    assert.deepEqual(
      temp.store.recentMessages("lobby", 1000).map((m) => m.id),
      ids,
      "history holds them, in the order they went out",
    );
  } finally {
    await cleanUp(server, ...clients);
    await temp.dispose();
  }
});

Deno.test("an away account's mailbox keeps its limit when a burst of private messages shares one commit", async () => {
  const temp = await tempStore({ Ann: "secret" });
  const server = startServer({ store: temp.store, flood: null, auth: "names" });
  const bo = await JsonClient.join(server, "Bo");
  const sent = MAILBOX_LIMITS.fromOneSender + 5;
  try {
    await bo.raw.write(burst(
      Array.from({ length: sent }, (_, i) => ({ type: "msg", to: "Ann", text: `note ${i}` })),
    ));
    let kept = 0;
    let refused = 0;
    while (kept + refused < sent) {
      const event = await bo.next();
      if (event.type === "private") kept++;
      else if (event.type === "error") refused++;
    }
    assert.equal(kept, MAILBOX_LIMITS.fromOneSender);
    assert.equal(temp.store.waiting("Ann", "Bo").fromSender, MAILBOX_LIMITS.fromOneSender);
  } finally {
    await cleanUp(server, bo);
    await temp.dispose();
  }
});
