/**
 * What each event looks like on the client's screen. Pure: an event and the
 * viewer's name go in, styled lines come out, as strings for one of three
 * modes: `color` (a terminal), `mono` (a terminal under NO_COLOR: bold,
 * dim, underline and reverse only) and `plain` (a pipe or a file: no escape
 * codes at all).
 *
 * Every line starts with the time; names say whose they are, for
 * name_colors.ts to colour; your own messages show your name in bold;
 * private messages (the whole line, names included), joins and leaves,
 * server notices and errors each have their own look; your name in someone
 * else's message is highlighted and asks for the bell. Private messages
 * kept for you while you were away show their date too, since they may be
 * old. Long lines wrap under the text, past the time column, where
 * line_breaks.ts allows: at spaces, between CJK characters, punctuation
 * kept in place. Text from the server is stripped of escape sequences once
 * more here, whatever the server did.
 *
 * @module
 */

import { graphemes, graphemeWidth, textWidth } from "./display_width.ts";
import { breakRows, type Cell } from "./line_breaks.ts";
import { type ChatEvent, othersCount } from "../core/events.ts";
import { renderPresence } from "../protocol/presence_text.ts";
import { clock, day } from "../protocol/time_text.ts";
import { stripUnsafe } from "../core/sanitize.ts";
import { roomLines } from "./room_view.ts";

/** How much styling the output may carry. */
export type RenderMode = "color" | "mono" | "plain";

/** The role of a piece of text, which decides its style. */
export type Tone =
  | "time"
  | "name"
  | "own"
  | "mention"
  | "private"
  | "join"
  | "leave"
  | "event"
  | "notice"
  | "error"
  | "info"
  | "status"
  | "prompt"
  | "offline"
  | "mark";

/** A run of text in one style; `name` picks the colour of a user name. */
export interface Span {
  /** The text, free of control characters. */
  text: string;
  /** Its role; plain text when absent. */
  tone?: Tone;
  /** For `name`, `own` and `private`: whose name this is. */
  name?: string;
  /** The colour of that name (an SGR code, see name_colors.ts), in colour mode only. */
  color?: string;
}

/** One logical line on screen, before wrapping. */
export interface Line {
  /** The pieces of the line, in order. */
  spans: Span[];
  /** Whether this line should ring the terminal bell. */
  bell?: boolean;
}

/** Who is looking, and when. */
export interface RenderContext {
  /** The viewer's current name: their messages and mentions depend on it. */
  me: string;
  /** The time to show for events that carry none, in epoch milliseconds. */
  now: number;
  /** Whether to add hints about keys, which only make sense in a terminal. @default true */
  hints?: boolean;
}

/** Columns of the time column ("12:03 "), which wrapped lines are indented by. */
export const TIME_WIDTH = 6;

/**
 * Renders an event as the lines the viewer sees; no lines for keepalives.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paint, renderEvent } from "./render.ts";
 * import type { ChatEvent } from "../core/events.ts";
 * const event: ChatEvent = { type: "users", room: "lobby", names: ["Ann", "Bo"] };
 * const [line] = renderEvent(event, { me: "Ann", now: 0 });
 * assert.ok(paint(line, "plain").endsWith("Users in #lobby (2): Ann, Bo"));
 * ```
 */
