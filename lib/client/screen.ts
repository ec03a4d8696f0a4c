/**
 * The interactive screen: the conversation above, the input line on the
 * bottom row. Pure: each method returns the bytes to write, so tests can
 * check them without a terminal.
 *
 * The input line always fits in one row (long input scrolls sideways, see
 * `layoutInput`) and never touches the last column, where terminals disagree
 * about wrapping. That makes the input line cheap to replace: return to
 * column 1, erase the row, draw. To print an incoming line while following
 * the conversation, erase the input row, print the line and a newline (the
 * terminal scrolls as usual, so its own scrollback keeps the conversation),
 * and draw the input row again with the half-typed text and the cursor
 * where they were.
 *
 * The lines also go to a {@link Scrollback}, which PageUp and PageDown page
 * through: then the screen draws the rows above the input line itself, from
 * the top, with a mark above the input line saying how much is below. Lines
 * that arrive meanwhile only change the mark; End (or sending a line)
 * returns to the bottom. A resized window is drawn again from the
 * scrollback, wrapped for its new width.
 *
 * Once there are rooms, a status line (set with {@link Screen.setStatus})
 * stands on the row above the input line, and each room has its own
 * scrollback: {@link Screen.show} puts another one on screen.
 *
 * @module
 */

import { graphemes, textWidth } from "./display_width.ts";
import { layoutInput } from "./line_editor.ts";
import { type Line, lineWidth, paint, type RenderMode } from "./render.ts";
import { Scrollback } from "./scrollback.ts";

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
const HOME = "\x1b[H";
const ERASE_TO_END = "\x1b[K";
const UP = "\x1b[A";
// Fewer rows than this: no room for a scrolled view, its mark and the input line.
const MIN_SCROLL_ROWS = 4;
const BELL = "\x07";

/** The layout of the conversation and the input line, for one terminal size. */
export class Screen {
  #columns: number;
  #rows: number;
  #mode: RenderMode;
  #prompt: Line = { spans: [] };
  #scroll = 0;
  #cursorColumn = 0;
  #scrollback: Scrollback;
  #status: Line | null = null;

  /**
   * A screen `columns` wide and `rows` high, styled for `mode` ("color" or
   * "mono"), showing the conversation kept in `scrollback`.
   */
  constructor(columns: number, rows: number, mode: RenderMode, scrollback = new Scrollback()) {
    this.#columns = Math.max(columns, 4);
    this.#rows = Math.max(rows, 1);
    this.#mode = mode;
    this.#scrollback = scrollback;
  }

  /** The terminal width this screen lays out for. */
  get columns(): number {
    return this.#columns;
  }

  /** The cursor's 0-based column after the last draw. */
  get cursorColumn(): number {
    return this.#cursorColumn;
  }

  /** Whether the view is scrolled up from the bottom of the conversation. */
  get scrolled(): boolean {
    return this.#scrollback.below > 0;
  }

  /** The scrollback on screen. */
  get scrollback(): Scrollback {
    return this.#scrollback;
  }

  /**
   * Sets the status line above the input (null: none); returns what redraws
   * it, or the whole screen when it comes or goes.
   */
  setStatus(status: Line | null, input: InputState): string {
    const had = this.#status !== null;
    this.#status = status;
    if (had !== (status !== null)) return this.#drawView(input);
    if (status === null) return "";
    return UP + this.#statusRow() + "\r\n" + this.drawInput(input);
  }

