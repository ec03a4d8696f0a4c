/**
 * How messages are measured for a frame (lib/core/frame_budget.ts): the
 * UTF-8 length is counted, not encoded, and must be what is sent.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { jsonBytes, utf8Length } from "../lib/core/frame_budget.ts";
import { checkProperty } from "./_props.ts";

const encoded = (text: string) => new TextEncoder().encode(text).length;

Deno.test("utf8Length is the length of the UTF-8 that is sent, lone surrogates as U+FFFD", () => {
  for (
    const text of [
      "",
      "a",
      "é",
      "€",
      "小明",
      "😀",
      "a😀b",
      "\ud83d",
      "\ude00",
      "\ude00\ud83d",
      "x\ud83d",
    ]
  ) {
    assert.equal(utf8Length(text), encoded(text), JSON.stringify(text));
  }
  checkProperty(
    fc.property(
      fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" })),
      (text) => utf8Length(text) === encoded(text),
    ),
    500,
  );
});

Deno.test("jsonBytes is the message's JSON in UTF-8 and a separator", () => {
  const message = { type: "private", id: 1, from: "Zoë", text: "hi 😀 \ud83d" };
  assert.equal(jsonBytes(message), encoded(JSON.stringify(message)) + 1);
});
