/**
 * How many messages one `history` or `missed` frame carries: as many as fit
 * in MAX_FRAME_MESSAGE_BYTES of JSON, so that a frame fits in a connection's
 * queue and in one line a client reads.
 *
 * @module
 */

import { MAX_FRAME_MESSAGE_BYTES } from "./limits.ts";

/**
 * The length of `text` in UTF-8 bytes, as it is sent (a lone surrogate as
 * U+FFFD, as TextEncoder does) and as the mailbox limits count it. Counted,
 * not encoded: a replay measures 10,000 messages, and encoding each made
 * half the cost of measuring it.
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit < 0xdc00 && isLowSurrogate(text.charCodeAt(i + 1))) {
      // A pair: two units, four bytes.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit < 0xe000;
}

/**
 * The newest of `messages` (oldest first) whose JSON fits in MAX_FRAME_MESSAGE_BYTES.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newestThatFit } from "./frame_budget.ts";
 * const long = "x".repeat(100 * 1024);
 * assert.deepEqual(newestThatFit([long, "b", long]), ["b", long]);
 * ```
 */
export function newestThatFit<T>(messages: T[]): T[] {
  let bytes = 0;
  let first = messages.length;
  while (first > 0) {
    bytes += jsonBytes(messages[first - 1]);
    if (bytes > MAX_FRAME_MESSAGE_BYTES) break;
    first--;
  }
  return messages.slice(first);
}

/** The bytes `message` takes in a frame: its JSON, and a separator. */
export function jsonBytes(message: unknown): number {
  return utf8Length(JSON.stringify(message)) + 1;
}

/**
 * The oldest of `messages` whose JSON fits in MAX_FRAME_MESSAGE_BYTES; at
 * least one. `size` is {@link jsonBytes}, unless the caller measured them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oldestThatFit } from "./frame_budget.ts";
 * const long = "x".repeat(100 * 1024);
 * assert.deepEqual(oldestThatFit([long, "b", long]), [long, "b"]);
 * assert.equal(oldestThatFit([long + long]).length, 1);
 * ```
 */
export function oldestThatFit<T>(
  messages: T[],
  size: (message: T, index: number) => number = jsonBytes,
): T[] {
  let bytes = 0;
  let end = 0;
  while (end < messages.length) {
    bytes += size(messages[end], end);
    if (bytes > MAX_FRAME_MESSAGE_BYTES && end > 0) break;
    end++;
  }
  return messages.slice(0, end);
}
