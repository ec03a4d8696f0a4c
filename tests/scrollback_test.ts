/**
 * One conversation's scrollback as a unit: what it keeps, and where the
 * view stays while lines keep coming.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Line } from "../lib/client/render.ts";
import { Scrollback } from "../lib/client/scrollback.ts";

const line = (text: string): Line => ({ spans: [{ text }] });
const texts = (rows: Line[]) => rows.map((row) => row.spans.map((s) => s.text).join(""));

Deno.test("a scrollback keeps its last lines only, as many as it was told", () => {
  const scrollback = new Scrollback(3);
  scrollback.append(["a", "b", "c", "d", "e"].map(line), 20);
  assert.equal(scrollback.rowCount(20), 3);
  assert.deepEqual(texts(scrollback.rows(20, 0, 3)), ["c", "d", "e"]);
});

Deno.test("rows arriving while scrolled up keep the view where it is and count as unseen", () => {
  const scrollback = new Scrollback();
  scrollback.append(Array.from({ length: 10 }, (_, i) => line(`${i}`)), 20);
  assert.equal(scrollback.scroll(4, 3, 20), true);
  scrollback.append([line("new 1"), line("new 2")], 20);
  assert.equal(scrollback.below, 6);
  assert.equal(scrollback.unseen, 2);
  const end = scrollback.rowCount(20) - scrollback.below;
  assert.deepEqual(texts(scrollback.rows(20, end - 3, end)), ["3", "4", "5"]);
  // Scrolling down onto the new rows shows them: they are no longer unseen.
  scrollback.scroll(-5, 3, 20);
  assert.equal(scrollback.unseen, 1);
  scrollback.toBottom();
  assert.equal(scrollback.below, 0);
});

Deno.test("the view never scrolls past the oldest row, nor below the newest", () => {
  const scrollback = new Scrollback();
  scrollback.append(["a", "b", "c", "d"].map(line), 20);
  assert.equal(scrollback.scroll(100, 3, 20), true);
  assert.equal(scrollback.below, 1);
  assert.equal(scrollback.scroll(1, 3, 20), false);
  assert.equal(scrollback.scroll(-100, 3, 20), true);
  assert.equal(scrollback.below, 0);
});

Deno.test("lines are wrapped again for another width", () => {
  const scrollback = new Scrollback();
  scrollback.append([line("12:03 one two three four")], 30);
  assert.equal(scrollback.rowCount(30), 1);
  assert.deepEqual(texts(scrollback.rows(14, 0, 9)), [
    "12:03 one two ",
    "      three ",
    "      four",
  ]);
});
