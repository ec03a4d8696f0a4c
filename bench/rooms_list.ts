/**
 * How long `/rooms` takes on a server holding many rooms (issue 13): starts
 * `chat serve` on 127.0.0.1, fills it with `--rooms` rooms (users joining 19
 * each, the most besides #lobby), then asks for the list `--asks` times, one
 * at a time, and prints one JSON line: the round trip of each ask (what a
 * client waits for, the frame's bytes included) and the size of the answer;
 * and, in this process, the hub's time to make the answer and encode it.
 *
 * ```sh
 * deno run -A bench/rooms_list.ts --rooms 1000 --asks 200
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Hub } from "../lib/core/hub.ts";
import type { ChatEvent } from "../lib/core/events.ts";
import { encodeEvent } from "../lib/protocol/json.ts";
import { Histogram } from "./histogram.ts";
import { nowUs } from "./ipc.ts";
import { ServerProcess } from "./server_process.ts";

const ROOMS_PER_USER = 19;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rooms: { type: "string", default: "1000" },
    asks: { type: "string", default: "200" },
  },
});
const rooms = Number(values.rooms);
const asks = Number(values.asks);
if (!Number.isInteger(rooms) || rooms < 1 || !Number.isInteger(asks) || asks < 1) {
  console.error("--rooms and --asks must be whole numbers of at least 1");
  Deno.exit(2);
}

/** One JSON connection, read line by line. */
class Client {
  #conn: Deno.TcpConn;
  #buffered = "";
  #decoder = new TextDecoder();
  #reader: ReadableStreamDefaultReader<Uint8Array>;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#reader = conn.readable.getReader();
  }

  static async open(port: number, name: string): Promise<Client> {
    const client = new Client(await Deno.connect({ hostname: "127.0.0.1", port }));
    await client.send({ type: "hello", version: 1, name });
    await client.until("welcome");
    return client;
  }

  async send(frame: Record<string, unknown>): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(frame) + "\n");
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  /** Reads until a frame of `type`; returns its line. */
  async until(type: string): Promise<string> {
    const prefix = `{"type":"${type}"`;
    while (true) {
      const at = this.#buffered.indexOf("\n");
      if (at >= 0) {
        const line = this.#buffered.slice(0, at);
        this.#buffered = this.#buffered.slice(at + 1);
        if (line.startsWith(prefix)) return line;
        if (line.startsWith('{"type":"error"')) throw new Error(line);
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`connection ended before ${type}`);
      this.#buffered += this.#decoder.decode(value, { stream: true });
    }
  }

  close(): void {
    this.#conn.close();
  }
}

/** The hub's own time for `/rooms` and its JSON encoding, with the rooms made in this process. */
function inProcess(): Histogram {
  const hub = new Hub({ flood: null, churn: null, maxRooms: rooms + 1 });
  let last: ChatEvent | undefined;
  const sink = { send: (event: ChatEvent) => last = event };
  for (let made = 0, user = 0; made < rooms; user++) {
    const member = hub.register(`maker${user}`, sink);
    for (let i = 0; i < ROOMS_PER_USER && made < rooms; i++, made++) {
      hub.join(member, `room${made}`);
    }
  }
  const asker = hub.register("asker", sink);
  const took = new Histogram();
  for (let i = 0; i < asks; i++) {
    const start = nowUs();
    hub.rooms(asker);
    encodeEvent(last!);
    took.record(nowUs() - start);
  }
  return took;
}

const hubTime = inProcess();
const server = await ServerProcess.start({
  main: new URL("../main.ts", import.meta.url).pathname,
  maxUsers: Math.ceil(rooms / ROOMS_PER_USER) + 16,
  extraArgs: ["--max-per-ip", "0", "--flood-rate", "0", "--max-rooms", String(rooms + 1)],
  startTimeoutMs: 15_000,
});
const clients: Client[] = [];
try {
  for (let made = 0, user = 0; made < rooms; user++) {
    const client = await Client.open(server.port, `maker${user}`);
    clients.push(client);
    for (let i = 0; i < ROOMS_PER_USER && made < rooms; i++, made++) {
      await client.send({ type: "join", room: `room${made}` });
      await client.until("current");
    }
  }
  const asker = clients[0];
  const roundTrip = new Histogram();
  let bytes = 0;
  for (let i = 0; i < asks; i++) {
    const start = nowUs();
    await asker.send({ type: "rooms" });
    const line = await asker.until("rooms");
    roundTrip.record(nowUs() - start);
    bytes = line.length + 1;
  }
  console.log(JSON.stringify({
    bench: "rooms_list",
    rooms: rooms + 1,
    asks,
    "answer_bytes": bytes,
    "round_trip_ms": roundTrip.summary(),
    "hub_and_encoding_ms": hubTime.summary(),
    "load": Deno.loadavg(),
  }));
} finally {
  for (const client of clients) client.close();
  await server.stop(5_000);
}
