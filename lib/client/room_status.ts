/**
 * The status line of `chat join`, one row above the input: the rooms you are
 * in, numbered for Alt+1..9, the one on screen in brackets, the others with
 * how many messages wait there and `!` when one mentions you:
 * `[1:#lobby] 2:#team 3! 3:#小组 12`. Pure.
 *
 * It always fits its row, measured in terminal columns (a Chinese character
 * takes two): a long room name is cut with `…`, and when the rooms do not
 * all fit, the room on screen and those that mention you stay, then those
 * with the most waiting, in their order; the rest are counted (`+4`).
 *
 * @module
 */

import { graphemes, textWidth } from "./display_width.ts";
import type { Line, Span } from "./render.ts";
import type { RoomEntry } from "./room_list.ts";
import { stripUnsafe } from "../core/sanitize.ts";

/** Columns a room's name may take on the status line before it is cut. */
export const ROOM_NAME_COLUMNS = 16;

/** `text` cut to at most `width` columns, ending in `…` when cut. */
export function clipText(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  let out = "";
  let room = width - 1;
  for (const g of graphemes(text)) {
    const w = textWidth(g);
    if (w > room) break;
    out += g;
    room -= w;
  }
  return width > 0 ? out + "…" : "";
}

/**
 * The status line for `rooms`, `shown` being the room on screen, in at most
 * `width` columns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { statusBar } from "./room_status.ts";
 * const rooms = [
 *   { name: "lobby", unread: 0, mention: false, left: null },
 *   { name: "team", unread: 3, mention: true, left: null },
 * ];
 * const line = statusBar(rooms, "lobby", 80);
 * assert.equal(line.spans.map((s) => s.text).join(""), "[1:#lobby] 2:#team 3!");
 * ```
 */
export function statusBar(rooms: readonly RoomEntry[], shown: string, width: number): Line {
  const items = rooms.map((room, index) => item(room, index, room.name === shown));
  const total = (chosen: Item[]) =>
    chosen.reduce((sum, it, i) => sum + (i > 0 ? 1 : 0) + textWidth(it.text), 0);
  let chosen = items;
  if (total(items) > width) {
    // Who stays: the room on screen, mentions, then the most waiting, earlier rooms first.
    const order = [...items].sort((a, b) => b.rank - a.rank || a.index - b.index);
    chosen = order.slice(0, 1);
    for (const candidate of order.slice(1)) {
      const trial = [...chosen, candidate].sort((a, b) => a.index - b.index);
      const hidden = items.length - trial.length;
      const more = hidden > 0 ? 1 + textWidth(`+${hidden}`) : 0;
      // The first that does not fit ends it: a shorter room further on must not take the
      // place of one before it (Alt+9's room hidden while an unnumbered tenth shows).
      if (total(trial) + more > width) break;
      chosen = trial;
    }
  }
  const spans: Span[] = [];
  for (const it of chosen) {
    if (spans.length > 0) spans.push({ text: " " });
    spans.push({ text: it.text, tone: it.tone });
  }
  const hidden = items.length - chosen.length;
  const more = `${spans.length > 0 ? " " : ""}+${hidden}`;
  if (hidden > 0 && total(chosen) + textWidth(more) <= width) {
    spans.push({ text: more, tone: "time" });
  }
  // Not even the room on screen fits (a very narrow window): what does, cut.
  if (total(chosen) > width) {
    return {
      spans: [{ text: clipText(spans.map((s) => s.text).join(""), width), tone: "prompt" }],
    };
  }
  return { spans };
}

interface Item {
  text: string;
  tone: Span["tone"];
  index: number;
  // Higher stays first when the row is short.
  rank: number;
}

function item(room: RoomEntry, index: number, shown: boolean): Item {
  const number = index < 9 ? `${index + 1}:` : "";
  const name = `${number}#${clipText(stripUnsafe(room.name), ROOM_NAME_COLUMNS)}`;
  const left = room.left ? " (left)" : "";
  if (shown) {
    return { text: `[${name}${left}]`, tone: "prompt", index, rank: Number.MAX_SAFE_INTEGER };
  }
  const waiting = room.unread > 0 ? ` ${room.unread}` : "";
  const text = `${name}${waiting}${room.mention ? "!" : ""}${left}`;
  const tone: Span["tone"] = room.mention ? "mention" : room.unread > 0 ? "status" : "time";
  // Mentions before plain waiting messages, however many.
  const rank = (room.mention ? 1e9 : 0) + room.unread;
  return { text, tone, index, rank };
}
