/**
 * What a valid user name is, and how names are compared.
 *
 * Names may be written in any script (小明, Алиса, Zoë, محمد, 김민준). The rules
 * are there so that nobody can pass for somebody else:
 *
 * - no invisible characters (zero-width spaces, variation selectors, Hangul
 *   fillers and every other default-ignorable code point), so `alice` and
 *   `alice` + U+FE0F cannot both exist;
 * - at most 2 combining marks on a letter, never the same one twice in a row,
 *   and no enclosing marks, so a name cannot pile accents over its neighbours'
 *   lines (Zalgo) or fake an accent another name already has;
 * - no mixing of Latin, Cyrillic and Greek letters, the three scripts whose
 *   letters pass for one another (`аlice` with a Cyrillic а). Other scripts mix
 *   freely: `Ming小明`, `小明2`, kana with kanji;
 * - names are unique by {@link nameKey}: case-folded, compatibility-folded, and
 *   with Cyrillic and Greek look-alikes read as Latin letters, so an all-Cyrillic
 *   `асе` is the same name as `ace`, and `STRASSE` the same as `Straße`.
 *
 * Reserved names (`server`, `admin`, ...) are compared by that key too, so
 * `ѕerver` with a Cyrillic ѕ is as reserved as `server`.
 *
 * @module
 */

/** Longest name, in code points. */
export const MAX_NAME_LENGTH = 24;

/**
 * Most combining marks allowed on one letter of a name: Vietnamese needs 2
 * (ễ is e + ̂ + ̃), Hindi (ढ़ें) and Tibetan stacks (སྒྲོ) 3; more is Zalgo.
 */
export const MAX_NAME_MARKS = 3;

// Names that would read as coming from the server itself or from its staff.
// Stored as keys (see nameKey), which for plain ASCII is just lower case.
const RESERVED = new Set([
  "server",
  "system",
  "chat",
  "you",
  "everyone",
  "admin",
  "administrator",
  "mod",
  "moderator",
  "operator",
  "root",
]);

// Letters (any script), combining marks and digits, plus - _ and . inside.
const NAME_CHARS = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}_.\-]*$/u;

// Characters that print as nothing. Default_Ignorable_Code_Point covers the
// zero-width characters, variation selectors, Hangul fillers (U+115F, U+3164,
// U+FFA0 are letters!), Khmer inherent vowels, Mongolian selectors and tags;
// format characters (Cf) and the blanks it misses are added by hand: the
// Braille blank U+2800 and the Khitan filler U+16FE4.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\u2800\u{16FE4}]/u;
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

// Checked on the decomposed name, so é counts as e + one mark.
const TOO_MANY_MARKS = new RegExp(`\\p{M}{${MAX_NAME_MARKS + 1}}`, "u");
const REPEATED_MARK = /(\p{M})\1/u;

const LATIN = /\p{Script=Latin}/u;
const CYRILLIC = /\p{Script=Cyrillic}/u;
const GREEK = /\p{Script=Greek}/u;

// Letters that pass for a Latin letter, and the letter they pass for: the idea
// of the "skeleton" of UTS #39 (Unicode Security Mechanisms, section 4), cut
// down to the Cyrillic and Greek letters that look Latin in common terminal
// fonts. Keys are case-folded first, so each entry is a small letter and covers
// its capital too (Р → р → p); a letter is listed when its capital or its small
// form looks Latin (В looks like B, so в → b), and where the two resemble
// different letters the closer match wins (ν → v rather than Ν → n). Two Latin
// letters that case folding leaves alone are added (ɑ, ɡ). Digits are never
// read as letters: o and 0, l and 1 look different enough in a terminal, and
// names like `bob1` and `bobl` are both common.
const LOOK_ALIKES: Readonly<Record<string, string>> = {
  // Cyrillic
  "а": "a",
  "в": "b",
  "е": "e",
  "к": "k",
  "м": "m",
  "н": "h",
  "о": "o",
  "р": "p",
  "с": "c",
  "т": "t",
  "у": "y",
  "х": "x",
  "і": "i",
  "ј": "j",
  "ѕ": "s",
  "ԁ": "d",
  "һ": "h",
  "ԛ": "q",
  "ԝ": "w",
  "ӏ": "l",
  // Greek
  "α": "a",
  "β": "b",
  "ε": "e",
  "ζ": "z",
  "η": "h",
  "ι": "i",
  "κ": "k",
  "μ": "m",
  "ν": "v",
  "ο": "o",
  "ρ": "p",
  "τ": "t",
  "υ": "u",
  "χ": "x",
  // Latin letters that case folding does not merge with a or g
  "ɑ": "a",
  "ɡ": "g",
};
const LOOK_ALIKE = new RegExp(`[${Object.keys(LOOK_ALIKES).join("")}]`, "gu");

