/**
 * Rooms in `chat join`, in the simplest honest way: one conversation on the
 * screen, lines from rooms other than the current one marked `[#name]`, the
 * prompt showing the current room, and the room events (someone leaving a
 * room, topics, operators, invitations, the room list) as lines.
 *
 * @module
 */

import type { ChatEvent } from "../core/events.ts";
import { stripUnsafe } from "../core/sanitize.ts";
import { renderRoomEvent, SAID_IN_ROOM } from "../protocol/room_text.ts";

/**
 * A line as `render.ts` draws it, declared here by its shape (render.ts
 * uses this module, so it cannot be imported back).
 */
export interface RoomLine {
  /** The pieces of the line: text and how it is coloured. */
  spans: { text: string; tone?: "time" | "event" | "info" | "prompt" }[];
}

/** Room events that `renderEvent` leaves to this module. */
const ROOM_EVENTS = new Set<ChatEvent["type"]>([
  "part",
  "current",
  "topic",
  "mode",
  "invite",
  "rooms",
]);

/** Whether `event` is one of the room events {@link roomLines} renders. */
export function isRoomEvent(event: ChatEvent): boolean {
  return ROOM_EVENTS.has(event.type);
}

/**
 * A room event as lines, as a plain-text session reads it, with the time
 * as `chat join` shows it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { roomLines } from "./room_view.ts";
 * const [line] = roomLines({ type: "current", room: "team" }, "Ann");
 * assert.equal(line.spans.map((s) => s.text).join(""), "You are in #team now");
 * ```
 */
export function roomLines(event: ChatEvent, me: string): RoomLine[] {
  if (!isRoomEvent(event)) return [];
  const text = renderRoomEvent(event as Parameters<typeof renderRoomEvent>[0], me);
  return text.split("\r\n").map((line) => {
    const timed = /^\[(\d\d:\d\d)\] (.*)$/su.exec(line);
    const spans = timed
      ? [{ text: `${timed[1]} `, tone: "time" as const }, {
        text: stripUnsafe(timed[2]),
        tone: "event" as const,
      }]
      : [{ text: stripUnsafe(line), tone: "info" as const }];
    return { spans };
  });
}

/** `lines` of `event` marked `[#room]` (after their time) when it was said in a room not `current`. */
export function markRoom<L extends { spans: object[] }>(
  lines: L[],
  event: ChatEvent,
  current: string,
): L[] {
  const room = SAID_IN_ROOM.has(event.type) && "room" in event ? event.room : undefined;
  if (room === undefined || room === current) return lines;
  const mark = { text: `[#${stripUnsafe(room)}] `, tone: "info" as const };
  return lines.map((line) => {
    const first = line.spans[0] as { tone?: string } | undefined;
    const timed = first?.tone === "time" ? 1 : 0;
    return { ...line, spans: [...line.spans.slice(0, timed), mark, ...line.spans.slice(timed)] };
  });
}

/** The prompt with the current room in front: `#team Ann> `. */
export function roomPrompt<L extends { spans: object[] }>(prompt: L, room: string): L {
  return {
    ...prompt,
    spans: [{ text: `#${stripUnsafe(room)} `, tone: "prompt" }, ...prompt.spans],
  };
}
