/**
 * One load-generating process of the benchmark: holds a share of the simulated
 * users, each a real TCP connection speaking the JSON protocol to the server.
 *
 * Started by `load.ts` with its {@link WorkerConfig} as the only argument; it
 * sets up its connections, reports `ready`, then follows the coordinator's
 * commands on stdin (`go`, `stop`, `resume_stalled`, `report`, `quit`) and
 * reports on stdout (see `ipc.ts`). It exits when stdin closes or its
 * deadline passes, so it never outlives a run.
 *
 * The receive path is the hot loop: a fan-out run delivers hundreds of
 * thousands of lines a second. Lines are split with `indexOf` on the raw
 * bytes, and a message is recognised and its send time read straight from the
 * bytes, without decoding or `JSON.parse`: about 170 ns a line here, against
 * 560 ns (decode a read, split, parse) to 1,250 ns (decode and parse each
 * line), when the whole generator spends about 600 ns per delivery. The payload is `k=<member id> t=<send time, epoch µs>` (after
 * optional padding), so both numbers sit at the end of the line, just before
 * `"}`. Any other frame, or a message in another layout, goes the slow way.
 *
 * @module
 */

import { Histogram } from "./histogram.ts";
import { type Command, type Counters, nowUs, type Report, type WorkerConfig } from "./ipc.ts";

