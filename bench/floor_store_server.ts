/**
 * The floor of a data server: the least server `bench/load.ts`'s saturation
 * workload can measure, with and without keeping every message on disk
 * before it is sent, for telling what of `chat serve --data`'s cost against
 * `chat serve` is chat's own code and what any Deno server pays on this
 * machine for the same guarantee.
 *
 * As `floor_server.ts`, it answers `hello` and `join` and hands each `say` to
 * the members of its room, but as `chat serve` does at high rates: what a
 * connection is sent in one turn of the event loop goes in one write, with
 * one write under way per connection. With `--data DIR`, the `say`s of a turn
 * are kept first in one SQLite transaction (`synchronous=FULL`, in WAL mode:
 * the commit waits for the fsync), into the same table and index as
 * `chat serve`'s, with the same multi-row inserts, and are sent only once it
 * is committed: the guarantee `chat serve --data` gives. Not a chat server:
 * no limits, no errors, no history, no checkpoints off the loop.
 *
 * `--keep` says how (with `--data`): `full`, as above (the default); `file`,
 * the least any durable store can do, the turn's messages appended to a file
 * as JSON lines and an `fdatasync`, no SQLite; `off`, SQLite without any
 * fsync (not durable: what SQLite's own work costs).
 *
 * ```sh
 * deno run -A bench/load.ts --spawn --server-main bench/floor_store_server.ts \
 *   --workload saturation --members 10 --senders 10 --window 16 --server-arg=--data --server-arg=DIR
 * ```
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { insertMessages, type MessageRow } from "../lib/store/message_rows.ts";
import { readFrames } from "./floor_server.ts";

const encoder = new TextEncoder();

/** A connection and what it is to be sent at the end of the turn. */
interface Peer {
  conn: Deno.Conn;
  name: string;
  queued: Uint8Array[];
  writing: boolean;
}

/** The members of each room by its name; everyone is in `lobby` from `hello` on. */
const rooms = new Map<string, Set<Peer>>();
const due = new Set<Peer>();
let flushing: ReturnType<typeof setImmediate> | undefined;
let nextId = 1;

/** The members of `name`, made empty when first named. */
function room(name: string): Set<Peer> {
  let members = rooms.get(name);
  if (!members) rooms.set(name, members = new Set());
  return members;
}

/** Queues `bytes` for `peer`, written with the rest of the turn's. */
function send(peer: Peer, bytes: Uint8Array): void {
  peer.queued.push(bytes);
  due.add(peer);
  flushing ??= setImmediate(flushAll);
}

function flushAll(): void {
  flushing = undefined;
  for (const peer of due) if (!peer.writing) void flush(peer);
  due.clear();
}

/** Writes what is queued for `peer`, one write at a time, until nothing is. */
async function flush(peer: Peer): Promise<void> {
  peer.writing = true;
  try {
    while (peer.queued.length > 0) {
      const chunks = peer.queued;
      peer.queued = [];
      let bytes = chunks[0];
      if (chunks.length > 1) {
        bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const chunk of chunks) {
          bytes.set(chunk, at);
          at += chunk.length;
        }
      }
      for (let at = 0; at < bytes.length;) at += await peer.conn.write(bytes.subarray(at));
    }
  } catch {
    // A member gone is left to its read loop.
  } finally {
    peer.writing = false;
  }
}

/** How a data floor keeps messages (`--keep`). */
type Keeping = "full" | "file" | "off";

/** The messages said in this turn, kept before they are sent (with `--data`). */
class Store {
  #keeping: Keeping;
  #db: DatabaseSync;
  #log: Deno.FsFile | undefined;
  #statements = new Map<string, StatementSync>();
  #rows: MessageRow[] = [];
  #then: (() => void)[] = [];
  #committing: ReturnType<typeof setImmediate> | undefined;

