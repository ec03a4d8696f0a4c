import assert from "node:assert/strict";
import { type Input, parseInput } from "../lib/core/commands.ts";

Deno.test("parseInput() tells messages from commands", () => {
  const cases: [string, Input][] = [
    ["hello", { kind: "say", text: "hello" }],
    ["  spaced  ", { kind: "say", text: "  spaced  " }],
    ["/who", { kind: "command", name: "who", args: "" }],
    ["/WHO", { kind: "command", name: "who", args: "" }],
    ["/msg Bob hi there", { kind: "command", name: "msg", args: "Bob hi there" }],
    ["@Bob hi there", { kind: "command", name: "msg", args: "Bob hi there" }],
    ["@小明 你好", { kind: "command", name: "msg", args: "小明 你好" }],
    ["@Bob", { kind: "command", name: "msg", args: "Bob " }],
    ["@bob: hi", { kind: "command", name: "msg", args: "bob hi" }],
    ["@bob, hi", { kind: "command", name: "msg", args: "bob hi" }],
    ["exit", { kind: "command", name: "quit", args: "" }],
    ["exit now", { kind: "say", text: "exit now" }],
    ["  /msg Bob secret", { kind: "command", name: "msg", args: "Bob secret" }],
    [" @Bob secret", { kind: "command", name: "msg", args: "Bob secret" }],
    ["  exit ", { kind: "command", name: "quit", args: "" }],
    ["//shrug", { kind: "say", text: "/shrug" }],
    ["/", { kind: "command", name: "", args: "" }],
    ["a @mention inside", { kind: "say", text: "a @mention inside" }],
  ];
  for (const [line, want] of cases) assert.deepEqual(parseInput(line), want, line);
});
