/**
 * Rooms in `chat join` as a person meets them (README, "Rooms in chat
 * join"): each room its own view, the status line with unread counts and
 * mentions, Alt+digit, Ctrl+N and Alt+arrows to switch, Tab after `#`, a
 * kick, an 80x24 window with many rooms and a Chinese room name. The real
 * client in a real terminal (tmux) against a real server, with bots
 * (JSON clients) talking in the rooms.
 *
 * @module
 */

import assert from "node:assert/strict";
import { textWidth } from "../lib/client/display_width.ts";
import type { ChatServer } from "../lib/serve/chat_server.ts";
import { cleanUp, JsonClient, startServer } from "./_helpers.ts";
import { chatCommand } from "./_chat_command.ts";
import { runJoin } from "./chat_helpers.ts";
import {
  rowsWith,
  screenShows,
  shellLine,
  type TerminalOptions,
  tmux,
  typeLine,
  withTerminal,
} from "./_tmux.ts";

/** Runs `chat join` as Ann in a terminal, with a server and Bob (a bot); then cleans up. */
async function withAnn(
  options: TerminalOptions,
  body: (socket: string, bob: JsonClient, server: ChatServer) => Promise<void>,
): Promise<void> {
  const server = startServer({ flood: null });
  const socket = `chat-rooms-${crypto.randomUUID()}`;
  const command = chatCommand(["join", `127.0.0.1:${server.addr.port}`, "--name", "Ann"]);
  let bob: JsonClient | undefined;
  try {
    await withTerminal(socket, `${shellLine(command)}; sleep 30`, {
      ...options,
      env: { NO_COLOR: "", TERM: "xterm", ...options.env },
    }, async () => {
      await screenShows(socket, /Welcome, Ann!/);
      bob = await JsonClient.join(server, "Bob");
      await body(socket, bob, server);
    });
  } finally {
    await cleanUp(server, ...(bob ? [bob] : []));
  }
}

/** Presses `keys` (tmux key names) in the terminal. */
async function press(socket: string, ...keys: string[]): Promise<void> {
  for (const key of keys) await tmux(socket, "send-keys", "-t", "chat", key);
}

/** The screen as text. */
function screen(socket: string): Promise<string> {
  return tmux(socket, "capture-pane", "-p", "-t", "chat");
}

