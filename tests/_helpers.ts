/**
 * Test helpers: a server on port 0 and clients that wait for what they expect
 * instead of sleeping.
 *
 * @module
 */

import { ChatServer, type ServerOptions } from "../lib/serve/chat_server.ts";
import { type ByteReader, readLines } from "../lib/io/line_reader.ts";
import type { ChatEvent } from "../lib/core/events.ts";
import { ChatError } from "../lib/core/errors.ts";
import { hashPassword } from "../lib/auth/passwords.ts";
import { Store } from "../lib/store/sqlite_store.ts";
import { ChatClient, type ClientOptions } from "../lib/client/client.ts";

/** How long a test waits for an expected line before failing. */
export const WAIT_MS = 5_000;

/**
 * Starts a server on a free loopback port. Every option passes through
 * (`store`, `auth`, `tls`, `throttle` and `logins` included).
 */
export function startServer(options: ServerOptions = {}): ChatServer {
  return new ChatServer({ hostname: "127.0.0.1", port: 0, ...options });
}

/** Cheap scrypt parameters for test accounts (their hashes count as outdated: see needsRehash). */
export const TEST_SCRYPT = { ln: 10, r: 8, p: 1 };

/** A store in a fresh temporary directory; dispose() closes it and removes the directory. */
export interface TempStore {
  store: Store;
  dir: string;
  dispose(): Promise<void>;
}

