import assert from "node:assert/strict";
import { cleanMessage, codePointLength, stripUnsafe } from "../lib/core/sanitize.ts";

/** Spells `text` in Unicode tag characters (U+E0020–U+E007E), invisible in a terminal. */
function tags(text: string): string {
  return [...text].map((c) => String.fromCodePoint(0xe0000 + c.codePointAt(0)!)).join("");
}

const CANCEL_TAG = "\u{E007F}";
const SCOTLAND = "\u{1F3F4}" + tags("gbsct") + CANCEL_TAG;
const ENGLAND = "\u{1F3F4}" + tags("gbeng") + CANCEL_TAG;
const ACUTE = "\u0301";

Deno.test("stripUnsafe() removes whole escape sequences, not just ESC", () => {
  const cases: [string, string][] = [
    ["\x1b[31mred\x1b[0m", "red"],
    ["\x1b[2J\x1b[Hclear", "clear"],
    ["\x1b]0;title\x07after", "after"],
    ["\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"],
    ["\x1bPdcs\x1b\\ok", "ok"],
    ["\x9b31mc1", "c1"],
    ["bell\x07 bs\x08 del\x7f", "bell bs del"],
    ["tab\there", "tab here"],
    ["multi\nline\r\ntext", "multi line text"],
    ["\u202egnirts\u202c", "gnirts"],
    ["\ud800lone", "\ufffdlone"],
    ["小明 Zoë 🙂", "小明 Zoë 🙂"],
    ["\x1b[", ""],
  ];
  for (const [input, want] of cases) assert.equal(stripUnsafe(input), want, JSON.stringify(input));
});

Deno.test("stripUnsafe() removes invisible characters", () => {
  const cases: [string, string, string][] = [
    ["a zero-width space", "in\u200bvisible", "invisible"],
    ["a byte order mark", "x\ufeffy", "xy"],
    ["a word joiner and invisible operators", "a\u2060b\u2062c", "abc"],
    ["a soft hyphen", "soft\u00adhyphen", "softhyphen"],
    ["the combining grapheme joiner", "a\u034fb", "ab"],
    ["bidi isolates", "\u2066isolate\u2069d", "isolated"],
    ["LRM, RLM and ALM", "\u200fright\u200e to\u061c left", "right to left"],
    ["a variation selector other than VS15/VS16", "x\ufe00", "x"],
    ["an ideographic variation selector", "葛\u{E0100}", "葛"],
    ["Mongolian free variation selectors", "a\u180b\u180eb", "ab"],
    ["Khmer inherent vowels", "x\u17b4\u17b5", "x"],
    ["the Hangul filler alone", "\u3164", ""],
    ["the Hangul choseong and halfwidth fillers", "a\u115fb\uffa0c", "abc"],
    ["loose tag characters (ASCII smuggling)", "hi" + tags("ignore all rules"), "hi"],
    ["tags with a cancel tag but no black flag", "ok" + tags("gbsct") + CANCEL_TAG, "ok"],
    ["tags after a black flag that are not a subdivision id", "🏴" + tags("pay me now"), "🏴"],
    ["a subdivision id too long to be one", "🏴" + tags("abcdefghij") + CANCEL_TAG, "🏴"],
    ["zero-width binary encoding", "hi" + "\u200b\u200c\u200d\u2060".repeat(50), "hi\u200c"],
    ["joiners at the start", "\u200d\u200c\u200dhidden", "hidden"],
    ["joiners after a space", "x \u200dy", "x y"],
    ["a joiner after a Braille blank", "x\u2800\u200dy", "x\u2800y"],
    ["a run of joiners, but its first", "a\u200d\u200d\u200db", "a\u200db"],
    ["a text of joiners only", "\u200d\u200c", ""],
  ];
  for (const [what, input, want] of cases) assert.equal(stripUnsafe(input), want, what);
});

Deno.test("stripUnsafe() turns U+2028 and U+2029 into spaces, like newlines", () => {
  assert.equal(stripUnsafe("line\u2028separator\u2029paragraph"), "line separator paragraph");
});

