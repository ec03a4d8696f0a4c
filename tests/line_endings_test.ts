/**
 * Line endings a peer may send (docs/PROTOCOL.md): `\n`, `\r\n`, a bare `\r`
 * (old Macs, some serial terminals) and telnet's `\r\0` each end one line,
 * for people on nc or telnet and for bots alike. The splitter's own cases are
 * in line_reader_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, LineClient, startServer } from "./_helpers.ts";

Deno.test("an nc peer whose lines end in a bare \\r registers and chats", async () => {
  const server = startServer();
  const bob = await JsonClient.join(server, "Bob");
  const nc = await LineClient.connect(server);
  await nc.waitFor("Welcome to chat!");
  await nc.write("Alice\rhello\r");
  assert.equal((await bob.next("join")).name, "Alice");
  const said = await bob.next("message");
  assert.deepEqual([said.from, said.text], ["Alice", "hello"]);
  await cleanUp(server, bob, nc);
});

Deno.test("a telnet peer sending \\r\\0 line endings gets one line per Enter, no empty ones", async () => {
  const server = startServer();
  const bob = await JsonClient.join(server, "Bob");
  const telnet = await LineClient.connect(server);
  await telnet.waitFor("Welcome to chat!");
  await telnet.write("Tom\r\0hi there\r");
  assert.equal((await bob.next("join")).name, "Tom");
  // The NUL that completes the last line ending comes in a later packet.
  await telnet.write("\0/me waves\r\0");
  const said = await bob.next("message");
  assert.deepEqual([said.from, said.text], ["Tom", "hi there"]);
  const waved = await bob.next("message");
  assert.deepEqual([waved.text, waved.action], ["waves", true]);
  await telnet.write("/who\r\0");
  await telnet.waitFor("Users in #lobby (2): Bob, Tom");
  assert.ok(!telnet.lines.some((line) => line.includes("Error")), telnet.lines.join("\n"));
  await cleanUp(server, bob, telnet);
});

Deno.test("a bot whose JSON lines end in a bare \\r is understood", async () => {
  const server = startServer();
  const bob = await JsonClient.join(server, "Bob");
  const bot = await LineClient.connect(server);
  const hello = JSON.stringify({ type: "hello", version: 1, name: "beeper" });
  await bot.write(`${hello}\r${JSON.stringify({ type: "say", text: "beep" })}\r`);
  await bot.waitFor(/"type":"welcome"/);
  const said = await bob.next("message");
  assert.deepEqual([said.from, said.text], ["beeper", "beep"]);
  await cleanUp(server, bob, bot);
});
