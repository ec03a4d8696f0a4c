/**
 * How fast the store appends messages with its durability setting (WAL,
 * synchronous=FULL: an fsync per commit), on this machine's disk.
 *
 * ```sh
 * deno run -RW bench/store.ts [COUNT] [DIR]   # DIR: where to put the database (default: a temp dir)
 * ```
 *
 * Prints two lines. One append at a time: each is what the server did before
 * group commit, one transaction on disk when it returns. Then the same
 * messages in groups of 82 (what one turn of a saturated data server holds,
 * measured with `bench/load.ts --workload saturation --members 10 --senders
 * 10 --window 16`), committed together as `chat serve` commits them: the
 * time and the CPU (user and system) of one message.
 *
 * @module
 */

import process from "node:process";
import { Store } from "../lib/store/sqlite_store.ts";

const count = Number(Deno.args[0] ?? 2000);
const parent = Deno.args[1];
const GROUP = 82;
const text = "a message of a typical length, about sixty characters long.";

/** Runs `body` on a store of its own in a new directory, which is then removed. */
async function withStore(body: (store: Store) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-store-bench-", dir: parent });
  const store = Store.open(dir, { exclusive: true });
  try {
    body(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

await withStore((store) => {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    store.appendMessage({ time: Date.now(), room: "lobby", from: "bench", text });
  }
  const ms = performance.now() - start;
  const rate = Math.round(count / (ms / 1000));
  console.log(`${count} appends: ${rate} per second, ${(ms / count * 1000).toFixed(0)} µs each`);
});

await withStore((store) => {
  const groups = Math.max(1, Math.round(count * 10 / GROUP));
  let answered = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < GROUP; i++) {
      const from = `user${i % 10}`;
      store.commitSoon!(
        () => store.appendMessage({ time: Date.now(), room: "lobby", from, text }),
        () => answered++,
        () => {},
      );
    }
    store.commitNow();
  }
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const n = groups * GROUP;
  if (answered !== n) throw new Error(`${n - answered} appends of groups not answered`);
  console.log(
    `${n} appends in groups of ${GROUP}: ${Math.round(n / (ms / 1000))} per second, ` +
      `${(ms / n * 1000).toFixed(2)} µs each; CPU ${(used.user / n).toFixed(2)} µs user, ` +
      `${(used.system / n).toFixed(2)} µs system`,
  );
});
