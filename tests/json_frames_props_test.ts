/**
 * Properties of the JSON frame decoders (`lib/protocol/json.ts`), checked
 * against the field rules of docs/PROTOCOL.md written out again here: any
 * line is either refused with a ChatError or accepted, accepted exactly when
 * it follows the rules, and a frame that follows them is read back as it was
 * written.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { ChatError } from "../lib/core/errors.ts";
import type { ChatEvent } from "../lib/core/events.ts";
import { stripUnsafe } from "../lib/core/sanitize.ts";
import { LineSplitter } from "../lib/io/line_reader.ts";
import {
  type ClientFrame,
  decodeClientFrame,
  decodeServerFrame,
  encodeEvent,
  encodeFrame,
} from "../lib/protocol/json.ts";
import { checkProperty } from "./_props.ts";

/**
 * What a field holds, as docs/PROTOCOL.md says: a string unless noted; a
 * number (hello's `version`), a whole number of any sign (history's `count`
 * and `before`: the hub checks their range), a whole number from 0, a time, a
 * flag, lists.
 */
type Kind =
  | "string"
  | "number"
  | "integer"
  | "whole"
  | "time"
  | "flag"
  | "true"
  | "strings"
  | "cid"
  | "messages"
  | "privates"
  | "deliveries"
  | "listings";

/** The fields of a frame type: `name` (a string), `name:kind`, and `?` for optional ones. */
type Spec = Record<string, { kind: Kind; optional: boolean }>;

function spec(fields: string): Spec {
  const out: Spec = {};
  for (const field of fields.split(" ").filter(Boolean)) {
    const [name, kind = "string"] = field.split(":");
    const optional = name.endsWith("?");
    out[optional ? name.slice(0, -1) : name] = { kind: kind as Kind, optional };
  }
  return out;
}

/** Client frames (docs/PROTOCOL.md, "Client frames", "Rooms" and "Presence"). */
const CLIENT: Record<string, Spec> = {
  hello: spec("version:number name client? resume? password? since?:whole stream? acks?:flag"),
  say: spec("text room? cid?:cid"),
  me: spec("text room? cid?:cid"),
  msg: spec("to text cid?:cid"),
  nick: spec("name"),
  who: spec("room?"),
  help: spec(""),
  quit: spec("reason?"),
  input: spec("text room? cid?:cid"),
  history: spec("count?:integer before?:integer room?"),
  join: spec("room since?:whole"),
  ack: spec("id:whole"),
  part: spec("room? reason?"),
  rooms: spec(""),
  topic: spec("room? text?"),
  kick: spec("name room? reason?"),
  op: spec("name room?"),
  deop: spec("name room?"),
  invite: spec("name room?"),
  private: spec("room?"),
  public: spec("room?"),
  away: spec("text?"),
  ignore: spec("name?"),
  unignore: spec("name"),
  whois: spec("name"),
  ping: spec("token?"),
  pong: spec("token?"),
};

/** Server frames (docs/PROTOCOL.md, "Server frames" and the sections after it). */
const SERVER: Record<string, Spec> = {
  welcome: spec(
    "version:whole name room users:strings server resume count?:whole motd? account?:flag rooms?:strings stream? last?:whole",
  ),
  message: spec("id:whole time:time room from text action?:flag"),
  private: spec("id:whole time:time from to text offline?:flag"),
  missed: spec("messages:privates"),
  replay: spec("messages:deliveries more?:flag gaps?:strings privateGap?:flag"),
  sent: spec("cid id:whole"),
  history: spec("room messages:messages before?:whole"),
  join: spec("time:time room name count:whole"),
  leave: spec("time:time room name count:whole reason"),
  rename: spec("time:time room from to"),
  users: spec("room names:strings ops?:strings away?:strings"),
  away: spec("name text? since?:time"),
  ignoring: spec("names:strings added? removed?"),
  whois: spec(
    "name online:flag account?:flag since?:time idle?:whole away? awaySince?:time rooms?:strings ops?:strings",
  ),
  part: spec("time:time room name count:whole reason by?"),
  current: spec("room"),
  topic: spec("time:time room topic by?"),
  mode: spec("time:time room by change name?"),
  invite: spec("time:time room from"),
  rooms: spec("rooms:listings"),
  notice: spec("time:time text room?"),
  info: spec("text"),
  error: spec("code message wait?:whole cid?"),
  ping: spec("token?"),
  pong: spec("token?"),
  bye: spec("code reason until?:time"),
};

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether `value` is of `kind`, as the protocol defines it. */
function fits(value: unknown, kind: Kind): boolean {
  const whole = Number.isSafeInteger(value) && (value as number) >= 0;
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number";
    case "integer":
      return Number.isSafeInteger(value);
    case "whole":
      return whole;
    case "time":
      return whole && (value as number) <= 8.64e15;
    case "flag":
      return typeof value === "boolean";
    case "true":
      return value === true;
    case "strings":
      return Array.isArray(value) && value.every((item) => typeof item === "string");
    case "cid":
      return typeof value === "string" && /^[\x20-\x7e]{1,64}$/.test(value);
    case "deliveries":
      return Array.isArray(value) &&
        value.every((item) => follows(item, SERVER, "message") || follows(item, SERVER, "private"));
    case "messages":
      return Array.isArray(value) && value.every((item) => follows(item, SERVER, "message"));
    case "privates":
      return Array.isArray(value) && value.every((item) => follows(item, SERVER, "private"));
    case "listings":
      return Array.isArray(value) && value.every((item) => conforms(item, LISTING));
  }
}

