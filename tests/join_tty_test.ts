/**
 * `chat join` in a real pseudo-terminal (tmux), talking to a real server,
 * with a second user who talks while the first is typing. The assertions
 * read the screen tmux shows, as a person would.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ChatServer } from "../lib/serve/chat_server.ts";
import { chatCommand, ROOT } from "./_chat_command.ts";
import { shellLine, startTerminal, stopTerminal, tmux } from "./_tmux.ts";
import { JsonClient, startServer, tempStore } from "./_helpers.ts";

let sessions = 0;

/** One tmux server on its own socket, running one window. */
class Tmux {
  readonly socket = `chat-test-${Deno.pid}-${++sessions}`;

  run(...args: string[]): Promise<string> {
    return tmux(this.socket, ...args);
  }

  /** Starts `chat join ARGS` in an 80x24 window; the shell reports the exit code and terminal mode after. */
  async start(args: string[], columns = 80, rows = 24): Promise<void> {
    const script = `${shellLine(chatCommand(["join", ...args]))}; ` +
      `echo "[exit $?] [$(stty -a | grep -o -- '-*icanon' | head -1)]"; sleep 60`;
    await startTerminal(this.socket, script, {
      columns,
      rows,
      cwd: ROOT.pathname,
      env: { NO_COLOR: "", CHAT_NAME: "" },
    });
  }

  /** Presses keys, by tmux name (Enter, Left, C-c...). */
  async keys(...keys: string[]): Promise<void> {
    await this.run("send-keys", ...keys);
  }

  /** Types text literally. */
  async type(text: string): Promise<void> {
    await this.run("send-keys", "-l", text);
  }

  /** The screen, one string per row, trailing spaces removed. */
  async screen(): Promise<string[]> {
    return (await this.run("capture-pane", "-p")).split("\n").map((l) => l.trimEnd()).slice(0, -1);
  }

  /** Cursor position (0-based) and window title. */
  async status(): Promise<{ x: number; y: number; title: string }> {
    const [x, y, ...title] =
      (await this.run("display", "-p", "#{cursor_x} #{cursor_y} #{pane_title}"))
        .trimEnd().split(" ");
    return { x: Number(x), y: Number(y), title: title.join(" ") };
  }

