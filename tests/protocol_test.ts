import assert from "node:assert/strict";
import { decodeClientFrame, encodeEvent } from "../lib/protocol/json.ts";
import { refusal } from "./_helpers.ts";
import type { ChatEvent } from "../lib/core/events.ts";

Deno.test("decodeClientFrame() accepts every documented frame", () => {
  const frames = [
    { type: "hello", version: 1, name: "Alice", client: "bot/1" },
    { type: "say", text: "hi" },
    { type: "me", text: "waves" },
    { type: "msg", to: "Bob", text: "psst" },
    { type: "nick", name: "Al" },
    { type: "who" },
    { type: "help" },
    { type: "quit" },
    { type: "quit", reason: "bye" },
    { type: "input", text: "/who" },
    { type: "ping", token: "1" },
    { type: "pong" },
  ];
  for (const frame of frames) assert.deepEqual(decodeClientFrame(JSON.stringify(frame)), frame);
});

Deno.test("decodeClientFrame() refuses malformed frames with a stable code", () => {
  const cases: [string, string][] = [
    ["not json", "bad_frame"],
    ["[1,2]", "bad_frame"],
    ["null", "bad_frame"],
    ['"text"', "bad_frame"],
    ["{}", "bad_frame"],
    ['{"type":5}', "bad_frame"],
    ['{"type":"say"}', "bad_frame"],
    ['{"type":"say","text":42}', "bad_frame"],
    ['{"type":"msg","text":"x"}', "bad_frame"],
    ['{"type":"hello","name":"A"}', "bad_frame"],
    ['{"type":"quit","reason":{}}', "bad_frame"],
    ['{"type":"launch"}', "unknown_type"],
    ['{"type":"__proto__"}', "unknown_type"],
    ['{"type":"toString"}', "unknown_type"],
  ];
  for (const [line, code] of cases) {
    assert.equal(refusal(() => decodeClientFrame(line)).code, code, line);
  }
});

Deno.test("encodeEvent() writes one JSON line and reuses the bytes for the same event", () => {
  const event: ChatEvent = { type: "notice", time: 1, text: "hi\nthere" };
  const first = encodeEvent(event);
  assert.equal(new TextDecoder().decode(first), '{"type":"notice","time":1,"text":"hi\\nthere"}\n');
  assert.equal(encodeEvent(event), first);
});