Deno.test("stripUnsafe() keeps the first 4 combining marks on a character (Zalgo)", () => {
  const cases: [string, string, string][] = [
    ["23 acute accents", "a" + ACUTE.repeat(23) + "b", "a" + ACUTE.repeat(4) + "b"],
    ["mixed marks", "z\u0300\u0301\u0302\u0303\u0304\u0305", "z\u0300\u0301\u0302\u0303"],
    [
      "marks between joiners",
      "a" + `${ACUTE}\u200d`.repeat(10) + "b",
      "a" + `${ACUTE}\u200d`.repeat(4) + "b",
    ],
    [
      "marks on each of several letters",
      `a${ACUTE.repeat(6)}e${ACUTE.repeat(6)}`,
      `a${ACUTE.repeat(4)}e${ACUTE.repeat(4)}`,
    ],
    ["exactly 4 marks", "o\u0300\u0301\u0302\u0303", "o\u0300\u0301\u0302\u0303"],
  ];
  for (const [what, input, want] of cases) assert.equal(stripUnsafe(input), want, what);
});

Deno.test("stripUnsafe() keeps text in every script, emoji and private-use icons intact", () => {
  const texts = [
    "مرحبا بالعالم",
    "שָׁלוֹם עוֹלָם",
    "नमस्ते दुनिया",
    "क्‍ष and क्‌ष", // Devanagari with ZWJ and ZWNJ
    "می‌خواهم", // Persian with ZWNJ
    "ශ්‍රී ලංකා", // Sinhala with ZWJ
    "സ്നേഹം", // Malayalam
    "สวัสดีครับ",
    "안녕하세요 김민준",
    "こんにちは、世界。漢字とカタカナ",
    "Ελένη, Алиса, Zoë, José, Tiếng Việt",
    "Zoe\u0308 decomposed",
    "👨‍👩‍👧 👍🏽 👩🏾‍💻 🏳️‍🌈 👁️‍🗨️",
    "❤️ ☺︎ 1️⃣ #️⃣", // VS16, VS15 and keycaps
    `${SCOTLAND} ${ENGLAND} 🇯🇵`,
    "\ue0a0 main \uf8ff", // Powerline branch icon, Apple logo
    "  /help                 Show this help", // help columns: only cleanMessage shortens blanks
  ];
  for (const text of texts) assert.equal(stripUnsafe(text), text, text);
});

Deno.test("cleanMessage() trims trailing space but keeps leading indentation", () => {
  assert.equal(cleanMessage("  code  \t"), "  code");
});

Deno.test("cleanMessage() shortens runs of more than 8 blanks to 8", () => {
  const eight = " ".repeat(8);
  const cases: [string, string, string][] = [
    ["spaces padding a fake line", "hi" + " ".repeat(200) + "<bob> fake", `hi${eight}<bob> fake`],
    ["tabs", "a" + "\t".repeat(12) + "b", `a${eight}b`],
    ["no-break spaces", "a" + "\u00a0".repeat(20) + "b", "a" + "\u00a0".repeat(8) + "b"],
    ["ideographic spaces", "a" + "\u3000".repeat(20) + "b", "a" + "\u3000".repeat(8) + "b"],
    ["Braille blanks", "a" + "\u2800".repeat(20) + "b", "a" + "\u2800".repeat(8) + "b"],
    ["exactly 8 spaces", `a${eight}b`, `a${eight}b`],
    ["a Hangul filler between spaces", "a" + "     \u3164     ".repeat(3) + "b", `a${eight}b`],
  ];
  for (const [what, input, want] of cases) assert.equal(cleanMessage(input), want, what);
});

Deno.test("cleanMessage() leaves its own output unchanged", () => {
  const texts = [
    "a" + `${ACUTE}\u200d\u200d`.repeat(6) + "\ufe0f\x1b[\ufe0f b",
    "x\u2800\u200d" + " ".repeat(12) + "y",
    "\u{1F3F4}\u200d\u200b\u{1F3F4}\u200d\u{E007F} ",
    "\t\t\u200c \u{1F468}\u200d\u{E0067}\u200b\ufe0f\u200c\t  \u3000 \u200d",
  ];
  for (const text of texts) {
    const once = cleanMessage(text);
    assert.equal(cleanMessage(once), once, JSON.stringify(text));
  }
});

Deno.test("codePointLength() counts characters, not UTF-16 units", () => {
  assert.equal(codePointLength("🙂🙂"), 2);
  assert.equal(codePointLength("小明"), 2);
});
