/**
 * The client side of the JSON protocol: connect, say hello, follow the room,
 * and come back by itself when the connection drops. No terminal here; the
 * front end (`join.ts`) decides how any of it looks.
 *
 * Life of a client: {@link ChatClient.connect} opens TCP (failures are a
 * {@link ConnectError} with a reason a person understands), then
 * {@link ChatClient.register} sends `hello` until the server welcomes a name
 * or refuses for good, and {@link ChatClient.updates} yields what happens
 * next. A connection that ends without `bye` is lost, not closed: the client
 * reconnects with growing, jittered pauses and says hello again under the
 * same name. A keepalive ping notices a connection that died silently (a
 * laptop that slept, a cable pulled).
 *
 * @module
 */

import {
  type ByeEvent,
  type ChatEvent,
  ErrorCode,
  PROTOCOL_VERSION,
  type WelcomeEvent,
} from "./events.ts";
import { type LineRead, readLines } from "./line_reader.ts";
import { type ClientFrame, encodeFrame } from "./protocol.ts";

/** The server could not be reached; `reason` is short and for a person. */
export class ConnectError extends Error {
  /** Why, such as "connection refused" or "unknown host". */
  readonly reason: string;

  /** Creates the error for `address` (host:port) and `reason`. */
  constructor(address: string, reason: string) {
    super(`Cannot connect to ${address} (${reason})`);
    this.name = "ConnectError";
    this.reason = reason;
  }
}

/** How a `hello` ended: welcomed, or refused (and whether another name may be tried). */
export type Registration =
  | { ok: true; welcome: WelcomeEvent }
  | { ok: false; code: string; message: string; retry: boolean };

/** What the front end hears about after registration. */
export type ClientUpdate =
  /** An event from the server. */
  | { kind: "event"; event: ChatEvent }
  /** The connection dropped; the client is trying again (unless told not to). */
  | { kind: "lost"; reason: string }
  /** An attempt to come back failed; the next one is in `delayMs`. */
  | { kind: "retrying"; reason: string; delayMs: number; refused: boolean }
  /** Back in the room after a drop. */
  | { kind: "back"; welcome: WelcomeEvent }
  /** The end: the server said goodbye (`bye`), or the connection is gone for good. */
  | { kind: "end"; bye: ByeEvent | null; reason: string };

/** Timings of a client; defaults suit people on real networks. */
export interface ClientOptions {
  /** Server host name or address. */
  host: string;
  /** Server port. */
  port: number;
  /** What the client calls itself in `hello`, such as `chat/0.1.0`. */
  client: string;
  /** Longest wait for TCP to connect, in ms. @default 10000 */
  connectTimeoutMs?: number;
  /** Longest wait for the answer to `hello`, in ms. @default 10000 */
  helloTimeoutMs?: number;
  /** Quiet time after which the client pings the server, in ms. @default 20000 */
  pingIntervalMs?: number;
  /** Quiet time after which the connection counts as dead, in ms. @default 60000 */
  idleTimeoutMs?: number;
  /** First pause before reconnecting, in ms; doubled after each failure. @default 500 */
  retryInitialMs?: number;
  /** Longest pause between reconnection attempts, in ms. @default 10000 */
  retryMaxMs?: number;
}

