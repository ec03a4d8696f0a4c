import assert from "node:assert/strict";
import { cleanMessage, codePointLength, stripUnsafe } from "../lib/sanitize.ts";

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

Deno.test("cleanMessage() trims trailing space but keeps leading indentation", () => {
  assert.equal(cleanMessage("  code  \t"), "  code");
});

Deno.test("codePointLength() counts characters, not UTF-16 units", () => {
  assert.equal(codePointLength("🙂🙂"), 2);
  assert.equal(codePointLength("小明"), 2);
});
