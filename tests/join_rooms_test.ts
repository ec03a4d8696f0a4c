/**
 * `chat join` in several rooms, in a real terminal (tmux) and in a pipe:
 * the prompt shows the current room once there are others, and lines from
 * the other rooms carry their name.
 *
 * @module
 */

import assert from "node:assert/strict";
import { chatCommand, ROOT } from "./_chat_command.ts";
import { screenShows, shellLine, tmux, typeLine, withTerminal } from "./_tmux.ts";
import type { ChatEvent } from "../lib/core/events.ts";
import { clientFor, JsonClient, startServer, within } from "./_helpers.ts";
import { runJoin } from "./chat_helpers.ts";

Deno.test("chat join in a terminal: /join switches the prompt's room, other rooms' lines are marked, Tab completes rooms", async () => {
  const server = startServer({ flood: null });
  const bob = await JsonClient.join(server, "Bob");
  const socket = `chat-test-${crypto.randomUUID()}`;
  const command = shellLine(
    chatCommand(["join", `127.0.0.1:${server.addr.port}`, "--name", "Alice"]),
  );
  try {
    await withTerminal(
      socket,
      command,
      { columns: 80, rows: 24, cwd: ROOT.pathname, env: { NO_COLOR: "1" } },
      async () => {
        await screenShows(socket, /^Alice>/m);
        await bob.next("join", (e) => e.name === "Alice");
        await typeLine(socket, "/join #team");
        await screenShows(socket, /^#team Alice>/m);
        await bob.send({ type: "say", text: "lunch?" });
        await screenShows(socket, /^\d\d:\d\d \[#lobby\] Bob: lunch\?$/m);
        await bob.send({ type: "join", room: "team" });
        await bob.send({ type: "say", text: "the plan", room: "team" });
        await screenShows(socket, /^\d\d:\d\d Bob: the plan$/m);
        await typeLine(socket, "on it");
        const reply = await bob.next("message", (m) => m.from === "Alice");
        assert.deepEqual([reply.room, reply.text], ["team", "on it"]);
        await typeLine(socket, "/join #lobby");
        await screenShows(socket, /^#lobby Alice>/m);
        // Tab completes a room's name after its #.
        await tmux(socket, "send-keys", "-t", "chat", "-l", "/who #te");
        await tmux(socket, "send-keys", "-t", "chat", "Tab");
        await screenShows(socket, /^#lobby Alice> \/who #team ?$/m);
        await tmux(socket, "send-keys", "-t", "chat", "Enter");
        await screenShows(socket, /Users in #team \(2\): @?Alice, Bob/);
        await typeLine(socket, "/part #team");
        await screenShows(socket, /You left #team/);
        await screenShows(socket, /^Alice>/m);
      },
    );
  } finally {
    await bob.close();
    await server.shutdown();
  }
});

Deno.test("chat join in a pipe says the current room and sends each line there", async () => {
  const server = startServer({ flood: null });
  const bob = await JsonClient.join(server, "Bob");
  try {
    await bob.send({ type: "join", room: "team" });
    await bob.next("current");
    const run = runJoin(
      [`127.0.0.1:${server.addr.port}`, "--name", "bot"],
      "/join #team\nin team\n/join #lobby\nin lobby\n",
    );
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^You are in #team now$/m);
    assert.match(result.stdout, /^\d\d:\d\d bot: in team$/m);
    assert.match(result.stdout, /^You are in #lobby now$/m);
    assert.match(result.stdout, /^\d\d:\d\d bot: in lobby$/m);
    await bob.next("message", (m) => m.text === "in team" && m.room === "team");
  } finally {
    await bob.close();
    await server.shutdown();
  }
});

Deno.test("chat join shows someone who leaves the chat once, however many rooms it shared with them", async () => {
  const server = startServer({ flood: null });
  const bob = await JsonClient.join(server, "Bob");
  const client = clientFor(server.addr.port);
  try {
    await client.connect();
    assert.ok((await client.register("Cat")).ok);
    const updates = client.updates(false);
    const shown: ChatEvent[] = [];
    const next = (type: string) =>
      within(
        (async () => {
          while (true) {
            const update = (await updates.next()).value;
            if (update?.kind !== "event") throw new Error(`no ${type}: ${JSON.stringify(update)}`);
            shown.push(update.event);
            if (update.event.type === type) return update.event;
          }
        })(),
        () => `no ${type} in ${JSON.stringify(shown)}`,
      );
    await bob.send({ type: "join", room: "team" });
    await bob.next("current");
    client.input("/join #team");
    await next("current");
    await bob.send({ type: "quit", reason: "home" });
    await next("leave");
    client.input("/who");
    await next("users");
    assert.deepEqual(shown.filter((e) => e.type === "leave").length, 1);
    assert.deepEqual(client.users, ["Cat"], "Bob is gone from #team's list too");
  } finally {
    client.close();
    await bob.close();
    await server.shutdown();
  }
});
