/**
 * Rooms over real TCP: JSON and plain-text users in several rooms at once,
 * old clients that name no room, and refusals that change nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, LineClient, startServer } from "./_helpers.ts";

Deno.test("JSON and plain-text users in several rooms: each line reaches its room, marked when not current", async () => {
  const server = startServer({ flood: null });
  const ann = await JsonClient.join(server, "Ann");
  const bob = await LineClient.join(server, "Bob");
  const old = await JsonClient.join(server, "Old");
  try {
    await ann.send({ type: "join", room: "#team" });
    await ann.next("current", (e) => e.room === "team");
    await bob.write("/join #team\n");
    await bob.waitFor("You are in #team now");
    await ann.next("join", (e) => e.name === "Bob" && e.room === "team");

    // Bob's current room is #team: the lobby's lines carry its name, #team's do not.
    await old.send({ type: "say", text: "anyone for lunch?" });
    await bob.waitFor(/^\[\d\d:\d\d\] \[#lobby\] Old: anyone for lunch\?$/);
    await ann.send({ type: "say", text: "the plan", room: "team" });
    await bob.waitFor(/^\[\d\d:\d\d\] Ann: the plan$/);
    await bob.write("sounds good\n");
    const reply = await ann.next("message", (m) => m.from === "Bob");
    assert.deepEqual([reply.room, reply.text], ["team", "sounds good"]);

    // The old client, which names no room, sees the lobby only.
    await bob.write("/part #lobby\n");
    await ann.next("part", (e) => e.name === "Bob" && e.room === "lobby");
    await old.send({ type: "say", text: "still there?" });
    await ann.next("message", (m) => m.text === "still there?");
    assert.ok(
      old.events().every((e) => !("room" in e) || e.room === "lobby"),
      "an old client gets frames of #lobby alone",
    );
    assert.ok(!bob.lines.some((line) => line.includes("still there?")), "Bob left #lobby");

    // /rooms and /who in plain text.
    await bob.write("/rooms\n");
    await bob.waitFor("2 rooms:");
    await bob.waitFor(/^ {2}#team \(2 users; you are in it\)$/);
    await bob.write("/who\n");
    await bob.waitFor("Users in #team (2): @Ann, Bob");
  } finally {
    await cleanUp(server, ann, old);
    await bob.close();
  }
});

Deno.test("over TCP, a non-operator's /kick and a private room's door change nothing", async () => {
  const server = startServer({ flood: null });
  const ann = await JsonClient.join(server, "Ann");
  const bob = await JsonClient.join(server, "Bob");
  const cat = await LineClient.join(server, "Cat");
  try {
    await ann.send({ type: "join", room: "ta" });
    await ann.next("current");
    await bob.send({ type: "join", room: "ta" });
    await bob.next("current");
    await bob.send({ type: "kick", name: "Ann", reason: "mine" });
    const refused = await bob.next("error");
    assert.deepEqual([refused.code, refused.message], [
      "not_operator",
      "Only an operator of #ta may kick",
    ]);
    await ann.send({ type: "private" });
    await bob.next("mode", (e) => e.change === "private");
    await cat.write("/join #ta\n");
    await cat.waitFor("Error: #ta is private: an operator of it must /invite you");
    await cat.write("/join #bad\x1b[2Jname\n");
    await cat.waitFor("Error: A room name cannot contain control or invisible characters");
    await ann.send({ type: "who" });
    const who = await ann.next("users");
    assert.deepEqual([who.room, who.names, who.ops], ["ta", ["Ann", "Bob"], ["Ann"]]);
    await ann.send({ type: "invite", name: "cat" });
    await cat.waitFor(/Ann invites you to #ta: \/join #ta$/);
    await cat.write("/join #ta\n");
    await bob.next("join", (e) => e.name === "Cat" && e.room === "ta");
  } finally {
    await cleanUp(server, ann, bob);
    await cat.close();
  }
});

Deno.test("a plain-text user sees someone who leaves the chat leave once, however many rooms they shared", async () => {
  const server = startServer({ flood: null });
  const ann = await JsonClient.join(server, "Ann");
  const bob = await LineClient.join(server, "Bob");
  try {
    for (const room of ["a", "b"]) {
      await ann.send({ type: "join", room });
      await ann.next("current", (e) => e.room === room);
      await bob.write(`/join #${room}\n`);
      await bob.waitFor(`You are in #${room} now`);
    }
    await ann.send({ type: "nick", name: "Anna" });
    await ann.send({ type: "quit", reason: "home" });
    await ann.next("bye");
    await bob.waitFor(/<-- Anna left: home/);
    await bob.write("/who\n");
    await bob.waitFor("Users in #b (1): @Bob");
    assert.equal(bob.lines.filter((line) => line.includes("Ann is now known as Anna")).length, 1);
    assert.equal(bob.lines.filter((line) => line.includes("<-- Anna left")).length, 1);
  } finally {
    await cleanUp(server, ann);
    await bob.close();
  }
});

Deno.test("with flood control off (--flood-rate 0), one address makes rooms at no pace: a load test's 150", async () => {
  const server = startServer({ flood: null, maxRoomsPerUser: 200 });
  const bot = await JsonClient.join(server, "Bot");
  try {
    for (let i = 0; i < 25; i++) {
      await bot.send({ type: "join", room: `r${i}` });
      const answer = await bot.waitFor((e) =>
        e.type === "error" || (e.type === "current" && e.room === `r${i}`)
      );
      assert.equal(answer.type, "current", JSON.stringify(answer));
    }
  } finally {
    await cleanUp(server, bot);
  }
});