/** Formats a host and port as `host:port`, bracketing IPv6 addresses. */
export function formatTarget(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

// Longest line read from the server; the longest real frame is far shorter.
const MAX_FRAME_BYTES = 1024 * 1024;

/** One TCP connection carrying JSON frames. */
class Link {
  #conn: Deno.TcpConn;
  #lines: AsyncGenerator<LineRead>;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  /** When a byte last arrived, for the keepalive. */
  lastHeard = Date.now();

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#lines = readLines(conn, MAX_FRAME_BYTES);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(frame: ClientFrame): void {
    if (this.#closed) return;
    const bytes = encodeFrame(frame);
    // One write at a time, in order; a failed write means the link is dead.
    this.#writing = this.#writing.then(() => this.#writeAll(bytes)).catch(() => this.close());
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length && !this.#closed) {
      done += await this.#conn.write(bytes.subarray(done));
    }
  }

  /** Waits for writes queued so far (bounded by `ms`). */
  async flush(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#writing, new Promise((r) => timer = setTimeout(r, ms))]);
    clearTimeout(timer);
  }

  /** The next event, skipping lines that are not JSON objects; null when the link ends. */
  async next(): Promise<ChatEvent | null> {
    while (!this.#closed) {
      const read = await this.#lines.next();
      if (read.done) break;
      this.lastHeard = Date.now();
      if (read.value.kind !== "line") continue;
      const event = parseEvent(read.value.text);
      if (event) return event;
    }
    this.close();
    return null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by a reset: nothing left to release.
    }
  }
}

function parseEvent(line: string): ChatEvent | null {
  // The server may greet a silent peer in plain text; a JSON client ignores that.
  if (!line.trimStart().startsWith("{")) return null;
  try {
    const value = JSON.parse(line);
    if (typeof value === "object" && value !== null && typeof value.type === "string") {
      return value as ChatEvent;
    }
  } catch {
    // Not JSON after all: not for us.
  }
  return null;
}

/** A person's (or bot's) connection to a chat server, across reconnections. */
export class ChatClient {
  /** `host:port` of the server, for messages. */
  readonly address: string;
  #options: Required<ClientOptions>;
  #link: Link | null = null;
  #name = "";
  // The secret from the last welcome: it takes our name back after a drop,
  // before the server has noticed that the old connection is gone.
  #resume = "";
  #users: string[] = [];
  #userCount = 0;
  #registered = false;
  #quitting = false;
  #closed = false;
  #wake: (() => void) | null = null;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #keepalive: ReturnType<typeof setInterval> | undefined;

