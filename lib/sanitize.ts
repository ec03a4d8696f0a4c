/**
 * Cleaning of untrusted text before it can reach another person's terminal.
 *
 * Everything a user sends passes through here: terminal escape sequences are
 * removed whole (not just their ESC byte, which would leave `[31m` behind),
 * control characters dropped, and bidirectional overrides stripped so that a
 * message cannot re-order what is printed after it.
 *
 * @module
 */

// ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC strings
// (ESC ] P X ^ _ ... terminated by BEL or ESC \), and two-byte escapes. The
// same for the 8-bit C1 introducers U+009B (CSI) and U+009D (OSC).
const ESCAPE_SEQUENCE = new RegExp(
  [
    "\\x1b\\[[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]?",
    "\\x9b[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]?",
    "(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d-\\x9f])[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)?",
    "\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]?",
  ].join("|"),
  "g",
);

// C0 and C1 controls and DEL, plus the bidi embeddings, overrides and isolates.
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE_CHARS = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Removes terminal escape sequences, control characters and bidi overrides.
 * Tabs and line breaks become single spaces; lone surrogates become U+FFFD.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripUnsafe } from "./sanitize.ts";
 * assert.ok(stripUnsafe("\x1b[31mred\x1b[0m\tok") === "red ok");
 * ```
 */
export function stripUnsafe(text: string): string {
  return text
    .toWellFormed()
    .replace(/\r\n|[\t\n\r\v\f]/g, " ")
    .replace(ESCAPE_SEQUENCE, "")
    .replace(UNSAFE_CHARS, "");
}

/** Cleans a chat message: unsafe characters removed, trailing spaces trimmed. */
export function cleanMessage(text: string): string {
  return stripUnsafe(text).trimEnd();
}

/** Number of Unicode code points in `text` (what limits are counted in). */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
