/**
 * The three losses of issue 15, each made to happen for real: `chat serve`
 * and `chat join` as separate processes, with a fault proxy (_proxy.ts)
 * between Alice's `chat join` and the server that freezes her connection
 * (what a laptop that slept, a pulled cable or a frozen server looks like from
 * the other side), cuts it, or turns her attempts to come back away for a
 * while. Bob, a bot on the server's port, talks to her meanwhile.
 *
 * Each test asserts on what Alice sees (her terminal, or a piped `chat join`'s
 * plain lines) and what Bob gets: every message once, in order, none lost.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ChatEvent, WelcomeEvent } from "../lib/core/events.ts";
import { chatCommand, runChat } from "./_chat_command.ts";
import { JsonClient, withDir } from "./_helpers.ts";
import { FaultProxy, type ProxiedConnection } from "./_proxy.ts";
import { ServeProcess } from "./_serve_process.ts";
import { rowsWith, screenShows, shellLine, tmux, typeLine, withTerminal } from "./_tmux.ts";
import { runJoin, spawnJoin } from "./chat_helpers.ts";

const PASSWORD = "a long secret";

/** What a fault test works with: the server, its port, the proxy to it, Bob on the server's port. */
interface Rig {
  server: ServeProcess;
  port: number;
  proxy: FaultProxy;
  bob: JsonClient;
}

/** Runs `chat serve ARGS` on a free loopback port with a proxy to it and Bob in; then stops all. */
async function withRig(args: string[], body: (rig: Rig) => Promise<void>): Promise<void> {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0", "--no-web", ...args]);
  let proxy: FaultProxy | null = null;
  let bob: JsonClient | null = null;
  try {
    const port = await server.port();
    proxy = FaultProxy.start(port);
    bob = await JsonClient.join(port, "Bob");
    await body({ server, port, proxy, bob });
  } finally {
    await proxy?.close();
    await bob?.close();
    // A test that failed while the server was stopped must not leave it so.
    server.child.kill("SIGCONT");
    server.child.kill("SIGTERM");
    await server.finish();
  }
}

/** Runs `chat join 127.0.0.1:PORT --name Alice` in a real terminal; `body` gets its socket. */
function aliceInTerminal(
  port: number,
  env: Record<string, string>,
  body: (socket: string) => Promise<void>,
): Promise<void> {
  const socket = `chat-faults-${crypto.randomUUID()}`;
  const join = chatCommand(["join", `127.0.0.1:${port}`, "--name", "Alice"]);
  return withTerminal(socket, `${shellLine(join)}; sleep 30`, {
    columns: 160,
    rows: 40,
    env: { NO_COLOR: "1", CHAT_PASSWORD: "", ...env },
  }, () => body(socket));
}

/** Waits until Alice's connection is in: Bob sees her join, through the proxy's first connection. */
async function aliceIn(rig: Rig): Promise<ProxiedConnection> {
  await rig.bob.waitFor((e) => e.type === "join" && e.name === "Alice");
  return await rig.proxy.connection(0);
}

/** Bob says each line in the lobby and waits for his echo of each. */
async function bobSays(bob: JsonClient, ...lines: string[]): Promise<void> {
  for (const text of lines) {
    await bob.send({ type: "say", text });
    await bob.next("message", (e) => e.text === text);
  }
}

/** The texts of the room messages from `name` that `client` got, in order. */
function textsFrom(client: JsonClient, name: string): string[] {
  return client.events().flatMap((e: ChatEvent) =>
    e.type === "message" && e.from === name ? [e.text] : []
  );
}

