/**
 * How long a long replay holds up everyone else, end to end: a `chat serve
 * --data` process whose store holds 10,000 room messages. Bob, in the room,
 * sends `ping` after `ping` and times each `pong`; meanwhile Ann logs in
 * with `since` 0, and all 10,000 are replayed to her (`--queue-limit` is
 * big enough). The slowest of Bob's round trips during her replay is about
 * the longest turn of the server's event loop it took.
 *
 * ```sh
 * deno run -A bench/replay_stall.ts [RUNS] [--main PATH]
 * ```
 *
 * `--main` runs another checkout's `main.ts` (to compare with). Prints one
 * line per run, and the median and slowest of all runs.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Hub } from "../lib/core/hub.ts";
import { Store } from "../lib/store/sqlite_store.ts";
import { ServerProcess } from "./server_process.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { main: { type: "string" } },
  allowPositionals: true,
});
const runs = Number(positionals[0] ?? 5);
const main = values.main ?? new URL("../main.ts", import.meta.url).pathname;
const MESSAGES = 10_000;
const TEXT = "a message of a typical length, about sixty characters long.";

/** A JSON-lines client over TCP: frames in order, each waited for by a test of it. */
class Client {
  #conn: Deno.Conn;
  #waiters: { match: (frame: Record<string, unknown>) => boolean; done: () => void }[] = [];
  /** Replay messages received. */
  replayed = 0;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    void this.#read();
  }

  static async connect(port: number): Promise<Client> {
    return new Client(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(frame: Record<string, unknown>): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(frame) + "\n");
    for (let at = 0; at < bytes.length;) at += await this.#conn.write(bytes.subarray(at));
  }

  /** Resolves at the next frame that `match`es. */
  next(match: (frame: Record<string, unknown>) => boolean): Promise<void> {
    return new Promise((done) => this.#waiters.push({ match, done }));
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Closed already.
    }
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    const chunks = this.#conn.readable[Symbol.asyncIterator]();
    for (;;) {
      const next = await chunks.next().catch(() => ({ done: true as const, value: undefined }));
      if (next.done) return;
      const chunk = next.value;
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const frame = JSON.parse(line);
        if (frame.type === "replay") this.replayed += frame.messages.length;
        const waiter = this.#waiters.find((w) => w.match(frame));
        if (waiter) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.done();
        }
      }
    }
  }
}

/** A data directory whose lobby holds MESSAGES messages; returns its stream. */
function fill(dir: string): string {
  const store = Store.open(dir);
  const hub = new Hub({ flood: null, churn: null, store });
  const bob = hub.register("Bob", { send() {} });
  for (let i = 0; i < MESSAGES; i++) hub.say(bob, TEXT);
  hub.settle();
  const stream = store.stream;
  store.close();
  return stream;
}

/** Bob's round trips (ms) from now until `until` resolves, each `ping` sent once the last is back. */
async function roundTrips(bob: Client, until: Promise<void>): Promise<number[]> {
  let over = false;
  void until.then(() => over = true);
  const trips: number[] = [];
  for (let token = 0; !over; token++) {
    const start = performance.now();
    const pong = bob.next((f) => f.type === "pong" && f.token === String(token));
    await bob.send({ type: "ping", token: String(token) });
    await pong;
    trips.push(performance.now() - start);
  }
  return trips;
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, slowest ${
    sorted.at(-1)!.toFixed(1)
  } ms`;
}

const dir = await Deno.makeTempDir({ prefix: "chat-replay-stall-" });
let server: ServerProcess | null = null;
try {
  const stream = fill(dir);
  server = await ServerProcess.start({
    main,
    maxUsers: 10,
    extraArgs: ["--data", dir, "--queue-limit", String(16 << 20), "--flood-rate", "0"],
    startTimeoutMs: 30_000,
  });
  const port = server.port;
  const bob = await Client.connect(port);
  const welcomed = bob.next((f) => f.type === "welcome");
  await bob.send({ type: "hello", version: 1, name: "Bob" });
  await welcomed;
  const quiet: number[] = [];
  const during: number[] = [];
  const replays: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Without a replay: the round trip alone.
    const calm = roundTrips(bob, new Promise((done) => setTimeout(done, 300)));
    const idle = Math.max(...await calm);
    const ann = await Client.connect(port);
    const ended = ann.next((f) => f.type === "replay" && f.more !== true);
    const trips = roundTrips(bob, ended);
    const start = performance.now();
    await ann.send({ type: "hello", version: 1, name: "Ann", since: 0, stream });
    await ended;
    const replay = performance.now() - start;
    const slowest = Math.max(...await trips);
    console.log(
      `run ${run + 1}: ${ann.replayed} replayed in ${replay.toFixed(1)} ms; ` +
        `Bob's slowest round trip ${slowest.toFixed(1)} ms during it, ${
          idle.toFixed(1)
        } ms without`,
    );
    quiet.push(idle);
    during.push(slowest);
    replays.push(replay);
    const gone = bob.next((f) => f.type === "leave" && f.name === "Ann");
    await ann.send({ type: "quit" });
    await gone;
    ann.close();
  }
  console.log(`replay: ${summary(replays)}`);
  console.log(`Bob's slowest round trip during a replay: ${summary(during)}`);
  console.log(`Bob's slowest round trip without: ${summary(quiet)}`);
  bob.close();
} finally {
  await server?.stop(5_000);
  await Deno.remove(dir, { recursive: true });
}
