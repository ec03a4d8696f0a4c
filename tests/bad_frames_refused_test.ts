/**
 * Bad frames count as refused attempts to register (docs/PROTOCOL.md,
 * Registration): the 10th before `hello` ends the connection with `bye`
 * `refused`; after 9 the client may still register.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, startServer } from "./_helpers.ts";

/**
 * Ten malformed lines and the code each gets. The first opens with `{`, so
 * that the server takes the peer for a JSON client rather than a person.
 */
const MALFORMED: [string, string][] = [
  ['{"type":"shout","text":"hi"}', "unknown_type"],
  ["{not json", "bad_frame"],
  ["[1, 2, 3]", "bad_frame"],
  ['"hello"', "bad_frame"],
  ["42", "bad_frame"],
  ["null", "bad_frame"],
  ['{"text":"no type"}', "bad_frame"],
  ['{"type":"hello","name":"Ann"}', "bad_frame"], // no version
  ['{"type":"hello","version":1,"name":7}', "bad_frame"], // name not a string
  ['{"type":"say"}', "bad_frame"], // no text
];

/** Sends the first `count` malformed lines, checking the error code each one gets. */
async function sendMalformed(client: JsonClient, count: number): Promise<void> {
  for (const [line, code] of MALFORMED.slice(0, count)) {
    await client.raw.write(line + "\n");
    assert.equal((await client.next("error")).code, code, line);
  }
}

Deno.test("ten malformed frames before hello end in bye refused and a closed connection", async () => {
  const server = startServer();
  const client = await JsonClient.connect(server);
  await sendMalformed(client, 10);
  assert.deepEqual(await client.next("bye"), {
    type: "bye",
    code: "refused",
    reason: "Too many failed attempts to register",
  });
  await client.raw.ended;
  assert.equal(client.events().at(-1)?.type, "bye", "nothing follows the bye");
  await cleanUp(server, client);
});

Deno.test("nine malformed frames before hello leave the connection open, and hello still works", async () => {
  const server = startServer();
  const client = await JsonClient.connect(server);
  await sendMalformed(client, 9);
  await client.send({ type: "hello", version: 1, name: "Ann" });
  assert.equal((await client.next("welcome")).name, "Ann");
  // Registered now: bad frames are answered but no longer counted.
  await client.raw.write("{oops\n".repeat(10));
  for (let i = 0; i < 10; i++) assert.equal((await client.next("error")).code, "bad_frame");
  await client.send({ type: "say", text: "still in" });
  assert.equal((await client.next("message")).text, "still in");
  assert.ok(!client.events().some((e) => e.type === "bye"), "never said goodbye");
  await cleanUp(server, client);
});
