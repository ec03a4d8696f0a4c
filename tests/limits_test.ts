import assert from "node:assert/strict";
import { cleanUp, JsonClient, LineClient, startServer, streamReader, within } from "./_helpers.ts";
import { readLines } from "../lib/io/line_reader.ts";

Deno.test("connections past the limit per address are turned away with a reason", async () => {
  const server = startServer({ maxPerAddress: 2 });
  const alice = await JsonClient.join(server, "Alice");
  const bob = await JsonClient.join(server, "Bob");
  const third = await JsonClient.connect(server);
  await third.send({ type: "hello", version: 1, name: "Carol" });
  const error = await third.next("error");
  assert.equal(error.code, "too_many_connections");
  assert.match(error.message, /at most 2/);
  assert.equal((await third.next("bye")).code, "too_many_connections");
  await third.raw.ended;

  const nc = await LineClient.connect(server);
  await nc.waitFor("Error: Too many connections from your address (at most 2); close some first");
  await nc.ended;

  await bob.close();
  await alice.next("leave");
  const carol = await JsonClient.join(server, "Carol");
  assert.equal(carol.name, "Carol", "a freed slot can be used again");
  await cleanUp(server, alice, carol, third, nc);
});

Deno.test("a JSON client that stops answering pings is dropped; one that answers stays", async () => {
  const server = startServer({ pingIntervalMs: 200 });
  const ghost = await JsonClient.join(server, "Ghost");
  const alice = await JsonClient.join(server, "Alice");
  const ping = await alice.next("ping");
  await alice.send({ type: "pong", token: ping.token });
  const left = await alice.next("leave");
  assert.deepEqual([left.name, left.reason], ["Ghost", "no response"]);
  assert.ok(ghost.events().some((e) => e.type === "ping"), "the ghost was asked first");
  await ghost.raw.ended;
  await alice.type("/who");
  assert.deepEqual((await alice.next("users")).names, ["Alice"]);
  await cleanUp(server, alice, ghost);
});

Deno.test("a flooding client is slowed down, then disconnected; the room carries on", async () => {
  const server = startServer({ flood: { burst: 5, rate: 1, kickAfter: 10 } });
  const alice = await JsonClient.join(server, "Alice");
  const flooder = await JsonClient.join(server, "Flooder");
  await flooder.raw.write(`{"type":"say","text":"spam"}\n`.repeat(100));
  assert.equal((await flooder.next("error")).code, "flood");
  assert.equal((await flooder.next("bye")).code, "flood");
  await flooder.raw.ended;
  const left = await alice.next("leave");
  assert.equal(left.reason, "disconnected for flooding");
  const spam = alice.events().filter((e) => e.type === "message");
  assert.equal(spam.length, 5, "only the burst got through");
  await cleanUp(server, alice, flooder);
});

Deno.test("the accept loop survives running out of file descriptors", async () => {
  // The server process gets only a few descriptors beyond what Deno itself uses.
  const child = new Deno.Command("prlimit", {
    args: ["--nofile=30:30", Deno.execPath(), "run", "--allow-net", "--allow-env"]
      .concat([new URL("../main.ts", import.meta.url).pathname, "serve"])
      .concat(["--host", "127.0.0.1", "--port", "0", "--max-per-ip", "0"]),
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const log = readLines(streamReader(child.stdout));
  const seen: string[] = [];
  const waitLog = (pattern: RegExp) =>
    within(
      (async () => {
        for (let next = await log.next(); !next.done; next = await log.next()) {
          if (next.value.kind !== "line") continue;
          seen.push(next.value.text);
          const match = pattern.exec(next.value.text);
          if (match) return match;
        }
        throw new Error("log ended");
      })(),
      () => `no ${pattern} in:\n${seen.join("\n")}`,
    );
  const conns: Deno.TcpConn[] = [];
  try {
    const port = Number((await waitLog(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    for (let i = 0; i < 40; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await waitLog(/accept failed: Too many open files/);
    for (const conn of conns.splice(0)) conn.close();
    const late = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(late);
    await late.write(new TextEncoder().encode('{"type":"hello","version":1,"name":"Late"}\n'));
    const reply = await within(readLines(late).next(), () => "no reply to the late client");
    assert.ok(!reply.done && reply.value.kind === "line" && reply.value.text.includes('"welcome"'));
    await waitLog(/accept recovered after \d+ failed attempts/);
  } finally {
    for (const conn of conns) conn.close();
    child.kill("SIGTERM");
    await child.status;
    for await (const _ of log) { /* drain stdout */ }
  }
});

Deno.test("a flooder kicked with much of its input unread still gets its bye", async () => {
  // 30 KB of lines: the server stops reading them at the kick. Closing the
  // socket on unread input would send a reset, which loses the bye.
  const server = startServer({ flood: { burst: 5, rate: 1, kickAfter: 10 } });
  const alice = await JsonClient.join(server, "Alice");
  const flooder = await JsonClient.join(server, "Flooder");
  await flooder.raw.write(`{"type":"say","text":"spam"}\n`.repeat(1000));
  assert.equal((await flooder.next("bye")).code, "flood");
  await flooder.raw.ended;
  assert.equal((await alice.next("leave")).reason, "disconnected for flooding");
  await cleanUp(server, alice, flooder);
});
