/**
 * The JSON wire protocol: one JSON object per line, UTF-8, `\n`-terminated.
 *
 * Server frames are the core's events as they are (see `events.ts`). Both
 * directions are decoded and checked here: client frames for the server,
 * server frames for the client, which trusts a server no more than the
 * server trusts it. docs/PROTOCOL.md is the reference for people writing bots.
 *
 * @module
 */

import { ByteArena } from "../io/bytes.ts";
import { ChatError } from "../core/errors.ts";
import { type ChatEvent, ErrorCode } from "../core/events.ts";
import { stripUnsafe } from "../core/sanitize.ts";

/** Everything a client may send, after the line has been checked. */
export type ClientFrame =
  | {
    type: "hello";
    version: number;
    name: string;
    client?: string;
    resume?: string;
    password?: string;
    since?: number;
    stream?: string;
    acks?: boolean;
    /** Over a WebSocket: several frames may share one message, separated by newlines. */
    batch?: boolean;
  }
  | { type: "say"; text: string; room?: string; cid?: string }
  | { type: "me"; text: string; room?: string; cid?: string }
  | { type: "msg"; to: string; text: string; cid?: string }
  | { type: "nick"; name: string }
  | { type: "who"; room?: string }
  | { type: "help" }
  | { type: "quit"; reason?: string }
  | { type: "input"; text: string; room?: string; cid?: string }
  | { type: "history"; count?: number; before?: number; room?: string }
  | { type: "join"; room: string; since?: number }
  | { type: "ack"; id: number }
  | { type: "part"; room?: string; reason?: string }
  | { type: "rooms" }
  | { type: "topic"; room?: string; text?: string }
  | { type: "kick"; room?: string; name: string; reason?: string }
  | { type: "op"; room?: string; name: string }
  | { type: "deop"; room?: string; name: string }
  | { type: "invite"; room?: string; name: string }
  | { type: "private"; room?: string }
  | { type: "public"; room?: string }
  | { type: "away"; text?: string }
  | { type: "ignore"; name?: string }
  | { type: "unignore"; name: string }
  | { type: "whois"; name: string }
  | { type: "ping"; token?: string }
  | { type: "pong"; token?: string };

// For each frame type, its required and optional string fields.
const FIELDS: Record<ClientFrame["type"], { required: string[]; optional: string[] }> = {
  hello: { required: ["name"], optional: ["client", "resume", "password", "stream"] },
  say: { required: ["text"], optional: ["room", "cid"] },
  me: { required: ["text"], optional: ["room", "cid"] },
  msg: { required: ["to", "text"], optional: ["cid"] },
  nick: { required: ["name"], optional: [] },
  who: { required: [], optional: ["room"] },
  help: { required: [], optional: [] },
  quit: { required: [], optional: ["reason"] },
  input: { required: ["text"], optional: ["room", "cid"] },
  history: { required: [], optional: ["room"] },
  join: { required: ["room"], optional: [] },
  ack: { required: [], optional: [] },
  part: { required: [], optional: ["room", "reason"] },
  rooms: { required: [], optional: [] },
  topic: { required: [], optional: ["room", "text"] },
  kick: { required: ["name"], optional: ["room", "reason"] },
  op: { required: ["name"], optional: ["room"] },
  deop: { required: ["name"], optional: ["room"] },
  invite: { required: ["name"], optional: ["room"] },
  private: { required: [], optional: ["room"] },
  public: { required: [], optional: ["room"] },
  away: { required: [], optional: ["text"] },
  ignore: { required: [], optional: ["name"] },
  unignore: { required: ["name"], optional: [] },
  whois: { required: ["name"], optional: [] },
  ping: { required: [], optional: ["token"] },
  pong: { required: [], optional: ["token"] },
};

/**
 * Decodes one line from a client into a frame.
 *
 * @throws {ChatError} `bad_frame` when the line is not a JSON object or a
 * field is missing or of the wrong type; `unknown_type` for an unknown `type`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeClientFrame } from "./json.ts";
 * const frame = decodeClientFrame('{"type":"say","text":"hi"}');
 * assert.ok(frame.type === "say" && frame.text === "hi");
 * ```
 */
