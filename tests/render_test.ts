/**
 * The renderer as a unit: events in, what the screen shows out, in colour,
 * under NO_COLOR, and as plain lines for pipes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { textWidth } from "../lib/client/display_width.ts";
import type { ChatEvent, MissedEvent } from "../lib/core/events.ts";
import {
  type Line,
  paint,
  renderEvent,
  type RenderMode,
  terminalTitle,
  wrapLine,
} from "../lib/client/render.ts";

// A foreground colour among the SGR parameters (30-37 or 90-97).
// deno-lint-ignore no-control-regex -- finding escape sequences is the point
const COLOUR_CODE = /\x1b\[(?:[0-9]*;)*[39][0-7](?:;[0-9]*)*m/;
const NOON = new Date(2024, 0, 1, 12, 3).getTime();
const context = { me: "Alice", now: NOON };

/** Renders an event the way the viewer Alice sees it, one string per line. */
function see(event: ChatEvent, mode: RenderMode = "plain"): string[] {
  return renderEvent(event, context).map((line) => paint(line, mode));
}

const message = (from: string, text: string): ChatEvent => ({
  type: "message",
  id: 1,
  time: NOON,
  room: "lobby",
  from,
  text,
});

Deno.test("a message shows the time, the sender and the text", () => {
  assert.deepEqual(see(message("Bob", "hello")), ["12:03 Bob: hello"]);
});

Deno.test("a name is painted in the colour its span carries", () => {
  const [line] = renderEvent(message("Bob", "hi"), context);
  const colored = {
    spans: line.spans.map((span) => span.name ? { ...span, color: "38;5;33" } : span),
  };
  assert.ok(paint(colored, "color").includes("\x1b[38;5;33mBob\x1b[0m"));
  assert.ok(!paint(colored, "mono").includes("38;5"));
});

Deno.test("your own messages show your name in bold, in no name's colour; others' are not bold", () => {
  const [own] = see(message("Alice", "mine"), "color");
  const [theirs] = see(message("Bob", "theirs"), "color");
  assert.ok(own.includes("\x1b[1mAlice"));
  assert.ok(!theirs.includes("\x1b[1;") && !theirs.includes("\x1b[1m"));
  assert.ok(see(message("Alice", "mine"), "mono")[0].includes("\x1b[1mAlice"));
});

Deno.test("your name in someone's message is highlighted and rings the bell", () => {
  const [line] = renderEvent(message("Bob", "hey alice, look"), context);
  assert.equal(line.bell, true);
  assert.ok(paint(line, "color").includes("\x1b[1;7malice\x1b[0m"));
  assert.equal(paint(line, "plain"), "12:03 Bob: hey alice, look");
});

Deno.test("your name inside another word, or in your own message, is not a mention", () => {
  assert.notEqual(renderEvent(message("Bob", "Alicexyz and Malice"), context)[0].bell, true);
  assert.notEqual(renderEvent(message("Alice", "I am Alice"), context)[0].bell, true);
});

Deno.test("private messages read differently in each direction and ring the bell when received", () => {
  const incoming: ChatEvent = {
    type: "private",
    id: 2,
    time: NOON,
    from: "Bob",
    to: "Alice",
    text: "psst",
  };
  const outgoing: ChatEvent = {
    type: "private",
    id: 3,
    time: NOON,
    from: "Alice",
    to: "Bob",
    text: "ok",
  };
  assert.deepEqual(see(incoming), ["12:03 (private) Bob: psst"]);
  assert.deepEqual(see(outgoing), ["12:03 (private to Bob) ok"]);
  assert.equal(renderEvent(incoming, context)[0].bell, true);
  assert.ok(see(incoming, "color")[0].includes("\x1b[35m(private) "));
});