  /** Polls the screen until `test` holds; fails with the last screen after `ms`. */
  async waitFor(test: (screen: string[]) => boolean, ms = 10_000): Promise<string[]> {
    const deadline = Date.now() + ms;
    let screen: string[] = [];
    while (Date.now() < deadline) {
      screen = await this.screen();
      if (test(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    throw new Error(`screen never matched:\n${screen.join("\n")}`);
  }

  /** Waits for a row that contains `text`. */
  waitForText(text: string, ms?: number): Promise<string[]> {
    return this.waitFor((screen) => screen.some((row) => row.includes(text)), ms);
  }

  /** Stops the tmux server and removes its socket file. */
  kill(): Promise<void> {
    return stopTerminal(this.socket);
  }
}

/** The last row with something on it (the input line while chatting). */
function lastRow(screen: string[]): string {
  return screen.filter((row) => row !== "").at(-1) ?? "";
}

/**
 * A screen with a row that contains `text` and the input line `prompt` last:
 * the line and the prompt are drawn in two writes, so the one may be read
 * before the other.
 */
function showsAbovePrompt(text: string, prompt: string): (screen: string[]) => boolean {
  return (screen) => screen.some((row) => row.includes(text)) && lastRow(screen) === prompt;
}

/** Runs `body` with a server, a tmux window and cleanup whatever happens. */
async function withChat(
  body: (server: ChatServer, tmux: Tmux, address: string) => Promise<void>,
): Promise<void> {
  const server = startServer();
  const tmux = new Tmux();
  try {
    await body(server, tmux, `127.0.0.1:${server.addr.port}`);
  } finally {
    await tmux.kill();
    await server.shutdown();
  }
}

Deno.test("without --name the client asks for one, and asks again when it is taken", async () => {
  await withChat(async (server, tmux, address) => {
    const bob = await JsonClient.join(server.addr.port, "Bob");
    try {
      await tmux.start([address]);
      await tmux.waitFor((s) => lastRow(s) === "Your name:");
      await tmux.type("bob");
      await tmux.keys("Enter");
      await tmux.waitForText("The name bob is taken. Please choose another name.");
      await tmux.waitFor((s) => lastRow(s) === "Your name:");
      await tmux.type("Alice");
      await tmux.keys("Enter");
      await tmux.waitFor(showsAbovePrompt("Welcome, Alice! You are in #lobby with Bob.", "Alice>"));
      const { title } = await tmux.status();
      assert.equal(title, `chat — Alice @ ${address} (2 users)`);
    } finally {
      await bob.close();
    }
  });
});

Deno.test("a message arriving while you type prints above your half-typed line, cursor untouched", async () => {
  await withChat(async (server, tmux, address) => {
    await tmux.start([address, "--name", "Alice"]);
    await tmux.waitForText("Welcome, Alice!");
    await tmux.type("你好世界 hello");
    await tmux.keys("Left", "Left");
    await tmux.waitFor((s) => lastRow(s) === "Alice> 你好世界 hello");
    const bob = await JsonClient.join(server.addr.port, "Bob");
    try {
      await bob.type("hi Alice, how are you?");
      const screen = await tmux.waitForText("Bob: hi Alice, how are you?");
      const rows = screen.filter((row) => row !== "");
      assert.match(rows.at(-3)!, /^\d\d:\d\d --> Bob joined \(2 users\)$/);
      assert.match(rows.at(-2)!, /^\d\d:\d\d Bob: hi Alice, how are you\?$/);
      assert.equal(rows.at(-1), "Alice> 你好世界 hello");
      const cursor = await tmux.status();
      assert.equal(cursor.x, "Alice> ".length + 8 + " hel".length);
      assert.equal(cursor.y, rows.length - 1);
      // Typing goes on where it was, and Enter sends the whole line.
      await tmux.type("l");
      await tmux.keys("Enter");
      await bob.waitFor((e) => e.type === "message" && e.from === "Alice");
      assert.deepEqual(
        bob.events().filter((e) => e.type === "message" && e.from === "Alice").map((e) =>
          e.type === "message" && e.text
        ),
        ["你好世界 helllo"],
      );
      const after = await tmux.waitFor((s) =>
        /Alice: 你好世界 helllo$/.test(s.filter(Boolean).at(-2)!)
      );
      assert.equal(lastRow(after), "Alice>");
    } finally {
      await bob.close();
    }
  });
});

Deno.test("a line longer than the terminal scrolls sideways on the bottom row", async () => {
  await withChat(async (_server, tmux, address) => {
    await tmux.start([address, "--name", "Alice"]);
    await tmux.waitForText("Welcome, Alice!");
    const long = "abcdefghij".repeat(12) + "END";
    await tmux.type(long);
    const screen = await tmux.waitFor((s) => lastRow(s).endsWith("END"));
    const row = lastRow(screen);
    assert.ok(row.startsWith("Alice> <"), row);
    assert.ok(row.length < 80, `${row.length} columns`);
    assert.equal(screen.filter((r) => r.startsWith("Alice>")).length, 1);
    assert.equal((await tmux.status()).x, row.length);
    await tmux.keys("Home");
    const home = await tmux.waitFor((s) => lastRow(s).startsWith("Alice> abcdefghij"));
    assert.ok(lastRow(home).endsWith(">"));
    assert.equal((await tmux.status()).x, "Alice> ".length);
  });
});

Deno.test("Tab completes user names and commands", async () => {
  await withChat(async (server, tmux, address) => {
    const bob = await JsonClient.join(server.addr.port, "Bob");
    try {
      await tmux.start([address, "--name", "Alice"]);
      await tmux.waitForText("Welcome, Alice!");
      await tmux.type("@b");
      await tmux.keys("Tab");
      await tmux.waitFor((s) => lastRow(s) === "Alice> @Bob");
      await tmux.keys("C-u");
      await tmux.type("/ni");
      await tmux.keys("Tab");
      await tmux.waitFor((s) => lastRow(s) === "Alice> /nick");
      await tmux.type("Alicia");
      await tmux.keys("Enter");
      await tmux.waitForText("You are now known as Alicia");
      await tmux.waitFor((s) => lastRow(s) === "Alicia>");
    } finally {
      await bob.close();
    }
  });
});

Deno.test("Ctrl+C leaves cleanly: the room is told, the exit code is 0, the terminal is restored", async () => {
  await withChat(async (server, tmux, address) => {
    const bob = await JsonClient.join(server.addr.port, "Bob");
    try {
      await tmux.start([address, "--name", "Alice"]);
      await tmux.waitForText("Welcome, Alice!");
      await tmux.type("half typed");
      await tmux.keys("C-c");
      const screen = await tmux.waitForText("[exit 0]");
      assert.ok(screen.some((row) => row.includes(`-- You left ${address}`)));
      assert.ok(screen.some((row) => row.includes("[exit 0] [icanon]")), screen.join("\n"));
      await bob.waitFor((e) => e.type === "leave" && e.name === "Alice");
    } finally {
      await bob.close();
    }
  });
});

Deno.test("when the server shuts down, the client says so, waits for it, and exits 0 on Ctrl+C", async () => {
  // Waiting out a restart is join_restart_test.ts's; here, what the shutdown looks like.
  await withChat(async (server, tmux, address) => {
    await tmux.start([address, "--name", "Alice"]);
    await tmux.waitForText("Welcome, Alice!");
    await server.shutdown();
    await tmux.waitForText("is stopping or restarting");
    await tmux.keys("C-c");
    const screen = await tmux.waitForText("[exit 0]");
    assert.ok(screen.some((row) => /\d\d:\d\d \*\*\* The server is shutting down/.test(row)));
  });
});

Deno.test("after a dropped connection the client says so and comes back with the same name", async () => {
  await withChat(async (server, tmux) => {
    const proxy = new Proxy(server.addr.port);
    try {
      await tmux.start([`127.0.0.1:${proxy.port}`, "--name", "Alice"]);
      await tmux.waitForText("Welcome, Alice!");
      await tmux.type("unsent draft");
      proxy.dropAll();
      await tmux.waitForText("Lost the connection");
      await tmux.waitFor(
        showsAbovePrompt(`Reconnected to 127.0.0.1:${proxy.port} as Alice`, "Alice> unsent draft"),
      );
      const bob = await JsonClient.join(server.addr.port, "Bob");
      try {
        await tmux.keys("Enter");
        await bob.waitFor((e) =>
          e.type === "message" && e.from === "Alice" && e.text === "unsent draft"
        );
      } finally {
        await bob.close();
      }
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("after the window is resized the input line is redrawn to fit, without leftovers", async () => {
  await withChat(async (_server, tmux, address) => {
    await tmux.start([address, "--name", "Alice"]);
    await tmux.waitForText("Welcome, Alice!");
    await tmux.type("x".repeat(70));
    await tmux.waitFor((s) => lastRow(s).endsWith("x".repeat(60)));
    await tmux.run("resize-window", "-x", "40");
    const screen = await tmux.waitFor((s) =>
      lastRow(s).length < 40 && lastRow(s).startsWith("Alice> <")
    );
    assert.equal(screen.filter((row) => row.includes("xxxxx")).length, 1, screen.join("\n"));
  });
});

/** Runs `body` with a server where Bob is an account ("correct horse"), and a tmux window. */
async function withAccount(body: (tmux: Tmux, address: string) => Promise<void>): Promise<void> {
  const data = await tempStore({ Bob: "correct horse" });
  const server = startServer({ store: data.store, auth: "names" });
  const tmux = new Tmux();
  try {
    await body(tmux, `127.0.0.1:${server.addr.port}`);
  } finally {
    await tmux.kill();
    await server.shutdown();
    await data.dispose();
  }
}

Deno.test("an account's password is asked for without showing a single typed character", async () => {
  await withAccount(async (tmux, address) => {
    await tmux.start([address, "--name", "Bob"]);
    await tmux.waitForText("The name Bob belongs to an account: give its password");
    await tmux.waitFor((s) => lastRow(s) === "Password for Bob:");
    await tmux.type("wrong horse");
    // Nothing typed shows, and the cursor stays put after the prompt.
    await tmux.waitFor((s) => lastRow(s) === "Password for Bob:");
    assert.equal((await tmux.status()).x, "Password for Bob: ".length);
    await tmux.keys("Enter");
    await tmux.waitForText("Wrong password for Bob");
    await tmux.waitFor((s) => lastRow(s) === "Password for Bob:");
    // Up recalls nothing: the password is in no history.
    await tmux.keys("Up");
    await tmux.type("correct horse");
    await tmux.keys("Enter");
    await tmux.waitFor(showsAbovePrompt("Logged in as Bob. You are in #lobby", "Bob>"));
    await tmux.keys("Up");
    await tmux.waitFor((s) => lastRow(s) === "Bob>");
    const all = (await tmux.run("capture-pane", "-p", "-S", "-")).toLowerCase();
    assert.ok(!all.includes("horse"), all);
  });
});

Deno.test("Ctrl+C at the password prompt gives up cleanly, with exit code 0", async () => {
  await withAccount(async (tmux, address) => {
    await tmux.start([address, "--name", "Bob"]);
    await tmux.waitFor((s) => lastRow(s) === "Password for Bob:");
    await tmux.type("half");
    await tmux.keys("C-c");
    const screen = await tmux.waitForText("[exit 0]");
    assert.ok(screen.some((row) => row.includes("[exit 0] [icanon]")), screen.join("\n"));
    assert.ok(!screen.join("\n").includes("half"));
  });
});

Deno.test("three wrong passwords end with exit code 4", async () => {
  await withAccount(async (tmux, address) => {
    await tmux.start([address, "--name", "Bob"]);
    for (let i = 0; i < 3; i++) {
      await tmux.waitFor((s) => lastRow(s) === "Password for Bob:");
      await tmux.type(`guess ${i}`);
      await tmux.keys("Enter");
    }
    const screen = await tmux.waitForText("[exit 4]");
    assert.ok(
      screen.some((row) => row.includes("chat: cannot join") && row.includes("wrong password")),
    );
    assert.ok(!screen.join("\n").includes("guess"));
  });
});

/** A TCP proxy in front of the server, whose connections the test can cut. */
class Proxy {
  #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  #conns = new Set<Deno.Conn>();
  #tasks = new Set<Promise<void>>();
  #accepting: Promise<void>;

  constructor(target: number) {
    this.#accepting = this.#accept(target);
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  async #accept(target: number): Promise<void> {
    for await (const client of this.#listener) {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: target });
      this.#conns.add(client).add(upstream);
      for (const [from, to] of [[client, upstream], [upstream, client]]) {
        const task = this.#pipe(from, to);
        this.#tasks.add(task);
        task.finally(() => this.#tasks.delete(task));
      }
    }
  }

  async #pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(16384);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) break;
        await to.write(buffer.subarray(0, n));
      }
    } catch {
      // Cut by the test.
    }
    for (const conn of [from, to]) this.#close(conn);
  }

  #close(conn: Deno.Conn): void {
    if (!this.#conns.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Cuts every connection, as a network failure would (no goodbye on either side). */
  dropAll(): void {
    for (const conn of [...this.#conns]) this.#close(conn);
  }

  async close(): Promise<void> {
    this.#listener.close();
    this.dropAll();
    await this.#accepting.catch(() => {});
    await Promise.all(this.#tasks);
  }
}
