/**
 * How many terminal columns text takes: 2 for East Asian wide and full-width
 * characters and for emoji, 0 for combining marks and invisible formatting
 * characters, 1 for the rest.
 *
 * Text is measured in grapheme clusters (what a person sees as one
 * character: `é` written as e + U+0301, 👍🏽, 👨‍👩‍👧, 🇫🇷), because a terminal draws
 * a cluster as one glyph. The table is the Wide (W) and Fullwidth (F) ranges
 * of Unicode's EastAsianWidth.txt with emoji presentation characters, merged
 * into as few ranges as possible; ambiguous-width characters count as 1, as
 * terminals outside CJK locales draw them.
 *
 * @module
 */

// Sorted, non-overlapping [first, last] code point ranges of width 2.
const WIDE: readonly number[] = [
  0x1100,
  0x115f,
  0x231a,
  0x231b,
  0x2329,
  0x232a,
  0x23e9,
  0x23ec,
  0x23f0,
  0x23f0,
  0x23f3,
  0x23f3,
  0x25fd,
  0x25fe,
  0x2614,
  0x2615,
  0x2648,
  0x2653,
  0x267f,
  0x267f,
  0x2693,
  0x2693,
  0x26a1,
  0x26a1,
  0x26aa,
  0x26ab,
  0x26bd,
  0x26be,
  0x26c4,
  0x26c5,
  0x26ce,
  0x26ce,
  0x26d4,
  0x26d4,
  0x26ea,
  0x26ea,
  0x26f2,
  0x26f3,
  0x26f5,
  0x26f5,
  0x26fa,
  0x26fa,
  0x26fd,
  0x26fd,
  0x2705,
  0x2705,
  0x270a,
  0x270b,
  0x2728,
  0x2728,
  0x274c,
  0x274c,
  0x274e,
  0x274e,
  0x2753,
  0x2755,
  0x2757,
  0x2757,
  0x2795,
  0x2797,
  0x27b0,
  0x27b0,
  0x27bf,
  0x27bf,
  0x2b1b,
  0x2b1c,
  0x2b50,
  0x2b50,
  0x2b55,
  0x2b55,
  0x2e80,
  0x303e,
  0x3041,
  0x33ff,
  0x3400,
  0x4dbf,
  0x4e00,
  0xa4cf,
  0xa960,
  0xa97f,
  0xac00,
  0xd7a3,
  0xf900,
  0xfaff,
  0xfe10,
  0xfe19,
  0xfe30,
  0xfe6f,
  0xff00,
  0xff60,
  0xffe0,
  0xffe6,
  0x16fe0,
  0x16fe4,
  0x16ff0,
  0x16ff1,
  0x17000,
  0x18cd5,
  0x18d00,
  0x18d08,
  0x1aff0,
  0x1b2ff,
  0x1f004,
  0x1f004,
  0x1f0cf,
  0x1f0cf,
  0x1f18e,
  0x1f18e,
  0x1f191,
  0x1f19a,
  0x1f200,
  0x1f202,
  0x1f210,
  0x1f23b,
  0x1f240,
  0x1f248,
  0x1f250,
  0x1f251,
  0x1f260,
  0x1f265,
  0x1f300,
  0x1f320,
  0x1f32d,
  0x1f335,
  0x1f337,
  0x1f37c,
  0x1f37e,
  0x1f393,
  0x1f3a0,
  0x1f3ca,
  0x1f3cf,
  0x1f3d3,
  0x1f3e0,
  0x1f3f0,
  0x1f3f4,
  0x1f3f4,
  0x1f3f8,
  0x1f43e,
  0x1f440,
  0x1f440,
  0x1f442,
  0x1f4fc,
  0x1f4ff,
  0x1f53d,
  0x1f54b,
  0x1f54e,
  0x1f550,
  0x1f567,
  0x1f57a,
  0x1f57a,
  0x1f595,
  0x1f596,
  0x1f5a4,
  0x1f5a4,
  0x1f5fb,
  0x1f64f,
  0x1f680,
  0x1f6c5,
  0x1f6cc,
  0x1f6cc,
  0x1f6d0,
  0x1f6d2,
  0x1f6d5,
  0x1f6d7,
  0x1f6dc,
  0x1f6df,
  0x1f6eb,
  0x1f6ec,
  0x1f6f4,
  0x1f6fc,
  0x1f7e0,
  0x1f7eb,
  0x1f7f0,
  0x1f7f0,
  0x1f90c,
  0x1f93a,
  0x1f93c,
  0x1f945,
  0x1f947,
  0x1f9ff,
  0x1fa70,
  0x1faff,
  0x20000,
  0x2fffd,
  0x30000,
  0x3fffd,
];

// Marks, invisible formatting (ZWJ, ZWSP, bidi marks), and Hangul vowel and
// final jamo, which join the syllable before them.
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\u1160-\u11ff]$/u;
const REGIONAL_INDICATOR = /^[\u{1f1e6}-\u{1f1ff}]/u;
const EMOJI_PRESENTATION = "\ufe0f";

/** Columns taken by one code point on its own: 0, 1 or 2. */
export function codePointWidth(codePoint: number): 0 | 1 | 2 {
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0)) return 0;
  if (codePoint < 0x300) return 1;
  if (ZERO_WIDTH.test(String.fromCodePoint(codePoint))) return 0;
  if (codePoint < 0x1100) return 1;
  let low = 0;
  let high = WIDE.length / 2 - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (codePoint < WIDE[mid * 2]) high = mid - 1;
    else if (codePoint > WIDE[mid * 2 + 1]) low = mid + 1;
    else return 2;
  }
  return 1;
}

/**
 * Columns taken by one grapheme cluster: its first code point decides, except
 * that emoji presentation (U+FE0F) and flags (two regional indicators) are wide.
 */
export function graphemeWidth(grapheme: string): 0 | 1 | 2 {
  const first = grapheme.codePointAt(0);
  if (first === undefined) return 0;
  const width = codePointWidth(first);
  if (width === 2 || grapheme.length === 1) return width;
  if (grapheme.includes(EMOJI_PRESENTATION)) return 2;
  if (REGIONAL_INDICATOR.test(grapheme) && [...grapheme].length > 1) return 2;
  return width;
}

let segmenter: Intl.Segmenter | undefined;

/**
 * Splits text into grapheme clusters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { graphemes } from "./display_width.ts";
 * assert.ok(graphemes("e\u0301你👍🏽").length === 3);
 * ```
 */
export function graphemes(text: string): string[] {
  // ASCII needs no segmenter, and most of what is typed is ASCII.
  // deno-lint-ignore no-control-regex -- a range test, not a control match
  if (/^[\x00-\x7f]*$/.test(text)) return text.split("");
  // Created on first use: building it costs milliseconds at start-up.
  segmenter ??= new Intl.Segmenter();
  const out: string[] = [];
  for (const { segment } of segmenter.segment(text)) out.push(segment);
  return out;
}

/**
 * Columns that `text` takes in a terminal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textWidth } from "./display_width.ts";
 * assert.ok(textWidth("你好 ok") === 7);
 * ```
 */
export function textWidth(text: string): number {
  let width = 0;
  for (const grapheme of graphemes(text)) width += graphemeWidth(grapheme);
  return width;
}