/** A room of a `rooms` frame. */
const LISTING = spec("room count:whole topic private?:true joined?:true");

function conforms(value: unknown, fields: Spec): boolean {
  return isObject(value) &&
    Object.entries(fields).every(([name, { kind, optional }]) =>
      Object.hasOwn(value, name) ? fits(value[name], kind) : optional
    );
}

/** Whether `value` is a frame that follows the rules of its type (of `type`, when given). */
function follows(value: unknown, table: Record<string, Spec>, type?: string): boolean {
  if (!isObject(value) || typeof value.type !== "string") return false;
  if (type !== undefined && value.type !== type) return false;
  if (!Object.hasOwn(table, value.type) || !conforms(value, table[value.type])) return false;
  // The one rule across fields: `since` of `hello` counts in a `stream`.
  return !(table === CLIENT && value.type === "hello" && "since" in value && !("stream" in value));
}

/** Strings of any kind: scripts, emoji, control characters, lone surrogates. */
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 16 }),
  fc.string({ unit: "grapheme", maxLength: 16 }),
  fc.constantFrom("", "小明", "\n", "\u2028", "\x1b[31m", "__proto__"),
);

/** A value of `kind` that follows the rules. */
function valid(kind: Kind): fc.Arbitrary<unknown> {
  switch (kind) {
    case "string":
      return text;
    case "number":
    case "integer":
      return fc.oneof(fc.integer(), fc.constant(1));
    case "whole":
      return fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
    case "time":
      return fc.oneof(fc.nat(), fc.constant(8.64e15));
    case "flag":
      return fc.boolean();
    case "true":
      return fc.constant(true);
    case "strings":
      return fc.array(text, { maxLength: 3 });
    case "cid":
      return fc.string({
        minLength: 1,
        maxLength: 64,
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      });
    case "deliveries":
      return fc.array(fc.oneof(frame(SERVER, "message"), frame(SERVER, "private")), {
        maxLength: 2,
      });
    case "messages":
      return fc.array(frame(SERVER, "message"), { maxLength: 2 });
    case "privates":
      return fc.array(frame(SERVER, "private"), { maxLength: 2 });
    case "listings":
      return fc.array(fields(LISTING), { maxLength: 2 });
  }
}

function fields(of: Spec): fc.Arbitrary<JsonObject> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, { kind }] of Object.entries(of)) parts[name] = valid(kind);
  const required = Object.entries(of).filter(([, f]) => !f.optional).map(([name]) => name);
  // Spread: fast-check's records have no prototype, frames read from JSON do.
  return fc.record(parts, { requiredKeys: required }).map((f) => ({ ...f }));
}

/** A frame of `type` that follows the rules. */
function frame(table: Record<string, Spec>, type: string): fc.Arbitrary<JsonObject> {
  return fields(table[type]).map((f) => ({ type, ...f }));
}

/** A frame of any type of `table` that follows the rules. */
function anyFrame(table: Record<string, Spec>): fc.Arbitrary<JsonObject> {
  // Filtered for the rules across fields (`since` of `hello` needs `stream`).
  return fc.constantFrom(...Object.keys(table)).chain((type) => frame(table, type))
    .filter((f) => follows(f, table));
}

/** JSON values of any shape, and numbers JSON.stringify does not write (1e400 reads as Infinity). */
const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-0, 1.5, -1, 2 ** 53, "1e400", null, true, {}, []),
);