export function decodeClientFrame(line: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ChatError(ErrorCode.BadFrame, "Frame is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ChatError(ErrorCode.BadFrame, "Frame must be a JSON object");
  }
  const frame = value as Record<string, unknown>;
  const type = frame.type;
  if (typeof type !== "string") {
    throw new ChatError(ErrorCode.BadFrame, 'Frame has no "type" string');
  }
  if (!Object.hasOwn(FIELDS, type)) {
    // The type is the peer's: shown cut and cleaned, so that the refusal stays one safe line.
    const shown = stripUnsafe([...type].slice(0, 40).join(""));
    throw new ChatError(ErrorCode.UnknownType, `Unknown frame type: ${shown}`);
  }
  // A refusal of a frame that names a well-formed `cid` carries it, so the client can drop its line.
  const cid = typeof frame.cid === "string" && CID.test(frame.cid) ? frame.cid : undefined;
  const bad = (message: string) => new FrameError(message, cid);
  const fields = FIELDS[type as ClientFrame["type"]];
  for (const field of fields.required) {
    if (typeof frame[field] !== "string") {
      throw bad(`Frame "${type}" needs a string "${field}"`);
    }
  }
  for (const field of fields.optional) {
    if (field in frame && typeof frame[field] !== "string") {
      throw bad(`Field "${field}" of "${type}" must be a string`);
    }
  }
  if ("cid" in frame && fields.optional.includes("cid") && cid === undefined) {
    throw bad('Field "cid" must be 1 to 64 printable ASCII characters');
  }
  if (type === "hello" && typeof frame.version !== "number") {
    throw bad('Frame "hello" needs a number "version"');
  }
  if (type === "hello" && "acks" in frame && typeof frame.acks !== "boolean") {
    throw bad('Field "acks" of "hello" must be true or false');
  }
  if (type === "hello" && "since" in frame && !("stream" in frame)) {
    throw bad('Field "since" of "hello" needs the "stream" it counts in');
  }
  // Counts and ids are whole numbers; the hub checks their range.
  for (const field of WHOLE_FIELDS[type] ?? []) {
    const required = type === "ack";
    // A negative count or id of `history` is the hub's to refuse, in words about paging.
    const ok = type === "history" ? Number.isSafeInteger(frame[field]) : isWhole(frame[field]);
    if ((required || field in frame) && !ok) {
      throw bad(`Field "${field}" of "${type}" must be a whole number`);
    }
  }
  return frame as ClientFrame;
}

/** A client-chosen id (`cid`): 1 to 64 printable ASCII characters. */
const CID = /^[\x20-\x7e]{1,64}$/;

// The whole-number fields of client frames (`id` of `ack` is required).
const WHOLE_FIELDS: Partial<Record<string, string[]>> = {
  history: ["count", "before"],
  hello: ["since"],
  join: ["since"],
  ack: ["id"],
};

