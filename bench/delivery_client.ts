/**
 * A small client of the JSON protocol that follows end-to-end delivery
 * (docs/PROTOCOL.md, "Delivery: ids, acknowledgements, replay"), for the soak
 * run and its test: it keeps `(stream, seen)`, says `acks: true`, acknowledges
 * at most once a second, comes back after a lost connection with `resume`,
 * `since` and `stream`, shows `replay` pages, and keeps each line it says
 * pending (with a `cid`) until its `sent`, sending the pending ones again once
 * after a reconnect's replay.
 *
 * It records what a person would have been shown, per room, deduplicated by
 * id, and counts what the server sent twice. With `record`, it also keeps
 * every room event in the order it came (the soak's observer: the truth the
 * members are checked against).
 *
 * @module
 */

import { readLines } from "../lib/io/line_reader.ts";

/** A frame, loosely typed. */
export type Frame = { type: string; [field: string]: unknown };

/** A message as shown: its id, room (`@` for private ones), sender and text. */
export interface Shown {
  id: number;
  room: string;
  from: string;
  text: string;
}

/** Settings of a {@link DeliveryClient}. */
export interface DeliveryClientOptions {
  /** The name to log in as. */
  name: string;
  /** The port to connect to on 127.0.0.1 (a proxy's, for a member that will drop). */
  port: number;
  /** Pause before coming back after a lost connection, in ms. @default 200 */
  reconnectMs?: number;
  /** Keep every room event in {@link DeliveryClient.log}. @default false */
  record?: boolean;
}

/** A line said but not yet confirmed by `sent` (or refused). */
interface Pending {
  cid: string;
  room: string;
  text: string;
}

// The spec's pace: one ack at most about once a second while new ids arrive.
const ACK_EVERY_MS = 1_000;

// How long a hello may go unanswered before the attempt counts as failed.
const HELLO_WAIT_MS = 10_000;

// A keepalive as chat join's, tighter: ping after this much quiet, give the link up after 3×.
const QUIET_PING_MS = 2_000;

/** The frame on a line, or null for a line that is not a JSON object. */
function parseFrame(line: string): Frame | null {
  try {
    const value = JSON.parse(line);
    return typeof value === "object" && value !== null && typeof value.type === "string"
      ? value
      : null;
  } catch {
    return null;
  }
}

/** One protocol user that survives lost connections without losing or repeating a message. */
export class DeliveryClient {
  /** The name it logs in as. */
  readonly name: string;
  /** The stream its ids belong to ("" before the first welcome). */
  stream = "";
  /** The highest id shown (or the first welcome's `last`). */
  seen = 0;
  /** Messages shown, per room (`@`: private), in the order shown. */
  readonly shown = new Map<string, Shown[]>();
  /** Every room event, in order, when recording. */
  readonly log: Frame[] = [];
  /** Rooms the server says it is in. */
  readonly rooms = new Set<string>();
  /** Messages the server sent that had been shown already. */
  duplicates = 0;
  /** Times it came back after a lost connection. */
  reconnects = 0;
  /** Rooms a replay said it could not cover, as the server named them. */
  readonly gaps: string[] = [];
  /** Lines refused by the server (their `error` code), and hellos refused. */
  readonly refusals: string[] = [];
  /** How each of its connections ended, oldest first. */
  readonly ends: string[] = [];
  /** Lines said, by cid: the id each was posted as, once `sent` says so. */
  readonly posted = new Map<string, number>();

  #port: number;
  #reconnectMs: number;
  #record: boolean;
  #resume = "";
  #shownIds = new Set<number>();
  #pending: Pending[] = [];
  #cidPrefix = crypto.randomUUID().slice(0, 8);
  #cids = 0;
  #conn: Deno.Conn | null = null;
  #replaying = false;
  #ready = false;
  #closed = false;
  #acked = 0;
  #ackTimer: ReturnType<typeof setInterval> | undefined;
  #life: Promise<void> | null = null;
  #welcomed = Promise.withResolvers<void>();
  #writing: Promise<void> = Promise.resolve();
  #wakeSleep: (() => void) | null = null;
  #helloTimer: ReturnType<typeof setTimeout> | undefined;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #lastHeard = 0;
  // Whether the last hello carried `since`: then a replay follows the welcome.
  #sinceSent = false;

