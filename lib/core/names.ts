/**
 * What a valid user name is, and how names are compared.
 *
 * Names may be written in any script (小明, Алиса, Zoë, محمد, 김민준). The rules
 * are there so that nobody can pass for somebody else:
 *
 * - no invisible characters (zero-width spaces, variation selectors, Hangul
 *   fillers and every other default-ignorable code point), so `alice` and
 *   `alice` + U+FE0F cannot both exist;
 * - at most 3 combining marks on a letter, never the same one twice in a row,
 *   and no enclosing marks, so a name cannot pile accents over its neighbours'
 *   lines (Zalgo) or fake an accent another name already has;
 * - no mixing of Latin, Cyrillic and Greek letters, the three scripts whose
 *   letters pass for one another (`аlice` with a Cyrillic а). Other scripts mix
 *   freely: `Ming小明`, `小明2`, kana with kanji;
 * - names are unique by {@link nameKey}: case-folded, compatibility-folded, and
 *   with look-alikes from every script read as the letter they pass for, by
 *   Unicode's confusables data (UTS #39, see `confusables.ts`). So with `Alice`
 *   here, `ꓮlice` (Lisu), `Ꭺlice` (Cherokee), `ᗅlice` (Canadian syllabics),
 *   `AIice` (capital I), `Alice̲` (underlined) and `𝐀𝐥𝐢𝐜𝐞` are taken; so is
 *   an all-Cyrillic `АСЕ` with `ace` here, and `STRASSE` with `Straße`.
 *
 * Unicode's data reads 0 as O, 1 and I as l, and rn as m. Names ignore case, so
 * `B0b` is the same name as `Bob`, and `bob1`, `bobl`, `bobi` and `BOBI` are
 * one name too; a second person picks another.
 *
 * Reserved names (`server`, `admin`, ...) are compared by that key too, so
 * `ѕerver` with a Cyrillic ѕ is as reserved as `server`.
 *
 * @module
 */

import { foldName, toPrototypes } from "./confusables.ts";

/** Longest name, in code points. */
export const MAX_NAME_LENGTH = 24;

/**
 * Most combining marks allowed on one letter of a name: Vietnamese needs 2
 * (ễ is e + ̂ + ̃), Hindi (ढ़ें) and Tibetan stacks (སྒྲོ) 3; more is Zalgo.
 */
export const MAX_NAME_MARKS = 3;

// Names that would read as coming from the server itself or from its staff,
// compared by their keys (see nameKey).
const RESERVED_NAMES = [
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
];

// Letters (any script), combining marks and digits, plus - _ and . inside.
const NAME_CHARS = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}_.\-]*$/u;

// Characters that print as nothing. Default_Ignorable_Code_Point covers the
// zero-width characters, variation selectors, Hangul fillers (U+115F, U+3164,
// U+FFA0 are letters!), Khmer inherent vowels, Mongolian selectors and tags;
// format characters (Cf) and the blanks it misses are added by hand: the
// Braille blank U+2800 and the Khitan filler U+16FE4.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\u2800\u{16FE4}]/u;

// Checked on the decomposed name, so é counts as e + one mark.
const TOO_MANY_MARKS = new RegExp(`\\p{M}{${MAX_NAME_MARKS + 1}}`, "u");
const REPEATED_MARK = /(\p{M})\1/u;

const LATIN = /\p{Script=Latin}/u;
const CYRILLIC = /\p{Script=Cyrillic}/u;
const GREEK = /\p{Script=Greek}/u;

// Marks that draw a line under a letter read as underlining, not as another
// letter: the key ignores them (UTS #39, 5.4: a mark that leaves its letter
// looking like the letter alone). U+0331 macron below (which U+0320 and the
// Devanagari anudatta map to), U+0332 low line, U+0333 double low line.
const UNDERLINES = /[\u0331-\u0333]/gu;

// The reserved names' keys (`admin` has the key `adrnln`), made on first use:
// `chat --help` loads this module and compares no names.
let reserved: ReadonlySet<string> | undefined;
function isReserved(name: string): boolean {
  reserved ??= new Set(RESERVED_NAMES.map(nameKey));
  return reserved.has(nameKey(name));
}

/** What {@link checkName} checks a name against: users' names, or rooms' (`room_names.ts`). */
export interface NameRules {
  /** How a refusal starts: "A name", "A room name". */
  what: string;
  /** Longest name, in code points. */
  maxLength: number;
  /** Whether names that read as the server's staff are refused. */
  reserved: boolean;
}

/** The rules of user names. */
export const USER_NAMES: NameRules = { what: "A name", maxLength: MAX_NAME_LENGTH, reserved: true };

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
export function checkName(proposed: string, rules: NameRules = USER_NAMES): NameCheck {
  const name = proposed.normalize("NFC").trim();
  const refuse = (reason: string): NameCheck => ({
    ok: false,
    reason: reason.replace(/^A name/, rules.what),
  });
  const maxLength = rules.maxLength;
  if (name.length === 0) return refuse("A name cannot be empty");
  if (/\s/u.test(name)) return refuse("A name cannot contain spaces");
  if (/\p{Cc}/u.test(name) || INVISIBLE.test(name)) {
    return refuse("A name cannot contain control or invisible characters");
  }
  if (/[\p{Co}\p{Cn}\p{Cs}]/u.test(name)) {
    return refuse("A name cannot contain private-use or unassigned characters");
  }
  if ([...name].length > maxLength) {
    return refuse(`A name can be at most ${maxLength} characters long`);
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
  if (rules.reserved && isReserved(name)) return refuse(`The name ${name} is reserved`);
  const folded = name.normalize("NFKC");
  const scripts = [LATIN, CYRILLIC, GREEK].filter((script) => script.test(folded)).length;
  if (scripts > 1) return refuse("A name cannot mix Latin, Cyrillic and Greek letters");
  return { ok: true, name };
}

/**
 * The key under which a name is unique: compatibility-folded (NFKC), without
 * invisible characters, fully case-folded (`ß` and `ss`, `ς` and `σ` match),
 * with each look-alike of any script replaced by the letter it passes for
 * (the skeleton of UTS #39, from Unicode's confusables.txt: see
 * `confusables.ts`), without underlining marks. Two names with the same key
 * cannot be online at once. Not for showing: `m` becomes `rn`, `i` becomes `l`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nameKey } from "./names.ts";
 * assert.equal(nameKey("ALICE"), nameKey("ａｌｉｃｅ"));
 * assert.equal(nameKey("STRASSE"), nameKey("Straße"));
 * assert.equal(nameKey("\u0430\u0441\u0435"), nameKey("ace")); // all Cyrillic
 * assert.equal(nameKey("\uA4EElice"), nameKey("Alice")); // Lisu ꓮ
 * assert.equal(nameKey("AIice"), nameKey("Alice")); // capital I for l
 * ```
 */
export function nameKey(name: string): string {
  return toPrototypes(foldName(name)).replace(UNDERLINES, "");
}

/**
 * What a person is told when `wanted` is taken by `holder`: the same name
 * (whatever the case), or one it only looks like, which says whose.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { takenMessage } from "./names.ts";
 * assert.equal(takenMessage("ALICE", "Alice"), "The name ALICE is taken");
 * assert.equal(
 *   takenMessage("AIice", "Alice"),
 *   "The name AIice is taken: it looks too much like Alice, who is here",
 * );
 * ```
 */
export function takenMessage(wanted: string, holder: string): string {
  if (foldName(wanted) === foldName(holder)) return `The name ${wanted} is taken`;
  return `The name ${wanted} is taken: it looks too much like ${holder}, who is here`;
}