/** Opens a store in a temporary directory with these accounts (name to password). */
export async function tempStore(users: Record<string, string> = {}): Promise<TempStore> {
  const dir = await Deno.makeTempDir({ prefix: "chat-test-" });
  const store = Store.open(dir);
  for (const [name, password] of Object.entries(users)) {
    store.addUser(name, await hashPassword(password, TEST_SCRYPT), Date.now());
  }
  return {
    store,
    dir,
    async dispose() {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** How a test client reaches the server: TLS trusting these certificates, or plain TCP. */
export interface ConnectOptions {
  tls?: { caCerts: string[] };
}

/** The server to reach: one a test started, or the port of one on the loopback address. */
export type ServerAddress = ChatServer | number;

/** A protocol client (lib/client) of the server at `port` on the loopback address. */
export function clientFor(port: number, options: Partial<ClientOptions> = {}): ChatClient {
  return new ChatClient({ host: "127.0.0.1", port, client: "chat/test", ...options });
}

/** Connects to `server` on the loopback address, with TLS when asked. */
export function connectTo(server: ServerAddress, options: ConnectOptions = {}): Promise<Deno.Conn> {
  const port = typeof server === "number" ? server : server.addr.port;
  return options.tls
    ? Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: options.tls.caCerts })
    : Deno.connect({ hostname: "127.0.0.1", port });
}

/** Someone waiting for a line; `anywhere` looks at every line, not only those after the last. */
interface LineWaiter {
  match: (line: string) => boolean;
  anywhere: boolean;
  resolve: (line: string) => void;
  reject: (error: Error) => void;
}

/** A raw TCP peer that reads lines and lets a test wait for one that matches. */
export class LineClient {
  readonly conn: Deno.Conn;
  /** Every line received so far, in order. */
  readonly lines: string[] = [];
  #waiters: LineWaiter[] = [];
  #seen = 0;
  #ended = Promise.withResolvers<void>();
  #over = false;
  #closed = false;
  /** Resolves when the server closes the connection. */
  readonly ended: Promise<void> = this.#ended.promise;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.#pump();
  }

  /** Connects to `server` (with TLS when `options.tls` is given). */
  static async connect(server: ServerAddress, options: ConnectOptions = {}): Promise<LineClient> {
    return new LineClient(await connectTo(server, options));
  }

  /** A plain-text user (nc) registered as `name`: connected, prompted, welcomed. */
  static async join(server: ServerAddress, name: string): Promise<LineClient> {
    const nc = await LineClient.connect(server);
    await nc.waitFor("Welcome to chat!");
    await nc.write(`${name}\n`);
    await nc.waitFor(`Welcome, ${name}!`);
    return nc;
  }

  /** Whether the connection has ended: no line will come any more. */
  get over(): boolean {
    return this.#over;
  }

  async #pump(): Promise<void> {
    for await (const read of readLines(this.conn, 1 << 20)) {
      if (read.kind !== "line") continue;
      this.lines.push(read.text);
      this.#check();
    }
    this.#over = true;
    this.#ended.resolve();
    this.#check();
  }

  #check(): void {
    for (const waiter of [...this.#waiters]) {
      const from = waiter.anywhere ? 0 : this.#seen;
      const index = this.lines.findIndex((line, i) => i >= from && waiter.match(line));
      if (index >= 0) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        if (!waiter.anywhere) this.#seen = index + 1;
        waiter.resolve(this.lines[index]);
      } else if (this.#over) {
        // Nothing more will come: failing now beats failing at the deadline.
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.reject(new Error(`the connection ended; got:\n${this.lines.join("\n")}`));
      }
    }
  }

  /**
   * Waits for the next line (after the last one waited for) that matches, or
   * with `anywhere` for any line received so far or later; rejects when the
   * connection ends without one, or after `ms` (WAIT_MS), with the lines seen.
   */
  waitFor(
    match: string | RegExp | ((line: string) => boolean),
    options: { anywhere?: boolean; ms?: number } = {},
  ): Promise<string> {
    const test = typeof match === "string"
      ? (line: string) => line.includes(match)
      : match instanceof RegExp
      ? (line: string) => match.test(line)
      : match;
    const ms = options.ms ?? WAIT_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(
          new Error(`no line matching ${match} within ${ms} ms; got:\n${this.lines.join("\n")}`),
        );
      }, ms);
      const waiter: LineWaiter = {
        match: test,
        anywhere: options.anywhere ?? false,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.push(waiter);
      this.#check();
    });
  }

  /** Sends raw text. */
  async write(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  /** Closes the connection (if the server has not) and waits for the reader to stop. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.conn.close();
      } catch {
        // Already closed.
      }
    }
    await this.ended;
  }
}

/** A frame from the server, loosely typed for assertions. */
export type Frame = { type: string; [field: string]: unknown };

/** How long a bystander waits for an event: a chat process may have to start first. */
const BYSTANDER_WAIT_MS = 10_000;

/**
 * A JSON-protocol peer: sends frames, and waits for events in order
 * ({@link JsonClient.next}) or in any order ({@link JsonClient.waitFor}).
 */
export class JsonClient {
  readonly raw: LineClient;
  /** The name this client registered with. */
  name = "";

  private constructor(raw: LineClient) {
    this.raw = raw;
  }

  /** Connects without registering. */
  static async connect(server: ServerAddress, options: ConnectOptions = {}): Promise<JsonClient> {
    return new JsonClient(await LineClient.connect(server, options));
  }

  /** Connects and registers as `name` (with `options.password`, if given), waiting for `welcome`. */
  static async join(
    server: ServerAddress,
    name: string,
    options: ConnectOptions & { password?: string } = {},
  ): Promise<JsonClient> {
    const client = await JsonClient.connect(server, options);
    const password = options.password !== undefined ? { password: options.password } : {};
    await client.send({ type: "hello", version: 1, name, ...password });
    await client.next("welcome");
    client.name = name;
    return client;
  }

  /** Sends one frame (any object, so tests can send bad ones). */
  send(frame: Record<string, unknown>): Promise<void> {
    return this.raw.write(JSON.stringify(frame) + "\n");
  }

  /** Sends a line as typed (`input` frame). */
  type(text: string): Promise<void> {
    return this.send({ type: "input", text });
  }

  /** Waits for the next frame, whatever its type. */
  next(): Promise<Frame>;
  /** Waits for the next event of `type` that satisfies `where`. */
  next<T extends ChatEvent["type"]>(
    type: T,
    where?: (event: Extract<ChatEvent, { type: T }>) => boolean,
  ): Promise<Extract<ChatEvent, { type: T }>>;
  async next(type?: string, where: (event: never) => boolean = () => true): Promise<unknown> {
    const line = await this.raw.waitFor((text) => {
      try {
        const event = JSON.parse(text);
        return (type === undefined || event.type === type) && where(event as never);
      } catch {
        return false;
      }
    });
    return JSON.parse(line);
  }

  /**
   * Waits for an event, received already or to come, that matches: for a
   * bystander, whose events the test looks for in any order.
   */
  async waitFor(match: (event: ChatEvent) => boolean, ms = BYSTANDER_WAIT_MS): Promise<ChatEvent> {
    const line = await this.raw.waitFor((text) => {
      try {
        return match(JSON.parse(text));
      } catch {
        return false;
      }
    }, { anywhere: true, ms });
    return JSON.parse(line);
  }

  /** All events received so far. */
  events(): ChatEvent[] {
    return this.raw.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as ChatEvent];
      } catch {
        return [];
      }
    });
  }

  /**
   * Whether the server closes the connection without sending another frame;
   * fails after WAIT_MS if it does neither.
   */
  async closed(): Promise<boolean> {
    try {
      await this.raw.waitFor(() => true);
      return false;
    } catch (error) {
      if (this.raw.over) return true;
      throw error;
    }
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.raw.close();
  }
}

