/**
 * The operator's console over a real server: rooms, announcements to one
 * room, and bans, as users over TCP meet them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { operatorLine } from "../lib/serve/console_commands.ts";
import { cleanUp, JsonClient, LineClient, startServer } from "./_helpers.ts";

/** Runs console lines and returns what the console printed. */
function typed(server: ReturnType<typeof startServer>, ...lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) operatorLine(server, line, (text) => out.push(...text.split("\n")));
  return out;
}

Deno.test("the console lists rooms and their members, and announces to one room", async () => {
  const server = startServer({ flood: null });
  const ann = await JsonClient.join(server, "Ann");
  const bob = await JsonClient.join(server, "Bob");
  try {
    await ann.send({ type: "join", room: "team" });
    await ann.next("current");
    await ann.send({ type: "topic", text: "Week 2" });
    await ann.next("topic");
    await ann.send({ type: "private" });
    await ann.next("mode");
    assert.deepEqual(typed(server, "/rooms", "/who #team", "/who #nowhere", "/who #bad\x07"), [
      "2 rooms:",
      "  #lobby (2 users)",
      "  #team (1 user, private): Week 2",
      "1 user in #team: @Ann",
      "No room #nowhere",
      "A room name cannot contain control or invisible characters",
    ]);
    assert.deepEqual(typed(server, "#team Time is up", "#nowhere hi", "#team"), [
      "No room #nowhere",
      "Usage: #ROOM TEXT",
    ]);
    const notice = await ann.next("notice");
    assert.deepEqual([notice.text, notice.room], ["Time is up", "team"]);
    await ann.send({ type: "say", text: "after", room: "lobby" });
    await bob.next("message", (m) => m.text === "after");
    assert.ok(!bob.events().some((e) => e.type === "notice"), "only #team was told");
  } finally {
    await cleanUp(server, ann, bob);
  }
});

Deno.test("a banned name is disconnected and kept out, told why and until when, until unbanned", async () => {
  const server = startServer({ flood: null });
  const ann = await JsonClient.join(server, "Ann");
  const eve = await JsonClient.join(server, "Eve");
  try {
    assert.deepEqual(typed(server, "/ban"), ["Usage: /ban NAME|ADDRESS [MINUTES] [REASON]"]);
    assert.deepEqual(typed(server, "/ban eve 0 spam"), [
      "Minutes must be from 1 to 525600 (a year)",
    ]);
    const [said] = typed(server, "/ban eve 30 spam");
    assert.match(said, /^Banned name eve until \d{4}-\d\d-\d\d \d\d:\d\d UTC: spam$/);
    const bye = await eve.next("bye");
    assert.equal(bye.code, "banned");
    assert.match(bye.reason, /^You are banned from this server until .* UTC: spam$/);
    assert.ok(bye.until! > Date.now() + 29 * 60_000);
    assert.equal((await ann.next("leave")).reason, "banned");

    const again = await JsonClient.connect(server);
    await again.send({ type: "hello", version: 1, name: "EVE" });
    assert.equal((await again.next("error")).code, "banned");
    assert.equal((await again.next("bye")).code, "banned");
    assert.ok(await again.closed());
    await again.close();

    const person = await LineClient.connect(server);
    await person.waitFor("Welcome to chat!");
    await person.write("Eve\n");
    await person.waitFor(/Goodbye \(You are banned from this server until .* UTC: spam\)$/);
    await person.close();

    const mallory = await JsonClient.join(server, "Mallory");
    await mallory.send({ type: "nick", name: "EVE" });
    const refused = await mallory.next("error");
    assert.deepEqual(
      [refused.code, refused.message],
      ["banned", "You are banned from this server until " + bye.reason.split(" until ")[1]],
      "the name is not taken with /nick either",
    );
    await mallory.close();

    assert.deepEqual(typed(server, "/bans").length, 2);
    assert.deepEqual(typed(server, "/unban Eve", "/unban Eve", "/bans"), [
      "Lifted the ban of Eve",
      "Eve is not banned",
      "0 bans",
    ]);
    const back = await JsonClient.join(server, "Eve");
    await back.close();
  } finally {
    await cleanUp(server, ann, eve);
  }
});

Deno.test("/droproom removes a room: its members are told and go back to #lobby, and /rooms forgets it", async () => {
  const server = startServer({ flood: null });
  const ann = await JsonClient.join(server, "Ann");
  const carol = await LineClient.connect(server);
  try {
    await carol.waitFor("Welcome to chat!");
    await carol.write("Carol\n");
    await ann.send({ type: "join", room: "spam" });
    await ann.next("current");
    await carol.write("/join #spam\n");
    await carol.waitFor(/You are in #spam now/);
    assert.deepEqual(typed(server, "/droproom", "/droproom #nowhere", "/droproom #lobby"), [
      "Usage: /droproom #ROOM [REASON]",
      "No room #nowhere",
      "#lobby cannot be removed",
    ]);
    assert.deepEqual(typed(server, "/droproom #Spam off topic"), ["Removed #spam"]);
    const notice = await ann.next("notice");
    assert.deepEqual(
      [notice.room, notice.text],
      ["spam", "#spam is closed by the server's operator: off topic"],
    );
    const part = await ann.next("part");
    assert.deepEqual([part.room, part.name, part.reason], ["spam", "Ann", "off topic"]);
    assert.equal((await ann.next("current")).room, "lobby");
    await carol.waitFor(/#spam is closed by the server's operator: off topic/);
    await carol.waitFor(/You are in #lobby now/);
    assert.deepEqual(typed(server, "/rooms"), ["1 room:", "  #lobby (2 users)"]);
  } finally {
    await carol.close();
    await cleanUp(server, ann);
  }
});