/** Alice's screen once `lines` all show; each must show exactly once, in this order. */
async function showsOnceInOrder(socket: string, lines: string[]): Promise<string> {
  const last = lines.at(-1)!;
  const screen = (await screenShows(socket, new RegExp(escape(last)))).input;
  let at = -1;
  for (const line of lines) {
    assert.equal(rowsWith(screen, line).length, 1, `once: ${line}\n${screen}`);
    const here = screen.indexOf(line);
    assert.ok(here > at, `in order: ${lines.join(", ")}\n${screen}`);
    at = here;
  }
  return screen;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Adds the account Alice, password PASSWORD, to the data directory `dir`. */
async function addAlice(dir: string): Promise<void> {
  const added = await runChat(["user", "add", "Alice", "--data", dir], {
    env: { CHAT_PASSWORD: PASSWORD },
  });
  assert.equal(added.code, 0, added.stderr);
}

Deno.test("a private message to an account holder whose connection died silently is shown at the next login", async () => {
  await withDir(async (dir) => {
    await addAlice(dir);
    await withRig(["--data", dir, "--auth", "names"], async (rig) => {
      const alice = spawnJoin([`127.0.0.1:${rig.proxy.port}`, "--name", "Alice"], {
        CHAT_PASSWORD: PASSWORD,
      });
      try {
        const link = await aliceIn(rig);
        link.freeze();
        const secret = "the key is under the mat, 小明";
        await rig.bob.send({ type: "msg", to: "Alice", text: secret });
        await rig.bob.next("private", (e) => e.text === secret);
        // The server has written it to her socket: on main, that counted as delivered.
        await link.holding("client", secret.length);
        link.cut();
        await rig.bob.next("leave", (e) => e.name === "Alice");
        const lost = await alice.output();
        assert.equal(lost.code, 1, "the first chat join lost its connection");
        // She logs in again, on another machine, say: a new chat join with the password.
        const again = await runJoin([`127.0.0.1:${rig.port}`, "--name", "Alice"], "", {
          CHAT_PASSWORD: PASSWORD,
        });
        assert.equal(again.code, 0, again.stderr);
        assert.equal(rowsWith(again.stdout, secret).length, 1, again.stdout);
        assert.match(rowsWith(again.stdout, secret)[0], /\(private\) Bob: /);
      } finally {
        try {
          alice.kill();
        } catch {
          // It has exited, as it should.
        }
        await alice.status;
        await alice.stdin.close().catch(() => {});
      }
    });
  });
});

Deno.test("a private message to an account holder whose connection died silently is shown once chat join resumes", async () => {
  await withDir(async (dir) => {
    await addAlice(dir);
    await withRig(["--data", dir, "--auth", "names"], async (rig) => {
      await aliceInTerminal(rig.proxy.port, { CHAT_PASSWORD: PASSWORD }, async (socket) => {
        const link = await aliceIn(rig);
        link.freeze();
        const secret = "meet at noon, 小明";
        await rig.bob.send({ type: "msg", to: "Alice", text: secret });
        await rig.bob.next("private", (e) => e.text === secret);
        await link.holding("client", secret.length);
        // Her side notices (a reset); the server's does not, and still holds her name.
        link.cut("client");
        await screenShows(socket, /Reconnected to .* as Alice/, 15_000);
        await showsOnceInOrder(socket, [`(private) Bob: ${secret}`]);
        assert.equal(
          rig.bob.events().some((e) => e.type === "leave" && e.name === "Alice"),
          false,
          "a resume: the room saw her neither go nor come back",
        );
      });
    });
  });
});

/**
 * Alice's first login through the proxy, with a client that acknowledges: it
 * reads the `welcome` line, and dies (cut) before it reads anything after it.
 */
async function firstWelcomeThenDie(rig: Rig): Promise<WelcomeEvent> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: rig.proxy.port });
  try {
    const hello = { type: "hello", version: 1, name: "Alice", password: PASSWORD, acks: true };
    await conn.write(new TextEncoder().encode(JSON.stringify(hello) + "\n"));
    const bytes: number[] = [];
    const buffer = new Uint8Array(64 * 1024);
    while (!bytes.includes(10)) {
      const n = await conn.read(buffer);
      assert.ok(n !== null, "the server answers the hello");
      bytes.push(...buffer.subarray(0, n));
    }
    const welcome = JSON.parse(
      new TextDecoder().decode(new Uint8Array(bytes.slice(0, bytes.indexOf(10)))),
    );
    assert.equal(welcome.type, "welcome");
    const link = await rig.proxy.connection(0);
    link.freeze();
    link.cut();
    return welcome;
  } finally {
    conn.close();
  }
}

