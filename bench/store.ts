/**
 * How fast the store appends messages with its durability setting (WAL,
 * synchronous=FULL: an fsync per append), on this machine's disk.
 *
 * ```sh
 * deno run -RW bench/store.ts [COUNT] [DIR]   # DIR: where to put the database (default: a temp dir)
 * ```
 *
 * Prints one line: appends per second and the mean time of one append. Each
 * append is what the server will do before echoing a message: one
 * transaction, on disk when it returns.
 *
 * @module
 */

import { Store } from "../lib/store/sqlite_store.ts";

const count = Number(Deno.args[0] ?? 2000);
const parent = Deno.args[1];
const dir = await Deno.makeTempDir({ prefix: "chat-store-bench-", dir: parent });
const store = Store.open(dir, { exclusive: true });
try {
  const text = "a message of a typical length, about sixty characters long.";
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    store.appendMessage({ time: Date.now(), room: "lobby", from: "bench", text });
  }
  const ms = performance.now() - start;
  const rate = Math.round(count / (ms / 1000));
  console.log(`${count} appends: ${rate} per second, ${(ms / count * 1000).toFixed(0)} µs each`);
} finally {
  store.close();
  await Deno.remove(dir, { recursive: true });
}
