/**
 * The line editor as a unit: bytes from a terminal in, text, cursor and the
 * visible part of the input line out.
 *
 * @module
 */

import assert from "node:assert/strict";
import { textWidth } from "../lib/client/display_width.ts";
import { KeyDecoder } from "../lib/client/keys.ts";
import {
  COMMAND_NAMES,
  completeWord,
  type EditorAction,
  layoutInput,
  LineEditor,
} from "../lib/client/line_editor.ts";
import { COMMANDS } from "../lib/core/commands.ts";

const LEFT = "\x1b[D";
const RIGHT = "\x1b[C";
const UP = "\x1b[A";
const DOWN = "\x1b[B";
const BACKSPACE = "\x7f";

/** Feeds raw terminal bytes to an editor; returns the actions it asked for. */
function type(editor: LineEditor, ...inputs: string[]): EditorAction[] {
  const decoder = new KeyDecoder();
  const encoder = new TextEncoder();
  return inputs.flatMap((input) =>
    decoder.feed(encoder.encode(input)).map((k) => editor.handle(k))
  );
}

/** The text with a `|` where the cursor is. */
function show(editor: LineEditor): string {
  return editor.text.slice(0, editor.cursor) + "|" + editor.text.slice(editor.cursor);
}

Deno.test("typing inserts at the cursor, and arrows move it", () => {
  const editor = new LineEditor();
  type(editor, "helo", LEFT, "l", RIGHT, "!");
  assert.equal(show(editor), "hello!|");
});

Deno.test("arrows, Backspace and Delete move over and remove whole wide characters", () => {
  const editor = new LineEditor();
  type(editor, "你好世界", LEFT, LEFT);
  assert.equal(show(editor), "你好|世界");
  type(editor, BACKSPACE);
  assert.equal(show(editor), "你|世界");
  type(editor, "\x1b[3~");
  assert.equal(show(editor), "你|界");
});

Deno.test("an emoji with a skin tone or a family is one character to the editor", () => {
  const editor = new LineEditor();
  type(editor, "a👍🏽b👨‍👩‍👧", LEFT, LEFT, BACKSPACE);
  assert.equal(show(editor), "a|b👨‍👩‍👧");
});

Deno.test("a combining accent typed after a letter stays with it", () => {
  const editor = new LineEditor();
  type(editor, "e", "\u0301", "x", LEFT);
  assert.equal(show(editor), "e\u0301|x");
  type(editor, BACKSPACE);
  assert.equal(show(editor), "|x");
});

Deno.test("Home, End, Ctrl+A and Ctrl+E jump to the ends of the line", () => {
  const editor = new LineEditor();
  type(editor, "middle", "\x1b[H", "<", "\x1b[F", ">", "\x01", "[", "\x05", "]");
  assert.equal(show(editor), "[<middle>]|");
});

Deno.test("Ctrl+U, Ctrl+K and Ctrl+W cut, and Ctrl+Y puts the cut text back", () => {
  const editor = new LineEditor();
  type(editor, "one two three", "\x17");
  assert.equal(show(editor), "one two |");
  type(editor, "\x19");
  assert.equal(show(editor), "one two three|");
  type(editor, LEFT, LEFT, LEFT, LEFT, LEFT, "\x0b");
  assert.equal(show(editor), "one two |");
  type(editor, "\x15");
  assert.equal(show(editor), "|");
});

Deno.test("Alt+B and Alt+F (and Ctrl+arrows) move by word", () => {
  const editor = new LineEditor();
  type(editor, "alpha beta gamma", "\x1bb", "\x1bb");
  assert.equal(show(editor), "alpha |beta gamma");
  type(editor, "\x1b[1;5C");
  assert.equal(show(editor), "alpha beta| gamma");
});

Deno.test("Enter submits the line and empties the editor; an empty line is not sent", () => {
  const editor = new LineEditor();
  assert.deepEqual(type(editor, "   \r"), [{ kind: "edit" }, { kind: "edit" }]);
  assert.deepEqual(type(editor, "\x15hi\r").at(-1), { kind: "submit", text: "hi" });
  assert.equal(show(editor), "|");
});

Deno.test("Up and Down walk through sent lines and come back to the draft", () => {
  const editor = new LineEditor();
  type(editor, "first\r", "second\r", "draft", UP);
  assert.equal(editor.text, "second");
  type(editor, UP, UP);
  assert.equal(editor.text, "first");
  type(editor, DOWN);
  assert.equal(editor.text, "second");
  type(editor, DOWN);
  assert.equal(show(editor), "draft|");
});

Deno.test("a paste is inserted as text: its line breaks do not send anything", () => {
  const editor = new LineEditor();
  const actions = type(editor, "say: ", "\x1b[200~line one\nline two\n\x1b[201~");
  assert.ok(actions.every((a) => a.kind === "edit"));
  assert.equal(show(editor), "say: line one line two|");
});

