/**
 * The JSON wire protocol: one JSON object per line, UTF-8, `\n`-terminated.
 *
 * Server frames are the core's events as they are (see `events.ts`); client
 * frames are decoded and checked here. docs/PROTOCOL.md is the reference for
 * people writing bots.
 *
 * @module
 */

import { ByteArena } from "../io/bytes.ts";
import { ChatError } from "../core/errors.ts";
import { type ChatEvent, ErrorCode } from "../core/events.ts";

/** Everything a client may send, after the line has been checked. */
export type ClientFrame =
  | {
    type: "hello";
    version: number;
    name: string;
    client?: string;
    resume?: string;
    password?: string;
  }
  | { type: "say"; text: string }
  | { type: "me"; text: string }
  | { type: "msg"; to: string; text: string }
  | { type: "nick"; name: string }
  | { type: "who" }
  | { type: "help" }
  | { type: "quit"; reason?: string }
  | { type: "input"; text: string }
  | { type: "history"; count?: number; before?: number }
  | { type: "ping"; token?: string }
  | { type: "pong"; token?: string };

// For each frame type, its required and optional string fields.
const FIELDS: Record<ClientFrame["type"], { required: string[]; optional: string[] }> = {
  hello: { required: ["name"], optional: ["client", "resume", "password"] },
  say: { required: ["text"], optional: [] },
  me: { required: ["text"], optional: [] },
  msg: { required: ["to", "text"], optional: [] },
  nick: { required: ["name"], optional: [] },
  who: { required: [], optional: [] },
  help: { required: [], optional: [] },
  quit: { required: [], optional: ["reason"] },
  input: { required: ["text"], optional: [] },
  history: { required: [], optional: [] },
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
    throw new ChatError(ErrorCode.UnknownType, `Unknown frame type: ${type.slice(0, 40)}`);
  }
  const fields = FIELDS[type as ClientFrame["type"]];
  for (const field of fields.required) {
    if (typeof frame[field] !== "string") {
      throw new ChatError(ErrorCode.BadFrame, `Frame "${type}" needs a string "${field}"`);
    }
  }
  for (const field of fields.optional) {
    if (field in frame && typeof frame[field] !== "string") {
      throw new ChatError(ErrorCode.BadFrame, `Field "${field}" of "${type}" must be a string`);
    }
  }
  if (type === "hello" && typeof frame.version !== "number") {
    throw new ChatError(ErrorCode.BadFrame, 'Frame "hello" needs a number "version"');
  }
  if (type === "history") {
    // Counts and ids are whole numbers; the hub checks their range.
    for (const field of ["count", "before"]) {
      if (field in frame && !Number.isSafeInteger(frame[field])) {
        throw new ChatError(
          ErrorCode.BadFrame,
          `Field "${field}" of "history" must be a whole number`,
        );
      }
    }
  }
  return frame as ClientFrame;
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
