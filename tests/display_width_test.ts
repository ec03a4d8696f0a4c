/**
 * Display width: what a terminal does with each kind of character.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  codePointWidth,
  graphemes,
  graphemeWidth,
  textWidth,
} from "../lib/client/display_width.ts";

Deno.test("ASCII letters, digits and punctuation take one column each", () => {
  assert.equal(textWidth("Hello, world! 123"), 17);
});

Deno.test("Chinese, Japanese and Korean characters take two columns each", () => {
  const cases: [string, number][] = [["你好世界", 8], ["こんにちは", 10], ["한국어", 6], [
    "カタカナ",
    8,
  ]];
  for (const [text, width] of cases) assert.equal(textWidth(text), width, text);
});

Deno.test("full-width forms take two columns and half-width katakana one", () => {
  assert.equal(textWidth("ＡＢＣ"), 6);
  assert.equal(textWidth("ｶﾀｶﾅ"), 4);
});

Deno.test("emoji take two columns, with skin tones, families, flags and VS16 alike", () => {
  const cases: [string, number][] = [
    ["👍", 2],
    ["👍🏽", 2],
    ["👨‍👩‍👧", 2],
    ["🇫🇷", 2],
    ["❤️", 2],
    ["🎉ok", 4],
  ];
  for (const [text, width] of cases) assert.equal(textWidth(text), width, text);
});

Deno.test("combining marks add no width to the letter they sit on", () => {
  assert.equal(textWidth("e\u0301"), 1);
  assert.equal(textWidth("Zoe\u0308"), 3);
  assert.equal(graphemes("e\u0301a").length, 2);
});

Deno.test("invisible characters and controls take no columns on their own", () => {
  assert.equal(codePointWidth(0x200b), 0);
  assert.equal(codePointWidth(0x200d), 0);
  assert.equal(codePointWidth(0x07), 0);
  assert.equal(graphemeWidth(""), 0);
});

Deno.test("Cyrillic, Greek, Arabic and accented Latin letters take one column", () => {
  assert.equal(textWidth("Алиса Zoë Ωμέγα مرحبا"), 21);
});

Deno.test("the edges of the wide table are exact", () => {
  assert.equal(codePointWidth(0x10ff), 1);
  assert.equal(codePointWidth(0x1100), 2);
  assert.equal(codePointWidth(0x115f), 2);
  assert.equal(codePointWidth(0x1160), 0);
  assert.equal(codePointWidth(0x303e), 2);
  assert.equal(codePointWidth(0x303f), 1);
  assert.equal(codePointWidth(0x20000), 2);
  assert.equal(codePointWidth(0x1f600), 2);
});