  constructor(dir: string, keeping: Keeping) {
    Deno.mkdirSync(dir, { recursive: true });
    this.#keeping = keeping;
    this.#db = new DatabaseSync(`${dir}/floor.db`);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec(`PRAGMA synchronous = ${keeping === "off" ? "OFF" : "FULL"}`);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS messages (
      id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, room TEXT NOT NULL,
      sender TEXT NOT NULL, text TEXT NOT NULL, action INTEGER NOT NULL DEFAULT 0)`);
    this.#db.exec("CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, id)");
    if (keeping === "file") {
      this.#log = Deno.openSync(`${dir}/floor.log`, { append: true, create: true });
    }
  }

  /** Keeps `row` with the turn's others; `then` once they are on disk. */
  keep(row: MessageRow, then: () => void): void {
    this.#rows.push(row);
    this.#then.push(then);
    this.#committing ??= setImmediate(() => this.#commit());
  }

  #commit(): void {
    this.#committing = undefined;
    const rows = this.#rows;
    const then = this.#then;
    this.#rows = [];
    this.#then = [];
    if (this.#log) this.#append(rows);
    else this.#insert(rows);
    for (const sent of then) sent();
  }

  /** One transaction, its commit waiting for the fsync of the WAL (unless `--keep off`). */
  #insert(rows: MessageRow[]): void {
    this.#db.exec("BEGIN IMMEDIATE");
    insertMessages((sql) => {
      let statement = this.#statements.get(sql);
      if (!statement) this.#statements.set(sql, statement = this.#db.prepare(sql));
      return statement;
    }, rows);
    this.#db.exec("COMMIT");
  }

  /** The least a durable store can do: the rows as JSON lines at the end of a file, then an fdatasync. */
  #append(rows: MessageRow[]): void {
    const bytes = encoder.encode(rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
    for (let at = 0; at < bytes.length;) at += this.#log!.writeSync(bytes.subarray(at));
    this.#log!.syncDataSync();
  }
}

let store: Store | undefined;

/** Answers one frame of `peer`'s. */
function handle(peer: Peer, frame: Record<string, string>): void {
  if (frame.type === "hello") {
    peer.name = frame.name;
    room("lobby").add(peer);
    send(peer, encoder.encode(`{"type":"welcome","name":${JSON.stringify(peer.name)}}\n`));
  } else if (frame.type === "join") {
    room(frame.room).add(peer);
    send(peer, encoder.encode(`{"type":"current","room":${JSON.stringify(frame.room)}}\n`));
  } else if (frame.type === "say") {
    const to = frame.room ?? "lobby";
    const message = { type: "message", id: nextId++, time: Date.now(), room: to, from: peer.name };
    const deliver = () => {
      // Encoded once for all the room's members, as chat serve does.
      const bytes = encoder.encode(JSON.stringify({ ...message, text: frame.text }) + "\n");
      for (const member of room(to)) send(member, bytes);
    };
    if (!store) deliver();
    else store.keep([message.id, message.time, to, peer.name, frame.text, 0], deliver);
  }
}

/** Answers `conn`'s frames until it closes, then forgets it. */
async function serve(conn: Deno.TcpConn): Promise<void> {
  const peer: Peer = { conn, name: "", queued: [], writing: false };
  await readFrames(conn, (frame) => handle(peer, frame));
  for (const members of rooms.values()) members.delete(peer);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { data: { type: "string" }, keep: { type: "string", default: "full" } },
    strict: false,
  });
  const keeping = String(values.keep);
  if (keeping !== "full" && keeping !== "file" && keeping !== "off") {
    console.error(`floor: --keep is full, file or off, not ${keeping}`);
    Deno.exit(2);
  }
  if (typeof values.data === "string") store = new Store(values.data, keeping);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // The bench stops its server with SIGTERM, and waits for it to exit.
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  console.log(`floor server listening on 127.0.0.1:${listener.addr.port}`);
  for await (const conn of listener) void serve(conn);
}
