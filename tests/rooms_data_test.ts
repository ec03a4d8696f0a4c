/**
 * Rooms and bans kept by `chat serve --data` across a restart (real
 * processes), and the store's rooms and bans tables.
 *
 * @module
 */

import assert from "node:assert/strict";
import { nameKey } from "../lib/core/names.ts";
import { SCHEMA_VERSION, Store } from "../lib/store/sqlite_store.ts";
import { JsonClient, withDir } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";

Deno.test("rooms, their topic, operators, privacy and history, and bans survive a restart", async () => {
  await withDir(async (dir) => {
    const args = ["--host", "127.0.0.1", "--port", "0", "--data", dir, "--flood-rate", "0"];
    const first = new ServeProcess(args);
    const port = await first.port();
    const ann = await JsonClient.join(port, "Ann");
    await ann.send({ type: "join", room: "#小組" });
    await ann.next("current");
    await ann.send({ type: "topic", text: "Group work" });
    await ann.next("topic");
    await ann.send({ type: "private" });
    await ann.next("mode");
    await ann.send({ type: "say", text: "kept for later" });
    await ann.next("message");
    await ann.send({ type: "join", room: "#empty" });
    await ann.next("current", (e) => e.room === "empty");
    const eve = await JsonClient.join(port, "Eve");
    await ann.close();
    await eve.close();
    first.child.kill("SIGKILL");
    await first.finish();

    // Bans are the console's: written to the store the way the console writes them.
    const store = Store.open(dir);
    store.saveBan({ kind: "name", value: "Eve", key: nameKey("Eve"), until: null, reason: "spam" });
    store.close();

    const second = new ServeProcess(args);
    const port2 = await second.port();
    const bob = await JsonClient.join(port2, "Bob");
    await bob.send({ type: "rooms" });
    const listed = await bob.next("rooms");
    assert.deepEqual(listed.rooms.map((r) => r.room), ["lobby", "empty"], "private: not listed");
    await bob.send({ type: "join", room: "小組" });
    assert.equal((await bob.next("error")).code, "invite_only");

    const back = await JsonClient.join(port2, "Ann");
    await back.send({ type: "join", room: "小組" });
    assert.deepEqual((await back.next("users")).ops, ["Ann"], "an operator again, by name");
    assert.equal((await back.next("topic")).topic, "Group work");
    await back.send({ type: "history", room: "小組" });
    assert.deepEqual((await back.next("history")).messages.map((m) => m.text), ["kept for later"]);

    const banned = await JsonClient.connect(port2);
    await banned.send({ type: "hello", version: 1, name: "eve" });
    const refused = await banned.next("error");
    assert.deepEqual([refused.code, refused.message], [
      "banned",
      "You are banned from this server: spam",
    ]);
    await banned.close();
    await bob.close();
    await back.close();
    second.child.kill("SIGTERM");
    assert.equal((await second.finish()).code, 0);
  });
});

Deno.test("the store keeps rooms by their name's key and bans by kind and key", async () => {
  await withDir((dir) => {
    const store = Store.open(dir);
    assert.equal(store.schemaVersion, SCHEMA_VERSION);
    const room = { name: "Team", topic: "t", ops: ["ann"], private: true, emptySince: 5 };
    store.saveRoom(room);
    store.saveRoom({ ...room, topic: "u" });
    store.appendMessage({ time: 1, room: "Team", from: "Ann", text: "hi" });
    store.saveRoom({ name: "quiet", topic: "", ops: [], private: false, emptySince: 1 });
    assert.deepEqual(store.listRooms(), [
      { ...room, topic: "u", hasHistory: true },
      { name: "quiet", topic: "", ops: [], private: false, emptySince: 1, hasHistory: false },
    ]);
    store.forgetRoom(nameKey("quiet"));
    assert.deepEqual(store.listRooms().map((r) => r.name), ["Team"]);
    const ban = {
      kind: "address" as const,
      value: "10.0.0.9",
      key: "10.0.0.9",
      until: 9,
      reason: "",
    };
    store.saveBan(ban);
    store.saveBan({ ...ban, until: null });
    assert.deepEqual(store.listBans(), [{ ...ban, until: null }]);
    store.removeBan("address", "10.0.0.9");
    assert.deepEqual(store.listBans(), []);
    store.close();
  });
});
