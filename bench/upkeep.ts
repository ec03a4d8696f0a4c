/**
 * What keeping a data directory in shape costs (issue 15): the longest step
 * of a pruning pass, which holds the server's event loop, and the time of
 * `chat backup` (the store's online backup), for a database of COUNT
 * messages of about 100 bytes in ROOMS rooms.
 *
 * ```sh
 * deno run -A bench/upkeep.ts [COUNT] [ROOMS] [DIR]   # defaults: 200000 messages, 10 rooms, a temp dir
 * ```
 *
 * Prints one line per measure. Pruning keeps a tenth of each room
 * (`--keep-messages COUNT/ROOMS/10`); each step is timed as the server runs
 * it, in a turn of the event loop of its own, with the WAL checkpointed by
 * the server's worker thread (`--on-loop`: by SQLite in the commits, as
 * before that worker).
 *
 * @module
 */

import { join } from "node:path";
import { setImmediate } from "node:timers";
import { DATABASE_FILE, Store } from "../lib/store/sqlite_store.ts";

const onLoop = Deno.args.includes("--on-loop");
const args = Deno.args.filter((arg) => arg !== "--on-loop");
const count = Number(args[0] ?? 200_000);
const rooms = Number(args[1] ?? 10);
const dir = await Deno.makeTempDir({ prefix: "chat-upkeep-bench-", dir: args[2] });
const text =
  "a message of a typical length, about a hundred characters long, as people type them in a class chat.";
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
try {
  let store = Store.open(dir, { exclusive: true });
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const message = { time: now, room: `room${i % rooms}`, from: "bench", text };
    store.commitSoon?.(() => store.appendMessage(message), () => {}, () => {});
    if (i % 5000 === 4999) store.commitNow();
  }
  store.close();
  const size = () => Deno.statSync(join(dir, DATABASE_FILE)).size;
  const full = size();

  store = Store.open(dir, { exclusive: true });
  const copy = join(dir, "backup.db");
  let start = performance.now();
  const copied = await store.backup(copy);
  console.log(
    `backup of ${count} messages (${mb(copied)}): ${(performance.now() - start).toFixed(0)} ms`,
  );

  const checkpoints = onLoop ? undefined : store.startCheckpoints((line) => console.error(line));
  const keep = Math.floor(count / rooms / 10);
  const pruner = store.pruner({ keepDays: 0, keepMessages: keep });
  start = performance.now();
  // Each next() is what the server runs in one turn of its event loop.
  const turns: number[] = [];
  const pass = pruner.pass();
  for (let done = false; !done;) {
    // As the server's pruner does: it waits while the WAL catches up.
    while (checkpoints?.catchingUp) await new Promise((resolve) => setTimeout(resolve, 5));
    const turn = performance.now();
    done = pass.next().done ?? false;
    turns.push(performance.now() - turn);
    // The server's next turn (the worker's reports come in between).
    await new Promise((resolve) => setImmediate(resolve));
  }
  turns.sort((a, b) => a - b);
  const at = (q: number) => turns[Math.min(turns.length - 1, Math.floor(turns.length * q))];
  const { messages, pages } = pruner.counts;
  console.log(
    `pruning to ${keep} a room: ${messages} deleted in ${turns.length} turns, ` +
      `${(performance.now() - start).toFixed(0)} ms in all; a turn: p50 ${
        at(0.5).toFixed(1)
      } ms, ` +
      `p99 ${at(0.99).toFixed(1)} ms, longest ${at(1).toFixed(1)} ms; ${pages} pages given back`,
  );
  const done = checkpoints?.counts;
  console.log(
    done
      ? `checkpoints in the worker: ${done.checkpoints}; ${done.restarts} WAL restarts on the loop ` +
        `(the longest ${done.longestRestartMs.toFixed(1)} ms)`
      : "checkpoints on the loop (--on-loop)",
  );
  store.close();
  console.log(`file: ${mb(full)} before pruning, ${mb(size())} after`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
