/**
 * Reconnecting after the server went away (README, `chat join`): the client
 * retries with doubling pauses up to a longest one, and comes back with the
 * same name once the server is back on its port. The schedule is checked as
 * the client announces it (the pause before each next attempt), never by the
 * clock; `chat join` in a real terminal (tmux) is checked for what a person
 * reads meanwhile: one line per reason, not one per attempt.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ChatClient, type ClientUpdate } from "../lib/client/client.ts";
import type { ChatEvent } from "../lib/core/events.ts";
import type { ChatServer } from "../lib/serve/chat_server.ts";
import { cleanUp, JsonClient, startServer } from "./_helpers.ts";
import { FakeServer, type Hello, welcome } from "./_fake_server.ts";
import { chatCommand } from "./_chat_command.ts";
import { rowsWith, screenShows, shellLine, typeLine, withTerminal } from "./_tmux.ts";

Deno.test("the announced pauses double from the first up to the longest, then the client is back as itself", async () => {
  const fake = new FakeServer((hello) => [welcome(hello.name)]);
  const port = fake.port;
  const client = new ChatClient({
    host: "127.0.0.1",
    port,
    client: "chat/test",
    retryInitialMs: 10,
    retryMaxMs: 80,
  });
  let server: ChatServer | null = null;
  let bob: JsonClient | null = null;
  try {
    await client.connect();
    assert.ok((await client.register("Alice")).ok);
    const updates = client.updates(true);
    // Gone without a goodbye, as in a crash: the port refuses connections now.
    await fake.close();
    const seen: ClientUpdate[] = [];
    for await (const update of updates) {
      seen.push(update);
      if (update.kind === "back" || update.kind === "end") break;
      // The generator waits here until asked for more, so the next attempt finds the new server.
      if (seen.filter((u) => u.kind === "retrying").length === 6) {
        server = startServer({ port });
        bob = await JsonClient.join(server, "Bob");
      }
    }
    assert.deepEqual(seen.map((u) => u.kind), ["lost", ...Array(6).fill("retrying"), "back"]);
    const retries = seen.flatMap((u) => u.kind === "retrying" ? [u] : []);
    assert.deepEqual(retries.map((u) => u.delayMs), [20, 40, 80, 80, 80, 80]);
    assert.deepEqual(
      retries.map((u) => [u.reason, u.refused]),
      Array(6).fill(["connection refused", false]),
    );
    const back = seen.at(-1)!;
    assert.ok(back.kind === "back" && back.welcome.name === "Alice", JSON.stringify(back));
    assert.equal(client.name, "Alice");
    // Bob was in before the attempt that got through: the room saw Alice come back.
    assert.equal((await bob!.next("join")).name, "Alice");
  } finally {
    client.close();
    await fake.close().catch(() => {});
    if (server) await cleanUp(server, ...(bob ? [bob] : []));
  }
});

Deno.test("with the client's defaults, the pause after the first failed attempt is announced as 1 s", async () => {
  // The defaults are chat join's: a first pause of 0.5 s, then doubling (README).
  const fake = new FakeServer((hello) => [welcome(hello.name)]);
  const client = new ChatClient({ host: "127.0.0.1", port: fake.port, client: "chat/test" });
  try {
    await client.connect();
    assert.ok((await client.register("Alice")).ok);
    const updates = client.updates(true);
    await fake.close();
    const seen: ClientUpdate[] = [];
    for await (const update of updates) {
      seen.push(update);
      if (update.kind !== "lost") break;
    }
    assert.deepEqual(seen.map((u) => u.kind), ["lost", "retrying"]);
    assert.equal(seen[1].kind === "retrying" && seen[1].delayMs, 1_000);
  } finally {
    client.close();
    await fake.close().catch(() => {});
  }
});

/** Runs `chat join 127.0.0.1:PORT --name Alice` in a wide terminal; `body` gets the socket. */
function joinInTerminal(port: number, body: (socket: string) => Promise<void>): Promise<void> {
  const socket = `chat-reconnect-${crypto.randomUUID()}`;
  const join = chatCommand(["join", `127.0.0.1:${port}`, "--name", "Alice"]);
  return withTerminal(socket, `${shellLine(join)}; sleep 30`, {
    columns: 160,
    env: { NO_COLOR: "1" },
  }, () => body(socket));
}

Deno.test("chat join says the server went away, keeps trying, and rejoins the restarted server as Alice", async () => {
  const fake = new FakeServer((hello) => [welcome(hello.name)]);
  const port = fake.port;
  const address = `127.0.0.1:${port}`;
  let server: ChatServer | null = null;
  let bob: JsonClient | null = null;
  try {
    await joinInTerminal(port, async (socket) => {
      await screenShows(socket, /Welcome, Alice!/);
      await fake.close();
      await screenShows(socket, /^\(offline\) Alice>/m);
      await screenShows(socket, /Cannot reach .* will keep trying/);
      server = startServer({ port });
      bob = await JsonClient.join(server, "Bob");
      await screenShows(socket, new RegExp(`Reconnected to ${address} as Alice`));
      const screen = (await screenShows(socket, /^Alice>/m)).input;
      const lost = `-- Lost the connection to ${address}; reconnecting...`;
      const unreachable = `-- Cannot reach ${address} (connection refused); will keep trying`;
      const back = `-- Reconnected to ${address} as Alice`;
      for (const line of [lost, unreachable, back]) {
        assert.equal(rowsWith(screen, line).length, 1, `once: ${line}\n${screen}`);
      }
      assert.ok(
        screen.indexOf(lost) < screen.indexOf(unreachable) &&
          screen.indexOf(unreachable) < screen.indexOf(back),
        screen,
      );
      await typeLine(socket, "back again");
      const said = await bob.next("message");
      assert.deepEqual([said.from, said.text], ["Alice", "back again"]);
    });
  } finally {
    await fake.close().catch(() => {});
    if (server) await cleanUp(server, ...(bob ? [bob] : []));
  }
});

Deno.test("chat join refused on its way back says so once, however often it tries, and gets in when the name is free", async () => {
  // As after a restart, while the old connection still holds the name: refused twice, then free.
  let free = false;
  const taken: ChatEvent = {
    type: "error",
    code: "name_taken",
    message: "The name Alice is taken",
  };
  const fake = new FakeServer((hello: Hello, index) =>
    index === 0 || free ? [welcome(hello.name)] : [taken]
  );
  const address = `127.0.0.1:${fake.port}`;
  try {
    await joinInTerminal(fake.port, async (socket) => {
      await screenShows(socket, /Welcome, Alice!/);
      fake.dropAll();
      await fake.until(() => fake.hellos.length === 3);
      free = true;
      await screenShows(socket, new RegExp(`Reconnected to ${address} as Alice`));
      const screen = (await screenShows(socket, /^Alice>/m)).input;
      const refused = `-- ${address} refused to let you back in: The name Alice is taken; ` +
        "will keep trying (/quit to give up)";
      assert.equal(rowsWith(screen, refused).length, 1, `said once for two refusals:\n${screen}`);
      assert.ok(screen.indexOf(refused) < screen.indexOf("-- Reconnected to"), screen);
      assert.deepEqual(fake.hellos.map((h) => h.name), ["Alice", "Alice", "Alice", "Alice"]);
    });
  } finally {
    await fake.close();
  }
});
