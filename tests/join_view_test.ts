/**
 * What a person sees in `chat join` (README, `chat join`: keys and colours):
 * name colours, private messages under NO_COLOR, Chinese text wrapped in a
 * narrow window, and scrolling back with PageUp. The real client in a real
 * terminal (tmux) against a real server; the screen is read as tmux holds
 * it, with its attributes (`capture-pane -e`) where they matter.
 *
 * @module
 */

import assert from "node:assert/strict";
import { textWidth } from "../lib/client/display_width.ts";
import type { ChatServer } from "../lib/serve/chat_server.ts";
import { JsonClient, startServer } from "./_helpers.ts";
import { chatCommand } from "./_chat_command.ts";
import {
  rowsWith,
  screenShows,
  shellLine,
  type TerminalOptions,
  tmux,
  withTerminal,
} from "./_tmux.ts";

// deno-lint-ignore no-control-regex -- reading escape sequences is the point
const SGR = /\x1b\[([0-9;:]*)m/y;

/** One character of a captured row and the style it is drawn in. */
interface StyledChar {
  char: string;
  /** The foreground colour's SGR code ("" for the default). */
  fg: string;
  underline: boolean;
}

/** A row of `capture-pane -e` output as characters with their colour and underline. */
function styled(row: string): StyledChar[] {
  const chars: StyledChar[] = [];
  let fg = "";
  let underline = false;
  for (let i = 0; i < row.length;) {
    SGR.lastIndex = i;
    const match = SGR.exec(row);
    if (!match) {
      const char = String.fromCodePoint(row.codePointAt(i)!);
      chars.push({ char, fg, underline });
      i += char.length;
      continue;
    }
    i = SGR.lastIndex;
    const params = match[1] === "" ? [0] : match[1].split(/[;:]/).map(Number);
    for (let p = 0; p < params.length; p++) {
      const code = params[p];
      if (code === 0) [fg, underline] = ["", false];
      else if (code === 4) underline = true;
      else if (code === 24) underline = false;
      else if (code === 39) fg = "";
      else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) fg = String(code);
      else if (code === 38 && params[p + 1] === 5) {
        fg = `38;5;${params[p + 2]}`;
        p += 2;
      }
    }
  }
  return chars;
}

/** The colour `name` is drawn in on the first row of `screen` whose text contains `marker`. */
function colourOf(screen: string, marker: string, name: string): string {
  const row = screen.split("\n").map(styled).find((chars) =>
    chars.map((c) => c.char).join("").includes(marker)
  );
  assert.ok(row, `no row with ${marker} in:\n${screen}`);
  const text = row.map((c) => c.char).join("");
  // Code points, not UTF-16 units: a row is indexed by character.
  const at = [...text.slice(0, text.indexOf(marker) + marker.indexOf(name))].length;
  return row[at].fg;
}

/** Runs `chat join ARGS` as `name` in a terminal, with a server; then cleans up. */
async function withJoin(
  name: string,
  options: TerminalOptions,
  body: (socket: string, server: ChatServer) => Promise<void>,
): Promise<void> {
  // No flood control: the tests send many lines quickly.
  const server = startServer({ flood: null });
  const socket = `chat-view-${crypto.randomUUID()}`;
  const command = chatCommand(["join", `127.0.0.1:${server.addr.port}`, "--name", name]);
  try {
    await withTerminal(socket, `${shellLine(command)}; sleep 30`, {
      ...options,
      // Set either way: the tmux server would otherwise pass on the test's own.
      env: { NO_COLOR: "", TERM: "xterm", ...options.env },
    }, async () => {
      await screenShows(socket, new RegExp(`Welcome, ${name}!`));
      await body(socket, server);
    });
  } finally {
    await server.shutdown();
  }
}

Deno.test("people in the room together have names in different colours, none a kind's, kept across /nick", async () => {
  await withJoin("Teacher", {}, async (socket, server) => {
    const names = ["Bob", "小明", "Alice", "Guest"];
    const people: JsonClient[] = [];
    try {
      for (const name of names) {
        const person = await JsonClient.join(server, name);
        people.push(person);
        await person.type(`hello from ${name}`);
      }
      await people[0].type("/msg Teacher a secret");
      await screenShows(socket, /a secret/);
      let screen = await tmux(socket, "capture-pane", "-p", "-e", "-t", "chat");
      const colours = names.map((name) => colourOf(screen, `${name}: hello from`, name));
      assert.equal(new Set(colours).size, names.length, `${names} in ${colours}`);
      const privateColour = colourOf(screen, "(private) Bob", "(");
      for (const colour of colours) {
        assert.ok(colour !== "" && colour !== privateColour, `${colour} in ${colours}`);
        assert.ok(!["31", "33", "35", "91", "93", "95"].includes(colour), colour);
      }
      await people[0].type("/nick Robert");
      await people[0].type("still me");
      await screenShows(socket, /Robert: still me/);
      screen = await tmux(socket, "capture-pane", "-p", "-e", "-t", "chat");
      assert.equal(colourOf(screen, "Robert: still me", "Robert"), colours[0]);
    } finally {
      await Promise.all(people.map((person) => person.close()));
    }
  });
});

