/**
 * `chat join` across a planned restart of `chat serve` (SIGTERM, then started
 * again on the same port), in a real terminal (tmux): the person is told the
 * server stopped, sees when the next attempt comes, and is back as themself;
 * a line typed while offline is sent once back; and history already on the
 * screen is not shown again. A pipe still leaves at the shutdown.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ClientUpdate } from "../lib/client/client.ts";
import { ErrorCode } from "../lib/core/events.ts";
import type { ChatServer } from "../lib/serve/chat_server.ts";
import { chatCommand } from "./_chat_command.ts";
import { spawnJoin } from "./chat_helpers.ts";
import { FakeServer, welcome } from "./_fake_server.ts";
import { cleanUp, clientFor, JsonClient, startServer, within } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";
import { rowsWith, screenShows, shellLine, tmux, typeLine, withTerminal } from "./_tmux.ts";

// Coming back takes the client's back-off (1 to 3 s, then 4, 8 s...) plus a
// server's start: longer than the usual wait of WAIT_MS.
const BACK_WAIT_MS = 20_000;

/** Runs `chat join 127.0.0.1:PORT --name Alice` in a terminal; `body` gets the socket. */
function joinInTerminal(
  port: number,
  columns: number,
  body: (socket: string) => Promise<void>,
): Promise<void> {
  const socket = `chat-restart-${crypto.randomUUID()}`;
  const join = chatCommand(["join", `127.0.0.1:${port}`, "--name", "Alice"]);
  return withTerminal(socket, `${shellLine(join)}; echo "[exit $?]"; sleep 60`, {
    columns,
    rows: 40,
    env: { NO_COLOR: "1", CHAT_NAME: "", CHAT_PASSWORD: "" },
  }, () => body(socket));
}

/** Polls the screen until `pattern` shows; resolves to the whole screen. Fails after `ms`. */
async function shows(socket: string, pattern: RegExp, ms = BACK_WAIT_MS): Promise<string> {
  return (await screenShows(socket, pattern, ms)).input;
}

/** Stops `server` with SIGTERM and waits until it has exited. */
async function stop(server: ServeProcess): Promise<void> {
  server.child.kill("SIGTERM");
  const { code, stderr } = await server.finish();
  assert.equal(code, 0, stderr);
}

/** Stops `server` if it still runs (the second one, or a test that failed half-way). */
async function end(server: ServeProcess): Promise<void> {
  try {
    server.child.kill("SIGTERM");
  } catch {
    // Exited already, through `stop`, which read its output.
    return;
  }
  await server.finish();
}

