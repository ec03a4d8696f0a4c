/**
 * The screen as a unit: what a person sees after the client's output goes
 * through a terminal (a small emulator, tests/vt.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { KeyDecoder } from "../lib/client/keys.ts";
import { LineEditor } from "../lib/client/line_editor.ts";
import { promptLine, statusLine } from "../lib/client/render.ts";
import { clipLine, Screen } from "../lib/client/screen.ts";
import { Scrollback } from "../lib/client/scrollback.ts";
import { VirtualTerminal } from "./vt.ts";

const NOON = new Date(2024, 0, 1, 12, 3).getTime();

/** A client screen in an emulated terminal, with an editor to type into. */
function setup(columns = 40, rows = 6) {
  const vt = new VirtualTerminal(columns, rows);
  const screen = new Screen(columns, rows, "color");
  const editor = new LineEditor();
  const decoder = new KeyDecoder();
  screen.setPrompt(promptLine("Alice", true));
  const input = () => ({ text: editor.text, cursor: editor.cursor });
  // Starts at the bottom row, as a terminal with some history would be.
  vt.write("\r\n".repeat(rows - 1));
  vt.write(screen.drawInput(input()));
  return {
    vt,
    screen,
    type(bytes: string) {
      for (const key of decoder.feed(new TextEncoder().encode(bytes))) editor.handle(key);
      vt.write(screen.drawInput(input()));
    },
    receive(text: string) {
      vt.write(screen.print([statusLine(text, NOON)], input()));
    },
    resize(columns: number) {
      vt.write(screen.resize(columns, rows, input()));
    },
    /** Presses PageUp, PageDown or End. */
    press(key: "pageUp" | "pageDown" | "toBottom") {
      vt.write(screen[key](input()));
    },
    input,
  };
}

Deno.test("an incoming line prints above the input line, which keeps its text and cursor", () => {
  const s = setup();
  s.type("你好世界 hello\x1b[D\x1b[D");
  s.receive("Bob says hi");
  const lines = s.vt.lines();
  assert.equal(lines.at(-2), "12:03 -- Bob says hi");
  assert.equal(lines.at(-1), "Alice> 你好世界 hello");
  assert.equal(s.vt.row, 5);
  assert.equal(s.vt.column, "Alice> ".length + 8 + " hel".length);
});

Deno.test("many incoming lines scroll the conversation up, the input line stays at the bottom", () => {
  const s = setup(40, 4);
  s.type("draft");
  for (let i = 1; i <= 6; i++) s.receive(`line ${i}`);
  assert.deepEqual(s.vt.lines(), [
    "12:03 -- line 4",
    "12:03 -- line 5",
    "12:03 -- line 6",
    "Alice> draft",
  ]);
  assert.equal(s.vt.column, "Alice> draft".length);
});

Deno.test("a long incoming line wraps under its text and the input line survives", () => {
  const s = setup(30, 6);
  s.type("typing");
  s.receive("a long line that needs more than one row");
  assert.deepEqual(s.vt.lines().slice(-3), [
    "12:03 -- a long line that",
    "      needs more than one row",
    "Alice> typing",
  ]);
});

Deno.test("input wider than the terminal scrolls sideways on one row, with markers", () => {
  const s = setup(30, 4);
  s.type("x".repeat(60));
  const last = s.vt.lines().at(-1)!;
  assert.ok(last.startsWith("Alice> <"), last);
  assert.ok(last.length <= 29);
  assert.equal(s.vt.lines().at(-2), "");
  s.type("\x01");
  const home = s.vt.lines().at(-1)!;
  assert.ok(home.startsWith("Alice> xxx") && home.endsWith(">"), home);
  assert.equal(s.vt.column, "Alice> ".length);
});

Deno.test("wide characters in a long input keep the cursor on the right column", () => {
  const s = setup(20, 3);
  s.type("你好世界".repeat(5));
  for (let i = 0; i < 7; i++) s.type("\x1b[D");
  const { text, cursor } = s.input();
  const row = s.vt.cells[2];
  // The cell under the cursor holds the character after the cursor in the text.
  assert.equal(row[s.vt.column], [...text.slice(cursor)][0]);
  assert.ok(s.vt.lines()[2].length <= 19);
});

Deno.test("after a resize the input line is drawn again for the new width", () => {
  const s = setup(40, 4);
  s.type("hello there");
  s.resize(20);
  assert.equal(s.vt.lines().filter(Boolean).at(-1), "Alice> hello there");
  s.type(" and more text");
  const last = s.vt.lines().at(-1)!;
  assert.ok(last.length <= 19, last);
});

Deno.test("a mention rings the bell once", () => {
  const s = setup();
  s.vt.write(s.screen.print([{ spans: [{ text: "hi Alice" }], bell: true }], s.input()));
  assert.equal(s.vt.bells, 1);
});

Deno.test("a long name in a narrow window is shortened in the prompt, never garbled", () => {
  const line = { spans: [{ text: "Bartholomew_the_2nd" }, { text: "> " }] };
  assert.equal(clipLine(line, 15).spans.map((s) => s.text).join(""), "Bartholomew_…> ");
  const wide = { spans: [{ text: "小明小明小明" }, { text: "> " }] };
  assert.equal(clipLine(wide, 9).spans.map((s) => s.text).join(""), "小明小…> ");
  assert.equal(clipLine(line, 40), line, "a prompt that fits is left alone");
});

