import assert from "node:assert/strict";
import { screenShows, shellLine, startTerminal, stopTerminal, tmux } from "./_tmux.ts";
import { cleanUp, JsonClient, startServer } from "./_helpers.ts";
import { operatorLine } from "../lib/serve/serve.ts";
import type { ChatServer } from "../lib/serve/chat_server.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("the operator announces, lists, kicks and bans from the server's console", async () => {
  const socket = `chat-test-${crypto.randomUUID()}`;
  const command = [Deno.execPath(), "run", "--allow-net", "--allow-env", "--allow-sys", MAIN]
    .concat(["serve", "--host", "127.0.0.1", "--port", "0"]);
  await startTerminal(socket, shellLine(command), { columns: 120 });
  let alice: JsonClient | undefined;
  let bob: JsonClient | undefined;
  let eve: JsonClient | undefined;
  try {
    // Keep the pane readable after the server exits.
    await tmux(socket, "set-option", "-t", "chat", "remain-on-exit", "on");
    const port = Number((await screenShows(socket, /listening on 127\.0\.0\.1:(\d+)/))[1]);
    await screenShows(socket, /Type a line to announce it to everyone; \/help lists commands/);
    const server = { addr: { port } } as ChatServer;
    alice = await JsonClient.join(server, "Alice");
    bob = await JsonClient.join(server, "Bob");
    await tmux(socket, "send-keys", "-t", "chat", "Class ends in 5 minutes", "Enter");
    assert.equal((await alice.next("notice")).text, "Class ends in 5 minutes");
    await screenShows(socket, /announce: Class ends in 5 minutes/);
    await tmux(socket, "send-keys", "-t", "chat", "/who", "Enter");
    await screenShows(socket, /^2 users: Alice, Bob$/m);
    await tmux(socket, "send-keys", "-t", "chat", "/kick bob spamming", "Enter");
    assert.deepEqual(await bob.next("bye"), {
      type: "bye",
      code: "kicked",
      reason: "Disconnected by the operator: spamming",
    });
    assert.equal((await alice.next("leave")).reason, "kicked: spamming");
    await tmux(socket, "send-keys", "-t", "chat", "/kick Nobody", "Enter");
    await screenShows(socket, /No user named Nobody is here/);
    await tmux(socket, "send-keys", "-t", "chat", "/kick", "Enter");
    await screenShows(socket, /Usage: \/kick NAME \[REASON\]/);
    // Rooms and bans, through the same console.
    eve = await JsonClient.join(server, "Eve");
    await eve.send({ type: "join", room: "team" });
    await eve.next("current");
    await tmux(socket, "send-keys", "-t", "chat", "-l", "#team Time is up");
    await tmux(socket, "send-keys", "-t", "chat", "Enter");
    assert.deepEqual((await eve.next("notice")).room, "team");
    await tmux(socket, "send-keys", "-t", "chat", "-l", "/rooms");
    await tmux(socket, "send-keys", "-t", "chat", "Enter");
    await screenShows(socket, /^ {2}#team \(1 user\)$/m);
    await tmux(socket, "send-keys", "-t", "chat", "-l", "/ban eve 5 spam");
    await tmux(socket, "send-keys", "-t", "chat", "Enter");
    const banned = await eve.next("bye");
    assert.equal(banned.code, "banned");
    assert.match(banned.reason, /^You are banned from this server until .* UTC: spam$/);
    await screenShows(socket, /^Banned name eve until .* UTC: spam$/m);
    await tmux(socket, "send-keys", "-t", "chat", "C-c");
    assert.equal((await alice.next("bye")).code, "shutdown");
    await screenShows(socket, /\] stopped/);
  } finally {
    await alice?.close();
    await bob?.close();
    await eve?.close();
    await stopTerminal(socket);
  }
});

Deno.test("the operator's /who lists users in the order they joined, as users' /who does, after a rename", async () => {
  const server = startServer();
  const clients: JsonClient[] = [];
  try {
    for (const name of ["Alice", "Bob", "小明"]) clients.push(await JsonClient.join(server, name));
    const [alice, bob] = clients;
    await bob.type("/nick Robert");
    await alice.next("rename", (e) => e.to === "Robert");
    await alice.send({ type: "who" });
    const users = await alice.next("users");
    assert.deepEqual(users.names, ["Alice", "Robert", "小明"]);
    const said: string[] = [];
    operatorLine(server, "/who", (line) => said.push(line));
    assert.deepEqual(said, [`3 users: ${users.names.join(", ")}`]);
  } finally {
    await cleanUp(server, ...clients);
  }
});

Deno.test("a console line with arrow keys in it is not run, and the operator is told why", async () => {
  const socket = `chat-test-${crypto.randomUUID()}`;
  const command = [Deno.execPath(), "run", "--allow-net", "--allow-env", "--allow-sys", MAIN]
    .concat(["serve", "--host", "127.0.0.1", "--port", "0", "--no-web"]);
  await startTerminal(socket, shellLine(command), { columns: 120 });
  let alice: JsonClient | undefined;
  try {
    const port = Number((await screenShows(socket, /listening on 127\.0\.0\.1:(\d+)/))[1]);
    await screenShows(socket, /Type a line to announce it to everyone; \/help lists commands/);
    alice = await JsonClient.join({ addr: { port } } as ChatServer, "Alice");
    // The terminal's own line editing has no cursor: Left arrives as an escape
    // sequence, and the line would be announced as "下课了，", not "下课，了".
    await tmux(socket, "send-keys", "-t", "chat", "-l", "下课了");
    await tmux(socket, "send-keys", "-t", "chat", "Left");
    await tmux(socket, "send-keys", "-t", "chat", "-l", "，");
    await tmux(socket, "send-keys", "-t", "chat", "Enter");
    const told = /^Arrow keys do not edit in this console \(Backspace does\): .*type it again$/m;
    await screenShows(socket, told);
    // "/who" with two Lefts echoed "Unknown console command /w".
    await tmux(socket, "send-keys", "-t", "chat", "-l", "/who");
    await tmux(socket, "send-keys", "-t", "chat", "Left", "Left", "Enter");
    // Told again before the next line is typed: the terminal echoes what is typed at once.
    await screenShows(socket, new RegExp(`${told.source}[\\s\\S]*${told.source}`, "m"));
    await tmux(socket, "send-keys", "-t", "chat", "-l", "Class ends at 3");
    await tmux(socket, "send-keys", "-t", "chat", "Enter");
    // The first announcement Alice gets is the line typed without arrows.
    assert.equal((await alice.next("notice")).text, "Class ends at 3");
    const screen = await screenShows(socket, /announce: Class ends at 3/);
    assert.doesNotMatch(screen.input, /Unknown console command/);
    assert.equal(screen.input.match(new RegExp(told.source, "gm"))?.length, 2, screen.input);
  } finally {
    await alice?.close();
    await stopTerminal(socket);
  }
});