  /** Creates a client; nothing happens until {@link connect}. */
  constructor(options: ClientOptions) {
    this.#options = {
      connectTimeoutMs: 10_000,
      helloTimeoutMs: 10_000,
      pingIntervalMs: 20_000,
      idleTimeoutMs: 60_000,
      retryInitialMs: 500,
      retryMaxMs: 10_000,
      ...options,
    };
    this.address = formatTarget(options.host, options.port);
  }

  /** The name the server knows us by (it changes with `/nick`). */
  get name(): string {
    return this.#name;
  }

  /**
   * Names of the users in the room, in the order they joined. In a room of
   * more than WELCOME_NAMES users, the welcome lists the first ones only: the
   * list then grows with joins, or is made whole by asking `who`.
   */
  get users(): readonly string[] {
    return this.#users;
  }

  /** How many users the room has, as the server last said. */
  get userCount(): number {
    return this.#userCount;
  }

  /** Whether messages can be sent right now. */
  get online(): boolean {
    return this.#registered && this.#link !== null && !this.#link.closed;
  }

  /**
   * Opens the TCP connection.
   *
   * @throws {ConnectError} with a reason such as "connection refused".
   */
  async connect(): Promise<void> {
    this.#link?.close();
    this.#link = null;
    const { host, port, connectTimeoutMs } = this.#options;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const attempt = Deno.connect({ hostname: host, port, transport: "tcp" });
    try {
      const conn = await Promise.race([
        attempt,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Deno.errors.TimedOut()), connectTimeoutMs);
        }),
      ]);
      try {
        conn.setNoDelay(true);
      } catch {
        // Only a latency nicety.
      }
      this.#link = new Link(conn);
      // The server picks the protocol from the first line: a ping claims JSON
      // at once, while the person may still be typing a name.
      this.#link.send({ type: "ping" });
    } catch (error) {
      // A connection that succeeds after we gave up is closed right away.
      attempt.then((conn) => conn.close(), () => {});
      throw new ConnectError(this.address, connectReason(error));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Asks to join as `name`. A refusal with `retry` (name taken or invalid)
   * leaves the connection open for another try; other refusals close it.
   * A connection that the server closed meanwhile (a name prompt left for
   * too long) is reopened once.
   *
   * @throws {ConnectError} when the server cannot be reached or does not answer.
   */
  async register(name: string): Promise<Registration> {
    for (let attempt = 0;; attempt++) {
      if (this.#closed) throw new ConnectError(this.address, "closed");
      if (!this.#link || this.#link.closed) await this.connect();
      const link = this.#link!;
      const resume = this.#resume && name === this.#name ? { resume: this.#resume } : {};
      link.send({
        type: "hello",
        version: PROTOCOL_VERSION,
        name,
        client: this.#options.client,
        ...resume,
      });
      const answer = await this.#awaitAnswer(link);
      if (answer === "closed") {
        if (attempt === 0) continue;
        throw new ConnectError(this.address, "the server closed the connection");
      }
      if (answer.ok) {
        this.#onWelcome(answer.welcome);
        this.#startKeepalive();
      } else if (!answer.retry) {
        link.close();
      }
      return answer;
    }
  }

  async #awaitAnswer(link: Link): Promise<Registration | "closed"> {
    const timer = setTimeout(() => link.close(), this.#options.helloTimeoutMs);
    const started = Date.now();
    let refusal: Registration | null = null;
    try {
      while (true) {
        const event = await link.next();
        if (event === null) {
          if (refusal) return refusal;
          if (Date.now() - started >= this.#options.helloTimeoutMs) {
            throw new ConnectError(this.address, "no answer; is it a chat server?");
          }
          return "closed";
        }
        if (event.type === "welcome") return { ok: true, welcome: event };
        if (event.type === "error") {
          if (event.code === ErrorCode.NameTaken || event.code === ErrorCode.NameInvalid) {
            return { ok: false, code: event.code, message: event.message, retry: true };
          }
          // Room full and version mismatch are followed by `bye`; a
          // registration timeout too, and then we simply say hello again.
          if (event.code !== ErrorCode.Timeout) {
            refusal = { ok: false, code: event.code, message: event.message, retry: false };
          }
        } else if (event.type === "bye" && event.code !== "timeout") {
          return refusal ?? { ok: false, code: event.code, message: event.reason, retry: false };
        } else if (event.type === "ping") {
          link.send({ type: "pong", ...(event.token !== undefined ? { token: event.token } : {}) });
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a line as the user typed it; false when offline (nothing was sent). */
  input(text: string): boolean {
    if (!this.online) return false;
    this.#link!.send({ type: "input", text });
    return true;
  }

  /** Asks the server to let us leave; {@link updates} ends with its `bye`. */
  quit(reason?: string): void {
    this.#quitting = true;
    if (this.online) {
      this.#link!.send({ type: "quit", ...(reason ? { reason } : {}) });
    } else {
      this.close();
    }
  }

  /** Waits until what was sent so far has been written, for at most `ms`. */
  async flush(ms: number): Promise<void> {
    await this.#link?.flush(ms);
  }

  /** Closes the connection and stops every timer; {@link updates} ends. */
  close(): void {
    this.#closed = true;
    this.#stopKeepalive();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#wake?.();
    this.#link?.close();
  }

  /**
   * What happens in the room after registration, until the end. With
   * `reconnect`, a dropped connection is re-established with backoff.
   */
  async *updates(reconnect: boolean): AsyncGenerator<ClientUpdate> {
    try {
      while (!this.#closed) {
        const link = this.#link;
        const event = link ? await link.next() : null;
        if (event) {
          this.#track(event);
          if (event.type === "ping") {
            link!.send({
              type: "pong",
              ...(event.token !== undefined ? { token: event.token } : {}),
            });
          }
          yield { kind: "event", event };
          if (event.type === "bye") {
            yield { kind: "end", bye: event, reason: event.reason };
            return;
          }
          continue;
        }
        this.#registered = false;
        this.#stopKeepalive();
        if (this.#quitting || this.#closed) {
          yield { kind: "end", bye: null, reason: "closed" };
          return;
        }
        const lost = "the connection was lost";
        if (!reconnect) {
          yield { kind: "end", bye: null, reason: lost };
          return;
        }
        yield { kind: "lost", reason: lost };
        const welcome = yield* this.#comeBack();
        if (!welcome) {
          yield { kind: "end", bye: null, reason: lost };
          return;
        }
        yield { kind: "back", welcome };
      }
    } finally {
      this.close();
    }
  }

  // Reconnects with jittered exponential backoff until welcomed, or closed.
  async *#comeBack(): AsyncGenerator<ClientUpdate, WelcomeEvent | null> {
    let delay = this.#options.retryInitialMs;
    while (!this.#closed && !this.#quitting) {
      // Jitter spreads out a room full of clients after a server restart.
      const pause = Math.round(delay * (0.8 + Math.random() * 0.4));
      await this.#sleep(pause);
      if (this.#closed || this.#quitting) return null;
      let reason: string;
      let refused: boolean;
      try {
        const answer = await this.register(this.#name);
        if (answer.ok) return answer.welcome;
        // Without a resume token that the server knows (it restarted), the old
        // connection may hold the name until the server notices it is gone.
        if (answer.code === ErrorCode.VersionUnsupported || answer.code === ErrorCode.NameInvalid) {
          return null;
        }
        reason = answer.message;
        refused = true;
      } catch (error) {
        reason = error instanceof ConnectError ? error.reason : String(error);
        refused = false;
      }
      delay = Math.min(delay * 2, this.#options.retryMaxMs);
      yield { kind: "retrying", reason, delayMs: delay, refused };
    }
    return null;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#wake = null;
        resolve();
      }, ms);
      this.#timers.add(timer);
      this.#wake = resolve;
    });
  }

  #onWelcome(welcome: WelcomeEvent): void {
    this.#name = welcome.name;
    this.#resume = welcome.resume ?? "";
    this.#users = [...welcome.users];
    this.#userCount = Math.max(welcome.count ?? 0, welcome.users.length);
    this.#registered = true;
  }

  #track(event: ChatEvent): void {
    switch (event.type) {
      case "join":
        if (!this.#users.includes(event.name)) this.#users.push(event.name);
        this.#userCount = event.count;
        break;
      case "leave":
        this.#users = this.#users.filter((n) => n !== event.name);
        this.#userCount = event.count;
        break;
      case "rename":
        this.#users = this.#users.map((n) => n === event.from ? event.to : n);
        if (event.from === this.#name) this.#name = event.to;
        break;
      case "users":
        this.#users = [...event.names];
        this.#userCount = event.names.length;
        break;
    }
  }

  #startKeepalive(): void {
    this.#stopKeepalive();
    const { pingIntervalMs, idleTimeoutMs } = this.#options;
    this.#keepalive = setInterval(() => {
      const link = this.#link;
      if (!link || link.closed) return;
      const quiet = Date.now() - link.lastHeard;
      if (quiet >= idleTimeoutMs) link.close();
      else if (quiet >= pingIntervalMs) link.send({ type: "ping" });
    }, Math.min(pingIntervalMs, idleTimeoutMs) / 2);
  }

  #stopKeepalive(): void {
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }
}

/** A short reason for a failed connect, as a person would say it. */
export function connectReason(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.AddrNotAvailable) return "address not available";
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  const message = error instanceof Error ? error.message : String(error);
  if (/lookup|not known|nodename|no such host|name resolution|getaddrinfo/i.test(message)) {
    return "unknown host";
  }
  if (/unreachable/i.test(message)) return "network unreachable";
  return message.replace(/\s*\(os error \d+\)$/, "").toLowerCase() || "unknown error";
}
