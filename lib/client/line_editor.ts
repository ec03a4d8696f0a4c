/**
 * The input line: what has been typed, where the cursor is, the lines sent
 * before, and Tab completion. Pure: keys go in, state and actions come out;
 * nothing here reads or writes a terminal.
 *
 * The cursor is an offset into the text that always sits between grapheme
 * clusters, so one press of an arrow key or Backspace moves over or deletes
 * what a person sees as one character (你, é, 👍🏽). {@link layoutInput}
 * measures those characters in terminal columns and picks the part of a long
 * line that fits in the terminal, scrolling sideways with the cursor.
 *
 * @module
 */

import { graphemes, graphemeWidth, textWidth } from "./display_width.ts";
import type { Key } from "./keys.ts";

/** What the caller should do after a key. */
export type EditorAction =
  /** Redraw the input line (it may not have changed). */
  | { kind: "edit" }
  /** The user pressed Enter on this text; the line is now empty. */
  | { kind: "submit"; text: string }
  /** The user wants to leave (Ctrl+C, or Ctrl+D on an empty line). */
  | { kind: "quit" }
  /** The user asked for a clean screen (Ctrl+L). */
  | { kind: "clear_screen" };

/**
 * Finds completions for the word before the cursor: the range `[start, end)`
 * of the text to replace and the candidate replacements, or null.
 */
export type Completer = (text: string, cursor: number) => Completion | null;

/** Completions for part of the line. */
export interface Completion {
  /** Offset where the replaced word starts. */
  start: number;
  /** Offset where it ends (the cursor). */
  end: number;
  /** Replacements to cycle through with Tab, best first. */
  candidates: string[];
}

/** Lines kept for Up/Down, oldest dropped first. */
export const HISTORY_SIZE = 500;

// Characters a line may not hold: controls would garble the screen, and the
// server drops them anyway.
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** An editable line with history, a kill buffer and Tab completion. */
export class LineEditor {
  #text = "";
  #cursor = 0;
  #history: string[] = [];
  #historyIndex = 0;
  #draft = "";
  #killed = "";
  #completer: Completer;
  #cycle: { start: number; candidates: string[]; index: number; end: number } | null = null;

  /** Creates an empty editor; `completer` answers Tab. */
  constructor(completer: Completer = () => null) {
    this.#completer = completer;
  }

  /** The text typed so far. */
  get text(): string {
    return this.#text;
  }

  /** The cursor, as an offset into {@link text} (UTF-16 code units). */
  get cursor(): number {
    return this.#cursor;
  }

  /** Replaces the line, cursor at the end (to give back a line that could not be sent). */
  setText(text: string): void {
    this.#text = text.replace(CONTROLS, "");
    this.#cursor = this.#text.length;
    this.#cycle = null;
  }

  /** Applies one key and says what the caller should do. */
  handle(key: Key): EditorAction {
    if (!(key.kind === "key" && (key.name === "tab" || key.name === "shift+tab"))) {
      this.#cycle = null;
    }
    if (key.kind === "text") {
      this.#insert(key.text);
      return EDIT;
    }
    if (key.kind === "paste") {
      // A pasted line break must not send a half-checked line: it becomes a
      // space, and a final one (a copied whole line) is dropped.
      this.#insert(key.text.replace(/(\r\n|\r|\n)$/, "").replace(/\r\n|[\r\n\t]/g, " "));
      return EDIT;
    }
    switch (key.name) {
      case "enter":
        return this.#submit();
      case "ctrl+c":
        return { kind: "quit" };
      case "ctrl+d":
        if (this.#text === "") return { kind: "quit" };
        this.#deleteRight();
        return EDIT;
      case "ctrl+l":
        return { kind: "clear_screen" };
      case "left":
      case "ctrl+b":
        this.#cursor = this.#previousBoundary(this.#cursor);
        return EDIT;
      case "right":
      case "ctrl+f":
        this.#cursor = this.#nextBoundary(this.#cursor);
        return EDIT;
      case "home":
      case "ctrl+a":
        this.#cursor = 0;
        return EDIT;
      case "end":
      case "ctrl+e":
        this.#cursor = this.#text.length;
        return EDIT;
      case "word_left":
        this.#cursor = wordStart(this.#text, this.#cursor);
        return EDIT;
      case "word_right":
        this.#cursor = wordEnd(this.#text, this.#cursor);
        return EDIT;
      case "backspace":
        this.#cut(this.#previousBoundary(this.#cursor), this.#cursor, false);
        return EDIT;
      case "delete":
        this.#deleteRight();
        return EDIT;
      case "ctrl+w":
      case "delete_word_left":
        this.#cut(wordStart(this.#text, this.#cursor), this.#cursor, true);
        return EDIT;
      case "delete_word_right":
        this.#cut(this.#cursor, wordEnd(this.#text, this.#cursor), true);
        return EDIT;
      case "ctrl+u":
        this.#cut(0, this.#cursor, true);
        return EDIT;
      case "ctrl+k":
        this.#cut(this.#cursor, this.#text.length, true);
        return EDIT;
      case "ctrl+y":
        this.#insert(this.#killed);
        return EDIT;
      case "up":
      case "ctrl+p":
        this.#recall(-1);
        return EDIT;
      case "down":
      case "ctrl+n":
        this.#recall(1);
        return EDIT;
      case "tab":
        this.#complete(1);
        return EDIT;
      case "shift+tab":
        this.#complete(-1);
        return EDIT;
      default:
        return EDIT;
    }
  }

  #insert(raw: string): void {
    const text = raw.replace(CONTROLS, "");
    if (!text) return;
    const before = this.#text.slice(0, this.#cursor);
    this.#text = before + text + this.#text.slice(this.#cursor);
    // A combining mark typed after a letter joins it; keep the cursor on a boundary.
    this.#cursor = this.#snap(before.length + text.length);
  }