function isWhole(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A client frame refused as malformed; `cid` is the frame's own, when it named a valid one. */
export class FrameError extends ChatError {
  /** The refused frame's `cid`. */
  readonly cid: string | undefined;
  /** `bad_frame` with `message`. */
  constructor(message: string, cid: string | undefined) {
    super(ErrorCode.BadFrame, message);
    this.cid = cid;
  }
}

/** What a field of a server frame holds. */
type FieldKind =
  | "string"
  | "strings"
  | "whole"
  | "time"
  | "flag"
  | "messages"
  | "privates"
  | "deliveries"
  | "listings";

/** The fields of one server frame type: those it must have, and those it may have. */
interface FrameFields {
  required: Record<string, FieldKind>;
  optional?: Record<string, FieldKind>;
}

// For each server frame type, its fields as docs/PROTOCOL.md lists them.
// `count` of `welcome` is optional: older servers leave it out.
const SERVER_FIELDS: Record<ChatEvent["type"], FrameFields> = {
  welcome: {
    required: {
      version: "whole",
      name: "string",
      room: "string",
      users: "strings",
      server: "string",
      resume: "string",
    },
    optional: {
      count: "whole",
      motd: "string",
      account: "flag",
      rooms: "strings",
      stream: "string",
      last: "whole",
    },
  },
  message: {
    required: { id: "whole", time: "time", room: "string", from: "string", text: "string" },
    optional: { action: "flag" },
  },
  private: {
    required: { id: "whole", time: "time", from: "string", to: "string", text: "string" },
    optional: { offline: "flag" },
  },
  missed: { required: { messages: "privates" } },
  replay: {
    required: { messages: "deliveries" },
    optional: { more: "flag", gaps: "strings", privateGap: "flag" },
  },
  sent: { required: { cid: "string", id: "whole" } },
  history: { required: { room: "string", messages: "messages" }, optional: { before: "whole" } },
  join: { required: { time: "time", room: "string", name: "string", count: "whole" } },
  leave: {
    required: { time: "time", room: "string", name: "string", count: "whole", reason: "string" },
  },
  rename: { required: { time: "time", room: "string", from: "string", to: "string" } },
  users: {
    required: { room: "string", names: "strings" },
    optional: { ops: "strings", away: "strings" },
  },
  away: { required: { name: "string" }, optional: { text: "string", since: "time" } },
  ignoring: {
    required: { names: "strings" },
    optional: { added: "string", removed: "string" },
  },
  whois: {
    required: { name: "string", online: "flag" },
    optional: {
      account: "flag",
      since: "time",
      idle: "whole",
      away: "string",
      awaySince: "time",
      rooms: "strings",
      ops: "strings",
    },
  },
  part: {
    required: { time: "time", room: "string", name: "string", count: "whole", reason: "string" },
    optional: { by: "string" },
  },
  current: { required: { room: "string" } },
  topic: {
    required: { time: "time", room: "string", topic: "string" },
    optional: { by: "string" },
  },
  mode: {
    required: { time: "time", room: "string", by: "string", change: "string" },
    optional: { name: "string" },
  },
  invite: { required: { time: "time", room: "string", from: "string" } },
  rooms: { required: { rooms: "listings" } },
  notice: { required: { time: "time", text: "string" }, optional: { room: "string" } },
  info: { required: { text: "string" } },
  error: {
    required: { code: "string", message: "string" },
    optional: { wait: "whole", cid: "string", room: "string" },
  },
  ping: { required: {}, optional: { token: "string" } },
  pong: { required: {}, optional: { token: "string" } },
  bye: { required: { code: "string", reason: "string" }, optional: { until: "time" } },
};

// What each kind must be, as a problem says it: `Frame "join" needs a whole number "count"`.
const KIND_NAMES: Record<FieldKind, string> = {
  string: "a string",
  strings: "a list of strings",
  whole: "a whole number",
  time: "a time in ms since 1970",
  flag: "true or false",
  messages: 'a list of "message" frames',
  privates: 'a list of "private" frames',
  deliveries: 'a list of "message" and "private" frames',
  listings: "a list of rooms (room, count, topic)",
};

// The latest time a JavaScript Date can hold, in ms since the epoch.
const MAX_TIME = 8.64e15;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// Whether `value` is of `kind`; frames in lists are checked whole, type included.
function fits(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "strings":
      return Array.isArray(value) && value.every((item) => typeof item === "string");
    case "whole":
      return Number.isSafeInteger(value) && (value as number) >= 0;
    case "time":
      return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_TIME;
    case "flag":
      return typeof value === "boolean";
    case "listings":
      return Array.isArray(value) && value.every(isListing);
    case "deliveries":
      return Array.isArray(value) &&
        value.every((item) =>
          isObject(item) && (item.type === "message" || item.type === "private") &&
          !frameProblem(item, item.type)
        );
    case "messages":
    case "privates": {
      const type = kind === "messages" ? "message" : "private";
      return Array.isArray(value) &&
        value.every((item) => isObject(item) && item.type === type && !frameProblem(item, type));
    }
  }
}

