import assert from "node:assert/strict";
import { encodePlain, renderPlain } from "../lib/protocol/plain_text.ts";
import { clock, day } from "../lib/protocol/time_text.ts";
import type { ChatEvent } from "../lib/core/events.ts";

const T = new Date(2026, 10, 25, 9, 5).getTime();

Deno.test("renderPlain() gives each event a readable line for an nc user", () => {
  const cases: [ChatEvent, string | null][] = [
    [
      { type: "message", id: 1, time: T, room: "lobby", from: "Bob", text: "hi" },
      "[09:05] Bob: hi",
    ],
    [{ type: "message", id: 2, time: T, room: "lobby", from: "Ann", text: "mine" }, null],
    [
      { type: "message", id: 3, time: T, room: "lobby", from: "Bob", text: "waves", action: true },
      "[09:05] * Bob waves",
    ],
    [
      { type: "private", id: 4, time: T, from: "Bob", to: "Ann", text: "psst" },
      "[09:05] (private) Bob: psst",
    ],
    [
      { type: "private", id: 5, time: T, from: "Ann", to: "Bob", text: "ok" },
      "[09:05] (private to Bob) ok",
    ],
    [
      { type: "join", time: T, room: "lobby", name: "小明", count: 1 },
      "[09:05] --> 小明 joined (1 user)",
    ],
    [
      { type: "leave", time: T, room: "lobby", name: "Bob", count: 2, reason: "lunch" },
      "[09:05] <-- Bob left: lunch (2 users)",
    ],
    [
      { type: "rename", time: T, room: "lobby", from: "Bob", to: "Rob" },
      "[09:05] Bob is now known as Rob",
    ],
    [{ type: "notice", time: T, text: "Break!" }, "[09:05] *** Break!"],
    [{ type: "info", text: "a\nb" }, "a\r\nb"],
    [
      { type: "error", code: "no_such_user", message: "No user named Zed is here" },
      "Error: No user named Zed is here",
    ],
    [{ type: "bye", code: "quit", reason: "quit" }, "Goodbye (quit)"],
    [
      { type: "bye", code: "shutdown", reason: "The server is shutting down" },
      "*** The server is shutting down",
    ],
    [{ type: "ping" }, null],
  ];
  for (const [event, want] of cases) assert.equal(renderPlain(event, "Ann"), want, event.type);
});

Deno.test("renderPlain() welcomes with the company and the message of the day", () => {
  const welcome: ChatEvent = {
    type: "welcome",
    version: 1,
    name: "Ann",
    room: "lobby",
    users: ["Bob", "Ann"],
    motd: "Be kind",
    server: "chat",
    resume: "secret",
  };
  assert.equal(
    renderPlain(welcome, "Ann"),
    "Welcome, Ann! You are in #lobby. Here with you: Bob.\r\nMessage of the day: Be kind\r\n" +
      "Type a message and press Enter; /help lists the commands.",
  );
});

Deno.test("clock() shows the local hour and minute with leading zeros", () => {
  assert.equal(clock(T), "09:05");
});

Deno.test("renderPlain() welcomes into a big room without listing everyone", () => {
  const users = Array.from({ length: 30 }, (_, i) => `u${i}`);
  const welcome: ChatEvent = {
    type: "welcome",
    version: 1,
    name: "u29",
    room: "lobby",
    users,
    server: "chat",
    resume: "secret",
  };
  const first = renderPlain(welcome, "u29")!.split("\r\n")[0];
  assert.equal(
    first,
    `Welcome, u29! You are in #lobby. Here with you: ${
      users.slice(0, 20).join(", ")
    } and 9 others.`,
  );
});

Deno.test("renderPlain() counts the users a big room's welcome does not list", () => {
  const users = Array.from({ length: 100 }, (_, i) => `u${i}`);
  const welcome: ChatEvent = {
    type: "welcome",
    version: 1,
    name: "Ann",
    room: "lobby",
    users,
    count: 250,
    server: "chat",
    resume: "t",
  };
  assert.match(renderPlain(welcome, "Ann")!, /u19 and 229 others\./);
});

Deno.test("encodePlain() encodes a line once for everyone it reads the same for", () => {
  const event: ChatEvent = {
    type: "message",
    id: 1,
    time: T,
    room: "lobby",
    from: "Bob",
    text: "hi",
  };
  const forAnn = encodePlain(event, "Ann");
  assert.equal(new TextDecoder().decode(forAnn!), "[09:05] Bob: hi\r\n");
  assert.equal(encodePlain(event, "Cy"), forAnn, "the same bytes");
  assert.equal(encodePlain(event, "Bob"), null, "the sender's terminal echoed it already");
  const whisper: ChatEvent = { type: "private", id: 2, time: T, from: "Bob", to: "Ann", text: "x" };
  assert.notDeepEqual(encodePlain(whisper, "Bob"), encodePlain(whisper, "Ann"));
});

Deno.test("renderPlain() frames earlier messages so they are not taken for new ones", () => {
  const history: ChatEvent = {
    type: "history",
    room: "lobby",
    messages: [
      { type: "message", id: 1, time: T, room: "lobby", from: "Ann", text: "mine" },
      { type: "message", id: 2, time: T, room: "lobby", from: "Bob", text: "hi" },
    ],
  };
  assert.equal(
    renderPlain(history, "Ann"),
    "--- 2 earlier messages ---\r\n[09:05] Ann: mine\r\n[09:05] Bob: hi\r\n--- end of history ---",
  );
});

Deno.test("renderPlain() frames private messages kept while the viewer was away", () => {
  const missed: ChatEvent = {
    type: "missed",
    messages: [
      { type: "private", id: 7, time: T, from: "Bob", to: "Ann", text: "call me" },
      { type: "private", id: 9, time: T, from: "Cy", to: "Ann", text: "lunch?" },
    ],
  };
  assert.equal(
    renderPlain(missed, "Ann"),
    "--- 2 private messages while you were away ---\r\n" +
      `[${day(T)} 09:05] (private) Bob: call me\r\n[${day(T)} 09:05] (private) Cy: lunch?\r\n` +
      "--- end of private messages ---",
  );
  const one: ChatEvent = { type: "missed", messages: [missed.messages[0]] };
  assert.match(renderPlain(one, "Ann")!, /^--- 1 private message while you were away ---\r\n/);
});

Deno.test("renderPlain() tells the sender a private message was kept for someone away", () => {
  const receipt: ChatEvent = {
    type: "private",
    id: 3,
    time: T,
    from: "Ann",
    to: "Bob",
    text: "call me",
    offline: true,
  };
  assert.equal(
    renderPlain(receipt, "Ann"),
    "[09:05] (to Bob, who is offline: kept until they log in) call me",
  );
});

Deno.test("renderPlain() tells an account holder they are logged in", () => {
  const welcome: ChatEvent = {
    type: "welcome",
    version: 1,
    name: "Bob",
    room: "lobby",
    users: ["Bob"],
    server: "chat",
    resume: "secret",
    account: true,
  };
  assert.equal(
    renderPlain(welcome, "Bob"),
    "Welcome, Bob! You are in #lobby. You are the first one here.\r\n" +
      "You are logged in to your account, Bob.\r\n" +
      "Type a message and press Enter; /help lists the commands.",
  );
});
