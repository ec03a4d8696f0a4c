/**
 * The `me`, `nick` and `help` frames of docs/PROTOCOL.md sent to a real
 * server: what the sender gets, and what another user in the room gets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, startServer } from "./_helpers.ts";

Deno.test("a me frame reaches the sender and the room as a message marked action: true", async () => {
  const server = startServer();
  const alice = await JsonClient.join(server, "Alice");
  const bob = await JsonClient.join(server, "Bob");
  await alice.send({ type: "me", text: "waves at 小明" });
  for (const viewer of [alice, bob]) {
    const { id: _id, time: _time, ...seen } = await viewer.next("message");
    assert.deepEqual(seen, {
      type: "message",
      room: "lobby",
      from: "Alice",
      text: "waves at 小明",
      action: true,
    }, `as ${viewer.name} sees it`);
  }
  // A plain say carries no action field at all.
  await alice.send({ type: "say", text: "hello" });
  const said = await bob.next("message");
  assert.equal(said.text, "hello");
  assert.ok(!("action" in said), JSON.stringify(said));
  await cleanUp(server, alice, bob);
});

Deno.test("a nick frame renames the sender: both users get the rename, and the new name sticks", async () => {
  const server = startServer();
  const alice = await JsonClient.join(server, "Alice");
  const bob = await JsonClient.join(server, "Bob");
  await alice.send({ type: "nick", name: "小明" });
  for (const viewer of [alice, bob]) {
    const { time: _time, ...seen } = await viewer.next("rename");
    assert.deepEqual(seen, { type: "rename", room: "lobby", from: "Alice", to: "小明" });
  }
  await alice.send({ type: "say", text: "new name" });
  assert.equal((await bob.next("message")).from, "小明");
  await bob.send({ type: "who" });
  assert.deepEqual((await bob.next("users")).names, ["小明", "Bob"]);
  // The old name is free again, and the new one is taken.
  const newcomer = await JsonClient.join(server, "alice");
  await newcomer.send({ type: "nick", name: "小明" });
  assert.equal((await newcomer.next("error")).code, "name_taken");
  await cleanUp(server, alice, bob, newcomer);
});

Deno.test("a help frame gets an info event listing every command, for the asker only", async () => {
  const server = startServer();
  const alice = await JsonClient.join(server, "Alice");
  const bob = await JsonClient.join(server, "Bob");
  await alice.send({ type: "help" });
  const info = await alice.next("info");
  const lines = info.text.split("\n");
  assert.equal(lines[0], "Commands:");
  const calls = lines.slice(1).map((line) => line.trim().split(/ {2,}/)[0]);
  assert.deepEqual(calls, [
    "/msg NAME TEXT",
    "/who [#ROOM]",
    "/nick NEWNAME",
    "/me ACTION",
    "/history [N]",
    "/join #ROOM",
    "/part [#ROOM] [REASON]",
    "/rooms",
    "/topic [TEXT|-]",
    "/kick NAME [REASON]",
    "/op NAME",
    "/deop NAME",
    "/invite NAME",
    "/private",
    "/public",
    "/away [MESSAGE]",
    "/back",
    "/ignore [NAME]",
    "/unignore NAME",
    "/whois NAME",
    "/help",
    "/quit [REASON]",
    "@NAME TEXT",
    "exit",
  ]);
  assert.ok(lines.slice(1).every((line) => / {2,}\S/.test(line.trim())), "each has its meaning");
  // Bob's next event after Alice's help is her message: he was not sent the help.
  await alice.send({ type: "say", text: "after help" });
  assert.equal((await bob.next("message")).text, "after help");
  assert.ok(!bob.events().some((e) => e.type === "info"), "only the asker gets the help");
  await cleanUp(server, alice, bob);
});
