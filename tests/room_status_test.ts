/**
 * The status line of `chat join` (lib/client/room_status.ts): which rooms it
 * shows, how, and that it fits its row by display width.
 *
 * @module
 */

import assert from "node:assert/strict";
import { textWidth } from "../lib/client/display_width.ts";
import { clipText, statusBar } from "../lib/client/room_status.ts";
import type { RoomEntry } from "../lib/client/room_list.ts";

function room(name: string, unread = 0, mention = false, left: string | null = null): RoomEntry {
  return { name, unread, mention, left };
}

function text(rooms: RoomEntry[], shown: string, width: number): string {
  return statusBar(rooms, shown, width).spans.map((s) => s.text).join("");
}

Deno.test("the status line numbers the rooms, brackets the one on screen, counts and marks the others", () => {
  const rooms = [room("lobby"), room("team", 3), room("ops", 1, true), room("old", 0, false, "x")];
  assert.equal(text(rooms, "lobby", 79), "[1:#lobby] 2:#team 3 3:#ops 1! 4:#old (left)");
  const line = statusBar(rooms, "lobby", 79);
  assert.equal(line.spans.find((s) => s.text === "3:#ops 1!")?.tone, "mention");
});

Deno.test("too many rooms: the one on screen and mentions stay, then the busiest; the rest are counted", () => {
  const rooms = Array.from({ length: 15 }, (_, i) => room(`room${i + 1}`));
  rooms[13] = room("room14", 2, true);
  rooms[4] = room("room5", 7);
  const line = text(rooms, "room12", 40);
  assert.ok(textWidth(line) <= 40, line);
  assert.match(line, /\[#room12\]/);
  assert.match(line, /#room14 2!/);
  assert.match(line, /5:#room5 7/);
  assert.match(line, /\+\d+$/);
  // Rooms keep their order, so the numbers read left to right.
  assert.ok(line.indexOf("room5") < line.indexOf("room12"), line);
});

Deno.test("wide room names are measured in columns and cut with an ellipsis", () => {
  const rooms = [room("lobby"), room("小组"), room("学习小组讨论区第一组的同学们", 4)];
  const line = text(rooms, "小组", 79);
  assert.equal(line, "1:#lobby [2:#小组] 3:#学习小组讨论区… 4");
  for (const width of [10, 20, 30, 45]) {
    const narrow = text(rooms, "小组", width);
    assert.ok(textWidth(narrow) <= width, `${narrow} at ${width}`);
    assert.match(narrow, /小组/, `the room on screen stays at ${width}`);
  }
  assert.ok(textWidth(text(rooms, "学习小组讨论区第一组的同学们", 8)) <= 8);
});

Deno.test("clipText cuts by display width, never half a wide character", () => {
  assert.equal(clipText("abcdef", 6), "abcdef");
  assert.equal(clipText("abcdef", 4), "abc…");
  assert.equal(clipText("小组讨论", 5), "小组…");
  assert.equal(clipText("小组讨论", 4), "小…");
});

Deno.test("a short room further on never takes the place of a numbered one before it", () => {
  // The newcomer's 11 rooms at 80 columns showed "7:#d6 8:#d7 #d9 +2": #d8 (Alt+9) hidden.
  const rooms = [room("lobby"), ...Array.from({ length: 10 }, (_, i) => room(`d${i}`))];
  for (let width = 20; width <= 80; width++) {
    const line = text(rooms, "lobby", width);
    const shown = [...line.matchAll(/(?:\d:)?#(\w+)/g)].map((m) => m[1]);
    const order = rooms.map((r) => r.name).slice(0, shown.length);
    assert.deepEqual(shown, order, `${width} columns: ${line}`);
  }
});