Deno.test("kept mail handed to a first login that died before showing it comes in the replay of the next login with since", async () => {
  await withDir(async (dir) => {
    await addAlice(dir);
    await withRig(["--data", dir, "--auth", "names"], async (rig) => {
      const secret = "the spare key is with Carol, 小明";
      await rig.bob.send({ type: "msg", to: "Alice", text: secret });
      await rig.bob.next("private", (e) => e.text === secret && e.offline === true);
      // On main, the mail counted as delivered once written to this connection.
      const first = await firstWelcomeThenDie(rig);
      await rig.bob.next("leave", (e) => e.name === "Alice");
      const login = { type: "hello", version: 1, name: "Alice", password: PASSWORD, acks: true };
      const again = await JsonClient.connect(rig.port);
      try {
        // A client's `since` starts at the `last` of its first welcome: above the mail's id.
        await again.send({ ...login, since: first.last, stream: first.stream });
        const welcome = await again.next("welcome");
        const replay = await again.next("replay");
        assert.deepEqual(replay.messages.map((m) => m.text), [secret]);
        assert.equal(replay.more, undefined);
        assert.equal(replay.privateGap, undefined);
        assert.equal(welcome.last, first.last);
        // Shown now: acknowledged as a client does (the highest id shown is `since`), and not
        // shown at the next login again.
        await again.send({ type: "ack", id: first.last });
        await again.send({ type: "quit" });
        await rig.bob.next("leave", (e) => e.name === "Alice");
      } finally {
        await again.close();
      }
      const third = await JsonClient.connect(rig.port);
      try {
        await third.send(login);
        await third.next("welcome");
        await third.send({ type: "ping", token: "after the login" });
        await third.next("pong");
        const shown = third.events().flatMap((e) =>
          e.type === "missed" || e.type === "replay" ? e.messages : e.type === "private" ? [e] : []
        );
        assert.deepEqual(shown, [], "delivered once");
      } finally {
        await third.close();
      }
    });
  });
});

/**
 * Alice's connection goes silent; her side notices and cannot get back in
 * while Bob says `away`; then she can. `serverNotices`: the server's side is
 * cut too, so she comes back with a new login rather than a resume.
 */
async function messagesWhileAway(rig: Rig, away: string[], serverNotices: boolean) {
  await aliceInTerminal(rig.proxy.port, {}, async (socket) => {
    const link = await aliceIn(rig);
    await bobSays(rig.bob, "before the drop");
    await screenShows(socket, /before the drop/);
    link.freeze();
    rig.proxy.refusing = true;
    link.cut(serverNotices ? undefined : "client");
    await screenShows(socket, /Lost the connection/);
    if (serverNotices) await rig.bob.next("leave", (e) => e.name === "Alice");
    await bobSays(rig.bob, ...away);
    // Her next attempt gets through (attempts are at most a few seconds apart here).
    rig.proxy.refusing = false;
    await screenShows(socket, /Reconnected to .* as Alice/, 15_000);
    await bobSays(rig.bob, "after the drop");
    const lines = ["before the drop", ...away, "after the drop"];
    await showsOnceInOrder(socket, lines.map((text) => `Bob: ${text}`));
  });
}

Deno.test("room messages sent while chat join was reconnecting are shown after, once each, in order (--data, resume)", async () => {
  await withDir(async (dir) => {
    await withRig(["--data", dir], (rig) => messagesWhileAway(rig, ["away 1", "away 2"], false));
  });
});

Deno.test("room messages sent while chat join was reconnecting are shown after, once each, in order (--data, new login)", async () => {
  await withDir(async (dir) => {
    await withRig(["--data", dir], (rig) => messagesWhileAway(rig, ["away 1", "away 2"], true));
  });
});

Deno.test("room messages sent while chat join was reconnecting are shown after, once each, in order (--history 2, more than 2 missed)", async () => {
  await withRig(
    ["--history", "2"],
    (rig) => messagesWhileAway(rig, ["away 1", "away 2", "away 3", "away 4"], true),
  );
});

