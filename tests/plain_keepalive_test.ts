/**
 * Keepalive of a plain-text (nc) session (docs/PROTOCOL.md, Limits and
 * keepalive): a silent one gets a NUL byte, which a terminal ignores, where a
 * JSON client gets `ping`; and unlike a silent JSON client it is not dropped.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, LineClient, startServer } from "./_helpers.ts";

Deno.test("a silent nc user gets one NUL byte, where JSON clients get ping, and is not dropped", async () => {
  const server = startServer({ pingIntervalMs: 200 });
  const nc = await LineClient.connect(server);
  await nc.waitFor("Welcome to chat!");
  await nc.write("Nina\n");
  await nc.waitFor("Type a message and press Enter");
  // Nina says nothing from here on. Both JSON clients register after her:
  // each has been silent for less time than she has.
  const ghost = await JsonClient.join(server, "Ghost");
  const alice = await JsonClient.join(server, "Alice");
  const ping = await alice.next("ping");
  assert.equal(typeof ping.token, "string");
  await alice.send({ type: "pong", token: ping.token });

  // The NUL went out before Alice's ping, so it precedes this line.
  await alice.send({ type: "say", text: "are you there?" });
  await nc.waitFor("Alice: are you there?");
  const received = nc.lines.join("\n");
  assert.equal(received.split("\0").length - 1, 1, `one NUL: ${JSON.stringify(nc.lines)}`);
  assert.ok(nc.lines.some((line) => line.startsWith("\0[")), "between lines, not inside one");

  // The silent JSON client is dropped after twice the interval; Nina, silent longer, stays.
  assert.ok(ghost.events().some((e) => e.type === "ping"), "the JSON client was pinged");
  const left = await alice.next("leave");
  assert.deepEqual([left.name, left.reason], ["Ghost", "no response"]);
  await nc.waitFor("<-- Ghost left: no response");
  // A newcomer's welcome lists who is in (Alice, silent again, may be gone by now).
  const carol = await JsonClient.join(server, "Carol");
  const users = carol.events().find((e) => e.type === "welcome")?.users ?? [];
  assert.ok(users.includes("Nina") && !users.includes("Ghost"), users.join(", "));
  assert.equal(nc.lines.join("\n").split("\0").length - 1, 1, "no second NUL while she is silent");
  await cleanUp(server, nc, alice, ghost, carol);
});
