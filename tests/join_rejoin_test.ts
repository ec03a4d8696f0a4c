/**
 * `chat join` across a restart of `chat serve` that forgot her rooms
 * (docs/PROTOCOL.md, "Limits", "Rooms" and "Delivery"): every room comes
 * back with what was said there meanwhile, once, even when the server
 * refuses some of the joins for a moment (they go again after its `wait`);
 * a room it will not let her back into says so in one line, and is not
 * asked for again. What she types meanwhile goes to the room it was typed
 * in, at once unless that room is not back yet; her own room switches and
 * `/part` win over the retries. A real server, restarted, a real client in
 * a real terminal (tmux), through a loopback proxy that keeps her out while
 * the server comes back.
 *
 * @module
 */

import assert from "node:assert/strict";
import { JsonClient, withDir } from "./_helpers.ts";
import { chatCommand } from "./_chat_command.ts";
import { FaultProxy } from "./_proxy.ts";
import { ServeProcess } from "./_serve_process.ts";
import { rowsWith, screenShows, shellLine, tmux, typeLine, withTerminal } from "./_tmux.ts";

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

/** A restart Ann lives through in `chat join`, and what the test does at each step. */
interface Restart {
  /** Rooms Bob makes and Ann joins, in order (the last stays on screen). */
  rooms: string[];
  /** Whether the server keeps its rooms and messages (`--data`). */
  data: boolean;
  /** Flags of the restarted server. */
  second: string[];
  /** Once Ann is in and Bob made the rooms, before she joins them. */
  setUp?: (bob: JsonClient, socket: string) => Promise<void>;
  /** While her link is down, before the server stops. */
  away?: (bob: JsonClient, socket: string) => Promise<void>;
  /** The restarted server is up at `port`, before she can get back; `bots` are closed at the end. */
  restarted?: (port: number, bots: JsonClient[]) => Promise<void>;
  /** She is back (the screen says so). */
  back: (socket: string, bots: JsonClient[]) => Promise<void>;
}

/** Runs `restart`: Ann in its rooms, her link cut, the server restarted, and her back. */
async function acrossRestart(restart: Restart): Promise<void> {
  await withDir(async (dir) => {
    const args = ["--host", "127.0.0.1", "--no-web", ...(restart.data ? ["--data", dir] : [])];
    const first = new ServeProcess([...args, "--port", "0", "--flood-rate", "0"]);
    const port = await first.port();
    const proxy = FaultProxy.start(port);
    let second: ServeProcess | null = null;
    const bots: JsonClient[] = [];
    const bob = await JsonClient.join(port, "Bob");
    const socket = `chat-rejoin-${crypto.randomUUID()}`;
    const command = chatCommand(["join", `127.0.0.1:${proxy.port}`, "--name", "Ann"]);
    try {
      for (const room of restart.rooms) {
        await bob.send({ type: "join", room });
        await bob.next("current", (e) => e.room === room);
      }
      await withTerminal(socket, `${shellLine(command)}; sleep 30`, {
        columns: 250,
        rows: 40,
        env: { NO_COLOR: "1", TERM: "xterm" },
      }, async () => {
        await screenShows(socket, /Welcome, Ann!/);
        await restart.setUp?.(bob, socket);
        for (const room of restart.rooms) {
          await typeLine(socket, `/join #${room}`);
          await screenShows(socket, new RegExp(`^#${room} Ann>`, "m"));
        }
        proxy.refusing = true;
        (await proxy.connection(0)).cut();
        await screenShows(socket, /Lost the connection/);
        await restart.away?.(bob, socket);
        await bob.close();
        await stop(first);
        second = new ServeProcess([...args, "--port", String(port), ...restart.second]);
        await second.port();
        await restart.restarted?.(port, bots);
        proxy.refusing = false;
        await screenShows(socket, /Reconnected to/, BACK_MS);
        try {
          await restart.back(socket, bots);
        } catch (error) {
          console.log(await tmux(socket, "capture-pane", "-p", "-t", "chat"));
          throw error;
        }
      });
    } finally {
      await bob.close();
      for (const bot of bots) await bot.close();
      await proxy.close();
      await stop(first);
      if (second) await stop(second);
    }
  });
}

/**
 * A class behind her address logs in first: hers is its 21st login, so her joins are counted,
 * and past the restarted server's `--flood-burst`, refused for a moment.
 */
async function classFirst(port: number, bots: JsonClient[]): Promise<void> {
  for (let i = 0; i < 20; i++) bots.push(await JsonClient.join(port, `pupil${i}`));
}

/**
 * Others behind her address made 20 rooms first: hers, made anew, wait a minute each. The
 * last of `bots` is a watcher in #lobby.
 */
