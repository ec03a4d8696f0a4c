/**
 * Tests of lib/prompt_secret.ts: the keys a hidden prompt understands and the
 * raw mode it always restores (with stand-in streams), lines from a pipe, and
 * a real terminal (tmux) where `chat user add` asks for a password: nothing
 * typed shows, Backspace and Ctrl+C work, and the terminal is left as found.
 *
 * @module
 */

import assert from "node:assert/strict";
import { screenShows, shellLine, startTerminal, stopTerminal, tmux } from "./_tmux.ts";
import { PromptCancelled, promptSecret, SecretReader } from "../lib/io/prompt_secret.ts";
import { Store } from "../lib/store/sqlite_store.ts";
import { verifyPassword } from "../lib/auth/passwords.ts";
import { chatCommand } from "./_chat_command.ts";
import { chunkReader } from "./_helpers.ts";

/** Stand-in streams: stdin yields `chunks` (a string per read), stderr is recorded. */
function fakeIO(chunks: (string | Uint8Array)[], terminal = true) {
  const modes: boolean[] = [];
  const written: string[] = [];
  const reader = chunkReader(chunks);
  const io = {
    stdin: {
      read: (buffer: Uint8Array) => reader.read(buffer),
      isTerminal: () => terminal,
      setRaw: (mode: boolean) => void modes.push(mode),
    },
    stderr: {
      writeSync(bytes: Uint8Array): number {
        written.push(new TextDecoder().decode(bytes));
        return bytes.length;
      },
    },
  };
  return { io, modes, written };
}

Deno.test("promptSecret() reads to Enter without echo, and restores the terminal", async () => {
  const { io, modes, written } = fakeIO(["hunter", "2\r", "ignored after Enter"]);
  assert.equal(await promptSecret("Password: ", io), "hunter2");
  assert.deepEqual(modes, [true, false]);
  assert.equal(written.join(""), "Password: \n", "only the prompt and a newline are shown");
});

Deno.test("promptSecret() handles Backspace (a whole character), Ctrl+U and arrow keys", async () => {
  const cases: [string[], string][] = [
    [["abc\x7f\x7fd\r"], "ad"],
    [["abc\x08d\n"], "abd"],
    [["wrong\x15right\r"], "right"],
    [["小明x\x7f\r"], "小明"],
    [["é👍🏽\x7f\x7f\r"], "é"], // 👍🏽 is two code points: two Backspaces
    [["\x7f\x7fok\r"], "ok"],
    [["a\x1b[D\x1b[Cb\x1bOAc\r"], "abc"],
    [["tab\there\r"], "tabhere"],
  ];
  for (const [chunks, want] of cases) {
    const { io } = fakeIO(chunks);
    assert.equal(await promptSecret("", io), want, JSON.stringify(chunks));
  }
});

Deno.test("promptSecret() gives up on Ctrl+C, Ctrl+D on an empty line or a closed terminal, restoring it", async () => {
  for (const chunks of [["abc\x03"], ["\x04"], ["abc"]]) {
    const { io, modes, written } = fakeIO(chunks);
    await assert.rejects(promptSecret("Password: ", io), PromptCancelled);
    assert.deepEqual(modes, [true, false], JSON.stringify(chunks));
    assert.equal(written.join(""), "Password: \n");
  }
  // Ctrl+D with something typed is not the end.
  const { io } = fakeIO(["ab\x04c\r"]);
  assert.equal(await promptSecret("", io), "abc");
});

Deno.test("promptSecret() restores the terminal when reading fails", async () => {
  const { io, modes } = fakeIO([]);
  io.stdin.read = () => Promise.reject(new Error("terminal hung up"));
  await assert.rejects(promptSecret("Password: ", io), /terminal hung up/);
  assert.deepEqual(modes, [true, false]);
});

Deno.test("promptSecret() returns null when stdin is not a terminal, touching nothing", async () => {
  const { io, modes, written } = fakeIO(["secret\n"], false);
  assert.equal(await promptSecret("Password: ", io), null);
  assert.deepEqual(modes, []);
  assert.deepEqual(written, []);
});