/** The result of checking a proposed name: the cleaned name, or why it is refused. */
export type NameCheck = { ok: true; name: string } | { ok: false; reason: string };

/**
 * Checks a proposed name and returns it normalized (NFC, trimmed), or the
 * reason it cannot be used, phrased for the person who typed it.
 *
 * @example Names in any script are welcome
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkName } from "./names.ts";
 * assert.deepEqual(checkName(" 小明 "), { ok: true, name: "小明" });
 * assert.ok(checkName("Алиса").ok);
 * ```
 *
 * @example Look-alikes and invisible characters are refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkName } from "./names.ts";
 * assert.ok(!checkName("two words").ok);
 * assert.ok(!checkName("\u0430lice").ok); // Cyrillic а before Latin lice
 * assert.ok(!checkName("alice\uFE0F").ok);
 * ```
 */
export function checkName(proposed: string): NameCheck {
  const name = proposed.normalize("NFC").trim();
  const refuse = (reason: string): NameCheck => ({ ok: false, reason });
  if (name.length === 0) return refuse("A name cannot be empty");
  if (/\s/u.test(name)) return refuse("A name cannot contain spaces");
  if (/\p{Cc}/u.test(name) || INVISIBLE.test(name)) {
    return refuse("A name cannot contain control or invisible characters");
  }
  if (/[\p{Co}\p{Cn}\p{Cs}]/u.test(name)) {
    return refuse("A name cannot contain private-use or unassigned characters");
  }
  if ([...name].length > MAX_NAME_LENGTH) {
    return refuse(`A name can be at most ${MAX_NAME_LENGTH} characters long`);
  }
  if (/\p{Me}/u.test(name)) {
    return refuse("A name cannot contain enclosing marks (circles or boxes around a letter)");
  }
  if (!NAME_CHARS.test(name)) {
    return refuse(
      "A name must start with a letter or digit and contain only letters, digits, dashes, underscores and dots",
    );
  }
  const decomposed = name.normalize("NFD");
  if (TOO_MANY_MARKS.test(decomposed)) {
    return refuse(`A name can have at most ${MAX_NAME_MARKS} accents or marks on a letter`);
  }
  if (REPEATED_MARK.test(decomposed)) {
    return refuse("A name cannot repeat the same accent or mark on a letter");
  }
  if (RESERVED.has(nameKey(name))) return refuse(`The name ${name} is reserved`);
  const folded = name.normalize("NFKC");
  const scripts = [LATIN, CYRILLIC, GREEK].filter((script) => script.test(folded)).length;
  if (scripts > 1) return refuse("A name cannot mix Latin, Cyrillic and Greek letters");
  return { ok: true, name };
}

/**
 * The key under which a name is unique: compatibility-folded (NFKC), fully
 * case-folded (`ß` and `ss`, `ς` and `σ` match), without invisible characters,
 * and with Cyrillic and Greek look-alikes replaced by the Latin letter they
 * pass for. Two names with the same key cannot be online at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nameKey } from "./names.ts";
 * assert.equal(nameKey("ALICE"), nameKey("ａｌｉｃｅ"));
 * assert.equal(nameKey("STRASSE"), nameKey("Straße"));
 * assert.equal(nameKey("\u0430\u0441\u0435"), "ace"); // all Cyrillic
 * ```
 */
export function nameKey(name: string): string {
  return name
    .normalize("NFKC")
    .replace(DEFAULT_IGNORABLE, "")
    .toUpperCase()
    .toLowerCase()
    .normalize("NFD")
    .replace(LOOK_ALIKE, (letter) => LOOK_ALIKES[letter])
    .normalize("NFKC");
}
