import assert from "node:assert/strict";
import { Hub } from "../lib/core/hub.ts";
import {
  CONFUSABLES_SOURCE,
  CONFUSABLES_VERSION,
  PROTOTYPES,
} from "../lib/core/confusables_data.ts";
import { checkName, MAX_NAME_LENGTH, nameKey } from "../lib/core/names.ts";
import { confusablesModule, OUTPUT, SOURCE } from "../tools/gen_confusables.ts";
import { refusal } from "./_helpers.ts";
import { Inbox } from "./_inbox.ts";

const ACUTE = "\u0301";

Deno.test("checkName() welcomes names in any script, normalized to NFC and trimmed", () => {
  const cases: [string, string][] = [
    ["小明", "小明"],
    ["张伟", "张伟"],
    ["Алиса", "Алиса"],
    ["Ярослав2", "Ярослав2"],
    ["Zoë", "Zoë"],
    ["Zoe\u0308", "Zoë"],
    ["José", "José"],
    ["Nguyễn", "Nguyễn"],
    ["Łukasz", "Łukasz"],
    ["Straße", "Straße"],
    ["İpek", "İpek"],
    ["Ελένη", "Ελένη"],
    ["Ωμέγα", "Ωμέγα"],
    ["محمد", "محمد"],
    ["דוד", "דוד"],
    ["김민준", "김민준"],
    ["やまだ太郎", "やまだ太郎"],
    ["カタカナ", "カタカナ"],
    ["श्रीनिवास", "श्रीनिवास"],
    ["ढ़ें", "ढ़ें"],
    ["སྒྲོལ", "སྒྲོལ"],
    ["Nguyễn", "Nguyễn"],
    ["ประยุทธ์", "ประยุทธ์"],
    ["Ming小明", "Ming小明"],
    ["小明2", "小明2"],
    ["Kim김민준", "Kim김민준"],
    ["асе", "асе"], // all Cyrillic: allowed, but it is the same name as "ace"
    ["mary-jane", "mary-jane"],
    ["j.doe", "j.doe"],
    ["user_2", "user_2"],
    ["R2D2", "R2D2"],
    ["  bob  ", "bob"],
    ["a".repeat(MAX_NAME_LENGTH), "a".repeat(MAX_NAME_LENGTH)],
    ["servers", "servers"],
  ];
  for (const [proposed, name] of cases) {
    assert.deepEqual(checkName(proposed), { ok: true, name }, JSON.stringify(proposed));
  }
});

Deno.test("checkName() refuses a name with the reason, phrased for the person", () => {
  const cases: [string, string, RegExp][] = [
    // The rules that were there before
    ["an empty name", "", /^A name cannot be empty$/],
    ["a space", "two words", /^A name cannot contain spaces$/],
    [
      "an escape sequence",
      "evil\x1b[31m",
      /^A name cannot contain control or invisible characters$/,
    ],
    ["a zero-width space", "zero\u200bwidth", /invisible/],
    ["a private-use character", "icon\ue0a0", /private-use/],
    ["an unassigned code point", "x\u{10ffff}", /unassigned/],
    ["25 characters", "a".repeat(25), /^A name can be at most 24 characters long$/],
    ["a leading dash", "-dash", /must start with a letter or digit/],
    ["a leading brace", "{json", /must start with a letter or digit/],
    ["a symbol", "at@sign", /only letters, digits/],
    ["a reserved name in capitals", "Server", /^The name Server is reserved$/],
    // Invisible characters and blank-looking letters
    ["VS16", "alice\ufe0f", /invisible/],
    ["the combining grapheme joiner", "alice\u034f", /invisible/],
    ["an ideographic variation selector", "alice\u{E0100}", /invisible/],
    ["a Khmer inherent vowel", "x\u17b4", /invisible/],
    ["a Mongolian variation selector", "a\u180b", /invisible/],
    ["the Hangul filler", "\u3164", /invisible/],
    ["the Hangul choseong filler", "\u115f", /invisible/],
    ["the halfwidth Hangul filler", "\uffa0x", /invisible/],
    ["the Braille blank", "\u2800", /invisible/],
    ["a tag character", "bob\u{E0041}", /invisible/],
    ["a right-to-left mark", "bob\u200f", /invisible/],
    // Look-alikes across scripts
    [
      "a Cyrillic а among Latin letters",
      "\u0430lice",
      /^A name cannot mix Latin, Cyrillic and Greek letters$/,
    ],
    ["a Greek ο among Latin letters", "b\u03bfb", /cannot mix Latin, Cyrillic and Greek/],
    ["a Latin A among Cyrillic letters", "Aлиса", /cannot mix Latin, Cyrillic and Greek/],
    ["Cyrillic and Greek together", "\u0430\u03b1", /cannot mix Latin, Cyrillic and Greek/],
    ["a full-width Latin letter among Cyrillic", "ａлиса", /cannot mix Latin, Cyrillic and Greek/],
    // Reserved names, compared by their key
    ["a Cyrillic ѕ in server", "\u0455erver", /^The name \u0455erver is reserved$/],
    ["a Cyrillic Ѕ in System", "\u0405ystem", /reserved/],
    ["server with VS16", "server\ufe0f", /invisible/],
    ["admin", "admin", /reserved/],
    ["Administrator", "Administrator", /reserved/],
    ["MOD", "MOD", /reserved/],
    ["moderator", "moderator", /reserved/],
    ["operator", "operator", /reserved/],
    ["root", "root", /reserved/],
    ["full-width root", "ｒｏｏｔ", /reserved/],
    ["everyone", "Everyone", /reserved/],
    // Zalgo and enclosing marks
    [
      "23 acute accents",
      "a" + ACUTE.repeat(23),
      /^A name can have at most 3 accents or marks on a letter$/,
    ],
    ["4 different accents", "e\u0301\u0302\u0303\u0304", /at most 3 accents/],
    ["4 accents, one precomposed", "é\u0302\u0303\u0304", /at most 3 accents/],
    [
      "the same accent twice",
      "Jose\u0301\u0301",
      /^A name cannot repeat the same accent or mark on a letter$/,
    ],
    ["an enclosing circle", "a\u20dd", /^A name cannot contain enclosing marks/],
    ["a keycap", "1\u20e3", /enclosing marks/],
  ];
  for (const [what, proposed, reason] of cases) {
    const check = checkName(proposed);
    assert.ok(!check.ok, `${what} is accepted`);
    assert.match(check.reason, reason, what);
    assert.doesNotMatch(check.reason, /\.$/, `${what}: no final period`);
  }
});