/** Alice types `text` while her connection is frozen; `body` makes the fault and lets her back. */
async function typedWhileFrozen(
  rig: Rig,
  text: string,
  fault: (link: ProxiedConnection, socket: string) => Promise<void>,
): Promise<void> {
  await aliceInTerminal(rig.proxy.port, {}, async (socket) => {
    const link = await aliceIn(rig);
    await fault(link, socket);
    await screenShows(socket, /Reconnected to .* as Alice/, 15_000);
    await typeLine(socket, "after it");
    await rig.bob.waitFor((e) => e.type === "message" && e.text === "after it");
    const screen = await tmux(socket, "capture-pane", "-p", "-t", "chat");
    assert.deepEqual(
      textsFrom(rig.bob, "Alice"),
      [text, "after it"],
      `Bob got it once:\n${screen}`,
    );
    // Her messages, each once (chat join may quote a pending line in a notice meanwhile).
    await showsOnceInOrder(socket, [`Alice: ${text}`, "Alice: after it"]);
  });
}

Deno.test("a line typed while the connection was frozen arrives once after chat join reconnects (the frozen bytes lost)", async () => {
  const text = "typed into the void, 小明";
  await withRig([], (rig) =>
    typedWhileFrozen(rig, text, async (link, socket) => {
      link.freeze();
      await typeLine(socket, text);
      await link.holding("server", text.length);
      // Both sides closed: the bytes held never reach the server.
      link.cut();
    }));
});

Deno.test("a line typed before the server's welcome came arrives once, also when the link drops as it goes", async () => {
  const text = "typed ahead, 小明";
  await withRig([], async (rig) => {
    // Alice's connection freezes as her welcome comes: she is not in yet.
    const joining = rig.proxy.freezeWhen("client", `"welcome"`);
    await aliceInTerminal(rig.proxy.port, {}, async (socket) => {
      const link = await joining;
      await tmux(socket, "send-keys", "-t", "chat", "-l", text);
      await screenShows(socket, new RegExp(escape(text)));
      await tmux(socket, "send-keys", "-t", "chat", "Enter");
      // Taken (the input line is empty again), to go once she is in.
      await screenShows(socket, new RegExp(`^(?![\\s\\S]*${escape(text)})`));
      // In, she sends it; the link freezes as it goes, then is cut with it.
      link.freezeWhen("server", "typed ahead");
      link.thaw();
      await screenShows(socket, /Welcome, Alice!/);
      await link.holding("server", text.length);
      link.cut();
      await screenShows(socket, /Reconnected to .* as Alice/, 15_000);
      await typeLine(socket, "after it");
      await rig.bob.waitFor((e) => e.type === "message" && e.text === "after it");
      assert.deepEqual(textsFrom(rig.bob, "Alice"), [text, "after it"], "Bob got it once");
      await showsOnceInOrder(socket, [`Alice: ${text}`, "Alice: after it"]);
    });
  });
});

Deno.test("a line typed while the connection was frozen arrives once when the frozen bytes come late and chat join resent it", async () => {
  const text = "typed twice over, 小明";
  await withRig([], (rig) =>
    typedWhileFrozen(rig, text, async (link, socket) => {
      link.freeze();
      await typeLine(socket, text);
      await link.holding("server", text.length);
      rig.proxy.refusing = true;
      link.cut("client");
      await screenShows(socket, /Lost the connection/);
      // The old connection comes back to life: the server gets the line after all...
      link.thaw();
      await rig.bob.next("message", (e) => e.text === text);
      // ...and then chat join, back, sends it again with the same cid.
      rig.proxy.refusing = false;
    }));
});

Deno.test("a line typed while the server process was stopped arrives once after it continues and chat join reconnects", async () => {
  const text = "typed at a stopped server, 小明";
  await withRig([], (rig) =>
    typedWhileFrozen(rig, text, async (link, socket) => {
      const pid = rig.server.child.pid;
      Deno.kill(pid, "SIGSTOP");
      const before = link.forwarded("server");
      await typeLine(socket, text);
      // In the stopped server's socket buffer, unread.
      await link.passed("server", before + text.length);
      link.cut("client");
      await screenShows(socket, /Lost the connection/);
      // Her next attempt reaches the stopped server, which answers once it runs again.
      await rig.proxy.connection(1, 15_000);
      Deno.kill(pid, "SIGCONT");
    }));
});