Deno.test("a ban ends chat join with the server's reason and until when, exit code 1", async () => {
  const server = startServer({ flood: null });
  const socket = `chat-rooms-${crypto.randomUUID()}`;
  const command = chatCommand(["join", `127.0.0.1:${server.addr.port}`, "--name", "Ann"]);
  try {
    await withTerminal(socket, `${shellLine(command)}; echo "[exit $?]"; sleep 30`, {
      columns: 120,
      rows: 30,
      env: { NO_COLOR: "", TERM: "xterm" },
    }, async () => {
      await screenShows(socket, /Welcome, Ann!/);
      await typeLine(socket, "/join #team");
      await screenShows(socket, /^#team Ann>/m);
      server.hub.ban("Ann", 90, "spam");
      const shown = await screenShows(socket, /\[exit \d+\]/);
      assert.match(
        shown.input,
        /chat: you are banned from this server until \d{4}-\d\d-\d\d \d\d:\d\d UTC: spam \(127\.0\.0\.1:\d+\)\n\[exit 1\]/,
      );
    });
  } finally {
    await server.shutdown();
  }
});

/** Has Ann join `room` in the terminal, and Bob too (so he can talk there); waits until on screen. */
async function joinBoth(socket: string, bob: JsonClient, room: string): Promise<void> {
  await typeLine(socket, `/join #${room}`);
  await screenShows(socket, new RegExp(`\\[\\d:#${room}\\]`));
  await bob.send({ type: "join", room });
  await bob.next("current", (e) => e.room === room);
}

Deno.test("each room has its own view: Alt+digit, Ctrl+N and Alt+Left switch, and the server follows", async () => {
  await withAnn({ columns: 100, rows: 30 }, async (socket, bob) => {
    await joinBoth(socket, bob, "team");
    await screenShows(socket, /^#team Ann>/m);
    // The lobby's line waits there, counted; #team's view does not show it.
    await bob.send({ type: "say", text: "lunch at noon", room: "lobby" });
    await screenShows(socket, /1:#lobby 1(?!\d)/);
    await bob.send({ type: "say", text: "the plan is ready", room: "team" });
    await screenShows(socket, /Bob: the plan is ready/);
    assert.ok(!(await screen(socket)).includes("lunch at noon"));

    await press(socket, "M-1");
    await screenShows(socket, /Bob: lunch at noon/);
    let shown = await screenShows(socket, /^#lobby Ann>/m);
    assert.ok(!shown.input.includes("the plan is ready"), shown.input);
    assert.ok(rowsWith(shown.input, "[1:#lobby] 2:#team").length === 1, shown.input);
    // What Ann types now goes to the lobby: the server switched with her.
    await typeLine(socket, "back in the lobby");
    const said = await bob.next("message", (m) => m.from === "Ann");
    assert.equal(said.room, "lobby");

    await press(socket, "C-n");
    shown = await screenShows(socket, /^#team Ann>/m);
    assert.ok(shown.input.includes("Bob: the plan is ready"), shown.input);
    assert.ok(!shown.input.includes("lunch at noon"), shown.input);
    await typeLine(socket, "in the team room");
    assert.equal((await bob.next("message", (m) => m.from === "Ann")).room, "team");

    await press(socket, "M-Left");
    await screenShows(socket, /^#lobby Ann>/m);
    await press(socket, "C-p");
    await screenShows(socket, /^#team Ann>/m);
  });
});

Deno.test("a mention of your name in another room rings, is marked on the status line, and cleared once seen", async () => {
  await withAnn({ columns: 100, rows: 30 }, async (socket, bob) => {
    await joinBoth(socket, bob, "team");
    await press(socket, "M-1");
    await screenShows(socket, /^#lobby Ann>/m);
    await bob.send({ type: "say", text: "first", room: "team" });
    await screenShows(socket, /2:#team 1(?![\d!])/);
    const bell = async () =>
      (await tmux(socket, "display", "-p", "-t", "chat", "#{window_bell_flag}")).trim();
    assert.equal(await bell(), "0");
    await bob.send({ type: "say", text: "Ann: can you look?", room: "team" });
    await screenShows(socket, /\[1:#lobby\] 2:#team 2!/);
    assert.equal(await bell(), "1", "a mention in another room rings the bell");
    await press(socket, "M-2");
    const shown = await screenShows(socket, /1:#lobby \[2:#team\]\s*$/m);
    assert.ok(shown.input.includes("Bob: Ann: can you look?"), shown.input);
  });
});

Deno.test("Tab completes a room name after #, heard of in /rooms or in an invitation", async () => {
  await withAnn({ columns: 100, rows: 30 }, async (socket, bob) => {
    await bob.send({ type: "join", room: "teamwork" });
    await bob.next("current", (e) => e.room === "teamwork");
    // Rooms Ann has heard of: /rooms lists them.
    await typeLine(socket, "/rooms");
    await screenShows(socket, /#teamwork \(1 user\)/);
    await tmux(socket, "send-keys", "-t", "chat", "-l", "/join #teamw");
    await press(socket, "Tab");
    await screenShows(socket, /Ann> \/join #teamwork$/m);
    await press(socket, "Enter");
    await screenShows(socket, /^#teamwork Ann>/m);
    // An invitation shows where Ann is looking, and its room completes too.
    await bob.send({ type: "join", room: "secret" });
    await bob.next("current", (e) => e.room === "secret");
    await bob.send({ type: "private", room: "secret" });
    await bob.send({ type: "invite", room: "secret", name: "Ann" });
    await screenShows(socket, /Bob invites you to #secret: \/join #secret/);
    await tmux(socket, "send-keys", "-t", "chat", "-l", "/join #se");
    await press(socket, "Tab", "Enter");
    await screenShows(socket, /^#secret Ann>/m);
  });
});

Deno.test("put out of a room, its view stays readable, marked as left; a line typed there is kept", async () => {
  await withAnn({ columns: 100, rows: 30 }, async (socket, bob) => {
    await bob.send({ type: "join", room: "proj" });
    await bob.next("current", (e) => e.room === "proj");
    await typeLine(socket, "/join #proj");
    await screenShows(socket, /^#proj Ann>/m);
    await bob.send({ type: "say", text: "welcome to the project", room: "proj" });
    await screenShows(socket, /Bob: welcome to the project/);
    await bob.send({ type: "kick", room: "proj", name: "Ann", reason: "wrong room" });
    let shown = await screenShows(socket, /Bob put you out of #proj: wrong room/);
    shown = await screenShows(socket, /^#proj \(left\) Ann>/m);
    assert.ok(shown.input.includes("Bob: welcome to the project"), shown.input);
    assert.ok(rowsWith(shown.input, "[2:#proj (left)]").length === 1, shown.input);
    await typeLine(socket, "hello?");
    await screenShows(socket, /You are not in #proj any more \(put out by Bob: wrong room\)/);
    await screenShows(socket, /Ann> hello\?$/m);
    await tmux(socket, "send-keys", "-t", "chat", "C-u");
    // Switching away drops the room.
    await press(socket, "M-1");
    shown = await screenShows(socket, /^Ann>$/m);
    assert.ok(!shown.input.includes("#proj (left)"), shown.input);
  });
});

Deno.test("an 80x24 window with many rooms and a Chinese name: the status line fits, the current room and mentions stay", async () => {
  await withAnn({ columns: 80, rows: 24 }, async (socket, bob) => {
    const rooms = [
      "design",
      "小组",
      "a-very-long-room-name-for-tests",
      "ops",
      "sales",
      "support",
      "random",
      "music",
      "books",
      "games",
      "food",
    ];
    for (const room of rooms) {
      await typeLine(socket, `/join #${room}`);
      await screenShows(socket, new RegExp(`^#${room} Ann>`, "m"));
    }
    await bob.send({ type: "join", room: "小组" });
    await bob.next("current", (e) => e.room === "小组");
    await bob.send({ type: "say", text: "Ann: 你好", room: "小组" });
    const shown = await screenShows(socket, /3:#小组 1!/);
    // Past the ninth, rooms have no number (no Alt key reaches them).
    const [status] = rowsWith(shown.input, "[#food]");
    assert.ok(status, shown.input);
    assert.ok(textWidth(status.trimEnd()) <= 79, status);
    assert.match(status, /3:#小组 1!/);
    assert.match(status, /\+\d+$/);
    // The long name is cut with an ellipsis wherever it shows.
    assert.ok(!shown.input.includes("a-very-long-room-name-for-tests]"), shown.input);
    // The Chinese room switches like any other.
    await press(socket, "M-3");
    const there = await screenShows(socket, /^#小组 Ann>/m);
    assert.ok(there.input.includes("Bob: Ann: 你好"), there.input);
    // A narrower window lays the status line out again for its width.
    await tmux(socket, "resize-window", "-t", "chat", "-x", "40");
    const narrow = await screenShows(socket, /\[3:#小组\] .*\+\d+\s*$/m);
    const [row] = rowsWith(narrow.input, "[3:#小组]");
    assert.ok(textWidth(row.trimEnd()) <= 39, row);
  });
});

Deno.test("/part shows the room you land in, with the line saying you left; one room left, no status line", async () => {
  await withAnn({ columns: 100, rows: 30 }, async (socket) => {
    await typeLine(socket, "/join #team");
    await screenShows(socket, /^#team Ann>/m);
    await typeLine(socket, "/part #team done here");
    const shown = await screenShows(socket, /You left #team: done here/);
    assert.match(shown.input, /^Ann>/m);
    assert.ok(!shown.input.includes("[1:#lobby]"), shown.input);
  });
});

Deno.test("after a restart that forgot the rooms, chat join joins them again and the room on screen stays current", async () => {
  let server = startServer({ flood: null });
  const port = server.addr.port;
  const socket = `chat-rooms-${crypto.randomUUID()}`;
  const command = chatCommand(["join", `127.0.0.1:${port}`, "--name", "Ann"]);
  let bob: JsonClient | undefined;
  try {
    await withTerminal(socket, `${shellLine(command)}; sleep 30`, {
      columns: 100,
      rows: 30,
      env: { NO_COLOR: "", TERM: "xterm" },
    }, async () => {
      await screenShows(socket, /Welcome, Ann!/);
      for (const room of ["team", "ops"]) {
        await typeLine(socket, `/join #${room}`);
        await screenShows(socket, new RegExp(`^#${room} Ann>`, "m"));
      }
      await press(socket, "M-2");
      await screenShows(socket, /^#team Ann>/m);
      await server.shutdown("Restarting");
      server = startServer({ flood: null, port });
      // The client's first try comes 1 to 3 s after the shutdown.
      await screenShows(socket, /Reconnected to/, 20_000);
      bob = await JsonClient.join(server, "Bob");
      await bob.send({ type: "join", room: "team" });
      await bob.next("join", (e) => e.room === "team" && e.name === "Bob");
      await bob.send({ type: "say", text: "you are back", room: "team" });
      // The line, the prompt and the status line are drawn in separate writes: all three, then.
      const shown = await screenShows(
        socket,
        /^(?=[\s\S]*Bob: you are back)(?=[\s\S]*^#team Ann>)(?=[\s\S]*1:#lobby \[2:#team\] 3:#ops)/m,
      );
      assert.ok(rowsWith(shown.input, "1:#lobby [2:#team] 3:#ops").length === 1, shown.input);
      await typeLine(socket, "glad to be");
      assert.equal((await bob.next("message", (m) => m.from === "Ann")).room, "team");
      await bob.send({ type: "who", room: "ops" });
      // Bob is not in #ops, but it is public: its list shows Ann in it again on the new server.
      const ops = await bob.next("users", (e) => e.room === "ops");
      assert.deepEqual(ops.names, ["Ann"]);
      await bob.send({ type: "rooms" });
      const rooms = await bob.next("rooms");
      assert.deepEqual(rooms.rooms.map((r) => [r.room, r.count]).sort(), [
        ["lobby", 2],
        ["ops", 1],
        ["team", 2],
      ]);
    });
  } finally {
    await cleanUp(server, ...(bob ? [bob] : []));
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