const config: WorkerConfig = JSON.parse(Deno.args[0] ?? "null");
if (!config) {
  console.error("worker.ts is started by load.ts, not by hand");
  Deno.exit(2);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const counters: Counters = {
  registered: 0,
  failed: 0,
  sent: 0,
  received: 0,
  joins: 0,
  closed: 0,
  recentMaxUs: 0,
  lastReceivedUs: 0,
};
const latency = new Histogram();
const joinTime = new Histogram();
const errors: Record<string, number> = {};
const errorSamples: Record<string, string> = {};

/** Whether senders may send now (between `go` and `stop`). */
let sending = false;
/** When `go` arrived, epoch µs: the storm's join times count from here. */
let goUs = 0;
/** Set once the worker is closing its connections on purpose. */
let quitting = false;
/** Stalled members wait on this before reading again. */
const stallGate = Promise.withResolvers<void>();

// Fan-out senders run from a timer: a short tick keeps send times close to
// their schedule without a timer per sender.
const TICK_MS = 2;
const PROGRESS_MS = 250;

/** Saturation: each sender's own echo acknowledges a message and lets it send another. */
const saturating = config.workload === "saturation";
/** Rooms: members join rooms after welcome, and senders name a room in each message. */
const inRooms = config.workload === "rooms";
const padding = "x".repeat(config.size) + (config.size > 0 ? " " : "");

// Byte values used by the line scanner.
const NEWLINE = 10;
const CR = 13;
const QUOTE = 34;
const SPACE = 32;
const EQUALS = 61;
const CLOSE_BRACE = 125;
const LETTER_K = 107;
const LETTER_T = 116;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
const TYPE_PREFIX = encoder.encode('{"type":"');

function countError(code: string): void {
  errors[code] = (errors[code] ?? 0) + 1;
}

/** Counts an odd line under `code`, keeping the first one as an example. */
function sample(code: string, line: string): void {
  countError(code);
  errorSamples[code] ??= line.slice(0, 160);
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

function emit(report: Report): void {
  const bytes = encoder.encode(JSON.stringify(report) + "\n");
  // Reports are small and rare (a few a second); a blocking write keeps them in order.
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
}

/** One simulated user: a connection, its registration, and its sending state. */
class Member {
  /** Unique across all workers; carried in each message as `k=`. */
  readonly gid: number;
  readonly name: string;
  readonly sender: boolean;
  readonly stalled: boolean;
  registered = false;
  closed = false;
  /** Fan-out: when the next message is due, `performance.now()` ms. */
  nextAt = 0;
  /** Saturation: messages acknowledged (echoed) and not yet replaced. */
  credit = 0;
  /** Settles when registration succeeds (true) or fails (false). */
  readonly settled = Promise.withResolvers<boolean>();
  #conn: Deno.Conn | null = null;
  /** With transport "ws": the WebSocket instead of the connection. */
  #socket: WebSocket | null = null;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #out: string[] = [];
  #writing = false;
  #dropped = false;
  #textMode = false;
  #failed = false;
  /** Rooms workload: the rooms this member joins and sends to, in turn. */
  readonly rooms: string[];
  #roomTurn = 0;
  /** Rooms workload: rooms entered so far (`current` frames). */
  #entered = 0;

  constructor(gid: number, name: string, sender: boolean, stalled: boolean) {
    this.gid = gid;
    this.name = name;
    this.sender = sender;
    this.stalled = stalled;
    this.rooms = inRooms
      ? Array.from(
        { length: config.roomsPerMember },
        (_, j) => `r${(gid * config.roomsPerMember + j) % config.rooms}`,
      )
      : [];
  }

  /** Whether the server closed this connection (seen by a stalled member once it reads). */
  get dropped(): boolean {
    return this.#dropped;
  }

  /** Connects, sends `hello` and reads until the connection ends. */
  async open(): Promise<void> {
    if (config.transport === "ws") return await this.#openSocket();
    try {
      if (config.caCert === null) {
        const conn = await Deno.connect({ hostname: config.host, port: config.port });
        conn.setNoDelay(true);
        this.#conn = conn;
      } else {
        // Deno's TLS connections have no delay already.
        this.#conn = await Deno.connectTls({
          hostname: config.host,
          port: config.port,
          caCerts: [config.caCert],
        });
      }
    } catch (error) {
      countError(errorName(error));
      this.#failRegistration();
      return;
    }
    this.write(
      `{"type":"hello","version":1,"name":"${this.name}","client":"chat-bench"${ACKS}}\n`,
    );
    await this.#readLoop();
  }

  /** Queues text for the connection's one writer (on a WebSocket: one message per line). */
  write(text: string): void {
    if (this.#socket) {
      if (this.closed || this.#socket.readyState !== WebSocket.OPEN) return;
      let start = 0;
      for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
        this.#socket.send(text.slice(start, end));
        start = end + 1;
      }
      return;
    }
    if (this.closed || !this.#conn) return;
    this.#out.push(text);
    if (!this.#writing) void this.#pump();
  }

  /** Sends `n` messages in one write. */
  sendMessages(n: number, timeUs: number): void {
    let batch = "";
    const t = Math.floor(timeUs);
    for (let i = 0; i < n; i++) {
      const room = inRooms ? `"room":"${this.rooms[this.#roomTurn++ % this.rooms.length]}",` : "";
      batch += `{"type":"say",${room}"text":"${padding}k=${this.gid} t=${t}"}\n`;
    }
    counters.sent += n;
    this.write(batch);
  }

  /** Closes the connection (on quit). */
  close(): void {
    this.closed = true;
    try {
      this.#conn?.close();
      this.#socket?.close();
    } catch {
      // Already closed by the server.
    }
  }

  /**
   * Joins over the web page's WebSocket: each message is one frame, handled
   * as a line read at the time it arrives.
   */
  async #openSocket(): Promise<void> {
    const ended = Promise.withResolvers<void>();
    let socket: WebSocket;
    try {
      socket = new WebSocket(`ws://${config.host}:${config.webPort}/socket`);
    } catch (error) {
      countError(errorName(error));
      this.#failRegistration();
      return;
    }
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onopen = () =>
      this.write(
        `{"type":"hello","version":1,"name":"${this.name}","client":"chat-bench"${ACKS}}\n`,
      );
    socket.onmessage = (event) => {
      const at = nowUs();
      const data = event.data;
      const bytes = typeof data === "string" ? encoder.encode(data) : new Uint8Array(data);
      this.#onLine(bytes, 0, bytes.length, at);
      this.#sendCredit();
    };
    socket.onerror = (event) => event.preventDefault();
    socket.onclose = () => ended.resolve();
    await ended.promise;
    this.#ended();
  }
  async #pump(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#out.length > 0 && this.#conn) {
        const bytes = encoder.encode(this.#out.length === 1 ? this.#out[0] : this.#out.join(""));
        this.#out = [];
        let offset = 0;
        while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
      }
    } catch (error) {
      if (!quitting && !this.closed) countError(`write_${errorName(error)}`);
      this.#out = [];
    } finally {
      this.#writing = false;
    }
  }

  async #readLoop(): Promise<void> {
    const conn = this.#conn!;
    const buffer = new Uint8Array(config.readBuffer);
    try {
      while (true) {
        if (this.stalled && this.registered) await stallGate.promise;
        const n = await conn.read(buffer);
        if (n === null) break;
        this.#onBytes(buffer, n);
      }
    } catch (error) {
      if (!quitting && !this.closed) countError(`read_${errorName(error)}`);
    }
    if (this.#ended()) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  }

  /** Counts a connection the server ended; false when this side closed it. */
  #ended(): boolean {
    if (quitting || this.closed) return false;
    this.closed = true;
    this.#dropped = true;
    if (this.registered) {
      if (!this.stalled) counters.closed++;
    } else {
      if (!this.#failed) countError("closed_before_welcome");
      this.#failRegistration();
    }
    return true;
  }

  #onBytes(buffer: Uint8Array, n: number): void {
    const received = nowUs();
    const chunk = buffer.subarray(0, n);
    let start = 0;
    let end = chunk.indexOf(NEWLINE);
    if (end === -1) {
      // The read buffer is reused: keep a copy of the partial line.
      this.#pending.push(chunk.slice());
      this.#pendingBytes += n;
      return;
    }
    if (this.#pendingBytes > 0) {
      // Only the line that spans reads is joined; the rest is scanned in place.
      const line = new Uint8Array(this.#pendingBytes + end + 1);
      let offset = 0;
      for (const part of this.#pending) {
        line.set(part, offset);
        offset += part.length;
      }
      line.set(chunk.subarray(0, end + 1), offset);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#onLine(line, 0, line.length - 1, received);
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    while (end !== -1) {
      this.#onLine(chunk, start, end, received);
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    if (start < n) {
      this.#pending.push(chunk.slice(start));
      this.#pendingBytes += n - start;
    }
    this.#sendCredit();
  }

  /** Saturation: replaces the messages acknowledged since the last read. */
  #sendCredit(): void {
    if (this.credit > 0) {
      if (sending) this.sendMessages(this.credit, nowUs());
      this.credit = 0;
    }
  }

  /** Handles the line `d[s..e)` (e is the newline) received at `at` µs. */
  #onLine(d: Uint8Array, s: number, e: number, at: number): void {
    if (e > s && d[e - 1] === CR) e--;
    if (e - s < 12 || !hasTypePrefix(d, s)) return this.#slowLine(d, s, e, at);
    const kind = d[s + 9];
    if (kind === 109 /* m: message */) {
      if (config.acks) this.#seeId(d, s + MESSAGE_ID_AT, e);
      if (!this.#fastMessage(d, s, e, at)) this.#slowLine(d, s, e, at);
    } else if (kind === 106 /* j: join */) {
      counters.joins++;
    } else if (kind === 119 /* w: welcome */) {
      this.#onWelcome();
    } else if (kind !== 108 /* l: leave, nothing to do */) {
      this.#slowLine(d, s, e, at);
    }
  }

  /** The newest message id read, and the newest acknowledged (with --acks). */
  seen = 0;
  acked = 0;

  /** Reads the id of a message line from `d[j]` on: `{"type":"message","id":123,...`. */
  #seeId(d: Uint8Array, j: number, e: number): void {
    let id = 0;
    while (j < e && d[j] >= DIGIT_0 && d[j] <= DIGIT_9) id = id * 10 + d[j++] - DIGIT_0;
    if (id > this.seen) this.seen = id;
  }

  /** Reads `k=<id> t=<µs>"}` backwards from the end of a message line. */
  #fastMessage(d: Uint8Array, s: number, e: number, at: number): boolean {
    let j = e - 1;
    if (d[j] !== CLOSE_BRACE || d[j - 1] !== QUOTE) return false;
    j -= 2;
    let t = 0;
    let scale = 1;
    while (j > s && d[j] >= DIGIT_0 && d[j] <= DIGIT_9) {
      t += (d[j] - DIGIT_0) * scale;
      scale *= 10;
      j--;
    }
    if (scale === 1 || d[j] !== EQUALS || d[j - 1] !== LETTER_T || d[j - 2] !== SPACE) {
      return false;
    }
    j -= 3;
    let k = 0;
    scale = 1;
    while (j > s && d[j] >= DIGIT_0 && d[j] <= DIGIT_9) {
      k += (d[j] - DIGIT_0) * scale;
      scale *= 10;
      j--;
    }
    if (scale === 1 || d[j] !== EQUALS || d[j - 1] !== LETTER_K) return false;
    this.#onMessage(k, t, at);
    return true;
  }

  #onMessage(k: number, t: number, at: number): void {
    if (k === this.gid && saturating) this.credit++;
    // A stalled member's backlog, read at the end, is not a delivery to count.
    if (this.stalled) return;
    const us = at - t;
    counters.received++;
    counters.lastReceivedUs = at;
    latency.record(us);
    if (us > counters.recentMaxUs) counters.recentMaxUs = us;
  }

  #onWelcome(): void {
    if (this.registered) return;
    this.registered = true;
    counters.registered++;
    if (config.workload === "storm") joinTime.record(nowUs() - goUs);
    // In the rooms workload a member is ready once in each of its rooms.
    if (inRooms) {
      this.write(this.rooms.map((room) => `{"type":"join","room":"${room}"}\n`).join(""));
    } else {
      this.settled.resolve(true);
    }
  }

  /** Rooms workload: one more room entered; ready once in all. */
  #onCurrent(): void {
    if (++this.#entered === this.rooms.length) this.settled.resolve(true);
  }

  #failRegistration(): void {
    if (this.#failed) return;
    this.#failed = true;
    counters.failed++;
    this.settled.resolve(false);
  }

  // Everything the fast path does not know: errors, bye, other layouts.
  #slowLine(d: Uint8Array, s: number, e: number, at: number): void {
    const text = decoder.decode(d.subarray(s, e));
    if (!text.startsWith("{")) {
      // Plain text before welcome: the server's prompt delay passed before
      // it read our hello, so it greeted us as an `nc` user first. It
      // switches to JSON when the hello arrives (after ending the prompt's
      // line), so these lines are skipped, not a failure; counted to show
      // how often the race happens. Plain text after welcome is unexpected.
      if (!this.registered) {
        if (!this.#textMode) {
          this.#textMode = true;
          countError("text_greeted");
        }
        sample("text_greeting_line", text);
      } else {
        sample("plain_text_line", text);
      }
      return;
    }
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text);
    } catch {
      sample("unparsable_line", text);
      return;
    }
    switch (frame.type) {
      case "message": {
        const match = /k=(\d+) t=(\d+)$/.exec(String(frame.text));
        if (match) this.#onMessage(Number(match[1]), Number(match[2]), at);
        return;
      }
      case "welcome":
        return this.#onWelcome();
      case "current":
        return this.#onCurrent();
      case "join":
        counters.joins++;
        return;
      case "error":
        countError(String(frame.code));
        // A refused message (flood control, say) will never be echoed: give
        // its window slot back so a saturating sender keeps going.
        if (this.registered && this.sender && saturating) this.credit++;
        if (!this.registered) this.#failRegistration();
        return;
      case "bye":
        if (!quitting) countError(`bye_${frame.code}`);
        return;
      case "ping":
        // Keepalive: a server may drop a member that stays silent after a ping.
        this.write(JSON.stringify({ type: "pong", token: frame.token }) + "\n");
        return;
    }
  }
}