// Coming back after a restart takes the client's back-off (1 to 3 s, then 4, 8 s) and a start.
const RESTART_WAIT_MS = 20_000;

/** Stops `server` with SIGTERM, if it still runs, and waits until it has exited. */
async function stopServe(server: ServeProcess | null): Promise<void> {
  if (server === null) return;
  try {
    server.child.kill("SIGTERM");
  } catch {
    return; // Exited already.
  }
  await server.finish();
}

/** Bob, on `port`, enters #team (and stays in the lobby). */
async function bobInTeam(port: number): Promise<JsonClient> {
  const bob = await JsonClient.join(port, "Bob");
  await bob.send({ type: "join", room: "team" });
  await bob.next("current", (e) => e.room === "team");
  return bob;
}

/** Bob says each line in `room` and waits for his echo of each. */
async function bobSaysIn(bob: JsonClient, room: string, ...lines: string[]): Promise<void> {
  for (const text of lines) {
    await bob.send({ type: "say", text, room });
    await bob.next("message", (e) => e.text === text);
  }
}

Deno.test("after a restart, a room chat join joins again shows what was said there meanwhile, even when the link drops before its replay came (--data)", async () => {
  await withDir(async (dir) => {
    const args = ["--host", "127.0.0.1", "--no-web", "--data", dir];
    const first = new ServeProcess([...args, "--port", "0"]);
    let second: ServeProcess | null = null;
    let proxy: FaultProxy | null = null;
    let bob: JsonClient | null = null;
    try {
      const port = await first.port();
      proxy = FaultProxy.start(port);
      const via = proxy;
      bob = await bobInTeam(port);
      await aliceInTerminal(via.port, {}, async (socket) => {
        await bob!.waitFor((e) => e.type === "join" && e.name === "Alice");
        await typeLine(socket, "/join #team");
        await bob!.next("join", (e) => e.name === "Alice" && e.room === "team");
        await bobSaysIn(bob!, "team", "before the restart");
        await screenShows(socket, /Bob: before the restart/);
        // The lobby on screen: the restarted server forgets #team, and she joins it again.
        await typeLine(socket, "/join #lobby");
        await screenShows(socket, /^#lobby Alice>/m);

        // The server restarts; Alice cannot get back in while Bob speaks in both rooms:
        // in #team first, so that the lobby's line has the higher id.
        via.refusing = true;
        first.child.kill("SIGTERM");
        await first.finish();
        second = new ServeProcess([...args, "--port", String(port)]);
        await second.port();
        await bob!.close();
        bob = await bobInTeam(port);
        await bobSaysIn(bob, "team", "meanwhile 1", "meanwhile 2");
        await bobSaysIn(bob, "lobby", "meanwhile in the lobby");

        // She comes back: the lobby's replay reaches her; the answer to her rejoin of
        // #team (with its replay) is held, and the link dies.
        const frozen = via.freezeWhen("client", '"room":"team"', RESTART_WAIT_MS);
        via.refusing = false;
        const link = await frozen;
        await screenShows(socket, /Bob: meanwhile in the lobby/);
        via.refusing = true;
        link.cut();
        await bob.next("leave", (e) => e.name === "Alice");
        via.refusing = false;

        // Back again, in #team (joined again); she looks at it.
        await bob.next("join", (e) => e.name === "Alice" && e.room === "team");
        await typeLine(socket, "/join #team");
        await screenShows(socket, /^#team Alice>/m);
        await bobSaysIn(bob, "team", "after it");
        await showsOnceInOrder(
          socket,
          ["before the restart", "meanwhile 1", "meanwhile 2", "after it"].map((t) => `Bob: ${t}`),
        );
      });
    } finally {
      await proxy?.close();
      await bob?.close();
      await stopServe(first);
      await stopServe(second);
    }
  });
});