async function roomsMadeFirst(port: number, bots: JsonClient[]): Promise<void> {
  for (const maker of [0, 1]) {
    const bot = await JsonClient.join(port, `maker${maker}`);
    bots.push(bot);
    for (let i = 0; i < 10; i++) {
      const room = `x${maker}_${i}`;
      await bot.send({ type: "join", room });
      await bot.next("current", (e) => e.room === room);
    }
  }
  bots.push(await JsonClient.join(port, "watcher"));
}

/** A restart without `--data` whose rooms, made anew, are refused for a minute each (roomsMadeFirst). */
const REFUSED_FOR_A_MINUTE = {
  rooms: ["r1", "r2"],
  data: false,
  second: ["--ping-interval", "600"],
  restarted: roomsMadeFirst,
};

/** The screen's rows that no chat user should see after a restart: raw refusals. */
function rawRefusals(screen: string): string[] {
  return [
    ...rowsWith(screen, "Slow down"),
    ...rowsWith(screen, "Error"),
    ...rowsWith(
      screen,
      "was not sent",
    ),
  ];
}

Deno.test("after a restart, chat join in 20 rooms gets each back with its missed line once, past flood refusals, and says in one line which it could not, the room on screen too (--data)", async () => {
  // Her rooms besides #lobby; #secret, private, is on screen: she is let in by invitation only.
  const rooms = [...Array.from({ length: 18 }, (_, i) => `r${i + 1}`), "secret"];
  await acrossRestart({
    rooms,
    data: true,
    second: ["--flood-burst", "10"],
    setUp: async (bob, socket) => {
      await bob.send({ type: "private", room: "secret" });
      await bob.next("mode");
      await bob.send({ type: "invite", room: "secret", name: "Ann" });
      await screenShows(socket, /invites you to #secret/);
    },
    away: async (bob) => {
      for (const room of ["lobby", ...rooms]) {
        await bob.send({ type: "say", text: `missed in ${room}`, room });
        await bob.next("message", (e) => e.room === room && e.from === "Bob");
      }
    },
    restarted: classFirst,
    back: async (socket, bots) => {
      // Every room is back, each with its missed line counted once on the status line; #secret
      // stays on screen, marked as left, and one line says why. (Past the ninth, rooms have no
      // Alt+digit number.)
      const others = ["lobby", ...rooms.slice(0, -1)];
      const everyRoom = others.map((room) => `(?=[\\s\\S]*(^| )(\\d:)?#${room} 1(?!\\d))`).join(
        "",
      );
      await screenShows(
        socket,
        new RegExp(
          `^${everyRoom}(?=[\\s\\S]*could not join it again)(?=[\\s\\S]*^#secret \\(left\\) Ann>)`,
          "m",
        ),
        BACK_MS,
      );
      // Answered after whatever her client sent before: #secret was not asked for again.
      await typeLine(socket, "/whois Ann");
      const screen = (await screenShows(socket, /^ +in #lobby .*$/m)).input;
      const [inRooms] = rowsWith(screen, " in #lobby");
      const named = inRooms.trim().split(" ").slice(1).map((room) => room.replace(/^@/, ""));
      assert.deepEqual(named.sort(), others.map((room) => `#${room}`).sort());
      assert.deepEqual(rowsWith(screen, "#secret:").map((row) => row.replace(/^\S+ /, "")), [
        "-- #secret: could not join it again: #secret is private: an operator of it must /invite you",
      ], screen);
      assert.deepEqual(rawRefusals(screen), [], screen);

      // Ctrl+P shows the room before, #r18, with its missed line once; what she types goes there.
      const pupil = bots[0];
      await pupil.send({ type: "join", room: "r18" });
      await pupil.next("current", (e) => e.room === "r18");
      await tmux(socket, "send-keys", "-t", "chat", "C-p");
      const inR18 = await screenShows(socket, /Bob: missed in r18[\s\S]*^#r18 Ann>/m);
      assert.equal(rowsWith(inR18.input, "Bob: missed in r18").length, 1, inR18.input);
      await typeLine(socket, "back in r18");
      const said = await pupil.next("message", (e) => e.from === "Ann");
      assert.deepEqual([said.room, said.text], ["r18", "back in r18"]);
    },
  });
});

Deno.test("after a restart with joins refused for a moment, a line typed while away goes to its room once it is back, one typed in another room goes there, and her switch stays (--data)", async () => {
  const rooms = Array.from({ length: 8 }, (_, i) => `r${i + 1}`);
  await acrossRestart({
    rooms,
    data: true,
    // Five joins at once, then one each 200 ms: #r6 to #r8 go again after a wait.
    second: ["--flood-burst", "5"],
    away: async (_bob, socket) => {
      await typeLine(socket, "typed in r8 while away");
      await screenShows(socket, /will be sent once reconnected/);
    },
    restarted: async (port, bots) => {
      await classFirst(port, bots);
      await bots[0].send({ type: "join", room: "r8" });
      await bots[0].next("current", (e) => e.room === "r8");
    },
    back: async (socket, bots) => {
      // She switches to #lobby at once (Alt+1) and speaks there while #r8 is not back yet.
      await tmux(socket, "send-keys", "-t", "chat", "M-1");
      await screenShows(socket, /^#lobby Ann>/m);
      await typeLine(socket, "typed in lobby");
      const pupil = bots[0];
      const away = await pupil.waitFor((e) => e.type === "message" && e.text.includes("away"));
      const here = await pupil.waitFor((e) => e.type === "message" && e.text.includes("lobby"));
      assert.deepEqual(
        [away, here].map((e) => e.type === "message" && [e.room, e.from, e.text]),
        [["r8", "Ann", "typed in r8 while away"], ["lobby", "Ann", "typed in lobby"]],
      );
      // Every room is hers again on the server, and her screen stays where she put it.
      await pupil.send({ type: "whois", name: "Ann" });
      const whois = await pupil.next("whois");
      assert.deepEqual(
        ["lobby", ...rooms].filter((room) =>
          !whois.rooms?.some((named) => named.replace(/^@/, "") === room)
        ),
        [],
        JSON.stringify(whois),
      );
      const screen = (await screenShows(socket, /^#lobby Ann>/m)).input;
      assert.deepEqual(rawRefusals(screen), [], screen);
      const messages = pupil.events().filter((e) => e.type === "message" && e.from === "Ann");
      assert.equal(messages.length, 2, JSON.stringify(messages));
    },
  });
});

Deno.test("after a restart whose rooms are refused for a minute (too_many_rooms), a line typed in #lobby goes at once, and /part of a room not back yet is done", async () => {
  await acrossRestart({
    ...REFUSED_FOR_A_MINUTE,
    back: async (socket, bots) => {
      const watcher = bots.at(-1)!;
      // Typed in #r2, on screen and not back: it waits for #r2, and says so.
      await typeLine(socket, "typed in r2");
      await screenShows(socket, /-- #r2 is not back yet: "typed in r2" goes once it is/);
      await tmux(socket, "send-keys", "-t", "chat", "M-1");
      await screenShows(socket, /^#lobby Ann>/m);
      await typeLine(socket, "typed in lobby");
      const said = await watcher.waitFor((e) => e.type === "message" && e.from === "Ann");
      assert.deepEqual(said.type === "message" && [said.room, said.text], [
        "lobby",
        "typed in lobby",
      ]);
      await typeLine(socket, "/part #r1");
      const screen = (await screenShows(socket, /-- You left #r1[\s\S]*^#lobby Ann>/m)).input;
      assert.deepEqual(rowsWith(screen, "#r1"), rowsWith(screen, "You left #r1"), screen);
      assert.deepEqual(rawRefusals(screen), [], screen);
    },
  });
});

Deno.test("after a restart with joins refused for a moment, /join of a room not back yet shows it, and the line typed there reaches it once it is back (--data)", async () => {
  const rooms = Array.from({ length: 8 }, (_, i) => `r${i + 1}`);
  await acrossRestart({
    rooms,
    data: true,
    second: ["--flood-burst", "5", "--flood-rate", "0.2", "--ping-interval", "600"],
    restarted: async (port, bots) => {
      await classFirst(port, bots);
      await bots[0].send({ type: "join", room: "r8" });
      await bots[0].next("current", (e) => e.room === "r8");
    },
    back: async (socket, bots) => {
      await typeLine(socket, "typed in r8");
      await screenShows(socket, /-- #r8 is not back yet: "typed in r8" goes once it is/);
      await typeLine(socket, "/join #r8");
      const said = await bots[0].waitFor((e) => e.type === "message" && e.from === "Ann", BACK_MS);
      assert.deepEqual(said.type === "message" && [said.room, said.text], ["r8", "typed in r8"]);
      const screen = await tmux(socket, "capture-pane", "-p", "-t", "chat");
      assert.deepEqual(rowsWith(screen, "You are not in #r8"), [], screen);
    },
  });
});

Deno.test("after a restart whose rooms are refused for a minute, /part of a room not back yet shows the line typed there as not sent, whole", async () => {
  await acrossRestart({
    ...REFUSED_FOR_A_MINUTE,
    back: async (socket) => {
      await typeLine(socket, "typed in r2, 小明");
      await screenShows(socket, /-- #r2 is not back yet: "typed in r2, 小明" goes once it is/);
      await typeLine(socket, "/part #r2");
      const screen = (await screenShows(
        socket,
        /-- You left #r2\n.*"typed in r2, 小明" was not sent: you are not in #r2/,
      )).input;
      assert.deepEqual(rowsWith(screen, "Error"), [], screen);
    },
  });
});
