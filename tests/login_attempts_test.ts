/**
 * Refused attempts to register, counted per connection: a `hello` that keeps
 * leaving out the password a name needs counts like a wrong password, except
 * the first, which is how a client learns that the name needs one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, startServer, tempStore } from "./_helpers.ts";

Deno.test("hellos without the password a name needs are refused attempts after the first", async () => {
  const data = await tempStore({ Bob: "correct horse" });
  const log: string[] = [];
  const server = startServer({ store: data.store, auth: "names", log: (line) => log.push(line) });
  const prober = await JsonClient.connect(server);
  await prober.raw.write(`{"type":"hello","version":1,"name":"Bob"}\n`.repeat(200));
  assert.deepEqual(await prober.next("bye"), {
    type: "bye",
    code: "refused",
    reason: "Too many failed attempts to register",
  });
  await prober.raw.ended;
  const asked = prober.events().filter((e) => e.type === "error");
  assert.deepEqual(
    [...new Set(asked.map((e) => e.type === "error" && e.code))],
    ["password_required"],
  );
  assert.equal(asked.length, 11, "the first answer is free, the next 10 are refused attempts");
  assert.ok(
    log.some((line) => /^drop 127\.0\.0\.1:\d+: 10 failed attempts to register$/.test(line)),
    log.join("\n"),
  );

  // A client as it should be: told once that the name needs a password, it sends it.
  const bob = await JsonClient.connect(server);
  await bob.send({ type: "hello", version: 1, name: "Bob" });
  assert.equal((await bob.next("error")).code, "password_required");
  await bob.send({ type: "hello", version: 1, name: "Bob", password: "correct horse" });
  assert.equal((await bob.next("welcome")).name, "Bob");
  await cleanUp(server, prober, bob);
  await data.dispose();
});

Deno.test("after the free password_required answer, nine more refusals still leave room to log in", async () => {
  const data = await tempStore({ Bob: "correct horse" });
  const server = startServer({ store: data.store, auth: "names" });
  const bob = await JsonClient.connect(server);
  await bob.send({ type: "hello", version: 1, name: "Bob" });
  assert.equal((await bob.next("error")).code, "password_required");
  for (let i = 0; i < 9; i++) {
    await bob.send({ type: "hello", version: 1, name: i % 2 ? "Bob" : " " });
    await bob.next("error");
  }
  await bob.send({ type: "hello", version: 1, name: "Bob", password: "correct horse" });
  assert.equal((await bob.next("welcome")).name, "Bob");
  await cleanUp(server, bob);
  await data.dispose();
});