/** A value just outside (or just inside) the rules of `kind`. */
function nearMiss(kind: Kind): fc.Arbitrary<unknown> {
  switch (kind) {
    case "string":
      return fc.constantFrom(1, null, ["a"], {}, true);
    case "number":
      return fc.constantFrom("1", null, "1e400", [1]);
    case "integer":
    case "whole":
    case "time":
      return fc.constantFrom(-1, 1.5, 2 ** 53, 8.64e15 + 1, "1", null, "1e400");
    case "flag":
    case "true":
      return fc.constantFrom("true", 1, null, false, true);
    case "strings":
      return fc.constantFrom(["a", 1], "a", [null], {});
    case "cid":
      return fc.constantFrom("", "x".repeat(64), "x".repeat(65), "\t", "\x7f", "é", 1, null);
    case "deliveries":
      return fc.oneof(
        frame(SERVER, "message").map((f) => [{ ...f, type: "history" }]),
        fc.constant([{ type: "info", text: "not a message" }]),
        mangledObject(SERVER.private, fc.constant({ type: "private" })).map((f) => [objectText(f)]),
        fc.constantFrom([{}], "x", [null]),
      );
    case "messages":
    case "privates": {
      const type = kind === "messages" ? "message" : "private";
      const other = kind === "messages" ? "private" : "message";
      return fc.oneof(
        frame(SERVER, other).map((f) => [f]),
        frame(SERVER, type).map((f) => [{ ...f, type: other }]),
        mangledObject(SERVER[type], fc.constant({ type })).map((f) => [objectText(f)]),
        fc.constantFrom([{}], "x", [null]),
      );
    }
    case "listings":
      return fc.oneof(
        mangledObject(LISTING, fc.constant({})).map((item) => [objectText(item)]),
        fc.constantFrom("private", "joined").map((flag) => [
          { room: "a", count: 0, topic: "", [flag]: false },
        ]),
        fc.constantFrom([{}], "x", [null]),
      );
  }
}

/** The fields of `fields` with some changes: removed, set just past their rules, or added. */
function mangledObject(
  of: Spec,
  start: fc.Arbitrary<JsonObject>,
): fc.Arbitrary<[string, unknown][]> {
  const names = Object.keys(of);
  const change = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(...names, "type").chain((name) =>
        fc.tuple(
          fc.constant("set"),
          fc.constant(name),
          name === "type" ? text : nearMiss(of[name].kind),
        )
      ),
    },
    fc.tuple(fc.constant("drop"), fc.constantFrom(...names, "type"), fc.constant(null)),
    fc.tuple(
      fc.constant("set"),
      fc.oneof(
        fc.constantFrom("__proto__", "constructor", "toString"),
        fc.string({ maxLength: 6 }),
      ),
      jsonValue,
    ),
  );
  return fc.tuple(
    fields(of).chain((f) => start.map((s) => ({ ...s, ...f }))),
    fc.array(change, { maxLength: 2 }),
  )
    .map(([valid, changes]) => {
      const entries = Object.entries(valid);
      for (const [kind, name, value] of changes) {
        const at = entries.findIndex(([key]) => key === name);
        if (kind === "drop" && at >= 0) entries.splice(at, 1);
        else if (kind === "set") entries.push([name, value]);
      }
      return entries;
    });
}

/** JSON text written as it is, inside a value (a changed frame in a list). */
class Raw {
  constructor(readonly text: string) {}
}

/** JSON text of `value`, written by hand where JSON.stringify would drop a "__proto__" key or a duplicate. */
function jsonText(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (value === "1e400") return "1e400";
  if (Array.isArray(value)) return `[${value.map(jsonText).join(",")}]`;
  return JSON.stringify(value);
}

