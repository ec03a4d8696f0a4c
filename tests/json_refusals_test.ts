/**
 * Refusals a registered JSON client gets from a real server (docs/PROTOCOL.md,
 * Error codes): a second `hello`, a message with nothing visible in it, and a
 * message over 2000 characters, counted in code points. Each keeps the
 * connection, and nobody else sees anything of what was refused.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, startServer } from "./_helpers.ts";

Deno.test("a hello after welcome gets already_registered, however often, and the name stays", async () => {
  const server = startServer();
  const alice = await JsonClient.join(server, "Alice");
  // Ten of them: refusals after registering must not count towards the `refused` goodbye.
  for (let i = 0; i < 10; i++) {
    await alice.send({ type: "hello", version: 1, name: `Alicia${i}` });
    assert.deepEqual(await alice.next("error"), {
      type: "error",
      code: "already_registered",
      message: "You are already registered as Alice",
    });
  }
  await alice.send({ type: "say", text: "still here" });
  const echo = await alice.next("message");
  assert.deepEqual([echo.from, echo.text], ["Alice", "still here"]);
  assert.ok(!alice.events().some((e) => e.type === "bye"), "the connection was kept");
  await cleanUp(server, alice);
});

Deno.test("a message of only blanks or invisible characters gets empty_message and reaches nobody", async () => {
  const server = startServer();
  const alice = await JsonClient.join(server, "Alice");
  const bob = await JsonClient.join(server, "Bob");
  const blanks = [
    "   ",
    "\t\n \r\n",
    "\u200b\u200b", // zero-width spaces
    " \u2060\u00ad\u200e ", // word joiner, soft hyphen, LRM
    "\x1b[31m\x1b[0m", // colour codes around nothing
  ];
  for (const text of blanks) {
    for (const type of ["say", "me"]) {
      await alice.send({ type, text });
      assert.deepEqual(await alice.next("error"), {
        type: "error",
        code: "empty_message",
        message: "Empty message not sent; type some text first",
      }, `${type} ${JSON.stringify(text)}`);
    }
  }
  await alice.send({ type: "say", text: "visible" });
  const first = await bob.next("message");
  assert.equal(first.text, "visible", "Bob got nothing before the visible message");
  assert.ok(!bob.events().some((e) => e.type === "error"), "only the sender is told");
  await cleanUp(server, alice, bob);
});

Deno.test("2000 characters pass and 2001 are refused, counted in code points, not UTF-16 units", async () => {
  const server = startServer();
  const sender = await JsonClient.join(server, "小明");
  const bob = await JsonClient.join(server, "Bob");
  // 2000 code points but 2666 UTF-16 units: a limit counted in units would refuse it.
  const longest = "小明😀".repeat(666) + "小明";
  assert.equal([...longest].length, 2000);
  assert.equal(longest.length, 2666);
  await sender.send({ type: "say", text: longest });
  const echo = await sender.next("message");
  assert.equal(echo.text, longest, "sent whole, not cut");
  assert.equal((await bob.next("message")).text, longest);

  for (const tooLong of [longest + "😀", "x".repeat(2001), "😀".repeat(2001)]) {
    await sender.send({ type: "say", text: tooLong });
    assert.deepEqual(await sender.next("error"), {
      type: "error",
      code: "message_too_long",
      message: "Message not sent: 2001 characters, the limit is 2000",
    });
  }
  // The emoji-only message of 2000 is 4000 UTF-16 units: still fine.
  await sender.send({ type: "say", text: "😀".repeat(2000) });
  assert.equal((await bob.next("message")).text, "😀".repeat(2000));
  assert.equal(
    bob.events().filter((e) => e.type === "message").length,
    2,
    "no refused message reached Bob",
  );
  await cleanUp(server, sender, bob);
});