Deno.test("a terminal whose TERM says 256 colours gets names from the larger palette", async () => {
  await withJoin("Teacher", { env: { TERM: "xterm-256color" } }, async (socket, server) => {
    const bob = await JsonClient.join(server, "Bob");
    try {
      await bob.type("hello in colour");
      await screenShows(socket, /Bob: hello in colour/);
      const screen = await tmux(socket, "capture-pane", "-p", "-e", "-t", "chat");
      assert.match(colourOf(screen, "Bob: hello in colour", "Bob"), /^38;5;\d+$/);
    } finally {
      await bob.close();
    }
  });
});

Deno.test("with NO_COLOR=1 a private message is underlined whole, the sender's name included", async () => {
  await withJoin("Alice", { env: { NO_COLOR: "1" } }, async (socket, server) => {
    const bob = await JsonClient.join(server, "Bob");
    try {
      await bob.type("/msg Alice psst, over here");
      await screenShows(socket, /psst, over here/);
      const screen = await tmux(socket, "capture-pane", "-p", "-e", "-t", "chat");
      const row = screen.split("\n").map(styled).find((chars) =>
        chars.map((c) => c.char).join("").includes("psst")
      )!;
      const underlined = row.filter((c) => c.underline).map((c) => c.char).join("");
      assert.equal(underlined, "(private) Bob: psst, over here");
    } finally {
      await bob.close();
    }
  });
});

Deno.test("Chinese wraps between characters in a 40-column window, no row starting with ，", async () => {
  const text = "今天的作业是第三章的练习，请大家在星期五之前交给老师。如果有问题，可以在这里问我。";
  await withJoin("Alice", { columns: 40 }, async (socket, server) => {
    const red = await JsonClient.join(server, "小红");
    try {
      await red.type(text);
      const { input: screen } = await screenShows(socket, /可以在这里问我。/);
      const rows = screen.split("\n");
      const first = rows.findIndex((row) => row.includes("小红:"));
      const message = rows.slice(first, rows.findIndex((row) => row.includes("问我。")) + 1);
      assert.match(message[0], /^\d\d:\d\d 小红: 今天的作业/, screen);
      for (const row of message.slice(1)) {
        assert.match(row, /^ {6}[^ ，。、！？；：）」』】〉》]/, screen);
      }
      assert.ok(message.every((row) => textWidth(row.trimEnd()) < 40), screen);
      assert.equal(message.map((row) => row.trim()).join("").replace(/^.*小红: /, ""), text);
    } finally {
      await red.close();
    }
  });
});

Deno.test("PageUp scrolls back in the client, new lines wait below with a count, End and Enter return", async () => {
  await withJoin("Alice", { columns: 60, rows: 12 }, async (socket, server) => {
    const bob = await JsonClient.join(server, "Bob");
    try {
      for (let i = 1; i <= 30; i++) await bob.type(`msg ${String(i).padStart(2, "0")}`);
      await screenShows(socket, /msg 30/);
      await tmux(socket, "send-keys", "-t", "chat", "-l", "my draft");
      await tmux(socket, "send-keys", "-t", "chat", "PPage");
      let { input: screen } = await screenShows(socket, /lines below: PageDown, End/);
      assert.ok(!screen.includes("msg 30"), screen);
      assert.match(screen, /msg 20\n/);
      assert.equal(screen.trimEnd().split("\n").at(-1), "Alice> my draft");
      await tmux(socket, "send-keys", "-t", "chat", "PPage");
      await screenShows(socket, /msg 02\n/);
      // What arrives now waits below, counted; the view stays.
      await bob.type("late news");
      ({ input: screen } = await screenShows(socket, /1 new: PageDown/));
      assert.ok(!screen.includes("late news") && screen.includes("msg 11"), screen);
      await tmux(socket, "send-keys", "-t", "chat", "PPage");
      await tmux(socket, "send-keys", "-t", "chat", "End");
      ({ input: screen } = await screenShows(socket, /late news/));
      assert.ok(!screen.includes("below"), screen);
      assert.equal(screen.trimEnd().split("\n").at(-1), "Alice> my draft");
      // Sending a line from a scrolled view shows the bottom too.
      await tmux(socket, "send-keys", "-t", "chat", "PPage");
      await screenShows(socket, /lines below/);
      await tmux(socket, "send-keys", "-t", "chat", "Enter");
      ({ input: screen } = await screenShows(socket, /Alice: my draft/));
      assert.equal(rowsWith(screen, "below").length, 0, screen);
    } finally {
      await bob.close();
    }
  });
});

Deno.test("a narrower window wraps the conversation again, under the text", async () => {
  const words = "every word of this message stays whole and lines up under the text";
  await withJoin("Alice", { columns: 100, rows: 20 }, async (socket, server) => {
    const bob = await JsonClient.join(server, "Bob");
    try {
      await bob.type(words);
      await screenShows(socket, /under the text\n/);
      await tmux(socket, "resize-window", "-t", "chat", "-x", "40");
      const { input: screen } = await screenShows(socket, /Bob: every[^\n]*\n {6}\S/);
      const rows = screen.split("\n");
      const first = rows.findIndex((row) => row.includes("Bob: every"));
      let last = first + 1;
      while (rows[last + 1]?.startsWith("      ")) last++;
      const message = rows.slice(first, last + 1);
      assert.ok(message.length > 1 && message.every((row) => row.trimEnd().length < 40), screen);
      assert.equal(message.map((row) => row.trim()).join(" ").replace(/^.*Bob: /, ""), words);
    } finally {
      await bob.close();
    }
  });
});
