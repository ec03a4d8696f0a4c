/**
 * How the events of rooms read in plain text: someone leaving a room, the
 * current room, topics, operators and privacy, invitations, the room list.
 *
 * @module
 */

import type { ChatEvent } from "../core/events.ts";
import { plural } from "../core/plural.ts";
import { clock } from "./time_text.ts";

/**
 * Events said in a room: shown with its name (`[#team]`) when it is not the
 * reader's current room, by a plain-text session and by `chat join` alike.
 */
export const SAID_IN_ROOM: ReadonlySet<ChatEvent["type"]> = new Set<ChatEvent["type"]>([
  "message",
  "history",
  "join",
  "leave",
  "part",
  "rename",
  "topic",
  "mode",
  "notice",
]);

/** Room events as `renderPlain` shows them. */
type RoomEvent = Extract<
  ChatEvent,
  { type: "part" | "current" | "topic" | "mode" | "invite" | "rooms" }
>;

/**
 * Renders a room event as the text `viewer` reads, without a line ending.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderRoomEvent } from "./room_text.ts";
 * assert.equal(renderRoomEvent({ type: "current", room: "team" }, "Ann"), "You are in #team now");
 * ```
 */
export function renderRoomEvent(event: RoomEvent, viewer: string): string {
  switch (event.type) {
    case "part": {
      const who = event.name === viewer ? "You" : event.name;
      const users = plural(event.count, "user");
      if (event.by !== undefined) {
        return `[${clock(event.time)}] <-- ${event.by} put ${
          event.name === viewer ? "you" : event.name
        } out of #${event.room}: ${event.reason} (${users})`;
      }
      return `[${clock(event.time)}] <-- ${who} left #${event.room}${
        event.reason ? ": " + event.reason : ""
      } (${users})`;
    }
    case "current":
      return `You are in #${event.room} now`;
    case "topic":
      if (event.by === undefined) {
        return event.topic
          ? `Topic of #${event.room}: ${event.topic}`
          : `#${event.room} has no topic`;
      }
      return event.topic
        ? `[${clock(event.time)}] ${event.by} set the topic of #${event.room}: ${event.topic}`
        : `[${clock(event.time)}] ${event.by} cleared the topic of #${event.room}`;
    case "mode": {
      const by = event.by || "The server";
      const name = event.name === viewer ? "you" : event.name;
      switch (event.change) {
        case "op":
          return event.by
            ? `[${clock(event.time)}] ${by} made ${name} an operator of #${event.room}`
            : `[${clock(event.time)}] ${
              event.name === viewer ? "You are" : `${event.name} is`
            } now an operator of #${event.room}`;
        case "deop":
          return `[${clock(event.time)}] ${by} took operator rights of #${event.room} from ${name}`;
        case "private":
          return `[${clock(event.time)}] ${by} made #${event.room} private: invited users only`;
        case "public":
          return `[${clock(event.time)}] ${by} made #${event.room} public`;
      }
      return `[${clock(event.time)}] #${event.room} changed`;
    }
    case "invite":
      return `[${
        clock(event.time)
      }] ${event.from} invites you to #${event.room}: /join #${event.room}`;
    case "rooms": {
      const lines = event.rooms.map((room) => {
        const marks = [room.private ? "private" : "", room.joined ? "you are in it" : ""]
          .filter(Boolean).join(", ");
        return `  #${room.room} (${plural(room.count, "user")}${marks ? "; " + marks : ""})${
          room.topic ? ": " + room.topic : ""
        }`;
      });
      return [`${plural(event.rooms.length, "room")}:`, ...lines].join("\r\n");
    }
  }
}