  #deleteRight(): void {
    this.#cut(this.#cursor, this.#nextBoundary(this.#cursor), false);
  }

  #cut(from: number, to: number, kill: boolean): void {
    if (from >= to) return;
    if (kill) this.#killed = this.#text.slice(from, to);
    this.#text = this.#text.slice(0, from) + this.#text.slice(to);
    this.#cursor = from;
  }

  #submit(): EditorAction {
    const text = this.#text;
    if (text.trim() === "") {
      // Invisible spaces left in the line would turn the next "/msg" into a message.
      this.#text = "";
      this.#cursor = 0;
      return EDIT;
    }
    if (this.#history.at(-1) !== text) this.#history.push(text);
    if (this.#history.length > HISTORY_SIZE) this.#history.shift();
    this.#historyIndex = this.#history.length;
    this.#draft = "";
    this.#text = "";
    this.#cursor = 0;
    return { kind: "submit", text };
  }

  #recall(step: number): void {
    const index = this.#historyIndex + step;
    if (index < 0 || index > this.#history.length) return;
    // Leaving the line being written keeps it, to come back to with Down.
    if (this.#historyIndex === this.#history.length) this.#draft = this.#text;
    this.#historyIndex = index;
    this.#text = index === this.#history.length ? this.#draft : this.#history[index];
    this.#cursor = this.#text.length;
  }

  #complete(step: number): void {
    if (this.#cycle) {
      const cycle = this.#cycle;
      const count = cycle.candidates.length;
      cycle.index = (cycle.index + step + count) % count;
      this.#replace(cycle.start, cycle.end, cycle.candidates[cycle.index]);
      cycle.end = this.#cursor;
      return;
    }
    const found = this.#completer(this.#text, this.#cursor);
    if (!found || found.candidates.length === 0) return;
    const index = step > 0 ? 0 : found.candidates.length - 1;
    this.#replace(found.start, found.end, found.candidates[index]);
    // One candidate is final; several are cycled through by pressing Tab again.
    if (found.candidates.length > 1) {
      this.#cycle = { start: found.start, candidates: found.candidates, index, end: this.#cursor };
    }
  }

  #replace(start: number, end: number, text: string): void {
    this.#text = this.#text.slice(0, start) + text + this.#text.slice(end);
    this.#cursor = start + text.length;
  }

  #boundaries(): number[] {
    const offsets = [0];
    let at = 0;
    for (const g of graphemes(this.#text)) offsets.push(at += g.length);
    return offsets;
  }

  #previousBoundary(offset: number): number {
    const offsets = this.#boundaries();
    for (let i = offsets.length - 1; i >= 0; i--) if (offsets[i] < offset) return offsets[i];
    return 0;
  }

  #nextBoundary(offset: number): number {
    for (const at of this.#boundaries()) if (at > offset) return at;
    return this.#text.length;
  }

  #snap(offset: number): number {
    for (const at of this.#boundaries()) if (at >= offset) return at;
    return this.#text.length;
  }
}

const EDIT: EditorAction = { kind: "edit" };

function wordStart(text: string, cursor: number): number {
  let at = cursor;
  while (at > 0 && /\s/.test(text[at - 1])) at--;
  while (at > 0 && !/\s/.test(text[at - 1])) at--;
  return at;
}

function wordEnd(text: string, cursor: number): number {
  let at = cursor;
  while (at < text.length && /\s/.test(text[at])) at++;
  while (at < text.length && !/\s/.test(text[at])) at++;
  return at;
}