export function renderEvent(event: ChatEvent, context: RenderContext): Line[] {
  const me = context.me;
  const at = (time: number, ...spans: Span[]): Line => ({
    spans: [{ text: clock(time) + " ", tone: "time" }, ...spans],
  });
  const now = context.now;
  switch (event.type) {
    case "welcome": {
      const others = event.users.filter((n) => n !== event.name);
      // A welcome lists the first names of a big room only; say how many more.
      const more = othersCount(event) - others.length;
      // Logged in to an account: say so, since the password is what got you in.
      const lines = [
        at(
          now,
          { text: event.account ? "Logged in as " : "Welcome, ", tone: "info" },
          nameSpan(event.name, event.name),
          { text: `${event.account ? "." : "!"} You are in #${clean(event.room)}`, tone: "info" },
          ...(others.length === 0
            ? [{ text: ", the first one here.", tone: "info" } as Span]
            : [{ text: " with ", tone: "info" } as Span, ...nameList(others, me), {
              text: more > 0 ? ` and ${more} ${more === 1 ? "other" : "others"}.` : ".",
              tone: "info",
            } as Span]),
        ),
      ];
      if (event.motd) lines.push(at(now, { text: `*** ${clean(event.motd)}`, tone: "notice" }));
      if (context.hints !== false) {
        lines.push(at(now, {
          text: "Press Enter to send; /help lists the commands; Tab completes names.",
          tone: "info",
        }));
      }
      return lines;
    }
    case "message": {
      const own = event.from === me;
      const { spans, mentioned } = highlight(clean(event.text), own ? "" : me);
      const line = event.action
        ? at(event.time, { text: "* ", tone: own ? "own" : "event" }, nameSpan(event.from, me), {
          text: " ",
        }, ...spans)
        : at(event.time, nameSpan(event.from, me), { text: ": " }, ...spans);
      return [{ ...line, bell: mentioned }];
    }
    case "private": {
      const text = clean(event.text);
      if (event.from === me && event.to !== me) {
        // Kept by the server for an account holder who is not online.
        const offline = event.offline ? ", offline: kept until they log in" : "";
        return [at(event.time, { text: "(private to ", tone: "private" }, privateName(event.to), {
          text: `${offline}) ${text}`,
          tone: "private",
        })];
      }
      return [{
        ...at(event.time, { text: "(private) ", tone: "private" }, privateName(event.from), {
          text: `: ${text}`,
          tone: "private",
        }),
        bell: true,
      }];
    }
    case "missed": {
      const count = event.messages.length;
      // Possibly days old: each shows its date as well as its time.
      const lines = event.messages.map((m): Line => {
        const [time, ...rest] = renderEvent(m, context)[0].spans;
        return { spans: [{ ...time, text: `${day(m.time)} ${time.text}` }, ...rest] };
      });
      return [
        {
          ...at(now, {
            text: `--- ${count} private message${count === 1 ? "" : "s"} while you were away ---`,
            tone: "private",
          }),
          bell: count > 0,
        },
        ...lines,
        at(now, { text: "--- end of private messages ---", tone: "info" }),
      ];
    }
    case "history": {
      const lines = event.messages.flatMap((m) => renderEvent(m, context))
        .map((line) => ({ ...line, bell: false }));
      const count = event.messages.length;
      return [
        at(now, {
          text: `--- ${count} earlier message${count === 1 ? "" : "s"} ---`,
          tone: "info",
        }),
        ...lines,
        at(now, { text: "--- end of history ---", tone: "info" }),
      ];
    }
    case "join":
      return [at(
        event.time,
        { text: "--> ", tone: "join" },
        nameSpan(event.name, me),
        { text: ` joined (${users(event.count)})`, tone: "event" },
      )];
    case "leave": {
      const reason = clean(event.reason);
      return [at(
        event.time,
        { text: "<-- ", tone: "leave" },
        nameSpan(event.name, me),
        { text: ` left${reason ? `: ${reason}` : ""} (${users(event.count)})`, tone: "event" },
      )];
    }
    case "rename":
      if (event.to === me) {
        return [at(event.time, { text: "You are now known as ", tone: "event" }, nameSpan(me, me))];
      }
      return [at(event.time, nameSpan(event.from, me), {
        text: " is now known as ",
        tone: "event",
      }, nameSpan(event.to, me))];
    case "users": {
      const away = new Set(event.away ?? []);
      // Operators marked as on IRC and in nc: `@Bob`.
      const ops = new Set(event.ops ?? []);
      return [at(
        now,
        { text: `Users in #${clean(event.room)} (${event.names.length}): `, tone: "info" },
        ...nameList(event.names, me).flatMap((span) => [
          ...(span.name !== undefined && ops.has(span.name) ? [{ text: "@" } as Span] : []),
          span,
          ...(span.name !== undefined && away.has(span.name)
            ? [{ text: " (away)", tone: "event" } as Span]
            : []),
        ]),
      )];
    }
    case "away":
    case "ignoring":
    case "whois":
      return renderPresence(event, me, now).split("\r\n").map((text, i) =>
        i === 0 ? at(now, { text: clean(text), tone: "info" }) : {
          spans: [{
            text: " ".repeat(TIME_WIDTH) + clean(text),
            tone: "info",
          }],
        }
      );
    case "notice":
      return [{ ...at(event.time, { text: `*** ${clean(event.text)}`, tone: "notice" }) }];
    case "info":
      return event.text.split("\n").map((text) => ({
        spans: [{ text: clean(text), tone: "info" }],
      }));
    case "error":
      return [at(now, { text: `Error: ${clean(event.message)}`, tone: "error" })];
    case "bye":
      return event.code === "shutdown"
        ? [at(now, { text: `*** ${clean(event.reason)}`, tone: "notice" })]
        : [];
    case "ping":
    case "pong":
    case "sent":
      return [];
    case "replay":
      return [
        ...event.messages.flatMap((message) => renderEvent(message, context)),
        ...(event.gaps ?? []).flatMap((room) => gapLines(room, now)),
        ...(event.privateGap ? gapLines(null, now) : []),
      ];
    case "part":
    case "current":
    case "topic":
    case "mode":
    case "invite":
    case "rooms":
      return roomLines(event, me);
  }
}