Deno.test("Ctrl+C leaves, and Ctrl+D leaves only on an empty line", () => {
  const editor = new LineEditor();
  assert.deepEqual(type(editor, "\x03"), [{ kind: "quit" }]);
  type(editor, "ab", LEFT);
  assert.deepEqual(type(editor, "\x04"), [{ kind: "edit" }]);
  assert.equal(show(editor), "a|");
  type(editor, "\x15");
  assert.deepEqual(type(editor, "\x04"), [{ kind: "quit" }]);
});

Deno.test("Tab completes a name, and pressing it again cycles through the matches", () => {
  const names = ["Bob", "bea", "Alice"];
  const editor = new LineEditor((text, cursor) => completeWord(text, cursor, names));
  type(editor, "hi b\t");
  assert.equal(show(editor), "hi bea |");
  type(editor, "\t");
  assert.equal(show(editor), "hi Bob |");
  type(editor, "\t");
  assert.equal(show(editor), "hi bea |");
  type(editor, "x");
  assert.equal(show(editor), "hi bea x|");
});

Deno.test("Tab completes commands after a slash, @names, and a name at the start with a colon", () => {
  assert.deepEqual(completeWord("/ni", 3, [])?.candidates, ["/nick "]);
  assert.deepEqual(completeWord("/m", 2, [])?.candidates, ["/me ", "/msg "]);
  assert.deepEqual(completeWord("@al", 3, ["Alice"])?.candidates, ["@Alice "]);
  assert.deepEqual(completeWord("al", 2, ["Alice"])?.candidates, ["Alice: "]);
  assert.deepEqual(completeWord("/msg 小", 6, ["小明"])?.candidates, ["小明 "]);
  assert.equal(completeWord("hi ", 3, ["Alice"]), null);
  assert.equal(completeWord("zz", 2, ["Alice"]), null);
  assert.deepEqual(completeWord("/join #te", 9, ["Alice", "#team"])?.candidates, ["#team "]);
  assert.deepEqual(completeWord("/jo", 3, [])?.candidates, ["/join "]);
});

Deno.test("the commands offered by Tab are ones the server knows", () => {
  for (const name of COMMAND_NAMES) assert.ok(COMMANDS.names().includes(name), name);
});

Deno.test("a short line is shown whole with the cursor at its display column", () => {
  const view = layoutInput("你好世界", "你好".length, 40, 0);
  assert.deepEqual(view, {
    visible: "你好世界",
    clippedLeft: false,
    clippedRight: false,
    cursorColumn: 4,
    scroll: 0,
  });
});

Deno.test("a line wider than the terminal scrolls sideways and keeps the cursor in view", () => {
  const text = "0123456789".repeat(5);
  let scroll = 0;
  for (let cursor = text.length; cursor >= 0; cursor--) {
    const view = layoutInput(text, cursor, 20, scroll);
    scroll = view.scroll;
    const shown = (view.clippedLeft ? 1 : 0) + textWidth(view.visible) +
      (view.clippedRight ? 1 : 0);
    assert.ok(shown <= 19, `row is ${shown} columns at cursor ${cursor}`);
    assert.ok(view.cursorColumn >= 0 && view.cursorColumn <= 19);
    // The character under the cursor is the one at `cursor` in the text.
    const under = [...view.visible][view.cursorColumn - (view.clippedLeft ? 1 : 0)];
    if (cursor < text.length) assert.equal(under, text[cursor], `cursor ${cursor}`);
  }
  const end = layoutInput(text, text.length, 20, 0);
  assert.ok(end.clippedLeft && !end.clippedRight && end.visible.endsWith("789"));
});

Deno.test("wide characters are never cut in half at the edges of a scrolled line", () => {
  const text = "你好世界".repeat(10);
  let scroll = 0;
  for (let cursor = 0; cursor <= text.length; cursor++) {
    const view = layoutInput(text, cursor, 15, scroll);
    scroll = view.scroll;
    const shown = (view.clippedLeft ? 1 : 0) + textWidth(view.visible) +
      (view.clippedRight ? 1 : 0);
    assert.ok(shown <= 14, `row is ${shown} columns at cursor ${cursor}`);
    assert.ok(text.includes(view.visible));
    const before = [...view.visible].slice(0, cursor - view.scroll).join("");
    assert.equal(view.cursorColumn, (view.clippedLeft ? 1 : 0) + textWidth(before));
  }
});

Deno.test("moving the cursor a little inside a scrolled line does not make the text jump", () => {
  const text = "x".repeat(100);
  const atEnd = layoutInput(text, 100, 30, 0);
  const back = layoutInput(text, 95, 30, atEnd.scroll);
  assert.equal(back.scroll, atEnd.scroll);
});

Deno.test("Enter on a line of spaces clears it, so the next command is not pushed off", () => {
  const editor = new LineEditor();
  const actions = type(editor, "   ", "\r", "/msg Bob hi", "\r");
  assert.deepEqual(actions.filter((a) => a.kind === "submit"), [
    { kind: "submit", text: "/msg Bob hi" },
  ]);
});
