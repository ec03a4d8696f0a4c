/**
 * A UTF-8 byte order mark before the first line (some editors and Windows
 * tools write one) is not part of what the peer says: a JSON `hello` after
 * one is still JSON, and a name after one is the name.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, LineClient, startServer } from "./_helpers.ts";

const BOM = [0xef, 0xbb, 0xbf];

/** `text` after a byte order mark, as bytes. */
function withBom(text: string): Uint8Array {
  return new Uint8Array([...BOM, ...new TextEncoder().encode(text)]);
}

Deno.test("a JSON hello after a byte order mark registers as JSON", async () => {
  const server = startServer();
  const client = await JsonClient.connect(server);
  await client.raw.write(withBom('{"type":"hello","version":1,"name":"Bom"}\n'));
  const welcome = await client.next("welcome");
  assert.equal(welcome.name, "Bom");
  assert.deepEqual(client.raw.lines.filter((line) => !line.startsWith("{")), []);
  await cleanUp(server, client);
});

Deno.test("a JSON hello whose byte order mark comes in a read of its own registers as JSON", async () => {
  const server = startServer();
  const client = await JsonClient.connect(server);
  await client.raw.write(new Uint8Array(BOM));
  await client.raw.write('{"type":"hello","version":1,"name":"Bom"}\n');
  assert.equal((await client.next("welcome")).name, "Bom");
  await cleanUp(server, client);
});

Deno.test("a name typed after a byte order mark is the name", async () => {
  const server = startServer();
  const bob = await JsonClient.join(server, "Bob");
  const nc = await LineClient.connect(server);
  await nc.write(withBom("Ann\n"));
  await nc.waitFor("Welcome, Ann! You are in #lobby. Here with you: Bob.");
  assert.equal((await bob.next("join")).name, "Ann");
  await cleanUp(server, bob, nc);
});

Deno.test("a JSON hello after a byte order mark, sent after the name prompt, still speaks JSON", async () => {
  const server = startServer();
  const client = await LineClient.connect(server);
  await client.waitFor("Welcome to chat! 0 of 100 users online.");
  await client.write(withBom('{"type":"hello","version":1,"name":"Late"}\n'));
  const welcome = JSON.parse(await client.waitFor((line) => line.includes('"welcome"')));
  assert.equal(welcome.name, "Late");
  await cleanUp(server, client);
});
