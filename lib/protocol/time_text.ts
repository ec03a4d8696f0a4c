/**
 * How a server timestamp reads, in local time: the plain-text session and
 * the terminal client show the same clock and the same dates.
 *
 * @module
 */

/**
 * Formats a server timestamp as the local `HH:MM`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clock } from "./time_text.ts";
 * assert.equal(clock(new Date(2026, 10, 25, 9, 5).getTime()), "09:05");
 * ```
 */
export function clock(time: number): string {
  const date = new Date(time);
  return `${String(date.getHours()).padStart(2, "0")}:${
    String(date.getMinutes()).padStart(2, "0")
  }`;
}

/**
 * The local date of `time`, as 2026-11-25.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { day } from "./time_text.ts";
 * assert.equal(day(new Date(2026, 10, 25, 9, 5).getTime()), "2026-11-25");
 * ```
 */
export function day(time: number): string {
  const date = new Date(time);
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${
    String(date.getDate()).padStart(2, "0")
  }`;
}