function objectText(entries: [string, unknown][]): Raw {
  return new Raw(
    `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${jsonText(value)}`).join(",")}}`,
  );
}

/** The text of a valid frame of `table` with some changes (see {@link mangledObject}). */
function mangled(table: Record<string, Spec>): fc.Arbitrary<string> {
  return fc.constantFrom(...Object.keys(table))
    .chain((type) => mangledObject(table[type], fc.constant({ type })))
    .map((entries) => objectText(entries).text);
}

/** Any line: text, JSON of any shape, or a frame with changes. */
function anyLine(table: Record<string, Spec>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: "binary" }),
    fc.json({ maxDepth: 3 }),
    { weight: 3, arbitrary: mangled(table) },
    mangled(table).map((line) => line.slice(0, -1)),
    { weight: 3, arbitrary: oneChange(table) },
  );
}

/** A valid frame with one field set just past (or at) the edge of its rules: nothing else to blame. */
function oneChange(table: Record<string, Spec>): fc.Arbitrary<string> {
  return fc.constantFrom(
    ...Object.entries(table).flatMap(([type, fields]) =>
      Object.keys(fields).map((field) => [type, field] as const)
    ),
  ).chain(([type, field]) =>
    fc.tuple(frame(table, type), nearMiss(table[type][field].kind))
      .map(([valid, value]) => objectText([...Object.entries(valid), [field, value]]).text)
  );
}

/** Calls `decode`, returning what it returned or the ChatError it threw (anything else fails). */
function outcome<T>(decode: () => T): T | ChatError {
  try {
    return decode();
  } catch (error) {
    if (error instanceof ChatError) return error;
    throw new Error(`Not a ChatError: ${error}`, { cause: error });
  }
}

Deno.test("decodeClientFrame() accepts exactly the frames that follow the protocol, and throws only ChatErrors", () => {
  checkProperty(
    fc.property(anyLine(CLIENT), (line) => {
      const result = outcome(() => decodeClientFrame(line));
      let value: unknown = undefined;
      try {
        value = JSON.parse(line);
      } catch { /* not JSON: must be refused */ }
      if (result instanceof ChatError) {
        const unknown = isObject(value) && typeof value.type === "string" &&
          !Object.hasOwn(CLIENT, value.type);
        assert.equal(result.code, unknown ? "unknown_type" : "bad_frame");
        assert.ok(!follows(value, CLIENT), `refused a frame that follows the rules: ${line}`);
        // A refusal of a frame with a well-formed cid names it, so the client can drop its line.
        if (
          isObject(value) && result.code === "bad_frame" &&
          ["say", "me", "msg", "input"].includes(value.type as string) && fits(value.cid, "cid")
        ) {
          assert.equal(
            (result as ChatError & { cid?: string }).cid,
            value.cid,
            `no cid in the refusal of ${line}`,
          );
        }
        // One line, without what a terminal would act on: a bot may print it as it is.
        assert.equal(stripUnsafe(result.message), result.message);
      } else {
        assert.ok(follows(result, CLIENT), `accepted a frame against the rules: ${line}`);
        assert.deepEqual(result, value);
      }
    }),
    2000,
  );
});

Deno.test("decodeServerFrame() accepts exactly the frames that follow the protocol, skips unknown types, and throws only ChatErrors", () => {
  checkProperty(
    fc.property(anyLine(SERVER), (line) => {
      const result = outcome(() => decodeServerFrame(line));
      let value: unknown = undefined;
      try {
        value = JSON.parse(line);
      } catch { /* not JSON: must be refused */ }
      if (result === null) {
        assert.ok(isObject(value) && typeof value.type === "string");
        assert.ok(!Object.hasOwn(SERVER, value.type), `skipped a known type: ${line}`);
      } else if (result instanceof ChatError) {
        assert.equal(result.code, "bad_frame");
        assert.ok(!follows(value, SERVER), `refused a frame that follows the rules: ${line}`);
      } else {
        assert.ok(follows(result, SERVER), `accepted a frame against the rules: ${line}`);
      }
    }),
    2000,
  );
});

/** The one line `bytes` holds, as the server's reader splits it; fails unless there is exactly one. */
function oneLine(bytes: Uint8Array): string {
  const splitter = new LineSplitter();
  const reads: unknown[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const n = Math.min(splitter.buffer.length, bytes.length - offset);
    splitter.buffer.set(bytes.subarray(offset, offset + n));
    reads.push(...splitter.take(n));
    offset += n;
  }
  reads.push(...splitter.finish());
  assert.equal(reads.length, 1, "one line");
  const [read] = reads as { kind: string; text?: string }[];
  assert.equal(read.kind, "line");
  return read.text!;
}

Deno.test("a client frame that follows the protocol is read back by the server as it was sent", () => {
  checkProperty(
    fc.property(anyFrame(CLIENT), (sent) => {
      const line = oneLine(encodeFrame(sent as ClientFrame));
      assert.deepEqual(decodeClientFrame(line), sent);
    }),
    1000,
  );
});

Deno.test("a server event that follows the protocol is read back by the client as it was sent", () => {
  checkProperty(
    fc.property(anyFrame(SERVER), (sent) => {
      const line = oneLine(encodeEvent(sent as unknown as ChatEvent));
      assert.deepEqual(decodeServerFrame(line), sent);
    }),
    1000,
  );
});

// Found by the properties above, kept as plain cases.

Deno.test("the refusal of an unknown frame type shows the type on one line, without control characters", () => {
  for (const type of ["\n", "a\r\nb", "\x1b[2J", "\ud83d", "x".repeat(50) + "😀"]) {
    const error = outcome(() => decodeClientFrame(JSON.stringify({ type })));
    assert.ok(error instanceof ChatError && error.code === "unknown_type");
    assert.equal(stripUnsafe(error.message), error.message);
    assert.ok(error.message.length < 70, error.message);
  }
});