/** The commands offered by Tab after `/` (those of lib/commands.ts, without aliases). */
export const COMMAND_NAMES: readonly string[] = [
  "help",
  "me",
  "msg",
  "nick",
  "quit",
  "who",
  "join",
  "part",
  "rooms",
  "topic",
  "kick",
  "op",
  "deop",
  "invite",
  "private",
  "public",
];

/**
 * Completes the word before the cursor: `/com` to a command, `@na` and `na`
 * to a user name (case-insensitively). A name that starts the line gets a
 * colon, as in "Bob: see above".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completeWord } from "./line_editor.ts";
 * const found = completeWord("hi @bo", 6, ["Alice", "Bob"]);
 * assert.ok(found?.candidates[0] === "@Bob ");
 * ```
 */
export function completeWord(
  text: string,
  cursor: number,
  names: readonly string[],
  commands: readonly string[] = COMMAND_NAMES,
): Completion | null {
  const start = wordStart(text, cursor);
  const word = text.slice(start, cursor);
  if (/\s/.test(word) || word === "") return null;
  const matching = (list: readonly string[], prefix: string) => {
    const lower = prefix.toLowerCase();
    return [...list]
      .filter((item) => item.toLowerCase().startsWith(lower))
      .sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" }));
  };
  let candidates: string[];
  if (word.startsWith("/") && start === 0) {
    candidates = matching(commands, word.slice(1)).map((c) => `/${c} `);
  } else if (word.startsWith("@")) {
    candidates = matching(names, word.slice(1)).map((n) => `@${n} `);
  } else {
    const suffix = start === 0 ? ": " : " ";
    candidates = matching(names, word).map((n) => n + suffix);
  }
  return candidates.length > 0 ? { start, end: cursor, candidates } : null;
}

/** The part of the input line that is on screen, and where the cursor is. */
export interface InputLayout {
  /** The visible text, whole grapheme clusters only. */
  visible: string;
  /** Text is hidden to the left of the visible part. */
  clippedLeft: boolean;
  /** Text is hidden to the right of the visible part. */
  clippedRight: boolean;
  /** Cursor column counted from the end of the prompt, 0-based. */
  cursorColumn: number;
  /** Index of the first visible grapheme: pass it back next time, for steady scrolling. */
  scroll: number;
}

/**
 * Fits `text` into `columns` terminal columns, keeping the cursor in view.
 * A clipped side takes one column for an indicator (`<` or `>`), which
 * {@link cursorColumn} counts. Scrolling moves only when the cursor would
 * leave the view (or come within a few columns of its edge), so the text does
 * not jump under the eye on every key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layoutInput } from "./line_editor.ts";
 * const view = layoutInput("你好世界", 3, 20, 0); // cursor after 你好世
 * assert.ok(view.cursorColumn === 6 && view.visible === "你好世界");
 * ```
 */
export function layoutInput(
  text: string,
  cursor: number,
  columns: number,
  scroll: number,
): InputLayout {
  const chars = graphemes(text);
  const widths: number[] = chars.map(graphemeWidth);
  let cursorIndex = 0;
  for (let at = 0; cursorIndex < chars.length && at < cursor; cursorIndex++) {
    at += chars[cursorIndex].length;
  }
  const space = Math.max(columns, 3);
  if (textWidth(text) < space) {
    const cursorColumn = widths.slice(0, cursorIndex).reduce((a, b) => a + b, 0);
    return { visible: text, clippedLeft: false, clippedRight: false, cursorColumn, scroll: 0 };
  }
  // Columns kept visible beyond the cursor, so that one sees what one edits.
  const margin = Math.min(6, Math.floor(space / 4));
  const width = (from: number, to: number) => {
    let sum = 0;
    for (let i = from; i < to; i++) sum += widths[i];
    return sum;
  };
  let start = Math.min(Math.max(scroll, 0), cursorIndex);
  // Scroll left to keep `margin` columns before the cursor.
  while (start > 0 && width(start, cursorIndex) < margin) start--;
  // Scroll right until the cursor, its margin and the indicators fit.
  const after = Math.min(margin, width(cursorIndex, chars.length));
  while (start < cursorIndex) {
    const left = start > 0 ? 1 : 0;
    const right = width(start, chars.length) + left > space - 1 ? 1 : 0;
    if (left + width(start, cursorIndex) + Math.max(after, 1) + right <= space - 1) break;
    start++;
  }
  const clippedLeft = start > 0;
  let room = space - 1 - (clippedLeft ? 1 : 0);
  let end = start;
  if (width(start, chars.length) > room) room -= 1;
  while (end < chars.length && widths[end] <= room) room -= widths[end++];
  return {
    visible: chars.slice(start, end).join(""),
    clippedLeft,
    clippedRight: end < chars.length,
    cursorColumn: (clippedLeft ? 1 : 0) + width(start, cursorIndex),
    scroll: start,
  };
}