// One room of a `rooms` frame: its name, members and topic, maybe private and joined.
function isListing(item: unknown): boolean {
  return isObject(item) && typeof item.room === "string" && fits(item.count, "whole") &&
    typeof item.topic === "string" &&
    ["private", "joined"].every((flag) => !Object.hasOwn(item, flag) || item[flag] === true);
}

// What is wrong with `frame` as a frame of `type`, or "" when nothing is.
function frameProblem(frame: JsonObject, type: ChatEvent["type"]): string {
  const { required, optional = {} } = SERVER_FIELDS[type];
  for (const [field, kind] of Object.entries(required)) {
    if (!Object.hasOwn(frame, field) || !fits(frame[field], kind)) {
      return `Frame "${type}" needs ${KIND_NAMES[kind]} "${field}"`;
    }
  }
  for (const [field, kind] of Object.entries(optional)) {
    if (Object.hasOwn(frame, field) && !fits(frame[field], kind)) {
      return `Field "${field}" of "${type}" must be ${KIND_NAMES[kind]}`;
    }
  }
  return "";
}

/**
 * Decodes one line from the server into an event, checked against the
 * protocol: each field the frame type needs is there and of its type (extra
 * fields are allowed), so that what the client reads cannot surprise it.
 * Returns null for a type this client does not know, which the protocol
 * says to ignore (a newer server may send it).
 *
 * @throws {ChatError} `bad_frame` when the line is not a JSON object, has no
 * `type`, or a field is missing or of the wrong type; the message says which.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeServerFrame } from "./json.ts";
 * const event = decodeServerFrame('{"type":"info","text":"hi","new":1}');
 * assert.ok(event?.type === "info" && event.text === "hi");
 * assert.equal(decodeServerFrame('{"type":"sparkle"}'), null);
 * assert.throws(() => decodeServerFrame('{"type":"info"}'), /needs a string "text"/);
 * ```
 */
export function decodeServerFrame(line: string): ChatEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ChatError(ErrorCode.BadFrame, "Frame is not valid JSON");
  }
  if (!isObject(value)) throw new ChatError(ErrorCode.BadFrame, "Frame is not a JSON object");
  const type = value.type;
  if (typeof type !== "string") {
    throw new ChatError(ErrorCode.BadFrame, 'Frame has no "type" string');
  }
  // hasOwn: a type such as "__proto__" or "constructor" must not find Object's own.
  if (!Object.hasOwn(SERVER_FIELDS, type)) return null;
  const problem = frameProblem(value, type as ChatEvent["type"]);
  if (problem) throw new ChatError(ErrorCode.BadFrame, problem);
  return value as unknown as ChatEvent;
}

const encoder = new TextEncoder();

/**
 * Events are encoded end to end into shared buffers, so that the events
 * queued for one connection are usually adjacent bytes, written without
 * copying them together (see Outbox).
 */
const arena = new ByteArena();

/**
 * Encodes an event as one JSON line. The bytes are cached per event object,
 * so an event fanned out to many users is serialized once.
 */
export function encodeEvent(event: ChatEvent): Uint8Array {
  // A room hands the same event to each member in turn: the last one is
  // nearly always the one asked for, without a lookup in the WeakMap.
  if (event === lastEvent) return lastBytes;
  let bytes = jsonCache.get(event);
  if (!bytes) {
    bytes = arena.encode(JSON.stringify(event) + "\n");
    jsonCache.set(event, bytes);
  }
  lastEvent = event;
  lastBytes = bytes;
  return bytes;
}

const jsonCache = new WeakMap<ChatEvent, Uint8Array>();
let lastEvent: ChatEvent | null = null;
let lastBytes: Uint8Array = new Uint8Array(0);

/** Encodes a client frame as one JSON line (for clients and tests). */
export function encodeFrame(frame: ClientFrame): Uint8Array {
  return encoder.encode(JSON.stringify(frame) + "\n");
}