Deno.test("chat join waits out a restart of chat serve with a countdown and rejoins as Alice", async () => {
  const first = new ServeProcess(["--host", "127.0.0.1", "--port", "0"]);
  const port = await first.port();
  const address = `127.0.0.1:${port}`;
  let second = null as ServeProcess | null;
  let bob = null as JsonClient | null;
  try {
    await joinInTerminal(port, 140, async (socket) => {
      await shows(socket, /Welcome, Alice!/);
      await stop(first);
      await shows(socket, /is stopping or restarting; will try to rejoin for 2 minutes/);
      // A wide window has room for the whole countdown and the name.
      await shows(
        socket,
        /^\(server stopped; trying again in \d+ s — Ctrl\+C to give up\) Alice>/m,
      );
      second = new ServeProcess(["--host", "127.0.0.1", "--port", String(port)]);
      await second.port();
      bob = await JsonClient.join(port, "Bob");
      const screen = await shows(socket, new RegExp(`Reconnected to ${address} as Alice`));
      assert.doesNotMatch(screen, /\[exit/, screen);
      // Without --data the new server knows nothing of what was said meanwhile, and says so.
      await shows(socket, /messages in #lobby from while you were away may be missing/);
      await shows(socket, /^Alice>/m);
      await typeLine(socket, "back after the restart");
      const said = await bob.next("message");
      assert.deepEqual([said.from, said.text], ["Alice", "back after the restart"]);
    });
  } finally {
    await bob?.close();
    await end(first);
    if (second) await end(second);
  }
});

Deno.test("chat join in a pipe still exits 0 when chat serve stops with SIGTERM", async () => {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0"]);
  const port = await server.port();
  const join = spawnJoin([`127.0.0.1:${port}`, "--name", "bot"]);
  try {
    await server.waitFor(/ join bot from /);
    await stop(server);
    const { code } = await within(join.status, () => "the piped client did not exit");
    assert.equal(code, 0);
  } finally {
    await join.stdin.close().catch(() => {});
    await join.stdout.cancel().catch(() => {});
    await join.stderr.cancel().catch(() => {});
    try {
      join.kill();
    } catch {
      // Exited already.
    }
    await end(server);
  }
});

Deno.test("a line entered while offline is sent once back, and the next line is a line of its own", async () => {
  const fake = new FakeServer((hello) => [welcome(hello.name)]);
  const port = fake.port;
  let server: ChatServer | null = null;
  let bob = null as JsonClient | null;
  try {
    await joinInTerminal(port, 100, async (socket) => {
      await shows(socket, /Welcome, Alice!/);
      await fake.close();
      await shows(socket, /^\(offline\) Alice>/m);
      await typeLine(socket, "typed while offline");
      const waiting = await shows(socket, /will be sent once reconnected/);
      // The input line is free again: what comes next is a new line.
      assert.match(waiting, /^\(offline\) Alice> *$/m, waiting);
      server = startServer({ port });
      bob = await JsonClient.join(server, "Bob");
      await shows(socket, /Reconnected to .* as Alice/);
      const queued = await bob.next("message");
      assert.deepEqual([queued.from, queued.text], ["Alice", "typed while offline"]);
      await typeLine(socket, "and then this");
      const next = await bob.next("message");
      assert.deepEqual([next.from, next.text], ["Alice", "and then this"]);
    });
  } finally {
    await fake.close().catch(() => {});
    if (server) await cleanUp(server, ...(bob ? [bob] : []));
  }
});

Deno.test("with --history 5, coming back shows only the messages not shown yet", async () => {
  const data = await Deno.makeTempDir();
  const args = ["--host", "127.0.0.1", "--data", data, "--history", "5"];
  const first = new ServeProcess([...args, "--port", "0"]);
  const port = await first.port();
  let second = null as ServeProcess | null;
  let bob = null as JsonClient | null;
  try {
    bob = await JsonClient.join(port, "Bob");
    for (const text of ["old one", "old two"]) {
      await bob.type(text);
      await bob.next("message", (m) => m.text === text);
    }
    await joinInTerminal(port, 80, async (socket) => {
      await shows(socket, /Welcome, Alice!/);
      await shows(socket, /end of history/);
      await bob!.type("live three");
      await shows(socket, /live three/);
      await bob!.close();
      await stop(first);
      // A narrow one for the short form: the prompt keeps at most half the row.
      await shows(socket, /^\(stopped; retry in \d+ s\) Alice>/m);
      second = new ServeProcess([...args, "--port", String(port)]);
      await second.port();
      bob = await JsonClient.join(port, "Bob");
      await bob.type("while away");
      await bob.next("message", (m) => m.text === "while away");
      await shows(socket, /Reconnected to .* as Alice/);
      const screen = await shows(socket, /while away/);
      for (const text of ["old one", "old two", "live three", "while away"]) {
        assert.equal(rowsWith(screen, text).length, 1, `once: ${text}\n${screen}`);
      }
      // What was said while away comes as ordinary lines (a replay), not as a second history.
      assert.equal(rowsWith(screen, "earlier message").length, 1, screen);
    });
  } finally {
    await bob?.close();
    await end(first);
    if (second) await end(second);
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("Ctrl+C while chat join waits for a stopped server gives up at once, with exit code 0", async () => {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0"]);
  const port = await server.port();
  try {
    await joinInTerminal(port, 140, async (socket) => {
      await shows(socket, /Welcome, Alice!/);
      await stop(server);
      await shows(socket, /trying again in \d+ s — Ctrl\+C to give up/);
      await tmux(socket, "send-keys", "-t", "chat", "C-c");
      const screen = await shows(socket, /\[exit \d+\]/);
      assert.match(screen, /\[exit 0\]/, screen);
    });
  } finally {
    await end(server);
  }
});

Deno.test("a client waiting for a stopped server gives up when the wait is over, ending with the server's goodbye", async () => {
  const server = startServer();
  const client = clientFor(server.addr.port, {
    retryInitialMs: 10,
    retryMaxMs: 40,
    restartPauseMs: 10,
    restartWaitMs: 300,
  });
  try {
    await client.connect();
    assert.ok((await client.register("Alice")).ok);
    const updates = client.updates(true);
    await server.shutdown();
    const seen: ClientUpdate[] = [];
    for await (const update of updates) seen.push(update);
    const kinds = [...new Set(seen.map((u) => u.kind))];
    assert.deepEqual(kinds, ["event", "lost", "retrying", "end"]);
    const lost = seen.find((u) => u.kind === "lost");
    assert.ok(lost?.kind === "lost" && lost.until !== undefined, JSON.stringify(lost));
    const last = seen.at(-1)!;
    assert.ok(last.kind === "end" && last.bye?.code === "shutdown", JSON.stringify(last));
  } finally {
    client.close();
  }
});

Deno.test("after coming back to a server that sends no history, /history shows it all again", async () => {
  const data = await Deno.makeTempDir();
  // No history for joiners: the reconnect's welcome comes alone, and the
  // next history is the one Alice asks for.
  const args = ["--host", "127.0.0.1", "--data", data];
  const first = new ServeProcess([...args, "--port", "0"]);
  const port = await first.port();
  let second = null as ServeProcess | null;
  try {
    await joinInTerminal(port, 100, async (socket) => {
      await shows(socket, /Welcome, Alice!/);
      await typeLine(socket, "said before the restart");
      await shows(socket, /Alice: said before the restart/);
      await stop(first);
      await shows(socket, /(trying again|retry) in \d+ s/);
      second = new ServeProcess([...args, "--port", String(port)]);
      await second.port();
      await shows(socket, /Reconnected to .* as Alice/);
      await typeLine(socket, "/history");
      const screen = await shows(socket, /earlier message/);
      assert.equal(rowsWith(screen, "said before the restart").length, 2, screen);
    });
  } finally {
    await end(first);
    if (second) await end(second);
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("after the server's goodbye for a shutdown, the first attempt to come back is a second or more away", async () => {
  const server = startServer();
  const client = clientFor(server.addr.port, { restartWaitMs: 60_000 });
  try {
    await client.connect();
    assert.ok((await client.register("Alice")).ok);
    const updates = client.updates(true);
    await server.shutdown();
    for await (const update of updates) {
      if (update.kind !== "lost") continue;
      // The server is on its way down and starts again in a second or more
      // (docs/PROTOCOL.md: do not reconnect right away); the pause is 1 to 3 s.
      const pause = update.nextAt - Date.now();
      assert.ok(pause > 700, `the first attempt is in ${pause} ms`);
      break;
    }
  } finally {
    client.close();
  }
});

for (
  const [refusal, message] of [
    [ErrorCode.NameTaken, "The name Alice is taken"],
    [ErrorCode.NameInvalid, "The name Alice is reserved"],
  ] as const
) {
  Deno.test(`a server that comes back but refuses the name (${refusal}) ends the wait with its reason and exit code 4`, async () => {
    // It says goodbye for a shutdown right after the welcome; once "restarted",
    // it knows no resume token and refuses the name.
    const fake = new FakeServer((hello, index) =>
      index === 0
        ? [welcome(hello.name), { type: "bye", code: "shutdown", reason: "Server shutting down" }]
        : [{ type: "error", code: refusal, message }]
    );
    try {
      await joinInTerminal(fake.port, 140, async (socket) => {
        await shows(socket, /is stopping or restarting; will try to rejoin/);
        const screen = await shows(socket, /\[exit \d+\]/);
        assert.match(screen, /\[exit 4\]/, screen);
        const said = `chat: 127.0.0.1:${fake.port} is back but refused to let you in: ` +
          `${message[0].toLowerCase()}${message.slice(1)}; join again with another name`;
        assert.ok(screen.replaceAll("\n", "").includes(said), screen);
        assert.doesNotMatch(screen, /did not come back/, screen);
      });
    } finally {
      await fake.close();
    }
  });
}

Deno.test("lines typed while the server restarts go out at the pace its --flood-burst allows, none refused", async () => {
  const first = new ServeProcess(["--host", "127.0.0.1", "--port", "0"]);
  const port = await first.port();
  let second = null as ServeProcess | null;
  const lines = ["one", "two", "three", "four", "five", "six"].map((n) => `typed offline ${n}`);
  try {
    await joinInTerminal(port, 120, async (socket) => {
      await shows(socket, /Welcome, Alice!/);
      await stop(first);
      await shows(socket, /(trying again|retry) in \d+ s/);
      for (const line of lines) {
        await typeLine(socket, line);
        await shows(socket, new RegExp(`"${line}" will be sent once reconnected`));
      }
      // Two at once, then one every 250 ms: sent in one go, four would be refused.
      const limits = ["--flood-burst", "2", "--flood-rate", "4"];
      second = new ServeProcess(["--host", "127.0.0.1", "--port", String(port), ...limits]);
      await second.port();
      const screen = await shows(socket, /Alice: typed offline six/);
      const said = screen.split("\n").filter((row) => / Alice: typed offline /.test(row));
      assert.deepEqual(said.map((row) => row.replace(/^.* Alice: /, "").trimEnd()), lines, screen);
      assert.doesNotMatch(screen, /Slow down|not sent/, screen);
    });
  } finally {
    await end(first);
    if (second) await end(second);
  }
});

Deno.test("a line typed offline that the server still refuses for flooding when sent again is named as not sent", async () => {
  const bye = { type: "bye", code: "shutdown", reason: "Server shutting down" } as const;
  // After its goodbye, the server says it is still going down until the line is typed.
  let back = false;
  const fake = new FakeServer((hello, index) => {
    if (index === 0) return [welcome(hello.name), bye];
    return back ? [welcome(hello.name)] : [bye];
  });
  const slowDown = "Slow down: at most 1 message per second; that one was not sent";
  fake.onInput = () => [{ type: "error", code: ErrorCode.Flood, message: slowDown, wait: 50 }];
  try {
    await joinInTerminal(fake.port, 140, async (socket) => {
      await shows(socket, /is stopping or restarting; will try to rejoin/);
      await typeLine(socket, "typed offline");
      await shows(socket, /"typed offline" will be sent once reconnected/);
      back = true;
      await shows(socket, /Reconnected to .* as Alice/);
      await shows(socket, /"typed offline" was not sent: slow down: at most 1 message per second/);
      // Sent twice: once, and once more after the wait the server gave.
      const sent = fake.frames.filter((f) => f.type === "input").map((f) => f.text);
      assert.deepEqual(sent, ["typed offline", "typed offline"]);
    });
  } finally {
    await fake.close();
  }
});