Deno.test("SecretReader reads piped lines one per question, with no prompt shown", async () => {
  const { io, written } = fakeIO(["first\r\nsec", "ond\n", "", "last without newline"], false);
  const reader = new SecretReader(io);
  assert.equal(await reader.ask("Password: "), "first");
  assert.equal(await reader.ask("Again: "), "second");
  assert.equal(await reader.ask("Again: "), "last without newline");
  assert.equal(await reader.ask("Again: "), null);
  assert.equal(await reader.ask("Again: "), null);
  assert.deepEqual(written, []);
});

Deno.test("SecretReader keeps the start of an endless line and finds the next one", async () => {
  const huge = new TextEncoder().encode("y".repeat(100_000) + "\nnext\n");
  const { io } = fakeIO([huge], false);
  const reader = new SecretReader(io);
  assert.equal(await reader.ask(""), "y".repeat(4096));
  assert.equal(await reader.ask(""), "next");
});

// ---- a real terminal --------------------------------------------------------------

/** The echo and icanon flags `stty -a` printed after EXIT= (`-echo` when off), sorted. */
function terminalModes(screen: string): string[] {
  return (/EXIT=\d+\n(.*)/.exec(screen)?.[1] ?? "").trim().split(/\s+/).sort();
}

/** Runs `chat <args>` in a tmux terminal; after it exits the pane shows EXIT=code and `stty -a`. */
async function inTerminal(
  args: string[],
  body: (socket: string) => Promise<void>,
): Promise<void> {
  const socket = `chat-secret-${crypto.randomUUID()}`;
  await startTerminal(
    socket,
    `${shellLine(chatCommand(args))}; echo EXIT=$?; ` +
      `stty -a | tr ' ' '\\n' | grep -E '^-?(echo|icanon)$' | tr '\\n' ' '; sleep 30`,
  );
  try {
    await body(socket);
  } finally {
    await stopTerminal(socket);
  }
}

Deno.test("chat user add in a terminal hides the password, honours Backspace, and restores the terminal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-secret-" });
  try {
    await inTerminal(["user", "add", "Ann", "--data", dir], async (socket) => {
      await screenShows(socket, /Password for Ann:/);
      await tmux(socket, "send-keys", "-t", "chat", "-l", "open sesameX");
      await tmux(socket, "send-keys", "-t", "chat", "BSpace", "Enter");
      await screenShows(socket, /The same again:/);
      await tmux(socket, "send-keys", "-t", "chat", "-l", "open sesame");
      await tmux(socket, "send-keys", "-t", "chat", "Enter");
      const screen = (await screenShows(socket, /EXIT=\d+[\s\S]*icanon/)).input;
      assert.match(screen, /^added Ann to /m);
      assert.match(screen, /EXIT=0/);
      assert.doesNotMatch(screen, /sesame/, "the password showed on the screen");
      assert.deepEqual(terminalModes(screen), ["echo", "icanon"], "echo and line editing are back");
    });
    const store = Store.open(dir, { create: false });
    try {
      assert.ok(await verifyPassword("open sesame", store.getUser("ann")?.hash));
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Ctrl+C at the password prompt changes nothing and leaves the terminal as it was", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-secret-" });
  try {
    await inTerminal(["user", "add", "Bob", "--data", dir], async (socket) => {
      await screenShows(socket, /Password for Bob:/);
      await tmux(socket, "send-keys", "-t", "chat", "-l", "half typed");
      await tmux(socket, "send-keys", "-t", "chat", "C-c");
      const screen = (await screenShows(socket, /EXIT=\d+[\s\S]*icanon/)).input;
      assert.match(screen, /^chat: cancelled; nothing was changed$/m);
      assert.match(screen, /EXIT=1/);
      assert.deepEqual(terminalModes(screen), ["echo", "icanon"], "echo and line editing are back");
    });
    const store = Store.open(dir, { create: false });
    try {
      assert.deepEqual(store.listUsers(), []);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
