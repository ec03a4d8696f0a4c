/**
 * Cleaning of untrusted text before it can reach another person's terminal.
 *
 * Everything a user sends passes through here, and the client passes what it
 * receives through {@link stripUnsafe} again before printing it:
 *
 * - terminal escape sequences are removed whole (not just their ESC byte,
 *   which would leave `[31m` behind), and C0/C1 control characters dropped;
 *   tabs and line breaks, U+2028 and U+2029 included, become spaces;
 * - invisible characters (Unicode's Default_Ignorable_Code_Point) are removed:
 *   zero-width spaces, bidi embeddings, overrides and isolates (so a message
 *   cannot re-order what is printed after it), variation selectors other than
 *   VS15/VS16, Hangul fillers, soft hyphens, and tag characters, which can
 *   carry hidden text ("ASCII smuggling"). What stays is what visible text
 *   needs: ZWJ and ZWNJ (emoji sequences such as 👨‍👩‍👧, Indic conjuncts,
 *   Persian word forms), but only one at a time and never at the start of a
 *   word, where they join nothing; VS15/VS16 (text or emoji style, ❤️); and
 *   tag characters that spell a subdivision flag after 🏴 (🏴󠁧󠁢󠁳󠁣󠁴󠁿);
 * - the direction marks LRM, RLM and ALM are removed too. Right-to-left text
 *   reads correctly without them (each line is printed on its own, and the
 *   letters carry their own direction); they only matter where neutral
 *   characters sit between scripts, which is exactly where they can be used to
 *   make digits or punctuation appear in another order;
 * - at most 4 combining marks are kept on one character (no script needs more;
 *   "Zalgo" text stacks dozens to paint over the lines around it);
 * - {@link cleanMessage} also shortens runs of more than 8 blanks to 8, so
 *   padding cannot push the rest of a message to the start of the next
 *   terminal row, where it would pass for a line of its own. (Not
 *   stripUnsafe: the client prints the server's column-aligned help with it.)
 *
 * Private-use characters are kept: people use them for icon fonts (Nerd Fonts,
 * Powerline, U+F8FF), they print as one visible glyph or a box, and they
 * cannot hide or reorder text. Unassigned code points are kept too, since they
 * may be characters newer than this program's Unicode tables (new emoji).
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

// Most messages: nothing to remove, and no pass needs to run.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

// Line breaks of every kind, shown as a space.
const LINE_BREAK = /\r\n|[\t\n\r\v\f\u2028\u2029]/g;

// A subdivision flag (UTS #51 emoji tag sequence): the black flag, the tag
// letters and digits of a subdivision id such as "gbsct" (3 to 7 of them),
// then CANCEL TAG. Kept whole; any other tag character is removed.
const FLAG_TAGS = "\\u{1F3F4}[\\u{E0030}-\\u{E0039}\\u{E0061}-\\u{E007A}]{3,7}\\u{E007F}";

// C0 and C1 controls and DEL, and invisible characters except the joiners and
// VS15/VS16 (handled below and kept). A flag's tag sequence is matched first so
// that it is put back whole ("$1"). One character per match: a `+` here makes
// V8 skip its fast scan and the pass three times slower.
const INVISIBLE = new RegExp(
  `(${FLAG_TAGS})|[[\\x00-\\x1f\\x7f-\\x9f\\p{Default_Ignorable_Code_Point}]--[\\u200c\\u200d\\ufe0e\\ufe0f]]`,
  "gv",
);

// ZWJ and ZWNJ: a run keeps only its first, and one at the start or after a
// blank, where it joins nothing, is removed.
const JOINERS = /(^|[\s\u2800])[\u200c\u200d]+|([\u200c\u200d])[\u200c\u200d]+/g;

// The first 4 combining marks on a character are kept and any after them
// removed. A joiner between marks does not restart the count (after JOINERS
// there is at most one in a row).
const EXCESS_MARKS = /((?:\p{M}[\u200c\u200d]?){4})(?:\p{M}[\u200c\u200d]?)+/gu;

// More than 8 blanks in a row: spaces of any width and the Braille blank.
const LONG_BLANK = /(?<=[\p{Zs}\u2800]{8})[\p{Zs}\u2800]+/gu;

/**
 * Removes terminal escape sequences, control and invisible characters, and
 * combining marks beyond 4 on a character. Tabs and line breaks become single
 * spaces; lone surrogates become U+FFFD.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripUnsafe } from "./sanitize.ts";
 * assert.equal(stripUnsafe("\x1b[31mred\x1b[0m\tok"), "red ok");
 * assert.equal(stripUnsafe("in\u200bvisible"), "invisible");
 * assert.equal(stripUnsafe("👨‍👩‍👧 👍🏽"), "👨‍👩‍👧 👍🏽");
 * ```
 */
export function stripUnsafe(text: string): string {
  if (PRINTABLE_ASCII.test(text)) return text;
  return text
    .toWellFormed()
    .replace(LINE_BREAK, " ")
    .replace(ESCAPE_SEQUENCE, "")
    .replace(INVISIBLE, "$1")
    .replace(JOINERS, "$1$2")
    .replace(EXCESS_MARKS, "$1");
}

/**
 * Cleans a chat message: unsafe characters removed (see {@link stripUnsafe}),
 * runs of more than 8 blanks shortened to 8, trailing spaces trimmed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cleanMessage } from "./sanitize.ts";
 * assert.equal(cleanMessage("  hi" + " ".repeat(100) + "there  "), "  hi        there");
 * ```
 */
export function cleanMessage(text: string): string {
  return stripUnsafe(text).replace(LONG_BLANK, "").trimEnd();
}

/** Number of Unicode code points in `text` (what limits are counted in). */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
