/**
 * The interactive screen: the conversation scrolls above, the input line
 * stays on the bottom row. Pure: each method returns the bytes to write, so
 * tests can check them without a terminal.
 *
 * The input line always fits in one row (long input scrolls sideways, see
 * `layoutInput`) and never touches the last column, where terminals disagree
 * about wrapping. That makes the input line cheap to replace: return to
 * column 1, erase the row, draw. To print an incoming line, erase the input
 * row, print the line and a newline (the terminal scrolls as usual, so its
 * scrollback keeps the conversation), and draw the input row again with the
 * half-typed text and the cursor where they were.
 *
 * @module
 */

import { graphemes, textWidth } from "./display_width.ts";
import { layoutInput } from "./line_editor.ts";
import { type Line, lineWidth, paint, type RenderMode, wrapLine } from "./render.ts";

/** What the input line holds: the text and the cursor offset in it. */
export interface InputState {
  /** The text typed so far. */
  text: string;
  /** Cursor offset into `text` (UTF-16 code units, on a grapheme boundary). */
  cursor: number;
}

const ERASE_LINE = "\r\x1b[K";
const ERASE_BELOW = "\r\x1b[J";
const CLEAR_SCREEN = "\x1b[H\x1b[2J";
const BELL = "\x07";

/** The layout of the conversation and the input line, for one terminal width. */
export class Screen {
  #columns: number;
  #mode: RenderMode;
  #prompt: Line = { spans: [] };
  #scroll = 0;
  #cursorColumn = 0;
  #drawnWidth = 0;

  /** A screen `columns` wide, styled for `mode` ("color" or "mono"). */
  constructor(columns: number, mode: RenderMode) {
    this.#columns = Math.max(columns, 4);
    this.#mode = mode;
  }

  /** The terminal width this screen lays out for. */
  get columns(): number {
    return this.#columns;
  }

  /** The cursor's 0-based column after the last draw. */
  get cursorColumn(): number {
    return this.#cursorColumn;
  }

  /** Changes what stands before the input (takes effect at the next draw). */
  setPrompt(prompt: Line): void {
    this.#prompt = prompt;
  }

  /** Prints `lines` above the input line, ringing the bell if one asks for it. */
  print(lines: Line[], input: InputState): string {
    let out = ERASE_LINE;
    for (const line of lines) {
      for (const row of wrapLine(line, this.#columns - 1)) out += paint(row, this.#mode) + "\r\n";
    }
    if (lines.some((line) => line.bell)) out += BELL;
    return out + this.drawInput(input);
  }

  /** Redraws the input line, the cursor at its place in the text. */
  drawInput(input: InputState): string {
    // A long name in a narrow window keeps at most half the row for itself.
    const shown = clipLine(this.#prompt, Math.floor(this.#columns / 2));
    const promptWidth = lineWidth(shown);
    const view = layoutInput(input.text, input.cursor, this.#columns - promptWidth, this.#scroll);
    this.#scroll = view.scroll;
    const marker = (text: string) => paint({ spans: [{ text, tone: "time" }] }, this.#mode);
    const prompt = paint(shown, this.#mode);
    this.#cursorColumn = promptWidth + view.cursorColumn;
    this.#drawnWidth = promptWidth + lineWidth({ spans: [{ text: view.visible }] }) +
      (view.clippedLeft ? 1 : 0) + (view.clippedRight ? 1 : 0);
    return ERASE_LINE + prompt + (view.clippedLeft ? marker("<") : "") + view.visible +
      (view.clippedRight ? marker(">") : "") + "\x1b[K" + `\x1b[${this.#cursorColumn + 1}G`;
  }

  /**
   * Lays out for a new width and redraws the input line. Most terminals
   * re-wrap a row that became too long, so when the window narrows the old
   * input line may now span several rows above the cursor: those are erased too.
   */
  resize(columns: number, input: InputState): string {
    const old = this.#columns;
    this.#columns = Math.max(columns, 4);
    let out = ERASE_LINE;
    if (this.#columns < old && this.#drawnWidth > this.#columns) {
      const up = Math.floor(this.#cursorColumn / this.#columns);
      out = (up > 0 ? `\x1b[${up}A` : "") + ERASE_BELOW;
    }
    return out + this.drawInput(input);
  }

  /** Clears the whole screen (Ctrl+L) and redraws the input line at the top. */
  clear(input: InputState): string {
    return CLEAR_SCREEN + this.drawInput(input);
  }

  /** Erases the input line, leaving the cursor at the start of the row (for leaving). */
  close(): string {
    this.#drawnWidth = 0;
    return ERASE_LINE;
  }
}

/** The bytes that set the terminal window's title (control characters removed). */
export function titleSequence(title: string): string {
  // deno-lint-ignore no-control-regex -- a title must not end its own sequence
  return `\x1b]0;${title.replace(/[\x00-\x1f\x7f-\x9f]/g, "")}\x07`;
}

/**
 * `line` cut to at most `width` columns: the last span (the prompt's "> ")
 * is kept and the text before it ends in "…".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clipLine } from "./screen.ts";
 * const prompt = { spans: [{ text: "Bartholomew" }, { text: "> " }] };
 * assert.equal(clipLine(prompt, 8).spans.map((s) => s.text).join(""), "Barth…> ");
 * ```
 */
export function clipLine(line: Line, width: number): Line {
  if (lineWidth(line) <= width) return line;
  const last = line.spans.at(-1)!;
  let room = Math.max(0, width - textWidth(last.text) - 1);
  const spans: Line["spans"] = [];
  for (const span of line.spans.slice(0, -1)) {
    let text = "";
    for (const g of graphemes(span.text)) {
      const w = textWidth(g);
      if (w > room) break;
      text += g;
      room -= w;
    }
    if (text) spans.push({ ...span, text });
    if (text !== span.text) break;
  }
  const tail = spans.at(-1);
  if (tail) spans[spans.length - 1] = { ...tail, text: tail.text + "…" };
  else spans.push({ text: "…" });
  return { spans: [...spans, last] };
}