/** Where a message line's id starts: after `{"type":"message","id":`. */
const MESSAGE_ID_AT = '{"type":"message","id":'.length;

/** What a member adds to its `hello` with --acks. */
const ACKS = config.acks ? ',"acks":true' : "";

function hasTypePrefix(d: Uint8Array, s: number): boolean {
  for (let i = 0; i < TYPE_PREFIX.length; i++) {
    if (d[s + i] !== TYPE_PREFIX[i]) return false;
  }
  return true;
}

// The members of this worker: senders first, stalled members last.
const members: Member[] = [];
for (let i = 0; i < config.members; i++) {
  members.push(
    new Member(
      config.firstMember + i,
      `${config.namePrefix}${config.id}_${i}`,
      i < config.senders,
      i >= config.members - config.stalled,
    ),
  );
}
const senders = members.filter((m) => m.sender);

/** Opens all members, at most `limit` registrations in flight at once. */
async function openAll(limit: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < members.length) {
      const member = members[next++];
      void member.open();
      await member.settled.promise;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, members.length) }, lane));
}

function startFanout(): void {
  const interval = 1000 / config.rate;
  const start = performance.now();
  // A random phase per sender spreads the senders over each interval, as
  // independent people would be, instead of all sending on the same tick.
  for (const m of senders) m.nextAt = start + Math.random() * interval;
  const tick = () => {
    if (!sending) return;
    const now = performance.now();
    const us = nowUs();
    for (const m of senders) {
      if (m.closed || !m.registered) continue;
      let due = 0;
      while (m.nextAt <= now) {
        due++;
        m.nextAt += interval;
      }
      if (due > 0) m.sendMessages(due, us);
    }
    setTimeout(tick, TICK_MS);
  };
  tick();
}

