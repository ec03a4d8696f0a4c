/**
 * Where a long line breaks into rows: a simple version of the rules people
 * expect from text in any script.
 *
 * - After a space, as in English; the spaces at a break are not carried to
 *   the next row.
 * - Between any two characters next to a wide (CJK) one: Chinese and
 *   Japanese have no spaces, and a line of them breaks anywhere.
 * - Never before closing punctuation (，。、！？；：）」』】〉》 and their
 *   ASCII cousins) nor after opening punctuation (（「『【〈《 ...): the
 *   "kinsoku" rule, which keeps a lone `，` off the start of a row.
 * - Inside a word only when the word is wider than a whole row.
 *
 * Widths are terminal columns of grapheme clusters (display_width.ts).
 *
 * @module
 */

/** One grapheme cluster and the columns it takes. */
export interface Cell {
  /** The grapheme cluster. */
  char: string;
  /** Its width in columns: 0, 1 or 2. */
  width: number;
}

/** One row of a wrapped line: cells `[from, to)`; the next row starts at `next`. */
export interface RowRange {
  /** The first cell of the row. */
  from: number;
  /** One past the last cell shown in the row. */
  to: number;
  /** The first cell of the next row (past `to` when spaces were left at the break). */
  next: number;
}

// May not start a row.
const CLOSING = new Set([
  ..."，。、！？；：）」』】〉》〕〗〙〛］｝．・…‥〜～ー々ゝゞヽヾ",
  ..."ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ",
  ..."’”»›,.!?;:)]}%",
]);

// May not end a row.
const OPENING = new Set([..."（「『【〈《〔〖〘〚［｛‘“«‹([{"]);

function isSpace(cell: Cell | undefined): boolean {
  return cell?.char === " ";
}

/** Whether a row may break between `cells[at - 1]` and `cells[at]`. */
export function canBreakBefore(cells: readonly Cell[], at: number): boolean {
  if (at <= 0 || at >= cells.length) return false;
  const before = cells[at - 1];
  const after = cells[at];
  if (CLOSING.has(after.char) || OPENING.has(before.char) || isSpace(after)) return false;
  return isSpace(before) || before.width === 2 || after.width === 2;
}

/**
 * Splits `cells` into rows of at most `columns` columns; the rows after the
 * first have `hang` columns less (they are indented by the caller).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { breakRows } from "./line_breaks.ts";
 * const cells = [..."你好，世界"].map((char) => ({ char, width: 2 }));
 * // "，" may not start a row: "你" goes down with it.
 * assert.deepEqual(breakRows(cells, 5, 0).map((r) => r.to - r.from), [1, 2, 2]);
 * ```
 */
export function breakRows(cells: readonly Cell[], columns: number, hang: number): RowRange[] {
  const rows: RowRange[] = [];
  let start = 0;
  while (start < cells.length) {
    const room = Math.max(1, columns - (rows.length === 0 ? 0 : hang));
    let end = start;
    let used = 0;
    while (end < cells.length && used + cells[end].width <= room) used += cells[end++].width;
    if (end === cells.length) {
      rows.push({ from: start, to: end, next: end });
      break;
    }
    if (end === start) end = start + 1; // A wide character in a one-column row.
    rows.push(breakIn(cells, start, end, Math.max(1, columns - hang)));
    start = rows.at(-1)!.next;
  }
  return rows;
}

// Where to end the row `[start, end)` (all that fits) when more follows;
// `room` is what a continuation row holds.
function breakIn(cells: readonly Cell[], start: number, end: number, room: number): RowRange {
  // Spaces right after the row: drop them, and break before what follows.
  let after = end;
  while (isSpace(cells[after])) after++;
  if (after > end && (after === cells.length || canBreakBefore(cells, after))) {
    return { from: start, to: end, next: after };
  }
  let at = end;
  while (at > start && !canBreakBefore(cells, at)) at--;
  if (at > start && !(isSpace(cells[at - 1]) && wordWidth(cells, at) > room)) {
    return { from: start, to: at, next: at };
  }
  // A word wider than any row: cut it where the row is full, still not before a closing mark.
  let cut = end;
  while (cut - 1 > start && (CLOSING.has(cells[cut].char) || OPENING.has(cells[cut - 1].char))) {
    cut--;
  }
  return { from: start, to: cut, next: cut };
}

// Columns from `at` to the next place a row may break.
function wordWidth(cells: readonly Cell[], at: number): number {
  let width = cells[at].width;
  for (let i = at + 1; i < cells.length && !isSpace(cells[i]) && !canBreakBefore(cells, i); i++) {
    width += cells[i].width;
  }
  return width;
}