Deno.test("PageUp shows the page before, with a mark saying what is below; PageDown comes back", () => {
  const s = setup(40, 6);
  s.type("draft");
  for (let i = 1; i <= 12; i++) s.receive(`line ${i}`);
  s.press("pageUp");
  // The top row of the page before stays in view, at the bottom.
  assert.deepEqual(s.vt.lines(), [
    "12:03 -- line 5",
    "12:03 -- line 6",
    "12:03 -- line 7",
    "12:03 -- line 8",
    "-- 4 lines below: PageDown, End --",
    "Alice> draft",
  ]);
  assert.equal(s.vt.column, "Alice> draft".length);
  s.press("pageUp");
  assert.deepEqual(s.vt.lines().slice(0, 5), [
    "12:03 -- line 2",
    "12:03 -- line 3",
    "12:03 -- line 4",
    "12:03 -- line 5",
    "-- 7 lines below: PageDown, End --",
  ]);
  s.press("pageUp");
  assert.equal(s.vt.lines()[0], "12:03 -- line 1");
  s.press("pageUp");
  assert.equal(s.vt.lines()[0], "12:03 -- line 1", "nothing above the first line");
  s.press("pageDown");
  assert.equal(s.vt.lines()[0], "12:03 -- line 4");
  s.press("pageDown");
  s.press("pageDown");
  assert.deepEqual(s.vt.lines(), [
    "12:03 -- line 8",
    "12:03 -- line 9",
    "12:03 -- line 10",
    "12:03 -- line 11",
    "12:03 -- line 12",
    "Alice> draft",
  ]);
  assert.equal(s.screen.scrolled, false);
});

Deno.test("lines arriving while scrolled up leave the view alone and are counted as new", () => {
  const s = setup(50, 6);
  for (let i = 1; i <= 12; i++) s.receive(`line ${i}`);
  s.press("pageUp");
  s.type("typing");
  s.receive("news 1");
  s.vt.write(s.screen.print([{ spans: [{ text: "hi Alice" }], bell: true }], s.input()));
  assert.deepEqual(s.vt.lines(), [
    "12:03 -- line 5",
    "12:03 -- line 6",
    "12:03 -- line 7",
    "12:03 -- line 8",
    "-- 6 lines below, 2 new: PageDown, End --",
    "Alice> typing",
  ]);
  assert.equal(s.vt.bells, 1, "a mention still rings");
  assert.equal(s.vt.column, "Alice> typing".length);
  // End (or sending a line) goes back to the bottom and shows them.
  s.press("toBottom");
  assert.deepEqual(s.vt.lines().slice(-3), ["12:03 -- news 1", "hi Alice", "Alice> typing"]);
  assert.ok(!s.vt.text().includes("below"));
});

Deno.test("PageUp does nothing when the whole conversation fits on the screen", () => {
  const s = setup(40, 6);
  s.receive("only line");
  const before = s.vt.lines();
  s.press("pageUp");
  assert.deepEqual(s.vt.lines(), before);
  assert.equal(s.screen.scrolled, false);
});

Deno.test("a resize wraps the conversation again for the new width", () => {
  const s = setup(40, 8);
  s.type("hi");
  s.receive("one two three four five six");
  assert.equal(s.vt.lines().at(-2), "12:03 -- one two three four five six");
  s.resize(24);
  const rows = s.vt.lines().filter(Boolean);
  assert.deepEqual(rows.slice(-3), ["12:03 -- one two three", "      four five six", "Alice> hi"]);
});

Deno.test("a status line stays on the row above the input while lines scroll, and when scrolled up", () => {
  const s = setup(40, 6);
  s.type("draft");
  s.receive("line 1");
  s.vt.write(s.screen.setStatus({ spans: [{ text: "[1:#lobby] 2:#team 3" }] }, s.input()));
  s.receive("line 2");
  assert.deepEqual(s.vt.lines().filter((line) => line !== ""), [
    "12:03 -- line 1",
    "12:03 -- line 2",
    "[1:#lobby] 2:#team 3",
    "Alice> draft",
  ]);
  for (let i = 3; i <= 12; i++) s.receive(`line ${i}`);
  assert.deepEqual(s.vt.lines().slice(-3), [
    "12:03 -- line 12",
    "[1:#lobby] 2:#team 3",
    "Alice> draft",
  ]);
  assert.equal(s.vt.column, "Alice> draft".length);
  s.press("pageUp");
  s.receive("news");
  assert.deepEqual(s.vt.lines(), [
    "12:03 -- line 7",
    "12:03 -- line 8",
    "12:03 -- line 9",
    "-- 4 below, 1 new --",
    "[1:#lobby] 2:#team 3",
    "Alice> draft",
  ]);
  s.press("toBottom");
  assert.deepEqual(s.vt.lines().slice(-3), [
    "12:03 -- news",
    "[1:#lobby] 2:#team 3",
    "Alice> draft",
  ]);
  // A new status replaces the old in place; none at all gives its row back to the conversation.
  s.vt.write(s.screen.setStatus({ spans: [{ text: "1:#lobby [2:#team]" }] }, s.input()));
  assert.equal(s.vt.lines().at(-2), "1:#lobby [2:#team]");
  s.vt.write(s.screen.setStatus(null, s.input()));
  assert.deepEqual(s.vt.lines().slice(-2), ["12:03 -- news", "Alice> draft"]);
});

Deno.test("showing another scrollback draws that conversation whole, the input kept", () => {
  const s = setup(40, 6);
  s.type("draft");
  for (let i = 1; i <= 8; i++) s.receive(`lobby ${i}`);
  const lobby = s.screen.scrollback;
  const team = new Scrollback();
  team.append([statusLine("team 1", NOON)], 39);
  s.vt.write(s.screen.show(team, s.input()));
  assert.deepEqual(s.vt.lines().filter((line) => line !== ""), ["12:03 -- team 1", "Alice> draft"]);
  assert.equal(s.vt.column, "Alice> draft".length);
  s.vt.write(s.screen.show(lobby, s.input()));
  assert.deepEqual(s.vt.lines().slice(-2), ["12:03 -- lobby 8", "Alice> draft"]);
});
