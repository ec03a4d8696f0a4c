/**
 * What a valid user name is, and how names are compared.
 *
 * Names may be written in any script (小明, Алиса, Zoë). They are unique
 * case-insensitively and after compatibility folding, so `ALICE`, `alice` and
 * the full-width `ａｌｉｃｅ` are one name and nobody can impersonate another.
 *
 * @module
 */

/** Longest name, in code points. */
export const MAX_NAME_LENGTH = 24;

// Names that would read as coming from the server itself.
const RESERVED = new Set(["server", "system", "chat", "you", "everyone"]);

// Letters (any script), combining marks and digits, plus - _ and . inside.
const NAME_CHARS = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}_.\-]*$/u;

/** The result of checking a proposed name: the cleaned name, or why it is refused. */
export type NameCheck = { ok: true; name: string } | { ok: false; reason: string };

/**
 * Checks a proposed name and returns it normalized (NFC, trimmed), or the
 * reason it cannot be used, phrased for the person who typed it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkName } from "./names.ts";
 * assert.ok(checkName(" 小明 ").ok);
 * assert.ok(!checkName("two words").ok);
 * ```
 */
export function checkName(proposed: string): NameCheck {
  const name = proposed.normalize("NFC").trim();
  if (name.length === 0) return { ok: false, reason: "A name cannot be empty" };
  if (/\s/u.test(name)) return { ok: false, reason: "A name cannot contain spaces" };
  if (/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}]/u.test(name)) {
    return { ok: false, reason: "A name cannot contain control or invisible characters" };
  }
  if ([...name].length > MAX_NAME_LENGTH) {
    return { ok: false, reason: `A name can be at most ${MAX_NAME_LENGTH} characters long` };
  }
  if (!NAME_CHARS.test(name)) {
    return {
      ok: false,
      reason: "A name must start with a letter or digit and contain only letters, digits, - _ .",
    };
  }
  if (RESERVED.has(nameKey(name))) return { ok: false, reason: `The name ${name} is reserved` };
  return { ok: true, name };
}

/**
 * The key under which a name is unique: case- and compatibility-folded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nameKey } from "./names.ts";
 * assert.ok(nameKey("ALICE") === nameKey("ａｌｉｃｅ"));
 * ```
 */
export function nameKey(name: string): string {
  return name.normalize("NFKC").toLowerCase().normalize("NFKC");
}
