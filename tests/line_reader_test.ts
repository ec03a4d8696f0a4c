import assert from "node:assert/strict";
import { type ByteReader, type LineRead, LineSplitter, readLines } from "../lib/io/line_reader.ts";
import { chunkReader } from "./_helpers.ts";

/** A reader that returns the given chunks one per read, then the end. */
function chunks(...parts: (string | number[])[]): ByteReader {
  return chunkReader(parts);
}

async function collect(reader: ByteReader, max?: number): Promise<LineRead[]> {
  const out: LineRead[] = [];
  for await (const read of readLines(reader, max)) out.push(read);
  return out;
}

const line = (text: string): LineRead => ({ kind: "line", text });

Deno.test("readLines() splits on \\n and \\r\\n, across chunk boundaries", async () => {
  const got = await collect(chunks("hel", "lo\r\nwor", "ld\n\nlast"));
  assert.deepEqual(got, [line("hello"), line("world"), line(""), line("last")]);
});

Deno.test("readLines() decodes multi-byte characters split between reads", async () => {
  const bytes = [...new TextEncoder().encode("小明\n")];
  const got = await collect(chunks(bytes.slice(0, 2), bytes.slice(2, 4), bytes.slice(4)));
  assert.deepEqual(got, [line("小明")]);
});

Deno.test("readLines() reports an over-long line once and skips the rest of it", async () => {
  const got = await collect(chunks("x".repeat(30), "y".repeat(30), "z\nok\n"), 50);
  assert.deepEqual(got, [{ kind: "too_long" }, line("ok")]);
});

Deno.test("readLines() accepts a line of exactly the limit, with \\n or \\r\\n", async () => {
  const exact = "a".repeat(50);
  const got = await collect(chunks(`${exact}\n${exact}\r\n${exact}b\n${exact}b\r\n`), 50);
  assert.deepEqual(got, [line(exact), line(exact), { kind: "too_long" }, { kind: "too_long" }]);
});

Deno.test("readLines() reports an endless line as soon as it passes the limit", async () => {
  // A peer sending 'a' forever: the report must come after about the limit, not at the end.
  let sent = 0;
  const endless: ByteReader = {
    read(buffer) {
      if (sent >= 8 << 20) return Promise.resolve(null);
      buffer.fill(0x61);
      sent += buffer.length;
      return Promise.resolve(buffer.length);
    },
  };
  const reads = readLines(endless, 1024);
  const first = await reads.next();
  const sentBeforeReport = sent;
  await reads.return(undefined);
  assert.deepEqual(first, { done: false, value: { kind: "too_long" } });
  assert.ok(sentBeforeReport <= 32 * 1024, `reported after ${sentBeforeReport} bytes`);
});

Deno.test("readLines() reports invalid UTF-8 and goes on with the next line", async () => {
  const got = await collect(chunks([0x66, 0xff, 0xfe, 0x0a], "fine\n", [0xe5, 0xb0, 0x0a]));
  assert.deepEqual(got, [{ kind: "bad_encoding" }, line("fine"), { kind: "bad_encoding" }]);
});

Deno.test("readLines() ends quietly when the reader fails, dropping the unfinished line", async () => {
  let calls = 0;
  const failing: ByteReader = {
    read(buffer) {
      if (calls++ === 0) {
        buffer.set(new TextEncoder().encode("one\nunfinis"));
        return Promise.resolve(11);
      }
      return Promise.reject(new Deno.errors.ConnectionReset("reset"));
    },
  };
  assert.deepEqual(await collect(failing), [line("one")]);
});

Deno.test("readLines() reads into a small buffer that grows while reads fill it, and shrinks back", async () => {
  const sizes: number[] = [];
  let reads = 0;
  const busyThenQuiet: ByteReader = {
    read(buffer) {
      sizes.push(buffer.length);
      if (reads++ >= 40) return Promise.resolve(null);
      // A burst of full reads, then short lines.
      const line = reads <= 6 ? "x".repeat(buffer.length - 1) + "\n" : "hi\n";
      buffer.set(new TextEncoder().encode(line));
      return Promise.resolve(line.length);
    },
  };
  await collect(busyThenQuiet, 1 << 20);
  assert.equal(sizes[0], 1024, "a connection starts with 1 KiB");
  assert.equal(Math.max(...sizes), 16 * 1024, "and grows to 16 KiB at most");
  assert.equal(sizes.at(-1), 1024, "a quiet connection goes back to 1 KiB");
});

// ---- line endings -------------------------------------------------------------

/** Feeds each part to one splitter as one read (a number: a read of that many bytes that a filter took out); returns what came out, the end included. */
function split(parts: (string | number)[], max?: number): LineRead[] {
  const splitter = new LineSplitter(max);
  const out: LineRead[] = [];
  for (const part of parts) {
    if (typeof part === "number") {
      out.push(...splitter.take(part, 0));
      continue;
    }
    const n = new TextEncoder().encodeInto(part, splitter.buffer).written;
    out.push(...splitter.take(n));
  }
  out.push(...splitter.finish());
  return out;
}

Deno.test("LineSplitter ends a line at a bare \\r, as old Macs and some serial terminals send", () => {
  assert.deepEqual(split(["Alice\rhello\r"]), [line("Alice"), line("hello")]);
  assert.deepEqual(split(["one\rtwo\nthree\r\nfour"]), [
    line("one"),
    line("two"),
    line("three"),
    line("four"),
  ]);
  assert.deepEqual(split(["\r\r"]), [line(""), line("")], "two Enters, two empty lines");
});

Deno.test("LineSplitter reads \\r\\n and telnet's \\r\\0 as one line ending, even split between reads", () => {
  const cases: [(string | number)[], LineRead[]][] = [
    [["a\r\nb\r\n"], [line("a"), line("b")]],
    [["a\r", "\nb\r", "\n"], [line("a"), line("b")]],
    [["a\r\0b\r\0"], [line("a"), line("b")]],
    [["a\r", "\0b\r", "\0c"], [line("a"), line("b"), line("c")]],
    // A read that a telnet filter emptied does not end the wait for the \n.
    [["a\r", 3, "\nb\n"], [line("a"), line("b")]],
    [["a\r", "\r\n"], [line("a"), line("")]],
    [["a\r"], [line("a")]],
    // Only right after a \r is a \n or a NUL part of the line ending.
    [["a\n\0b\n"], [line("a"), line("\0b")]],
  ];
  for (const [parts, want] of cases) assert.deepEqual(split(parts), want, JSON.stringify(parts));
});

Deno.test("LineSplitter counts the cap without the \\r, and skips an over-long line up to a bare \\r", () => {
  const exact = "a".repeat(50);
  assert.deepEqual(split([`${exact}\r`, `\n${exact}\r${exact}b\rok\r`], 50), [
    line(exact),
    line(exact),
    { kind: "too_long" },
    line("ok"),
  ]);
  assert.deepEqual(
    split(["x".repeat(60), "\r", "\nok\n"], 50),
    [{ kind: "too_long" }, line("ok")],
    "the \\n after the \\r that ends a skipped line is no empty line",
  );
});
