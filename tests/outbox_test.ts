import assert from "node:assert/strict";
import { ByteArena } from "../lib/io/bytes.ts";
import { setImmediate } from "node:timers";
import { type ByteWriter, Outbox, type OutboxFailure, TurnFlusher } from "../lib/io/outbox.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (parts: Uint8Array[]) => parts.map((p) => new TextDecoder().decode(p)).join("");

/** A writer whose writes complete only when the test releases them. */
class GatedWriter implements ByteWriter {
  writes: Uint8Array[] = [];
  #gates: (() => void)[] = [];
  maxPerWrite = Infinity;
  write(chunk: Uint8Array): Promise<number> {
    const n = Math.min(chunk.length, this.maxPerWrite);
    this.writes.push(chunk.slice(0, n));
    return new Promise((resolve) => this.#gates.push(() => resolve(n)));
  }
  /** Completes the oldest pending write. */
  release(): void {
    this.#gates.shift()?.();
  }
  get pending(): number {
    return this.#gates.length;
  }
}

/**
 * A writer that keeps the very views it is given (no copy, unlike GatedWriter);
 * each write completes when the test calls release().
 */
function viewingWriter() {
  const seen: Uint8Array[] = [];
  let pending: (() => void) | undefined;
  const writer: ByteWriter = {
    write(bytes) {
      seen.push(bytes);
      return new Promise((resolve) => pending = () => resolve(bytes.length));
    },
  };
  return { writer, seen, release: () => pending?.() };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("Outbox coalesces what queued up during a write into one write", async () => {
  const writer = new GatedWriter();
  const outbox = new Outbox(writer);
  outbox.push(bytes("a\n"));
  outbox.push(bytes("b\n"));
  outbox.push(bytes("c\n"));
  assert.equal(writer.writes.length, 1, "only one write is ever in flight");
  const drained = outbox.drained();
  writer.release();
  await settle();
  assert.equal(writer.writes.length, 2);
  assert.equal(text([writer.writes[1]]), "b\nc\n");
  writer.release();
  await drained;
  assert.equal(text(writer.writes), "a\nb\nc\n");
  assert.equal(outbox.queued, 0);
});

Deno.test("Outbox finishes partial writes in order", async () => {
  const writer = new GatedWriter();
  writer.maxPerWrite = 3;
  const outbox = new Outbox(writer);
  outbox.push(bytes("hello world\n"));
  const drained = outbox.drained();
  while (writer.pending > 0) {
    writer.release();
    await settle();
  }
  await drained;
  assert.equal(text(writer.writes), "hello world\n");
});

Deno.test("Outbox gives up on a peer whose queue passes the limit", () => {
  const writer = new GatedWriter();
  const failures: OutboxFailure[] = [];
  const outbox = new Outbox(writer, { limit: 10, onFailure: (why) => failures.push(why) });
  assert.ok(outbox.push(bytes("12345")));
  assert.ok(outbox.push(bytes("67890")));
  assert.equal(outbox.push(bytes("x")), false);
  assert.deepEqual(failures, ["overflow"]);
  assert.ok(outbox.failed);
  assert.equal(outbox.push(bytes("y")), false, "nothing is queued after failing");
  assert.equal(outbox.queued, 0, "the queue's memory is released");
  writer.release();
});

Deno.test("Outbox takes one item longer than its limit when nothing waits, and no more", () => {
  const writer = new GatedWriter();
  const failures: OutboxFailure[] = [];
  const outbox = new Outbox(writer, { limit: 4, onFailure: (why) => failures.push(why) });
  assert.ok(
    outbox.push(bytes("a frame of 21 bytes..")),
    "a peer that is not behind is not dropped",
  );
  assert.deepEqual(failures, []);
  assert.equal(outbox.push(bytes("x")), false, "behind by a whole frame: over the limit");
  assert.deepEqual(failures, ["overflow"]);
  writer.release();
});

Deno.test("Outbox reports a failed write once and stops", async () => {
  const failures: OutboxFailure[] = [];
  const broken: ByteWriter = { write: () => Promise.reject(new Deno.errors.BrokenPipe("gone")) };
  const outbox = new Outbox(broken, { onFailure: (why) => failures.push(why) });
  outbox.push(bytes("a"));
  await outbox.drained();
  await settle();
  outbox.push(bytes("b"));
  assert.deepEqual(failures, ["write_error"]);
});

Deno.test("Outbox reports a write that throws at once as a failed write, not to its caller", async () => {
  const failures: OutboxFailure[] = [];
  const closed: ByteWriter = {
    write: () => {
      throw new Deno.errors.BadResource("closed");
    },
  };
  const outbox = new Outbox(closed, { onFailure: (why) => failures.push(why) });
  assert.equal(outbox.push(bytes("a")), true, "queued; the write fails after");
  await outbox.drained();
  assert.deepEqual(failures, ["write_error"]);
  assert.equal(outbox.push(bytes("b")), false);
});

Deno.test("Outbox hands adjacent parts to the writer as one view of their buffer", async () => {
  const arena = new ByteArena();
  const { writer, seen, release } = viewingWriter();
  const outbox = new Outbox(writer);
  outbox.push(arena.encode("first\n"));
  const b = arena.encode("b\n");
  const c = arena.encode("c\n");
  outbox.push(b);
  outbox.push(c);
  const drained = outbox.drained();
  release();
  await settle();
  assert.equal(seen[1].buffer, b.buffer, "no copy was made");
  assert.equal(seen[1].byteOffset, b.byteOffset);
  assert.equal(seen[1].byteLength, b.byteLength + c.byteLength);
  release();
  await drained;
});

Deno.test("Outbox copies a long queue of scattered parts behind a slow write into its own buffer", async () => {
  const { writer, seen, release } = viewingWriter();
  const outbox = new Outbox(writer);
  outbox.push(bytes("stuck\n"));
  // Each part a view into a big buffer of its own: kept alive while queued.
  const shared = Array.from({ length: 20 }, (_, i) => {
    const buffer = new Uint8Array(4096);
    buffer.set(bytes(`${i}\n`));
    return buffer.subarray(0, String(i).length + 1);
  });
  for (const part of shared) outbox.push(part);
  assert.ok(outbox.parts <= 8, `${outbox.parts} parts queued`);
  const drained = outbox.drained();
  release();
  await settle();
  const written = seen[1];
  assert.equal(
    text([written]),
    shared.map((part) => new TextDecoder().decode(part)).join(""),
    "in order, nothing lost",
  );
  release();
  await drained;
});

Deno.test("TurnFlusher writes what a turn queued for a peer in one write, after the turn", async () => {
  const writer = new GatedWriter();
  const outbox = new Outbox(writer, { scheduler: new TurnFlusher() });
  outbox.push(bytes("a\n"));
  outbox.push(bytes("b\n"));
  assert.equal(writer.writes.length, 0, "nothing is written during the turn");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writer.writes.map((w) => text([w])), ["a\nb\n"]);
  const drained = outbox.drained();
  writer.release();
  await drained;
});

Deno.test("TurnFlusher writes the lines of reads that completed together in one write", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peers = 4;
  const clients: Deno.Conn[] = [];
  const accepted: Deno.Conn[] = [];
  for (let i = 0; i < peers; i++) {
    clients.push(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
    accepted.push(await listener.accept());
  }
  // What each connection reads goes to one outbox, as a room's messages go to a member.
  const writes: string[] = [];
  const writer: ByteWriter = {
    write: (chunk) => (writes.push(text([chunk])), Promise.resolve(chunk.length)),
  };
  const outbox = new Outbox(writer, { scheduler: new TurnFlusher() });
  const read = Promise.withResolvers<void>();
  let lines = 0;
  const loops = accepted.map(async (conn) => {
    const buffer = new Uint8Array(64);
    let n: number | null;
    while ((n = await conn.read(buffer)) !== null) {
      outbox.push(buffer.slice(0, n));
      if (++lines === peers) read.resolve();
    }
  });
  // Sent together: the server reads most or all of them in one turn (how many a poll
  // finds is the kernel's business; a write per read would make one write each).
  await Promise.all(clients.map((client, i) => client.write(bytes(`${i}\n`))));
  await read.promise;
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(writes.length < peers, `reads of one turn share a write: ${writes.length} writes`);
  assert.equal(writes.join("").split("\n").sort().join(""), "0123");
  for (const client of clients) client.close();
  await Promise.all(loops);
  for (const conn of accepted) conn.close();
  listener.close();
});

Deno.test("an Outbox writes a big burst at once instead of waiting for the turn's end", () => {
  const writer = new GatedWriter();
  const outbox = new Outbox(writer, { scheduler: new TurnFlusher() });
  outbox.push(new Uint8Array(20 * 1024));
  assert.equal(writer.writes.length, 1);
  writer.release();
});