function startSaturation(): void {
  const us = nowUs();
  for (const m of senders) {
    if (!m.closed && m.registered) m.sendMessages(config.window, us);
  }
}

function onCommand(command: Command): void {
  switch (command.cmd) {
    case "go":
      goUs = nowUs();
      sending = true;
      if (config.workload === "fanout" || inRooms) startFanout();
      else if (config.workload === "saturation") startSaturation();
      else if (config.workload === "storm") { for (const m of members) void m.open(); }
      return;
    case "stop":
      sending = false;
      emit({ ev: "stopped", counters });
      return;
    case "resume_stalled":
      stallGate.resolve();
      return;
    case "report": {
      const stalled = members.filter((m) => m.stalled);
      emit({
        ev: "result",
        result: {
          counters,
          latency: latency.toData(),
          joinTime: joinTime.toData(),
          errors,
          errorSamples,
          stalledDropped: stalled.filter((m) => m.dropped).length,
          stalledAlive: stalled.filter((m) => !m.dropped).length,
        },
      });
      return;
    }
    case "quit":
      quit(0);
  }
}

function quit(code: number): never {
  quitting = true;
  for (const m of members) m.close();
  Deno.exit(code);
}

async function readCommands(): Promise<void> {
  let buffered = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let at: number;
    while ((at = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      if (line.trim()) onCommand(JSON.parse(line));
    }
  }
  // The coordinator is gone: so is the run.
  quit(0);
}

setTimeout(() => {
  emit({ ev: "fatal", message: `worker ${config.id} passed its deadline` });
  quit(3);
}, config.deadlineMs);

if (config.acks) {
  // As chat join does: one ack a second while new ids arrive.
  setInterval(() => {
    for (const member of members) {
      if (member.seen <= member.acked || member.stalled) continue;
      member.acked = member.seen;
      member.write(`{"type":"ack","id":${member.seen}}\n`);
    }
  }, 1000);
}

setInterval(() => {
  emit({ ev: "progress", counters });
  counters.recentMaxUs = 0;
}, PROGRESS_MS);

void readCommands();
if (config.workload !== "storm") await openAll(config.connectConcurrency);
emit({ ev: "ready", counters });
