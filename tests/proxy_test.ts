/**
 * The fault proxy of the delivery tests (tests/_proxy.ts) does what they rely
 * on, shown with a chat server behind it: it forwards both ways, holds
 * everything while frozen with both sockets open, forwards what it held on
 * thaw, and cuts one side or both.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, startServer } from "./_helpers.ts";
import { FaultProxy } from "./_proxy.ts";

Deno.test("the proxy holds both ways while frozen, forwards what it held on thaw, and a cut closes both sides", async () => {
  const server = startServer();
  const proxy = FaultProxy.start(server.addr.port);
  const bob = await JsonClient.join(server, "Bob");
  const alice = await JsonClient.join(proxy.port, "Alice");
  try {
    const link = await proxy.connection(0);
    await bob.next("join", (e) => e.name === "Alice");
    link.freeze();
    await alice.send({ type: "say", text: "held" });
    await bob.send({ type: "say", text: "to Alice" });
    await link.holding("server");
    await link.holding("client");
    await bob.next("message", (e) => e.text === "to Alice");
    assert.equal(bob.events().some((e) => e.type === "message" && e.text === "held"), false);
    assert.equal(alice.events().some((e) => e.type === "message"), false);
    link.thaw();
    assert.equal((await bob.next("message")).text, "held");
    // Bob's line was on its way to her before hers reached the server.
    assert.deepEqual(
      [(await alice.next("message")).text, (await alice.next("message")).text],
      ["to Alice", "held"],
    );
    link.cut();
    await alice.raw.ended;
    await bob.next("leave", (e) => e.name === "Alice");
    assert.deepEqual([proxy.accepted, proxy.open], [1, 0]);
  } finally {
    await proxy.close();
    await cleanUp(server, alice, bob);
  }
});

Deno.test("a cut of the client's side leaves the server's open, and what was held still reaches it on thaw", async () => {
  const server = startServer();
  const proxy = FaultProxy.start(server.addr.port);
  const bob = await JsonClient.join(server, "Bob");
  const alice = await JsonClient.join(proxy.port, "Alice");
  try {
    const link = await proxy.connection(0);
    await bob.next("join", (e) => e.name === "Alice");
    link.freeze();
    await alice.send({ type: "say", text: "late" });
    await link.holding("server");
    link.cut("client");
    await alice.raw.ended;
    link.thaw();
    assert.equal((await bob.next("message")).text, "late");
    // The server never saw Alice go: her side of the proxy is still open.
    assert.equal(bob.events().some((e) => e.type === "leave"), false);
    link.cut();
    await bob.next("leave", (e) => e.name === "Alice");
  } finally {
    await proxy.close();
    await cleanUp(server, alice, bob);
  }
});
