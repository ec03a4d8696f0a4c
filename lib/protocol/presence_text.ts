/**
 * How presence reads in plain text: someone away or back, whom you ignore,
 * and the answer to `/whois`. The plain-text session and `chat join` show
 * the same lines.
 *
 * @module
 */

import type { ChatEvent } from "../core/events.ts";
import { plural } from "../core/plural.ts";
import { clock, day } from "./time_text.ts";

/** Presence events as {@link renderPresence} shows them. */
export type PresenceEvent = Extract<ChatEvent, { type: "away" | "ignoring" | "whois" }>;

/** Whether `event` is a presence event. */
export function isPresenceEvent(event: ChatEvent): event is PresenceEvent {
  return event.type === "away" || event.type === "ignoring" || event.type === "whois";
}

/**
 * Renders a presence event as the lines `viewer` reads (CRLF between them);
 * `now` tells whether a time needs its date.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderPresence } from "./presence_text.ts";
 * assert.equal(renderPresence({ type: "away", name: "Ann" }, "Ann"), "You are back");
 * assert.equal(
 *   renderPresence({ type: "ignoring", names: ["Bo", "Cy"] }, "Ann"),
 *   "You ignore 2 names: Bo, Cy",
 * );
 * ```
 */
export function renderPresence(event: PresenceEvent, viewer: string, now = Date.now()): string {
  switch (event.type) {
    case "away": {
      const own = event.name === viewer;
      if (event.text === undefined) return own ? "You are back" : `${event.name} is back`;
      const since = event.since === undefined ? "" : ` (since ${when(event.since, now)})`;
      return own
        ? `You are away${since}: ${event.text}; /back when you return`
        : `${event.name} is away${since}: ${event.text}`;
    }
    case "ignoring":
      if (event.added !== undefined) {
        return `You ignore ${event.added} now: what they say is not shown to you, ` +
          `and they are not told; /unignore ${event.added} to see it again`;
      }
      if (event.removed !== undefined) return `You no longer ignore ${event.removed}`;
      return event.names.length === 0
        ? "You ignore nobody; /ignore NAME hides what NAME says"
        : `You ignore ${plural(event.names.length, "name")}: ${event.names.join(", ")}`;
    case "whois":
      return whoisLines(event, now).join("\r\n");
  }
}

/** The lines of a `whois` answer. */
function whoisLines(event: Extract<ChatEvent, { type: "whois" }>, now: number): string[] {
  const account = event.account ? "the name is an account" : "";
  if (!event.online) return [`${event.name} is not here${account ? "; " + account : ""}`];
  const here = [
    event.since !== undefined ? `here since ${when(event.since, now)}` : "here",
    event.idle !== undefined ? `idle ${duration(event.idle)}` : "",
    account,
  ].filter(Boolean).join(", ");
  const lines = [`${event.name}: ${here}`];
  if (event.away !== undefined) {
    const since = event.awaySince !== undefined ? ` since ${when(event.awaySince, now)}` : "";
    lines.push(`  away${since}: ${event.away}`);
  }
  const ops = new Set(event.ops ?? []);
  const rooms = (event.rooms ?? []).map((room) => `${ops.has(room) ? "@" : ""}#${room}`);
  lines.push(rooms.length > 0 ? `  in ${rooms.join(" ")}` : "  in no room you can see");
  return lines;
}

/** A time as `HH:MM`, with its date when it is not today. */
function when(time: number, now: number): string {
  return day(time) === day(now) ? clock(time) : `${day(time)} ${clock(time)}`;
}

/**
 * A duration as people say it, to the minute past one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { duration } from "./presence_text.ts";
 * assert.equal(duration(42_000), "42 s");
 * assert.equal(duration(3 * 3600_000 + 5 * 60_000), "3 h 5 min");
 * ```
 */
export function duration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`;
  const days = Math.floor(hours / 24);
  return `${plural(days, "day")}${hours % 24 ? ` ${hours % 24} h` : ""}`;
}
