/**
 * Suggestions for mistyped commands and flags.
 *
 * @module
 */

/**
 * The choice closest to `word`: one it is a prefix of, or else one within two
 * edits; undefined when none is that close.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closest } from "./did_you_mean.ts";
 * assert.ok(closest("nikc", ["msg", "nick"]) === "nick");
 * assert.ok(closest("xyzzy", ["msg", "nick"]) === undefined);
 * ```
 */
export function closest(word: string, choices: string[]): string | undefined {
  if (word.length > 0) {
    const extended = choices.find((choice) => choice.startsWith(word));
    if (extended) return extended;
  }
  let best: string | undefined;
  let bestDistance = 3;
  for (const choice of choices) {
    const d = editDistance(word, choice);
    if (d < bestDistance) [best, bestDistance] = [choice, d];
  }
  return best;
}

/** Levenshtein distance between two strings, by UTF-16 unit. */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}
