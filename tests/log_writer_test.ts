import assert from "node:assert/strict";
import { LogWriter, timeOfDay } from "../lib/serve/log_writer.ts";
import type { ByteWriter } from "../lib/io/outbox.ts";
import { until } from "./_helpers.ts";

/** An output whose writes complete only when the test releases them. */
class GatedOutput implements ByteWriter {
  writes: string[] = [];
  #gates: (() => void)[] = [];
  write(bytes: Uint8Array): Promise<number> {
    this.writes.push(new TextDecoder().decode(bytes));
    return new Promise((resolve) => this.#gates.push(() => resolve(bytes.length)));
  }
  release(): void {
    this.#gates.shift()?.();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("LogWriter writes the lines of a burst together, one write in flight", async () => {
  const output = new GatedOutput();
  const log = new LogWriter(output);
  log.line("one");
  log.line("two");
  await settle();
  assert.deepEqual(output.writes, ["one\ntwo\n"], "a burst shares a write");
  log.line("three");
  log.line("four");
  await settle();
  assert.equal(output.writes.length, 1, "nothing more while a write is in flight");
  output.release();
  await settle();
  assert.deepEqual(output.writes, ["one\ntwo\n", "three\nfour\n"]);
  const flushed = log.flush();
  output.release();
  await flushed;
});

Deno.test("LogWriter drops lines an output too slow cannot take, and says how many", async () => {
  const output = new GatedOutput();
  const log = new LogWriter(output, { limit: 20, droppedNote: (n) => `(${n} dropped)` });
  log.line("first");
  await settle();
  // The output is stuck on "first": the buffer takes 20 characters, then drops.
  for (let i = 0; i < 5; i++) log.line(`line ${i}`);
  assert.equal(log.dropped, 3);
  output.release();
  await settle();
  log.line("after");
  output.release();
  await settle();
  output.release();
  await log.flush();
  assert.deepEqual(output.writes.join("").split("\n"), [
    "first",
    "line 0",
    "line 1",
    "(3 dropped)",
    "after",
    "",
  ]);
});

Deno.test("LogWriter stops quietly when its output fails", async () => {
  let writes = 0;
  const log = new LogWriter({
    write: () => {
      writes++;
      return Promise.reject(new Deno.errors.BrokenPipe("closed"));
    },
  });
  log.line("lost");
  await log.flush();
  log.line("also lost");
  await log.flush();
  assert.equal(writes, 1, "no write after the output failed");
});

Deno.test("LogWriter with a gap: a line after a quiet spell goes at once, the next ones share a write", async () => {
  const output = new GatedOutput();
  // A gap far longer than the test: only flush() ends it.
  const log = new LogWriter(output, { minGapMs: 60_000 });
  log.line("first");
  await settle();
  assert.deepEqual(output.writes, ["first\n"], "the first line is not held back");
  output.release();
  await settle();
  log.line("second");
  await settle();
  log.line("third");
  await settle();
  assert.deepEqual(output.writes, ["first\n"], "lines within the gap wait");
  const flushed = log.flush();
  await until(() => output.writes.length === 2, "flush() to write the waiting lines");
  output.release();
  await flushed;
  assert.deepEqual(output.writes, ["first\n", "second\nthird\n"]);
});

Deno.test("LogWriter with a gap writes the waiting lines when the gap has passed", async () => {
  const output = new GatedOutput();
  const log = new LogWriter(output, { minGapMs: 30 });
  log.line("first");
  await settle();
  output.release();
  await settle();
  log.line("second");
  await until(() => output.writes.length === 2, "the second write, after the gap");
  output.release();
  await log.flush();
  assert.deepEqual(output.writes, ["first\n", "second\n"]);
});

Deno.test("timeOfDay() formats the local time as HH:MM:SS", () => {
  const at = new Date(2026, 10, 25, 9, 5, 7).getTime();
  assert.equal(timeOfDay(at), "09:05:07");
  assert.equal(timeOfDay(at + 999), "09:05:07", "the same second reads the same");
  assert.equal(timeOfDay(at + 1000), "09:05:08");
});