  /** Puts `scrollback` on screen (another room's conversation), drawn whole. */
  show(scrollback: Scrollback, input: InputState): string {
    this.#scrollback = scrollback;
    if (this.scrolled && this.#rows < MIN_SCROLL_ROWS + this.#footer) scrollback.toBottom();
    if (this.scrolled) scrollback.scroll(0, this.#height, this.#width);
    return this.#drawView(input);
  }

  /** Changes what stands before the input (takes effect at the next draw). */
  setPrompt(prompt: Line): void {
    this.#prompt = prompt;
  }

  /**
   * Prints `lines` above the input line, ringing the bell if one asks for
   * it; while scrolled up, they wait below and the mark counts them.
   */
  print(lines: Line[], input: InputState): string {
    const rows = this.#scrollback.append(lines, this.#width);
    const bell = lines.some((line) => line.bell) ? BELL : "";
    if (this.scrolled) {
      return UP.repeat(1 + this.#footer) + ERASE_LINE + this.#mark() + "\r\n" +
        this.#statusLine() + bell + this.drawInput(input);
    }
    return UP.repeat(this.#footer) + this.#printRows(rows) + this.#statusLine() + bell +
      this.drawInput(input);
  }

  /** Scrolls up a page (PageUp); "" when there is nothing further up. */
  pageUp(input: InputState): string {
    if (this.#rows < MIN_SCROLL_ROWS + this.#footer) return "";
    const height = this.#height;
    // The first page up starts from the full view, one row taller than a scrolled one.
    const by = this.scrolled ? height - 1 : height;
    if (!this.#scrollback.scroll(by, height, this.#width)) return "";
    return this.#drawView(input);
  }

  /** Scrolls down a page (PageDown), back to following the conversation at the bottom. */
  pageDown(input: InputState): string {
    if (!this.scrolled) return "";
    const height = this.#height;
    if (this.#scrollback.below <= height - 1) return this.toBottom(input);
    this.#scrollback.scroll(-(height - 1), height, this.#width);
    return this.#drawView(input);
  }

  /**
   * Back to the bottom (End, or a line sent), following the conversation.
   * What arrived meanwhile is printed as it would have been, so that the
   * terminal's own scrollback misses none of it.
   */
  toBottom(input: InputState): string {
    if (!this.scrolled) return "";
    const unseen = this.#scrollback.unseen;
    this.#scrollback.toBottom();
    const total = this.#scrollback.rowCount(this.#width);
    return this.#drawBottom(total - unseen) +
      this.#printRows(this.#scrollback.rows(this.#width, total - unseen, total)) +
      this.#statusLine() + this.drawInput(input);
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
    return ERASE_LINE + prompt + (view.clippedLeft ? marker("<") : "") + view.visible +
      (view.clippedRight ? marker(">") : "") + "\x1b[K" + `\x1b[${this.#cursorColumn + 1}G`;
  }

  /** Lays out for a new size: the conversation is wrapped again and drawn anew, input and all. */
  resize(columns: number, rows: number, input: InputState): string {
    this.#columns = Math.max(columns, 4);
    this.#rows = Math.max(rows, 1);
    if (this.scrolled && this.#rows < MIN_SCROLL_ROWS + this.#footer) this.#scrollback.toBottom();
    // Keeps the view inside the re-wrapped rows.
    if (this.scrolled) this.#scrollback.scroll(0, this.#height, this.#width);
    return this.#drawView(input);
  }

  /** Clears the whole screen (Ctrl+L) and redraws the input line at the top. */
  clear(input: InputState): string {
    this.#scrollback.toBottom();
    return CLEAR_SCREEN + this.#statusLine() + this.drawInput(input);
  }

  /** Back at the bottom, erases the input line, the cursor left at its start (for leaving). */
  close(): string {
    return this.toBottom({ text: "", cursor: 0 }) + ERASE_LINE +
      (this.#status ? UP + ERASE_BELOW : "");
  }

  // Rows under the conversation besides the input line: the status line, once there is one.
  get #footer(): number {
    return this.#status ? 1 : 0;
  }

  // Rows of a scrolled view: all but the mark, the status line and the input line.
  get #height(): number {
    return this.#rows - 2 - this.#footer;
  }

  // The status line and a line break, from the start of its row; "" when there is none.
  #statusLine(): string {
    return this.#status ? this.#statusRow() + "\r\n" : "";
  }

  #statusRow(): string {
    return ERASE_LINE + paint(clipLine(this.#status!, this.#width), this.#mode) + ERASE_TO_END;
  }

  // Rows are one column short of the terminal: the last column is where terminals disagree.
  get #width(): number {
    return this.#columns - 1;
  }

  // Prints rows from the cursor's row down, the terminal scrolling as needed; the rows below are
  // left empty.
  #printRows(rows: Line[]): string {
    // From the status line down, when there is one: both rows are drawn again after.
    let out = ERASE_BELOW;
    for (const row of rows) out += paint(row, this.#mode) + "\r\n";
    return out;
  }

  // Draws the whole screen from the top: the view (scrolled or not), then the input line.
  #drawView(input: InputState): string {
    if (!this.scrolled) {
      return this.#drawBottom(this.#scrollback.rowCount(this.#width)) + this.#statusLine() +
        this.drawInput(input);
    }
    const height = this.#height;
    const end = this.#scrollback.rowCount(this.#width) - this.#scrollback.below;
    const rows = this.#scrollback.rows(this.#width, Math.max(0, end - height), end);
    let out = HOME;
    for (const row of rows) out += paint(row, this.#mode) + ERASE_TO_END + "\r\n";
    // The mark always sits right above the input line: print() finds it there.
    for (let i = rows.length; i < height; i++) out += ERASE_TO_END + "\r\n";
    return out + ERASE_BELOW + this.#mark() + "\r\n" + this.#statusLine() +
      this.drawInput(input);
  }

  // Draws the rows that end at row `end` of the scrollback from the top, the cursor left on the
  // row after them.
  #drawBottom(end: number): string {
    const shown = this.#rows - 1 - this.#footer;
    const rows = this.#scrollback.rows(this.#width, Math.max(0, end - shown), end);
    let out = HOME;
    for (const row of rows) out += paint(row, this.#mode) + ERASE_TO_END + "\r\n";
    return out + ERASE_BELOW;
  }

  // The mark above the input line while scrolled up: how much is below, how much of it is new,
  // how to get there.
  #mark(): string {
    const below = this.#scrollback.below;
    const unseen = this.#scrollback.unseen;
    const lines = (n: number) => `${n} ${n === 1 ? "line" : "lines"}`;
    const news = unseen > 0 ? `, ${unseen} new` : "";
    let text = `-- ${lines(below)} below${news}: PageDown, End --`;
    if (textWidth(text) > this.#width) text = `-- ${below} below${news} --`;
    const shown = clipLine({ spans: [{ text, tone: "mark" }, { text: "" }] }, this.#width);
    return paint(shown, this.#mode) + ERASE_TO_END;
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
