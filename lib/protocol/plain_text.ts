/**
 * The plain-text session: how events read for someone on `nc` or `telnet`.
 *
 * Lines are short, readable and free of escape codes, and end in CRLF so that
 * telnet shows them correctly too.
 *
 * @module
 */

import { type ChatEvent, othersCount } from "../core/events.ts";
import { plural } from "../core/plural.ts";
import { renderPresence } from "./presence_text.ts";
import { renderRoomEvent, SAID_IN_ROOM } from "./room_text.ts";
import { clock, day } from "./time_text.ts";

/** Names listed in a plain-text welcome; /who shows them all. */
const MAX_NAMES_SHOWN = 20;

/** The prompt a plain-text session shows before registration. */
export const NAME_PROMPT = "Your name: ";

/**
 * Renders an event as the text `viewer` reads, without a line ending; null
 * when a plain-text session shows nothing for it (their own room messages,
 * which their terminal already echoed, and keepalives).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderPlain } from "./plain_text.ts";
 * const line = renderPlain({ type: "users", room: "lobby", names: ["Ann", "Bo"] }, "Ann");
 * assert.ok(line === "Users in #lobby (2): Ann, Bo");
 * ```
 */
export function renderPlain(event: ChatEvent, viewer: string): string | null {
  switch (event.type) {
    case "welcome": {
      const others = event.users.filter((name) => name !== event.name);
      const shown = others.slice(0, MAX_NAMES_SHOWN);
      // The list may be the first names only; the count says how many there are.
      const more = othersCount(event) - shown.length;
      const company = others.length === 0
        ? "You are the first one here."
        : `Here with you: ${shown.join(", ")}${more > 0 ? ` and ${plural(more, "other")}` : ""}.`;
      const lines = [`Welcome, ${event.name}! You are in #${event.room}. ${company}`];
      if (event.account) lines.push(`You are logged in to your account, ${event.name}.`);
      if (event.motd) lines.push(`Message of the day: ${event.motd}`);
      lines.push("Type a message and press Enter; /help lists the commands.");
      return lines.join("\r\n");
    }
    case "history": {
      // Earlier messages read the same for everyone, the viewer's own included.
      const lines = event.messages.map((m) => renderPlain(m, "") ?? "");
      return [
        `--- ${plural(lines.length, "earlier message")} ---`,
        ...lines,
        "--- end of history ---",
      ]
        .join("\r\n");
    }
    case "missed": {
      // Kept while the viewer was away: framed, like history, so they are not taken for new ones.
      // They may be days old: each has its date.
      const lines = event.messages.map((m) =>
        (renderPlain(m, viewer) ?? "").replace(/^\[/, `[${day(m.time)} `)
      );
      return [
        `--- ${plural(lines.length, "private message")} while you were away ---`,
        ...lines,
        "--- end of private messages ---",
      ]
        .join("\r\n");
    }
    case "message":
      if (event.from === viewer && !event.action) return null;
      return event.action
        ? `[${clock(event.time)}] * ${event.from} ${event.text}`
        : `[${clock(event.time)}] ${event.from}: ${event.text}`;
    case "private":
      if (event.offline) {
        return `[${
          clock(event.time)
        }] (to ${event.to}, who is offline: kept until they log in) ${event.text}`;
      }
      return event.from === viewer && event.to !== viewer
        ? `[${clock(event.time)}] (private to ${event.to}) ${event.text}`
        : `[${clock(event.time)}] (private) ${event.from}: ${event.text}`;
    case "join":
      if (event.name === viewer) {
        return `[${clock(event.time)}] --> You joined #${event.room} (${
          plural(event.count, "user")
        })`;
      }
      return `[${clock(event.time)}] --> ${event.name} joined (${plural(event.count, "user")})`;
    case "leave":
      return `[${clock(event.time)}] <-- ${event.name} left: ${event.reason} (${
        plural(event.count, "user")
      })`;
    case "rename":
      return `[${clock(event.time)}] ${event.from} is now known as ${event.to}`;
    case "users": {
      const ops = new Set(event.ops ?? []);
      const away = new Set(event.away ?? []);
      const names = event.names.map((name) =>
        `${ops.has(name) ? "@" : ""}${name}${away.has(name) ? " (away)" : ""}`
      );
      return `Users in #${event.room} (${event.names.length}): ${names.join(", ")}`;
    }
    case "away":
    case "ignoring":
    case "whois":
      return renderPresence(event, viewer);
    case "part":
    case "current":
    case "topic":
    case "mode":
    case "invite":
    case "rooms":
      return renderRoomEvent(event, viewer);
    case "notice":
      return `[${clock(event.time)}] *** ${event.text}`;
    case "info":
      return event.text.replaceAll("\n", "\r\n");
    case "error":
      return `Error: ${event.message}`;
    case "bye":
      return event.code === "shutdown" ? `*** ${event.reason}` : `Goodbye (${event.reason})`;
    case "ping":
    case "pong":
    // Sent only to JSON clients that ask for them.
    case "replay":
    case "sent":
      return null;
  }
}

const encoder = new TextEncoder();

/** Lines of events that read the same for everyone, encoded once per event (null: nothing shown). */
const plainCache = new WeakMap<ChatEvent, Uint8Array | null>();

/** The same lines, with the room's name in front: for viewers whose current room it is not. */
const prefixedCache = new WeakMap<ChatEvent, Uint8Array | null>();

/**
 * The bytes a plain-text session sends for `event` (its line and CRLF), or
 * null when it shows nothing. An event fanned out to a room reads the same for
 * every viewer except its sender, so it is rendered and encoded once and the
 * same bytes go to every plain-text member, as the JSON encoding does.
 * An event of a room other than `current` (the viewer's current room) starts
 * with that room's name: `[12:11] [#lobby] Bob: lunch?`.
 */
export function encodePlain(event: ChatEvent, viewer: string, current?: string): Uint8Array | null {
  // These read differently for their sender (or go to one viewer only); render them each time.
  const personal = event.type === "private" || event.type === "missed" ||
    (event.type === "message" && event.from === viewer) ||
    ((event.type === "join" || event.type === "part") && event.name === viewer);
  const said = current !== undefined && SAID_IN_ROOM.has(event.type) && "room" in event
    ? event.room
    : undefined;
  const room = said !== undefined && said !== current ? said : null;
  const cache = room === null ? plainCache : prefixedCache;
  if (!personal) {
    const cached = cache.get(event);
    if (cached !== undefined) return cached;
  }
  const line = renderPlain(event, viewer);
  const shown = line !== null && room !== null ? withRoom(line, room) : line;
  const bytes = shown === null ? null : encoder.encode(shown + "\r\n");
  if (!personal) cache.set(event, bytes);
  return bytes;
}

/** `line` with `[#room]` after its time, if it has one. */
function withRoom(line: string, room: string): string {
  return line.replace(/^(\[\d\d:\d\d\] )?/, `$1[#${room}] `);
}
