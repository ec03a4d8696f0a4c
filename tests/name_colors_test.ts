/**
 * Name colours as a unit: who gets which colour, and that no name looks
 * like a kind of line.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  BASIC_NAME_COLORS,
  EXTENDED_NAME_COLORS,
  NameColors,
  paletteFor,
} from "../lib/client/name_colors.ts";
import { paint, renderEvent } from "../lib/client/render.ts";
import type { ChatEvent } from "../lib/core/events.ts";

const NOON = new Date(2024, 0, 1, 12, 3).getTime();

// The SGR codes a name's colour must not share a hue with: red (errors,
// leaves), yellow (notices, status), magenta (private), dark or bright.
const KIND_HUES = ["31", "33", "35", "91", "93", "95"];

Deno.test("no name colour is a colour of errors, notices, private messages or your own name", () => {
  for (const code of BASIC_NAME_COLORS) assert.ok(!KIND_HUES.includes(code), code);
  assert.equal(new Set(BASIC_NAME_COLORS).size, BASIC_NAME_COLORS.length);
  assert.equal(new Set(EXTENDED_NAME_COLORS).size, EXTENDED_NAME_COLORS.length);
  // The colours the renderer gives those kinds, read from what it paints.
  const painted = [
    { type: "error", code: "x", message: "x" },
    { type: "notice", time: NOON, text: "n" },
    { type: "private", id: 1, time: NOON, from: "Bob", to: "Ann", text: "p" },
    { type: "message", id: 1, time: NOON, room: "lobby", from: "Ann", text: "mine" },
  ].flatMap((event) => renderEvent(event as ChatEvent, { me: "Ann", now: NOON }))
    .map((line) => paint(line, "color")).join("");
  // deno-lint-ignore no-control-regex -- reading escape sequences is the point
  const kinds = new Set([...painted.matchAll(/\x1b\[([0-9;]*)m/g)].flatMap((m) => m[1].split(";")));
  for (const code of BASIC_NAME_COLORS) assert.ok(!kinds.has(code), `${code} in ${[...kinds]}`);
});

Deno.test("people present together get different colours while the palette lasts", () => {
  const colors = new NameColors(BASIC_NAME_COLORS);
  // Names whose hashes collide in the old scheme: Bob and 小明, Alice and Guest.
  const names = ["Bob", "小明", "Alice", "Guest", "Dee", "Eve"];
  for (const name of names) colors.arrive(name);
  assert.equal(new Set(names.map((name) => colors.of(name))).size, BASIC_NAME_COLORS.length);
  // One more shares, with one person only.
  colors.arrive("Fay");
  const counts = new Map<string, number>();
  for (const name of [...names, "Fay"]) {
    counts.set(colors.of(name), (counts.get(colors.of(name)) ?? 0) + 1);
  }
  assert.deepEqual([...counts.values()].sort(), [1, 1, 1, 1, 1, 2]);
});

Deno.test("a name keeps its colour for the session, whatever its case, and frees it when gone", () => {
  const colors = new NameColors(["a", "b"]);
  colors.arrive("Bob");
  assert.equal(colors.of("bob"), colors.of("Bob"));
  colors.arrive("Carol");
  assert.notEqual(colors.of("Carol"), colors.of("Bob"));
  colors.depart("Bob");
  colors.arrive("Dan");
  // Bob's colour was free: Dan takes it rather than share Carol's.
  assert.equal(colors.of("Dan"), colors.of("Bob"));
  colors.arrive("Bob");
  assert.equal(colors.of("Bob"), colors.of("Dan"), "Bob comes back in his own colour");
});

Deno.test("a rename keeps the person's colour, from the rename event", () => {
  const colors = new NameColors(BASIC_NAME_COLORS);
  const welcome: ChatEvent = {
    type: "welcome",
    version: 1,
    name: "Ann",
    room: "lobby",
    users: ["Ann", "Bob", "Carol"],
    server: "chat",
    resume: "",
  };
  colors.follow(welcome, "Ann");
  const before = colors.of("Bob");
  colors.follow({ type: "rename", time: NOON, room: "lobby", from: "Bob", to: "Robert" }, "Ann");
  assert.equal(colors.of("Robert"), before);
  // Robert still holds that colour: a newcomer gets another.
  colors.follow({ type: "join", time: NOON, room: "lobby", name: "Zed", count: 4 }, "Ann");
  assert.notEqual(colors.of("Zed"), before);
  assert.notEqual(colors.of("Zed"), colors.of("Carol"));
});

Deno.test("lines get the colours of their names at the time they are printed", () => {
  const colors = new NameColors(["38;5;33", "38;5;42"]);
  colors.arrive("Bob");
  const [line] = colors.colorLines(
    renderEvent(
      { type: "message", id: 1, time: NOON, room: "lobby", from: "Bob", text: "hi Ann" },
      { me: "Ann", now: NOON },
    ),
  );
  assert.ok(paint(line, "color").includes(`\x1b[${colors.of("Bob")}mBob`));
});

Deno.test("256-colour terminals get the larger palette, others the 16-colour one", () => {
  assert.equal(paletteFor({ TERM: "tmux-256color" }), EXTENDED_NAME_COLORS);
  assert.equal(paletteFor({ TERM: "xterm", COLORTERM: "truecolor" }), EXTENDED_NAME_COLORS);
  assert.equal(paletteFor({ TERM: "screen" }), BASIC_NAME_COLORS);
  assert.equal(paletteFor({}), BASIC_NAME_COLORS);
  assert.ok(EXTENDED_NAME_COLORS.length > BASIC_NAME_COLORS.length);
});