Deno.test("nameKey() is the same for names that cannot be told apart", () => {
  const cases: [string, string, string][] = [
    ["case", "ALICE", "alice"],
    ["full-width forms", "ａｌｉｃｅ", "alice"],
    ["composed and decomposed accents", "Zoe\u0308", "zoë"],
    ["ß and SS", "Straße", "STRASSE"],
    ["ß and ss", "straße", "strasse"],
    ["final and medial sigma", "Κώστασ", "κώστας"],
    ["capital and final sigma", "ΚΏΣΤΑΣ", "κώστας"],
    ["an all-Cyrillic look-alike", "\u0430\u0441\u0435", "ace"],
    ["an all-Cyrillic look-alike in capitals", "\u0410\u0421\u0415", "ace"],
    ["Cyrillic capitals that look Latin", "\u0412\u041e\u0412", "bob"],
    ["Cyrillic small letters that look Latin", "\u0455\u0435\u0445\u0443", "sexy"],
    ["Cyrillic letters from Komi and Abkhaz", "\u0501\u04bb\u051b\u051d", "dhqw"],
    ["an all-Greek look-alike", "\u03c4\u03b1\u03c7\u03b9", "taxi"],
    ["an all-Greek look-alike in capitals", "\u03a4\u0391\u03a7\u0399", "taxi"],
    ["Greek capitals Ν, Ρ, Κ, Υ, Ο", "\u039d\u03a1\u039a\u03a5\u039f", "npkyo"],
    ["a Cyrillic ё and a Latin ë", "\u0451", "ë"],
    ["a Cyrillic ѕ in server", "\u0455erver", "server"],
    ["an invisible character", "alice\ufe0f", "alice"],
    ["Latin alpha and script g", "\u0251\u0261", "ag"],
  ];
  for (const [what, a, b] of cases) assert.equal(nameKey(a), nameKey(b), what);
});

Deno.test("nameKey() reads look-alikes from every script as the letters they pass for", () => {
  // [what, look-alike, the name it passes for]
  const cases: [string, string, string][] = [
    ["a Lisu \ua4ee", "\ua4eelice", "Alice"],
    ["a Cherokee \u13aa", "\u13aalice", "Alice"],
    ["a Cherokee small \uab7a", "\uab7alice", "Alice"],
    ["a Canadian syllabics \u15c5", "\u15c5lice", "Alice"],
    ["a capital I for l", "AIice", "Alice"],
    ["a combining low line", "Alice\u0332", "Alice"],
    ["a combining macron below", "Al\u0331ice", "Alice"],
    ["a Cyrillic \u0430", "\u0430lice", "Alice"],
    ["a Greek \u0391", "\u0391lice", "Alice"],
    ["full-width letters", "\uff21\uff4c\uff49\uff43\uff45", "Alice"],
    ["mathematical bold letters", "\u{1d400}\u{1d425}\u{1d422}\u{1d41c}\u{1d41e}", "Alice"],
    ["an Armenian \u0585", "b\u0585b", "bob"],
    ["Greek capitals", "\u0392\u039f\u0392", "Bob"],
    ["a Coptic \u2c9e", "b\u2c9fb", "bob"],
    ["a dotless \u0131", "al\u0131ce", "alice"],
  ];
  for (const [what, lookAlike, original] of cases) {
    assert.equal(nameKey(lookAlike), nameKey(original), what);
  }
});

