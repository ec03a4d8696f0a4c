/**
 * Key decoding: the bytes terminals send, and the keys they mean.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Key, KeyDecoder } from "../lib/client/keys.ts";

const encoder = new TextEncoder();
const decode = (...chunks: string[]): Key[] => {
  const decoder = new KeyDecoder();
  return chunks.flatMap((chunk) => decoder.feed(encoder.encode(chunk)));
};
const named = (...names: string[]): Key[] => names.map((name) => ({ kind: "key", name } as Key));

Deno.test("typed text comes out as one text key per run", () => {
  assert.deepEqual(decode("hello 你好"), [{ kind: "text", text: "hello 你好" }]);
});

Deno.test("arrow, home, end and delete keys decode in normal and application modes", () => {
  assert.deepEqual(
    decode("\x1b[D\x1b[C\x1b[A\x1b[B\x1bOD\x1b[H\x1b[F\x1b[1~\x1b[4~\x1b[3~"),
    named("left", "right", "up", "down", "left", "home", "end", "home", "end", "delete"),
  );
});

Deno.test("Ctrl and Alt combinations decode to editing keys", () => {
  assert.deepEqual(
    decode("\x01\x05\x15\x17\x0b\x19\x03\x04\x7f\x08\x1bb\x1bf\x1b[1;5D\x1b[1;5C"),
    named(
      "ctrl+a",
      "ctrl+e",
      "ctrl+u",
      "ctrl+w",
      "ctrl+k",
      "ctrl+y",
      "ctrl+c",
      "ctrl+d",
      "backspace",
      "backspace",
      "word_left",
      "word_right",
      "word_left",
      "word_right",
    ),
  );
});

Deno.test("Alt+digit and Alt+arrows decode to the keys that switch rooms", () => {
  assert.deepEqual(
    decode("\x1b1\x1b9\x1b[1;3D\x1b[1;3C\x0e\x10"),
    named("alt+1", "alt+9", "alt+left", "alt+right", "ctrl+n", "ctrl+p"),
  );
});

Deno.test("Enter is one key whether the terminal sends CR, LF or CR LF", () => {
  assert.deepEqual(decode("a\rb\nc\r\n"), [
    { kind: "text", text: "a" },
    ...named("enter"),
    { kind: "text", text: "b" },
    ...named("enter"),
    { kind: "text", text: "c" },
    ...named("enter"),
  ]);
});

Deno.test("a sequence split across reads is decoded once complete", () => {
  assert.deepEqual(decode("x\x1b", "[", "D"), [{ kind: "text", text: "x" }, ...named("left")]);
});

Deno.test("a character split across reads is decoded once complete", () => {
  const bytes = encoder.encode("你");
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed(bytes.subarray(0, 1)), []);
  assert.deepEqual(decoder.feed(bytes.subarray(1)), [{ kind: "text", text: "你" }]);
});

Deno.test("bracketed paste arrives as one paste key, newlines and escapes included", () => {
  assert.deepEqual(decode("\x1b[200~line one\nline\x1b[D two\x1b[201~!"), [
    { kind: "paste", text: "line one\nline\x1b[D two" },
    { kind: "text", text: "!" },
  ]);
});

Deno.test("a paste split across reads, even inside its end marker, is one paste key", () => {
  assert.deepEqual(decode("\x1b[200~ab", "c\x1b[20", "1~"), [{ kind: "paste", text: "abc" }]);
});

Deno.test("unknown sequences and control bytes are dropped, not typed", () => {
  assert.deepEqual(decode("\x1b[5;9Xa\x00\x1cb\x1b[I"), [{ kind: "text", text: "ab" }]);
});

Deno.test("a lone Escape is reported when the caller flushes after a pause", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed(encoder.encode("\x1b")), []);
  assert.equal(decoder.pending, true);
  assert.deepEqual(decoder.flush(), named("escape"));
});
