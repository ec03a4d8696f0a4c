/**
 * Test helpers: a server on port 0 and clients that wait for what they expect
 * instead of sleeping.
 *
 * @module
 */

import { ChatServer, type ServerOptions } from "../lib/server.ts";
import { type ByteReader, readLines } from "../lib/line_reader.ts";
import type { ChatEvent } from "../lib/events.ts";
import { ChatError } from "../lib/errors.ts";
import { hashPassword } from "../lib/passwords.ts";
import { Store } from "../lib/store.ts";

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

/** Connects to `server` on the loopback address, with TLS when asked. */
export function connectTo(server: ChatServer, options: ConnectOptions = {}): Promise<Deno.Conn> {
  const port = server.addr.port;
  return options.tls
    ? Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: options.tls.caCerts })
    : Deno.connect({ hostname: "127.0.0.1", port });
}

/** A raw TCP peer that reads lines and lets a test wait for one that matches. */
export class LineClient {
  readonly conn: Deno.Conn;
  /** Every line received so far, in order. */
  readonly lines: string[] = [];
  #waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  #seen = 0;
  #ended = Promise.withResolvers<void>();
  #closed = false;
  /** Resolves when the server closes the connection. */
  readonly ended: Promise<void> = this.#ended.promise;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.#pump();
  }

  /** Connects to `server` (with TLS when `options.tls` is given). */
  static async connect(server: ChatServer, options: ConnectOptions = {}): Promise<LineClient> {
    return new LineClient(await connectTo(server, options));
  }

  async #pump(): Promise<void> {
    for await (const read of readLines(this.conn, 1 << 20)) {
      if (read.kind !== "line") continue;
      this.lines.push(read.text);
      this.#check();
    }
    this.#ended.resolve();
  }

  #check(): void {
    for (const waiter of [...this.#waiters]) {
      for (let i = this.#seen; i < this.lines.length; i++) {
        if (waiter.match(this.lines[i])) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          this.#seen = i + 1;
          waiter.resolve(this.lines[i]);
          break;
        }
      }
    }
  }

  /**
   * Waits for the next line (after the last one waited for) that matches;
   * rejects after {@link WAIT_MS} with the lines seen, for the failure report.
   */
  waitFor(match: string | RegExp | ((line: string) => boolean)): Promise<string> {
    const test = typeof match === "string"
      ? (line: string) => line.includes(match)
      : match instanceof RegExp
      ? (line: string) => match.test(line)
      : match;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `no line matching ${match} within ${WAIT_MS} ms; got:\n${this.lines.join("\n")}`,
          ),
        );
      }, WAIT_MS);
      const waiter = {
        match: test,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
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

/** A JSON-protocol peer: sends frames, waits for events. */
export class JsonClient {
  readonly raw: LineClient;
  /** The name this client registered with. */
  name = "";

  private constructor(raw: LineClient) {
    this.raw = raw;
  }

  /** Connects without registering. */
  static async connect(server: ChatServer, options: ConnectOptions = {}): Promise<JsonClient> {
    return new JsonClient(await LineClient.connect(server, options));
  }

  /** Connects and registers as `name` (with `options.password`, if given), waiting for `welcome`. */
  static async join(
    server: ChatServer,
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

  /** Waits for the next event of `type` that satisfies `where`. */
  async next<T extends ChatEvent["type"]>(
    type: T,
    where: (event: Extract<ChatEvent, { type: T }>) => boolean = () => true,
  ): Promise<Extract<ChatEvent, { type: T }>> {
    const line = await this.raw.waitFor((text) => {
      try {
        const event = JSON.parse(text);
        return event.type === type && where(event);
      } catch {
        return false;
      }
    });
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

/** Adapts a byte stream (a child's stdout) to the `read(buffer)` contract of readLines(). */
export function streamReader(stream: ReadableStream<Uint8Array>): ByteReader {
  const reader = stream.getReader();
  let rest: Uint8Array | null = null;
  return {
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
