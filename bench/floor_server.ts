/**
 * The floor: the least server `bench/load.ts` can measure with its fanout and
 * rooms workloads, for telling what of a figure is `chat serve`'s own code and
 * what any Deno server pays on the same machine with the same generator.
 *
 * It answers `hello` with `welcome`, `join` with `current`, and hands each
 * `say` as one `message` line to the members of its room (the sender
 * included), one `write` per member: what `chat serve` does for these
 * workloads, without the hub, the checks, the log or the outbox. Not a chat
 * server: no limits, no errors, no leaving but by closing.
 *
 * ```sh
 * deno run -A bench/load.ts --spawn --server-main bench/floor_server.ts --workload rooms ...
 * ```
 *
 * It takes the `serve` arguments `--spawn` passes and ignores them, and
 * says `listening on HOST:PORT` (a free port) as `chat serve` does.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The members of each room by its name; everyone is in `lobby` from `hello` on. */
const rooms = new Map<string, Set<Deno.Conn>>();
let nextId = 1;

/** The members of `name`, made empty when first named. */
function room(name: string): Set<Deno.Conn> {
  let members = rooms.get(name);
  if (!members) rooms.set(name, members = new Set());
  return members;
}

/** Writes `bytes` to `conn` without waiting; a member gone is left to its read loop. */
function send(conn: Deno.Conn, bytes: Uint8Array): void {
  conn.write(bytes).catch(() => {});
}

/** Answers one frame of `conn`'s peer, named `name` once it said `hello`. */
function handle(conn: Deno.Conn, frame: Record<string, string>, name: string): void {
  if (frame.type === "hello") {
    room("lobby").add(conn);
    send(conn, encoder.encode(`{"type":"welcome","name":${JSON.stringify(name)}}\n`));
  } else if (frame.type === "join") {
    room(frame.room).add(conn);
    send(conn, encoder.encode(`{"type":"current","room":${JSON.stringify(frame.room)}}\n`));
  } else if (frame.type === "say") {
    const to = frame.room ?? "lobby";
    const message = { type: "message", id: nextId++, time: Date.now(), room: to, from: name };
    // Encoded once for all the room's members, as chat serve does.
    const bytes = encoder.encode(JSON.stringify({ ...message, text: frame.text }) + "\n");
    for (const member of room(to)) send(member, bytes);
  }
}

/**
 * Reads `conn`'s frames, one JSON object a line, handing each to `frame`,
 * until it closes; then closes it. Shared by the floor servers.
 */
export async function readFrames(
  conn: Deno.TcpConn,
  frame: (frame: Record<string, string>) => void,
): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(16 * 1024);
  let pending = "";
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch {
      break;
    }
    if (n === null) break;
    pending += decoder.decode(buffer.subarray(0, n), { stream: true });
    let end: number;
    while ((end = pending.indexOf("\n")) !== -1) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      let parsed: Record<string, string>;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      frame(parsed);
    }
  }
  try {
    conn.close();
  } catch {
    // Closed already by a reset.
  }
}

/** Answers `conn`'s frames until it closes, then forgets it. */
async function serve(conn: Deno.TcpConn): Promise<void> {
  let name = "";
  await readFrames(conn, (frame) => {
    if (frame.type === "hello") name = frame.name;
    handle(conn, frame, name);
  });
  for (const members of rooms.values()) members.delete(conn);
}

if (import.meta.main) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // The bench stops its server with SIGTERM, and waits for it to exit.
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  console.log(`floor server listening on 127.0.0.1:${listener.addr.port}`);
  for await (const conn of listener) void serve(conn);
}
