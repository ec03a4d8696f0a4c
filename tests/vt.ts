/**
 * A small terminal emulator for tests: feed it the bytes the client writes,
 * read back the rows a person would see and where the cursor is.
 *
 * It knows what the client uses (printing with wide characters and
 * auto-wrap, CR, LF with scrolling, BEL, erase in line and display, cursor
 * up, column and home, SGR and OSC, which it skips), and nothing more:
 * anything else fails the test, so the client cannot start sending
 * sequences the tests do not understand.
 *
 * @module
 */

import { graphemes, graphemeWidth } from "../lib/client/display_width.ts";

/** A screen of `columns` x `rows` cells. */
export class VirtualTerminal {
  readonly columns: number;
  readonly rows: number;
  /** Cells; a wide character's second cell holds "". */
  cells: string[][];
  row = 0;
  column = 0;
  bells = 0;
  title = "";
  #pendingWrap = false;

  constructor(columns: number, rows: number) {
    this.columns = columns;
    this.rows = rows;
    this.cells = Array.from({ length: rows }, () => this.#blank());
  }

  #blank(): string[] {
    return Array.from({ length: this.columns }, () => " ");
  }

  /** The screen as text, trailing spaces trimmed, one string per row. */
  lines(): string[] {
    return this.cells.map((row) => row.join("").trimEnd());
  }

  /** The rows that are not empty, as text. */
  text(): string {
    return this.lines().filter((line) => line !== "").join("\n");
  }

  /** Interprets output from the client. */
  write(data: string): void {
    let i = 0;
    const chars = graphemes(data);
    while (i < chars.length) {
      const char = chars[i];
      if (char === "\x1b") {
        i = this.#escape(chars, i);
        continue;
      }
      i++;
      if (char === "\r") {
        this.column = 0;
        this.#pendingWrap = false;
      } else if (char === "\n") {
        this.#lineFeed();
      } else if (char === "\r\n") {
        this.column = 0;
        this.#pendingWrap = false;
        this.#lineFeed();
      } else if (char === "\x07") {
        this.bells++;
      } else if (char.codePointAt(0)! < 0x20) {
        throw new Error(`unexpected control character ${JSON.stringify(char)}`);
      } else {
        this.#print(char);
      }
    }
  }

  #print(char: string): void {
    const width = graphemeWidth(char);
    if (this.#pendingWrap || this.column + width > this.columns) {
      this.column = 0;
      this.#lineFeed();
    }
    this.#pendingWrap = false;
    this.cells[this.row][this.column] = char;
    if (width === 2) this.cells[this.row][this.column + 1] = "";
    this.column += width;
    if (this.column >= this.columns) {
      this.column = this.columns - 1;
      this.#pendingWrap = true;
    }
  }

  #lineFeed(): void {
    this.#pendingWrap = false;
    if (this.row === this.rows - 1) {
      this.cells.shift();
      this.cells.push(this.#blank());
    } else {
      this.row++;
    }
  }

  #escape(chars: string[], at: number): number {
    const next = chars[at + 1];
    if (next === "]") {
      let end = at + 2;
      while (end < chars.length && chars[end] !== "\x07") end++;
      this.title = chars.slice(at + 2, end).join("").replace(/^0;/, "");
      return end + 1;
    }
    if (next !== "[") {
      throw new Error(`unexpected escape ${JSON.stringify(chars.slice(at, at + 4))}`);
    }
    let end = at + 2;
    while (end < chars.length && /[0-9;?]/.test(chars[end])) end++;
    const params = chars.slice(at + 2, end).join("");
    const final = chars[end];
    const n = Number(params || "1");
    this.#pendingWrap = false;
    switch (final) {
      case "m":
      case "t":
        break;
      case "h":
      case "l":
        if (!params.startsWith("?")) throw new Error(`unexpected mode ${params}${final}`);
        break;
      case "K":
        for (let c = this.column; c < this.columns; c++) this.cells[this.row][c] = " ";
        break;
      case "J":
        if (params === "2") {
          this.cells = Array.from({ length: this.rows }, () => this.#blank());
        } else {
          for (let c = this.column; c < this.columns; c++) this.cells[this.row][c] = " ";
          for (let r = this.row + 1; r < this.rows; r++) this.cells[r] = this.#blank();
        }
        break;
      case "A":
        this.row = Math.max(0, this.row - n);
        break;
      case "G":
        this.column = Math.min(this.columns - 1, n - 1);
        break;
      case "H":
        this.row = 0;
        this.column = 0;
        break;
      default:
        throw new Error(`unexpected sequence ESC [ ${params} ${final}`);
    }
    return end + 1;
  }
}