/** Closes clients and the server, whatever state they are in. */
export async function cleanUp(
  server: ChatServer,
  ...clients: (JsonClient | LineClient)[]
): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
  await server.shutdown();
}

/** Every message of the lobby, oldest first, read page by page with `history` frames. */
export async function allHistory(client: JsonClient): Promise<{ id: number; text: string }[]> {
  const pages: { id: number; text: string }[][] = [];
  let before: number | undefined;
  while (true) {
    await client.send({ type: "history", count: 1000, ...(before ? { before } : {}) });
    const page = (await client.next("history")).messages;
    if (page.length === 0) return pages.reverse().flat();
    pages.push(page);
    before = page[0].id;
  }
}

/** Runs `body` with a fresh temporary directory, removed afterwards. */
export async function withDir(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-test-" });
  try {
    await body(dir);
  } finally {
    await removeSettled(dir);
  }
}

/**
 * Removes `dir` and what it holds. A store's checkpoint worker that did not
 * stop within `Store.close()`'s deadline outlives it, and its SQLite
 * connection, closing last, removes the WAL files meanwhile: a removal that
 * met one then finds the directory not empty, and is tried again (for at
 * most 5 s).
 */
async function removeSettled(dir: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return await Deno.remove(dir, { recursive: true });
    } catch (error) {
      const busy = error instanceof Error && /not empty|No such file/i.test(error.message);
      if (!busy || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Runs `fn`, which must throw a ChatError, and returns the error. */
export function refusal(fn: () => unknown): ChatError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ChatError) return error;
    throw error;
  }
  throw new Error("expected a ChatError, but nothing was thrown");
}

/**
 * Adapts a byte stream (a child's stdout) to the `read(buffer)` contract of
 * readLines(); `cancel` lets go of the stream before its end.
 */
export function streamReader(
  stream: ReadableStream<Uint8Array>,
): ByteReader & { cancel(): Promise<void> } {
  const reader = stream.getReader();
  let rest: Uint8Array | null = null;
  return {
    cancel: () => reader.cancel(),
    async read(buffer: Uint8Array): Promise<number | null> {
      if (!rest) {
        const { value, done } = await reader.read();
        if (done) return null;
        rest = value;
      }
      const n = Math.min(rest.length, buffer.length);
      buffer.set(rest.subarray(0, n));
      rest = n < rest.length ? rest.subarray(n) : null;
      return n;
    },
  };
}

/** Resolves like `promise`, or rejects with `message` after {@link WAIT_MS}. */
export async function within<T>(promise: Promise<T>, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `condition` until it holds, for states no event announces; fails after
 * {@link WAIT_MS} with "timed out waiting for " and `what` (a function can show the state).
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!await condition()) {
    if (performance.now() > deadline) {
      const awaited = typeof what === "string" ? what : what();
      throw new Error(`timed out after ${WAIT_MS} ms waiting for ${awaited}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A reader that returns `parts` one per read, then the end. A part bigger than
 * the reader's buffer comes in pieces, as from a real stream.
 */
export function chunkReader(parts: (string | number[] | Uint8Array)[]): ByteReader {
  const queue = parts.map((p) =>
    typeof p === "string"
      ? new TextEncoder().encode(p)
      : p instanceof Uint8Array
      ? p
      : new Uint8Array(p)
  );
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      const next = queue.shift();
      if (!next) return Promise.resolve(null);
      const n = Math.min(next.length, buffer.length);
      buffer.set(next.subarray(0, n));
      if (n < next.length) queue.unshift(next.subarray(n));
      return Promise.resolve(n);
    },
  };
}