  /** A client; nothing happens until {@link start}. */
  constructor(options: DeliveryClientOptions) {
    this.name = options.name;
    this.#port = options.port;
    this.#reconnectMs = options.reconnectMs ?? 200;
    this.#record = options.record ?? false;
  }

  /** Whether it is logged in, its replay shown: what it says now goes out at once. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Where it stands, in a few words: for a failed check's message. */
  get state(): string {
    const link = !this.#conn
      ? "offline"
      : this.#replaying
      ? "in a replay"
      : this.#ready
      ? "ready"
      : "waiting for welcome";
    return `${link}, ${this.#pending.length} pending, last ends: ${this.ends.slice(-3).join(", ")}`;
  }

  /** Lines said and not yet confirmed. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Connects and logs in; resolves at the first welcome, rejects if the first attempt fails. */
  start(): Promise<void> {
    this.#life = this.#live();
    this.#ackTimer = setInterval(() => this.#ack(), ACK_EVERY_MS);
    return this.#welcomed.promise;
  }

  /** Says `text` in `room`; it stays pending until the server confirms it. */
  say(room: string, text: string): string {
    const cid = `${this.#cidPrefix}-${++this.#cids}`;
    const line = { cid, room, text };
    this.#pending.push(line);
    if (this.#ready) this.#sendLine(line);
    return cid;
  }

  /** Sends `frame` now if logged in; false when it could not go. */
  send(frame: Frame): boolean {
    if (!this.#ready || !this.#conn) return false;
    this.#write(frame);
    return true;
  }

  /** Leaves the chat (a clean quit after a last ack) and stops coming back. */
  async close(): Promise<void> {
    if (this.#ready) {
      this.#ack();
      this.#write({ type: "quit" });
    }
    this.#closed = true;
    clearInterval(this.#ackTimer);
    clearInterval(this.#keepalive);
    clearTimeout(this.#helloTimer);
    await this.#writing;
    try {
      this.#conn?.close();
    } catch {
      // Closed already.
    }
    this.#wakeSleep?.();
    await this.#life;
    // The first attempt may never have been welcomed.
    this.#welcomed.resolve();
  }

  async #live(): Promise<void> {
    let first = true;
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port: this.#port });
      } catch (error) {
        if (first) {
          this.#welcomed.reject(error);
          return;
        }
        await this.#sleep(this.#reconnectMs);
        continue;
      }
      this.#conn = conn;
      this.#writing = Promise.resolve();
      const since = this.stream ? { since: this.seen, stream: this.stream } : {};
      const resume = this.#resume ? { resume: this.#resume } : {};
      this.#write({
        type: "hello",
        version: 1,
        name: this.name,
        client: "chat-soak",
        acks: true,
        ...resume,
        ...since,
      });
      // A hello that is never answered (a frozen link) must not hold the client for ever.
      this.#helloTimer = setTimeout(() => {
        if (this.#ready) return;
        this.ends.push("no welcome in time");
        this.#closeQuietly(conn);
      }, HELLO_WAIT_MS);
      // A link that went silent (half open, or frozen for good) is given up, as chat join does.
      this.#lastHeard = Date.now();
      this.#keepalive = setInterval(() => {
        const quiet = Date.now() - this.#lastHeard;
        if (quiet >= 3 * QUIET_PING_MS) {
          this.ends.push("went quiet");
          this.#closeQuietly(conn);
        } else if (quiet >= QUIET_PING_MS) this.#write({ type: "ping" });
      }, QUIET_PING_MS / 2);
      const wasReady = await this.#read(conn);
      clearInterval(this.#keepalive);
      clearTimeout(this.#helloTimer);
      this.#closeQuietly(conn);
      this.#conn = null;
      this.#ready = false;
      this.#replaying = false;
      if (first && !wasReady) {
        const why = this.refusals.at(-1) ?? "the connection ended first";
        this.#welcomed.reject(new Error(`${this.name} was not welcomed (${why})`));
      }
      first = false;
      if (this.#closed) return;
      if (wasReady) this.reconnects++;
      await this.#sleep(this.#reconnectMs);
    }
  }

  // Handles the frames of one connection until it ends; whether it was ever welcomed.
  async #read(conn: Deno.Conn): Promise<boolean> {
    let welcomed = false;
    try {
      for await (const read of readLines(conn, 4 << 20)) {
        this.#lastHeard = Date.now();
        if (read.kind !== "line") continue;
        const frame = parseFrame(read.text);
        // The plain-text greeting a hello slower than the server's sniffing gets: skipped.
        if (!frame) continue;
        if (frame.type === "welcome") welcomed = true;
        this.#handle(frame);
        if (frame.type === "bye") {
          this.ends.push(`bye ${frame.code}`);
          return welcomed;
        }
        if (frame.type === "error" && !welcomed && !frame.cid) {
          this.refusals.push(`hello: ${frame.code}`);
          this.ends.push(`refused ${frame.code}`);
          return welcomed;
        }
      }
      this.ends.push(welcomed ? "closed" : "closed before welcome");
    } catch (error) {
      // A reset: the same as an end.
      this.ends.push(`reset (${(error as Error).message})`);
    }
    return welcomed;
  }

  #handle(frame: Frame): void {
    switch (frame.type) {
      case "welcome": {
        const stream = String(frame.stream ?? "");
        if (this.stream !== stream) {
          // A first welcome, or a server that forgot (a new stream): ids start again.
          const fresh = this.stream === "";
          this.stream = stream;
          this.seen = fresh ? Number(frame.last ?? 0) : 0;
          this.#shownIds.clear();
        }
        this.#resume = String(frame.resume ?? "");
        this.rooms.clear();
        for (const room of (frame.rooms as string[] | undefined) ?? [String(frame.room)]) {
          this.rooms.add(room);
        }
        // With `since` in the hello, a replay follows; otherwise it is ready now.
        this.#replaying = this.#sinceSent;
        if (!this.#replaying) this.#becomeReady();
        this.#welcomed.resolve();
        return;
      }
      case "replay": {
        for (const message of (frame.messages as Frame[]) ?? []) this.#show(message);
        if (frame.more) return;
        for (const room of (frame.gaps as string[] | undefined) ?? []) this.gaps.push(room);
        if (frame.privateGap) this.gaps.push("@");
        this.#replaying = false;
        this.#becomeReady();
        return;
      }
      case "message":
      case "private":
        this.#show(frame);
        if (this.#record) this.log.push(frame);
        return;
      case "sent": {
        const cid = String(frame.cid);
        this.posted.set(cid, Number(frame.id));
        this.#pending = this.#pending.filter((p) => p.cid !== cid);
        return;
      }
      case "error":
        if (typeof frame.cid === "string") {
          this.refusals.push(String(frame.code));
          this.#pending = this.#pending.filter((p) => p.cid !== frame.cid);
        }
        return;
      case "ping":
        this.#write({ type: "pong", ...(frame.token !== undefined ? { token: frame.token } : {}) });
        return;
      case "join":
      case "part":
      case "leave":
        if (frame.name === this.name && frame.type === "join") this.rooms.add(String(frame.room));
        if (frame.name === this.name && frame.type === "part") {
          this.rooms.delete(String(frame.room));
        }
        if (this.#record) this.log.push(frame);
        return;
    }
  }

  #becomeReady(): void {
    this.#ready = true;
    // Lines said before the drop (or while away) go again, once, in order, with their cid.
    for (const line of this.#pending) this.#sendLine(line);
  }

  #show(message: Frame): void {
    const id = Number(message.id);
    if (this.#shownIds.has(id)) {
      this.duplicates++;
      return;
    }
    this.#shownIds.add(id);
    const room = message.type === "private" ? "@" : String(message.room);
    const list = this.shown.get(room) ?? [];
    list.push({ id, room, from: String(message.from), text: String(message.text) });
    this.shown.set(room, list);
    if (id > this.seen) this.seen = id;
  }

  #ack(): void {
    if (!this.#ready || this.seen <= this.#acked) return;
    this.#acked = this.seen;
    this.#write({ type: "ack", id: this.seen });
  }

  #sendLine(line: Pending): void {
    this.#write({ type: "say", room: line.room, text: line.text, cid: line.cid });
  }

  #write(frame: Frame): void {
    const conn = this.#conn;
    if (!conn) return;
    if (frame.type === "hello") this.#sinceSent = "since" in frame;
    const bytes = new TextEncoder().encode(JSON.stringify(frame) + "\n");
    this.#writing = this.#writing.then(async () => {
      try {
        let offset = 0;
        while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
      } catch {
        // The connection is gone: the read loop finds out and comes back.
      }
    });
  }

  #closeQuietly(conn: Deno.Conn): void {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeSleep = done;
    });
  }
}