/**
 * A line the client itself says (connection lost, reconnected...), in
 * `tone`. Cleaned too, as it often quotes the server.
 */
export function statusLine(text: string, now: number, tone: Tone = "status"): Line {
  return { spans: [{ text: clock(now) + " ", tone: "time" }, { text: `-- ${clean(text)}`, tone }] };
}

/**
 * What a replay after a drop could not bring back: messages of `room` the
 * server no longer keeps, or (null) private messages it could not vouch for.
 */
export function gapLines(room: string | null, now: number): Line[] {
  const text = room === null
    ? "private messages sent to you while you were away may be missing"
    : `messages in #${room} from while you were away may be missing: the server no longer has them`;
  return [statusLine(text, now, "info")];
}

/** The prompt before the input line: the name, and whether (and why, `note`) we are offline. */
export function promptLine(name: string, online: boolean, note = "offline"): Line {
  return {
    spans: online
      ? [{ text: clean(name), tone: "prompt", name }, { text: "> " }]
      : [{ text: `(${note}) `, tone: "offline" }, { text: clean(name), tone: "prompt", name }, {
        text: "> ",
      }],
  };
}

/** The terminal title: who, where, how many. */
export function terminalTitle(name: string, address: string, count: number): string {
  return clean(`chat — ${name} @ ${address} (${users(count)})`);
}

function users(count: number): string {
  return count === 1 ? "1 user" : `${count} users`;
}

function clean(text: string): string {
  return stripUnsafe(text);
}

function nameSpan(name: string, me: string): Span {
  return { text: clean(name), tone: name === me ? "own" : "name", name };
}

// A name in a private message: marked private like the rest of the line (underlined under
// NO_COLOR), and coloured as a name.
function privateName(name: string): Span {
  return { text: clean(name), tone: "private", name };
}

function nameList(names: string[], me: string): Span[] {
  return names.flatMap((name, i) =>
    i === 0 ? [nameSpan(name, me)] : [{ text: ", " }, nameSpan(name, me)]
  );
}

