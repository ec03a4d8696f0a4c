/**
 * Counts in the words people read: "1 user", "3 users". One helper, so that
 * the log and the messages users see count alike.
 *
 * @module
 */

/**
 * `count` and `noun`, the noun with an `s` unless the count is exactly one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plural } from "./plural.ts";
 * assert.equal(plural(1, "user"), "1 user");
 * assert.equal(plural(0, "user"), "0 users");
 * assert.equal(plural(3, "kept private message"), "3 kept private messages");
 * ```
 */
export function plural(count: number, noun: string): string {
  return count === 1 ? `1 ${noun}` : `${count} ${noun}s`;
}
