/**
 * `chat join` in 20 rooms across a restart of `chat serve --data` that
 * forgot them all (docs/PROTOCOL.md, "Limits" and "Delivery"): every room
 * comes back with what was said there meanwhile, once, even when the server
 * refuses some of the joins for flooding (they go again after its `wait`);
 * a room it will not let her back into says so in one line. A real server,
 * restarted, a real client in a real terminal (tmux), through a loopback
 * proxy that keeps her out while the server comes back.
 *
 * @module
 */

import assert from "node:assert/strict";
import { JsonClient, withDir } from "./_helpers.ts";
import { chatCommand } from "./_chat_command.ts";
import { FaultProxy } from "./_proxy.ts";
import { ServeProcess } from "./_serve_process.ts";
import { rowsWith, screenShows, shellLine, typeLine, withTerminal } from "./_tmux.ts";

/** Her rooms besides #lobby and #secret; the last is on screen. */
const ROOMS = Array.from({ length: 18 }, (_, i) => `r${i + 1}`);

// Coming back takes the client's back-off (0.5 s doubling up to 10 s) and a start.
const BACK_MS = 25_000;

/** Stops a `chat serve` and waits until it has exited. */
async function stop(server: ServeProcess): Promise<void> {
  try {
    server.child.kill("SIGTERM");
  } catch {
    return; // Exited already.
  }
  await server.finish();
}

Deno.test("after a restart, chat join in 20 rooms gets each back with its missed line once, past flood refusals, and says in one line which it could not (--data)", async () => {
  await withDir(async (dir) => {
    const args = ["--host", "127.0.0.1", "--no-web", "--data", dir];
    const first = new ServeProcess([...args, "--port", "0", "--flood-rate", "0"]);
    const port = await first.port();
    const proxy = FaultProxy.start(port);
    let second: ServeProcess | null = null;
    const bots: JsonClient[] = [];
    const bob = await JsonClient.join(port, "Bob");
    bots.push(bob);
    const socket = `chat-rejoin-${crypto.randomUUID()}`;
    const command = chatCommand(["join", `127.0.0.1:${proxy.port}`, "--name", "Ann"]);
    try {
      // Bob makes the rooms, #secret private: Ann gets in by his invitation only.
      for (const room of ["secret", ...ROOMS]) {
        await bob.send({ type: "join", room });
        await bob.next("current", (e) => e.room === room);
      }
      await bob.send({ type: "private", room: "secret" });
      await bob.next("mode");
      await withTerminal(socket, `${shellLine(command)}; sleep 30`, {
        columns: 250,
        rows: 40,
        env: { NO_COLOR: "1", TERM: "xterm" },
      }, async () => {
        await screenShows(socket, /Welcome, Ann!/);
        await bob.send({ type: "invite", room: "secret", name: "Ann" });
        await screenShows(socket, /invites you to #secret/);
        for (const room of ["secret", ...ROOMS]) {
          await typeLine(socket, `/join #${room}`);
          await screenShows(socket, new RegExp(`^#${room} Ann>`, "m"));
        }

        // Her link goes; what is said meanwhile is kept, and the server restarts.
        proxy.refusing = true;
        (await proxy.connection(0)).cut();
        await screenShows(socket, /Lost the connection/);
        for (const room of ["lobby", ...ROOMS]) {
          await bob.send({ type: "say", text: `missed in ${room}`, room });
          await bob.next("message", (e) => e.room === room && e.from === "Bob");
        }
        await bob.close();
        bots.length = 0;
        await stop(first);
        second = new ServeProcess([...args, "--port", String(port), "--flood-burst", "10"]);
        await second.port();
        // A class behind her address logs in first: hers is its 21st login, so her joins are
        // counted, and past the burst of 10, refused for a moment.
        for (let i = 0; i < 20; i++) bots.push(await JsonClient.join(port, `pupil${i}`));
        proxy.refusing = false;

        await screenShows(socket, /Reconnected to/, BACK_MS);
        // Every room is back, each with its missed line counted once on the status line; the
        // room on screen shows its own, and #secret says why it is not.
        const others = ["lobby", ...ROOMS.slice(0, -1)];
        // (Past the ninth, rooms have no Alt+digit number.)
        const everyRoom = others.map((room) => `(?=[\\s\\S]*(^| )(\\d:)?#${room} 1(?!\\d))`).join(
          "",
        );
        const shown = await screenShows(
          socket,
          new RegExp(`^${everyRoom}(?=[\\s\\S]*Bob: missed in r18)(?=[\\s\\S]*^#r18 Ann>)`, "m"),
          BACK_MS,
        );
        const screen = shown.input;
        assert.equal(rowsWith(screen, "Bob: missed in r18").length, 1, screen);
        assert.deepEqual(rowsWith(screen, "#secret").map((row) => row.replace(/^\S+ /, "")), [
          "-- #secret: could not join it again: #secret is private: an operator of it must /invite you",
        ], screen);
        assert.deepEqual(rowsWith(screen, "Slow down"), [], screen);
        assert.deepEqual(rowsWith(screen, "Error"), [], screen);

        // What she types goes to the room on screen: the server's current room is it again.
        const pupil = bots[0];
        await pupil.send({ type: "join", room: "r18" });
        await pupil.next("current", (e) => e.room === "r18");
        await typeLine(socket, "back in r18");
        const said = await pupil.next("message", (e) => e.from === "Ann");
        assert.deepEqual([said.room, said.text], ["r18", "back in r18"]);
      });
    } finally {
      for (const bot of bots) await bot.close();
      await proxy.close();
      await stop(first);
      if (second) await stop(second);
    }
  });
});
