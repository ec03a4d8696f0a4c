/**
 * One conversation's scrollback: the lines shown lately, the rows they make
 * at the terminal's width, and how far up the person has scrolled.
 *
 * Each conversation (each room, once there are rooms) has one; the screen
 * shows one at a time. Pure: nothing here draws.
 *
 * Lines are kept whole and wrapped for the width asked for, so a resized
 * window re-wraps them. The position is counted in rows from the bottom:
 * rows that arrive while scrolled up add to it, so the view stays on what
 * the person is reading, and they are counted as unseen until scrolled to.
 *
 * @module
 */

import { type Line, wrapLine } from "./render.ts";

/** Lines a conversation keeps for scrolling back (a line is one message, however wrapped). */
export const SCROLLBACK_LINES = 1_000;

/** The lines of one conversation, wrapped, and the scroll position in them. */
export class Scrollback {
  #limit: number;
  #lines: Line[] = [];
  // The rows of each line at #width, wrapped when first asked for.
  #width = 0;
  #rows: Line[][] = [];
  #rowCount = 0;
  #below = 0;
  #unseen = 0;

  /** A scrollback keeping the last `limit` lines. */
  constructor(limit: number = SCROLLBACK_LINES) {
    this.#limit = Math.max(1, limit);
  }

  /** Adds `lines` at the bottom; resolves to the rows they take at `width`. */
  append(lines: Line[], width: number): Line[] {
    this.#wrapTo(width);
    const added: Line[] = [];
    for (const line of lines) {
      const rows = wrapLine(line, width);
      this.#lines.push(line);
      this.#rows.push(rows);
      this.#rowCount += rows.length;
      added.push(...rows);
    }
    if (this.#below > 0) {
      this.#below += added.length;
      this.#unseen += added.length;
    }
    const extra = this.#lines.length - this.#limit;
    if (extra > 0) {
      this.#lines.splice(0, extra);
      for (const rows of this.#rows.splice(0, extra)) this.#rowCount -= rows.length;
    }
    return added;
  }

  /** How many rows the kept lines take at `width`. */
  rowCount(width: number): number {
    this.#wrapTo(width);
    return this.#rowCount;
  }

  /** Rows `[from, to)` at `width`, counted from the oldest kept. */
  rows(width: number, from: number, to: number): Line[] {
    this.#wrapTo(width);
    const found: Line[] = [];
    let index = 0;
    for (const rows of this.#rows) {
      if (index >= to) break;
      if (index + rows.length > from) {
        found.push(...rows.slice(Math.max(0, from - index), to - index));
      }
      index += rows.length;
    }
    return found;
  }

  /** Rows between the bottom of the view and the newest row; 0 when following the conversation. */
  get below(): number {
    return this.#below;
  }

  /** Of {@link below}, the rows that arrived while scrolled up and have not been on screen. */
  get unseen(): number {
    return this.#unseen;
  }

  /**
   * Scrolls `by` rows (up when positive) in a view `height` rows tall at
   * `width`, never past the oldest row; false when there is nothing to
   * scroll to. Reaching the bottom follows the conversation again.
   */
  scroll(by: number, height: number, width: number): boolean {
    const top = Math.max(0, this.rowCount(width) - height);
    const below = Math.min(Math.max(0, this.#below + by), top);
    if (below === this.#below) return false;
    this.#below = below;
    this.#unseen = Math.min(this.#unseen, below);
    return true;
  }

  /** Follows the conversation again: the view at the bottom, nothing unseen. */
  toBottom(): void {
    this.#below = 0;
    this.#unseen = 0;
  }

  #wrapTo(width: number): void {
    if (width === this.#width) return;
    this.#width = width;
    this.#rows = this.#lines.map((line) => wrapLine(line, width));
    this.#rowCount = this.#rows.reduce((sum, rows) => sum + rows.length, 0);
    // Re-wrapped rows count differently; keep the view inside them.
    this.#below = Math.min(this.#below, this.#rowCount);
    this.#unseen = Math.min(this.#unseen, this.#below);
  }
}