// Splits text into spans with each whole-word occurrence of `me` marked.
function highlight(text: string, me: string): { spans: Span[]; mentioned: boolean } {
  if (!me) return { spans: [{ text }], mentioned: false };
  const escaped = me.replace(/[.*+?^${}()|[\]\\\-]/g, "\\$&");
  const pattern = new RegExp(
    `(?<![\\p{L}\\p{N}\\p{M}_])${escaped}(?![\\p{L}\\p{N}\\p{M}_])`,
    "giu",
  );
  const spans: Span[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) spans.push({ text: text.slice(last, match.index) });
    spans.push({ text: match[0], tone: "mention" });
    last = match.index + match[0].length;
  }
  if (last < text.length) spans.push({ text: text.slice(last) });
  return { spans, mentioned: last > 0 };
}

const COLOR_TONES: Record<Tone, string> = {
  time: "2",
  name: "",
  own: "1",
  mention: "1;7",
  private: "35",
  join: "32",
  leave: "31",
  event: "2",
  notice: "1;33",
  error: "1;31",
  // The terminal's own colour: cyan, green and blue are for names (name_colors.ts).
  info: "",
  status: "33",
  prompt: "1",
  offline: "1;33",
  mark: "7",
};

const MONO_TONES: Record<Tone, string> = {
  time: "2",
  name: "",
  own: "1",
  mention: "7",
  private: "4",
  join: "",
  leave: "",
  event: "2",
  notice: "1",
  error: "1",
  info: "",
  status: "2",
  prompt: "1",
  offline: "1",
  mark: "7",
};

function sgr(span: Span, mode: RenderMode): string {
  if (mode === "plain" || !span.tone) return "";
  let code = (mode === "color" ? COLOR_TONES : MONO_TONES)[span.tone];
  if (mode === "color" && span.color) code = [code, span.color].filter(Boolean).join(";");
  return code ? `\x1b[${code}m` : "";
}

/**
 * Turns spans into a string for the terminal (or a pipe, in `plain` mode).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paint } from "./render.ts";
 * assert.ok(paint({ spans: [{ text: "oops", tone: "error" }] }, "color") === "\x1b[1;31moops\x1b[0m");
 * assert.ok(paint({ spans: [{ text: "oops", tone: "error" }] }, "plain") === "oops");
 * ```
 */
export function paint(line: Line, mode: RenderMode): string {
  let out = "";
  for (const span of line.spans) {
    const style = sgr(span, mode);
    out += style ? `${style}${span.text}\x1b[0m` : span.text;
  }
  return out;
}

/**
 * Splits a line into rows of at most `columns` columns (see line_breaks.ts
 * for where), indenting the rows after the first by `indent` columns so the
 * text stands clear of the time.
 */
export function wrapLine(line: Line, columns: number, indent = TIME_WIDTH): Line[] {
  const cells: (Cell & { span: number })[] = [];
  line.spans.forEach((span, index) => {
    for (const char of graphemes(span.text)) {
      cells.push({ char, width: graphemeWidth(char), span: index });
    }
  });
  const total = cells.reduce((sum, cell) => sum + cell.width, 0);
  if (total <= columns || columns < 2) return [line];
  const hang = indent < columns / 2 ? indent : 0;
  return breakRows(cells, columns, hang).map(({ from, to }, index) => {
    const spans: Span[] = index === 0 ? [] : [{ text: " ".repeat(hang) }];
    // Each span's part of the row, joined once: rows are kept, and joined strings are compact.
    for (let at = from; at < to;) {
      let end = at + 1;
      while (end < to && cells[end].span === cells[at].span) end++;
      const text = cells.slice(at, end).map((cell) => cell.char).join("");
      spans.push({ ...line.spans[cells[at].span], text });
      at = end;
    }
    return { spans };
  });
}

/** Columns that the text of a line takes. */
export function lineWidth(line: Line): number {
  return line.spans.reduce((sum, span) => sum + textWidth(span.text), 0);
}