Deno.test("nameKey() follows Unicode's data for digits and letter pairs: 0 is O, 1 and I are l, rn is m", () => {
  // UTS #39 reads B0B as BOB; names ignore case, so B0b is Bob too.
  const cases: [string, string, string][] = [
    ["zero for O, whatever the case", "B0b", "Bob"],
    ["zero for o", "b0b", "bob"],
    ["one for l", "bob1", "bobl"],
    ["i as I, so l", "bobi", "bobl"],
    ["rn for m", "Arnold", "Amold"],
    ["i as I, so l, in names people have", "Neil", "Nell"],
  ];
  for (const [what, a, b] of cases) assert.equal(nameKey(a), nameKey(b), what);
});

Deno.test("nameKey() of a key is that key, for every look-alike in the table", () => {
  for (const entry of tableSources()) {
    const key = nameKey(entry);
    assert.equal(nameKey(key), key, `U+${entry.codePointAt(0)!.toString(16)}`);
  }
});

Deno.test("nameKey() keeps apart names that look different", () => {
  const cases: [string, string, string][] = [
    ["a letter more", "Alice", "Alicia"],
    ["different first letters", "Bob", "Rob"],
    ["a doubled letter", "Ann", "Anna"],
    ["r and m", "Emma", "Erma"],
    ["an accent", "José", "Jose"],
    ["a diaeresis", "Zoë", "Zoe"],
    ["Cyrillic letters without a Latin look-alike", "Алиса", "Anuca"],
    ["different Han characters", "小明", "小朋"],
    ["different Hangul syllables", "김민준", "김민순"],
  ];
  for (const [what, a, b] of cases) assert.notEqual(nameKey(a), nameKey(b), what);
});

/** Every source code point of the generated look-alike table. */
function tableSources(): string[] {
  return PROTOTYPES.split(" ").map((entry) => String.fromCodePoint(entry.codePointAt(0)!));
}

Deno.test("with Alice here, none of her look-alikes can join or be taken with /nick", () => {
  const hub = new Hub({ now: () => 0 });
  hub.register("Alice", new Inbox());
  const other = hub.register("Zed", new Inbox());
  const lookAlikes = [
    "\ua4eelice",
    "\u13aalice",
    "\u15c5lice",
    "AIice",
    "Alice\u0332",
  ];
  for (const name of lookAlikes) {
    assert.ok(checkName(name).ok, `${name} is a valid name`);
    const error = refusal(() => hub.register(name, new Inbox()));
    assert.equal(error.code, "name_taken", name);
    assert.equal(
      error.message,
      `The name ${name} is taken: it looks too much like Alice, who is here`,
    );
    const inbox = new Inbox();
    const bob = hub.register("Bob", inbox);
    hub.rename(bob, name);
    assert.deepEqual(inbox.of("error").map((e) => e.code), ["name_taken"], name);
    hub.leave(bob, "quit");
  }
  assert.deepEqual(hub.userCount, 2);
  assert.equal(other.name, "Zed");
  // The same name in another case or form (full-width, bold) says no more than that.
  const sameName = [
    "Alice",
    "ALICE",
    "\uff21\uff4c\uff49\uff43\uff45",
    "\u{1d400}\u{1d425}\u{1d422}\u{1d41c}\u{1d41e}",
  ];
  for (const name of sameName) {
    assert.equal(
      refusal(() => hub.register(name, new Inbox())).message,
      `The name ${name} is taken`,
    );
  }
});

Deno.test("the look-alike table is the generator's output from the pinned confusables.txt", async () => {
  assert.equal(CONFUSABLES_VERSION, SOURCE.unicode);
  assert.equal(CONFUSABLES_SOURCE, `npm:${SOURCE.npm}`);
  assert.equal(
    await Deno.readTextFile(OUTPUT),
    confusablesModule(),
    "lib/core/confusables_data.ts differs: run deno run -RW tools/gen_confusables.ts",
  );
});
