/**
 * decodeServerFrame: the client's check of each frame against
 * docs/PROTOCOL.md. Every frame a real server sends passes; a frame with a
 * field missing or of the wrong type does not, and says which; unknown types
 * are left for the caller to ignore.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ChatEvent, WelcomeEvent } from "../lib/core/events.ts";
import { ChatError } from "../lib/core/errors.ts";
import { decodeServerFrame } from "../lib/protocol/json.ts";
import { JsonClient, startServer, tempStore } from "./_helpers.ts";

const message = { type: "message", id: 7, time: 1_795_632_436_001, room: "lobby", from: "Bob" };
const privately = { type: "private", id: 9, time: 1_795_632_437_500, from: "Bob", to: "Ann" };

/** One frame of each type, with every field it needs and no other. */
const GOOD: Record<ChatEvent["type"], Record<string, unknown>> = {
  welcome: {
    type: "welcome",
    version: 1,
    name: "Ann",
    room: "lobby",
    users: ["Ann"],
    server: "chat 0.1.0",
    resume: "r",
  },
  message: { ...message, text: "hi" },
  private: { ...privately, text: "psst" },
  missed: { type: "missed", messages: [{ ...privately, text: "psst" }] },
  replay: {
    type: "replay",
    messages: [{ ...message, text: "hi" }, { ...privately, text: "psst" }],
  },
  sent: { type: "sent", cid: "c1", id: 7 },
  history: { type: "history", room: "lobby", messages: [{ ...message, text: "hi" }] },
  join: { type: "join", time: 1, room: "lobby", name: "Bob", count: 2 },
  leave: { type: "leave", time: 1, room: "lobby", name: "Bob", count: 1, reason: "" },
  rename: { type: "rename", time: 1, room: "lobby", from: "Bob", to: "Rob" },
  users: { type: "users", room: "lobby", names: [] },
  away: { type: "away", name: "Bob" },
  ignoring: { type: "ignoring", names: [] },
  whois: { type: "whois", name: "Bob", online: false },
  part: { type: "part", time: 1, room: "team", name: "Bob", count: 0, reason: "" },
  current: { type: "current", room: "team" },
  topic: { type: "topic", time: 1, room: "team", topic: "" },
  mode: { type: "mode", time: 1, room: "team", by: "", change: "op" },
  invite: { type: "invite", time: 1, room: "team", from: "Ann" },
  rooms: { type: "rooms", rooms: [{ room: "team", count: 1, topic: "" }] },
  notice: { type: "notice", time: 1, text: "note" },
  info: { type: "info", text: "help" },
  error: { type: "error", code: "some_new_code", message: "No" },
  ping: { type: "ping" },
  pong: { type: "pong" },
  bye: { type: "bye", code: "kicked", reason: "Out" },
};

/** The problem decodeServerFrame names for `line`; fails if it decodes. */
function problem(line: string): string {
  try {
    decodeServerFrame(line);
  } catch (error) {
    assert.ok(error instanceof ChatError && error.code === "bad_frame", String(error));
    return error.message;
  }
  throw new Error(`decoded: ${line}`);
}

Deno.test("decodeServerFrame() takes a frame of each type with the fields it needs, and extra ones", () => {
  for (const frame of Object.values(GOOD)) {
    assert.deepEqual(decodeServerFrame(JSON.stringify(frame)), frame);
    const extra = { ...frame, newer: { later: [1] } };
    assert.deepEqual(decodeServerFrame(JSON.stringify(extra)), extra);
  }
  const optional = [
    { ...GOOD.welcome, count: 3, motd: "Be kind", account: true },
    { ...GOOD.message, action: true },
    { ...GOOD.private, offline: true },
    { type: "ping", token: "t" },
    { type: "history", room: "lobby", messages: [] },
    { ...GOOD.users, names: ["Bob"], away: ["Bob"] },
    { type: "away", name: "Bob", text: "lunch", since: 5 },
    { type: "ignoring", names: ["Bob"], added: "Bob" },
    {
      ...GOOD.whois,
      online: true,
      account: true,
      since: 1,
      idle: 0,
      away: "lunch",
      awaySince: 2,
      rooms: ["lobby"],
      ops: [],
    },
  ];
  for (const frame of optional) assert.deepEqual(decodeServerFrame(JSON.stringify(frame)), frame);
});

Deno.test("decodeServerFrame() names the field a frame lacks, for each required field of each type", () => {
  for (const [type, frame] of Object.entries(GOOD)) {
    for (const field of Object.keys(frame).filter((f) => f !== "type")) {
      const without = JSON.stringify({ ...frame, [field]: undefined });
      assert.match(problem(without), new RegExp(`^Frame "${type}" needs .* "${field}"$`));
      const wrong = JSON.stringify({ ...frame, [field]: { wrong: true } });
      assert.match(problem(wrong), new RegExp(`^Frame "${type}" needs .* "${field}"$`));
    }
  }
});