Deno.test("under NO_COLOR every part of a private message is underlined, the name included", () => {
  const underlined = (line: string) =>
    // deno-lint-ignore no-control-regex -- reading escape sequences is the point
    [...line.matchAll(/\x1b\[4m([^\x1b]*)\x1b\[0m/g)].map((m) => m[1]).join("");
  const incoming: ChatEvent = {
    type: "private",
    id: 2,
    time: NOON,
    from: "Bob",
    to: "Alice",
    text: "psst",
  };
  assert.equal(underlined(see(incoming, "mono")[0]), "(private) Bob: psst");
  const outgoing: ChatEvent = { ...incoming, from: "Alice", to: "小明", text: "ok" };
  assert.equal(underlined(see(outgoing, "mono")[0]), "(private to 小明) ok");
});

Deno.test("joins, leaves, renames, actions, notices and errors each have their own look", () => {
  const lines = [
    ...see({ type: "join", time: NOON, room: "lobby", name: "Bob", count: 2 }),
    ...see({ type: "leave", time: NOON, room: "lobby", name: "Bob", count: 1, reason: "quit" }),
    ...see({ type: "rename", time: NOON, room: "lobby", from: "Bob", to: "Rob" }),
    ...see({ type: "rename", time: NOON, room: "lobby", from: "Al", to: "Alice" }),
    ...see({ ...message("Bob", "waves"), action: true } as ChatEvent),
    ...see({ type: "notice", time: NOON, text: "Maintenance at 5" }),
    ...see({ type: "error", code: "no_such_user", message: "No user named Zed is here" }),
    ...see({ type: "users", room: "lobby", names: ["Alice", "Bob"] }),
    ...see({ type: "users", room: "team", names: ["Alice", "Bob"], ops: ["Bob"], away: ["Bob"] }),
  ];
  assert.deepEqual(lines, [
    "12:03 --> Bob joined (2 users)",
    "12:03 <-- Bob left: quit (1 user)",
    "12:03 Bob is now known as Rob",
    "12:03 You are now known as Alice",
    "12:03 * Bob waves",
    "12:03 *** Maintenance at 5",
    "12:03 Error: No user named Zed is here",
    "12:03 Users in #lobby (2): Alice, Bob",
    "12:03 Users in #team (2): Alice, @Bob (away)",
  ]);
  const colored = see({ type: "error", code: "bad_frame", message: "x" }, "color")[0];
  assert.ok(colored.includes("\x1b[1;31m"));
  assert.ok(see({ type: "notice", time: NOON, text: "n" }, "color")[0].includes("\x1b[1;33m"));
});

Deno.test("the welcome says where you are and who is here, then the message of the day", () => {
  const welcome: ChatEvent = {
    type: "welcome",
    version: 1,
    name: "Alice",
    room: "lobby",
    users: ["Bob", "Alice"],
    motd: "Be nice",
    server: "chat",
    resume: "secret",
  };
  const lines = see(welcome);
  assert.equal(lines[0], "12:03 Welcome, Alice! You are in #lobby with Bob.");
  assert.equal(lines[1], "12:03 *** Be nice");
});

Deno.test("keepalives and your own goodbye show nothing; a shutdown says so", () => {
  assert.deepEqual(see({ type: "pong" }), []);
  assert.deepEqual(see({ type: "bye", code: "quit", reason: "quit" }), []);
  assert.deepEqual(see({ type: "bye", code: "shutdown", reason: "The server is shutting down" }), [
    "12:03 *** The server is shutting down",
  ]);
});

Deno.test("escape sequences in names and text are removed again on the way to the screen", () => {
  const [line] = see(message("B\x1b[31mob", "\x1b]0;pwned\x07hi \x1b[2Jthere\x9b1m"), "plain");
  assert.equal(line, "12:03 Bob: hi there");
});

Deno.test("plain and NO_COLOR output carry no colour codes; plain carries no escapes at all", () => {
  const events: ChatEvent[] = [
    message("Bob", "hi Alice"),
    { type: "join", time: NOON, room: "lobby", name: "Bob", count: 2 },
    { type: "error", code: "bad_frame", message: "x" },
  ];
  for (const event of events) {
    for (const line of see(event, "plain")) assert.ok(!line.includes("\x1b"), line);
    for (const line of see(event, "mono")) assert.ok(!COLOUR_CODE.test(line), line);
  }
});

Deno.test("long lines wrap at spaces under the text, never wider than the terminal", () => {
  const [line] = renderEvent(message("Bob", "word ".repeat(20).trim()), context);
  const rows = wrapLine(line, 30).map((row) => paint(row, "plain"));
  assert.ok(rows.length > 1);
  assert.ok(rows.every((row) => textWidth(row) <= 30));
  assert.ok(rows.slice(1).every((row) => row.startsWith("      word")), rows.join("\n"));
  assert.equal(rows.map((r) => r.trim()).join(" "), paint(line, "plain"));
});

Deno.test("Chinese wraps between characters, the text starts on the first row, no row starts with ，", () => {
  const text = "今天的作业是第三章的练习，请大家在星期五之前交给老师。如果有问题，可以在这里问我。";
  const [line] = renderEvent(message("小红", text), context);
  const rows = wrapLine(line, 39).map((row) => paint(row, "plain"));
  assert.ok(rows[0].startsWith("12:03 小红: 今天的作业"), rows.join("\n"));
  assert.ok(rows.every((row) => textWidth(row) <= 39), rows.join("\n"));
  assert.ok(rows.slice(1).every((row) => row.startsWith("      ") && !/^ *[，。]/.test(row)));
  // Rows are full but for at most one character and a kept-back one.
  assert.ok(rows.slice(0, -1).every((row) => textWidth(row) >= 35), rows.join("\n"));
  assert.equal(rows.map((row) => row.trim()).join(""), paint(line, "plain"));
});

Deno.test("closing punctuation never starts a row and opening never ends one, ASCII too", () => {
  const plain = (text: string, columns: number) =>
    wrapLine({ spans: [{ text }] }, columns, 0).map((row) => paint(row, "plain"));
  // The row would end at 好 with ，next: 好 goes down with it.
  assert.deepEqual(plain("你好，世界", 5), ["你", "好，", "世界"]);
  assert.deepEqual(plain("他说「你好」。", 6), ["他说", "「你", "好」。"]);
  // A long word cut where the row is full, but not just before its comma.
  assert.deepEqual(plain("abcdefghi, x", 9), ["abcdefgh", "i, x"]);
});

Deno.test("a word moves whole to the next row unless it is wider than a row", () => {
  const [line] = renderEvent(
    message("Bob", "see https://chat-example/a/very/long/path ok"),
    context,
  );
  const rows = wrapLine(line, 30).map((row) => paint(row, "plain"));
  // The address is wider than any row: it fills the first row instead of leaving it short.
  assert.equal(rows[0], "12:03 Bob: see https://chat-ex");
  const words = wrapLine({ spans: [{ text: "one two three four" }] }, 10, 0);
  assert.deepEqual(words.map((row) => paint(row, "plain").trimEnd()), ["one two", "three four"]);
});

Deno.test("wide characters wrap without being cut in half", () => {
  const line: Line = { spans: [{ text: "你好世界".repeat(10) }] };
  const rows = wrapLine(line, 15, 0).map((row) => paint(row, "plain"));
  assert.ok(rows.every((row) => textWidth(row) <= 15));
  assert.equal(rows.join(""), "你好世界".repeat(10));
});

Deno.test("the terminal title names you, the server and how many are here", () => {
  assert.equal(terminalTitle("Alice", "host:7777", 3), "chat — Alice @ host:7777 (3 users)");
});

Deno.test("a welcome to an account says you are logged in", () => {
  const welcome: ChatEvent = {
    type: "welcome",
    version: 1,
    name: "Alice",
    room: "lobby",
    users: ["Alice"],
    server: "chat",
    resume: "secret",
    account: true,
  };
  assert.equal(see(welcome)[0], "12:03 Logged in as Alice. You are in #lobby, the first one here.");
});

Deno.test("a private message kept for someone away says so on the sender's side", () => {
  const kept: ChatEvent = {
    type: "private",
    id: 4,
    time: NOON,
    from: "Alice",
    to: "Bob",
    text: "see you",
    offline: true,
  };
  assert.deepEqual(see(kept), ["12:03 (private to Bob, offline: kept until they log in) see you"]);
});

Deno.test("private messages missed while away show their date, between a header and an end line", () => {
  const yesterday = new Date(2023, 11, 31, 9, 5).getTime();
  const missed: MissedEvent = {
    type: "missed",
    messages: [
      { type: "private", id: 7, time: yesterday, from: "Bob", to: "Alice", text: "are you there?" },
      { type: "private", id: 9, time: NOON, from: "Cid", to: "Alice", text: "call me" },
    ],
  };
  assert.deepEqual(see(missed), [
    "12:03 --- 2 private messages while you were away ---",
    "2023-12-31 09:05 (private) Bob: are you there?",
    "2024-01-01 12:03 (private) Cid: call me",
    "12:03 --- end of private messages ---",
  ]);
  const lines = renderEvent(missed, context);
  assert.deepEqual(lines.map((line) => line.bell ?? false), [true, false, false, false]);
  const one: ChatEvent = { type: "missed", messages: [missed.messages[1]] };
  assert.equal(see(one)[0], "12:03 --- 1 private message while you were away ---");
});
