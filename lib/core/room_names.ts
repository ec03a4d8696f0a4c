/**
 * What a valid room name is: `#` then 1 to 32 characters by the rules of
 * user names (`names.ts`), unique by the same look-alike-aware key, so that
 * `#Team` and `#Теам` (Cyrillic) are one room.
 *
 * @module
 */

import { ChatError } from "./errors.ts";
import { ErrorCode } from "./events.ts";
import { checkName, nameKey, type NameRules } from "./names.ts";
import { stripUnsafe } from "./sanitize.ts";

/** Longest room name, in code points, without its `#`. */
export const MAX_ROOM_NAME_LENGTH = 32;

const ROOM_NAMES: NameRules = {
  what: "A room name",
  maxLength: MAX_ROOM_NAME_LENGTH,
  reserved: false,
};

/**
 * Checks a room name as typed, with or without its `#`, and returns it
 * without the `#`, normalized (NFC).
 *
 * @throws {ChatError} `room_invalid`, saying why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkRoomName } from "./room_names.ts";
 * assert.equal(checkRoomName(" #小組 "), "小組");
 * assert.throws(() => checkRoomName("#bad\x1b[31m"), /control/);
 * ```
 */
export function checkRoomName(typed: string): string {
  const bare = typed.trim().replace(/^#/, "");
  if (bare.startsWith("#")) {
    throw new ChatError(ErrorCode.RoomInvalid, "A room name has one # before it");
  }
  const checked = checkName(bare, ROOM_NAMES);
  if (!checked.ok) throw new ChatError(ErrorCode.RoomInvalid, checked.reason);
  return checked.name;
}

/** The key under which a room name is unique (see {@link nameKey}). */
export function roomKey(name: string): string {
  return nameKey(name.trim().replace(/^#/, ""));
}

/** A room name someone typed, short and safe enough to echo in a refusal. */
export function shownRoomName(typed: string): string {
  return [...stripUnsafe(typed.trim().replace(/^#/, ""))].slice(0, MAX_ROOM_NAME_LENGTH).join("");
}