Deno.test("decodeServerFrame() refuses numbers that are no whole count or time, and wrong lists", () => {
  const cases: [string, string][] = [
    [JSON.stringify({ ...GOOD.join, count: -1 }), 'needs a whole number "count"'],
    [JSON.stringify({ ...GOOD.join, count: 1.5 }), 'needs a whole number "count"'],
    [JSON.stringify({ ...GOOD.join, count: 2 ** 53 }), 'needs a whole number "count"'],
    ['{"type":"join","time":1,"room":"r","name":"n","count":1e400}', 'whole number "count"'],
    [JSON.stringify({ ...GOOD.message, time: 1e308 }), 'needs a time in ms since 1970 "time"'],
    [JSON.stringify({ ...GOOD.message, id: "7" }), 'needs a whole number "id"'],
    [JSON.stringify({ ...GOOD.users, names: ["a", 1] }), 'needs a list of strings "names"'],
    [JSON.stringify({ ...GOOD.users, names: "a" }), 'needs a list of strings "names"'],
    [JSON.stringify({ type: "missed", messages: [null] }), 'list of "private" frames "messages"'],
    [JSON.stringify({ type: "missed", messages: [GOOD.message] }), '"private" frames'],
    [JSON.stringify({ ...GOOD.history, messages: [{ type: "message" }] }), '"message" frames'],
    [JSON.stringify({ ...GOOD.message, action: "yes" }), 'Field "action" of "message" must be'],
    [JSON.stringify({ type: "ping", token: 5 }), 'Field "token" of "ping" must be a string'],
    ['{"type":"info","__proto__":{"text":"x"}}', 'needs a string "text"'],
    ["{not json", "Frame is not valid JSON"],
    ["[1]", "Frame is not a JSON object"],
    ["null", "Frame is not a JSON object"],
    ['{"type":1}', 'Frame has no "type" string'],
    [`{"type":"info","text":${"[".repeat(100_000)}${"]".repeat(100_000)}}`, "text"],
  ];
  for (const [line, expected] of cases) {
    assert.ok(problem(line).includes(expected), `${line.slice(0, 80)}: ${problem(line)}`);
  }
});

Deno.test("decodeServerFrame() returns null for types it does not know, Object's own names included", () => {
  for (const type of ["sparkle", "__proto__", "constructor", "toString", "hasOwnProperty", ""]) {
    assert.equal(decodeServerFrame(JSON.stringify({ type, text: "x" })), null, type);
  }
});

Deno.test("every frame a real server sends decodes", async () => {
  const data = await tempStore({ Bob: "correct horse" });
  const server = startServer({ store: data.store, auth: "names", history: 5, motd: "Be kind" });
  const ann = await JsonClient.join(server.addr.port, "Ann");
  let bob: JsonClient | null = null;
  try {
    await ann.type("hello");
    await ann.next("message");
    await ann.send({ type: "msg", to: "Bob", text: "psst" });
    await ann.next("private");
    bob = await JsonClient.join(server.addr.port, "Bob", { password: "correct horse" });
    await bob.next("history");
    await bob.next("missed");
    await ann.next("join");
    await ann.send({ type: "who" });
    await ann.next("users");
    await ann.send({ type: "help" });
    await ann.next("info");
    await ann.send({ type: "say", text: " " });
    await ann.next("error");
    await ann.send({ type: "ping", token: "t" });
    await ann.next("pong");
    await ann.type("/nick Anna");
    await ann.next("rename");
    server.hub.announce("Class ends soon");
    await ann.next("notice");
    await ann.send({ type: "join", room: "#team" });
    await ann.next("current");
    await ann.send({ type: "topic", text: "Project week" });
    await ann.next("topic");
    await ann.send({ type: "private" });
    await ann.next("mode");
    await ann.send({ type: "invite", name: "Bob" });
    await bob.next("invite");
    await ann.send({ type: "rooms" });
    await ann.next("rooms");
    await ann.send({ type: "part", room: "team" });
    await ann.next("part");
    await ann.send({ type: "away", text: "lunch" });
    await ann.next("away");
    await ann.send({ type: "ignore", name: "Eve" });
    await ann.next("ignoring");
    await ann.send({ type: "whois", name: "Bob" });
    await ann.next("whois");
    await ann.send({ type: "say", text: "once", cid: "c1" });
    await ann.next("sent");
    const { stream } = await ann.waitFor((event) => event.type === "welcome") as WelcomeEvent;
    await bob.type("/quit lunch");
    await bob.next("bye");
    await ann.next("leave");
    const cy = await JsonClient.connect(server.addr.port);
    await cy.send({ type: "hello", version: 1, name: "Cy", since: 0, stream });
    await cy.next("replay");
    await cy.close();
    const lines = [...ann.raw.lines, ...bob.raw.lines, ...cy.raw.lines];
    const types = new Set(lines.map((line) => decodeServerFrame(line)?.type));
    assert.deepEqual(
      [...types].sort(),
      Object.keys(GOOD).filter((t) => t !== "ping").sort(),
      "each type but ping (the keepalive's) was seen and decoded",
    );
  } finally {
    await ann.close();
    await bob?.close();
    await server.shutdown();
    await data.dispose();
  }
});
