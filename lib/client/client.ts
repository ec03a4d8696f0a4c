/**
 * The client side of the JSON protocol: connect, say hello, follow the room,
 * and come back by itself when the connection drops. No terminal here; the
 * front end (`join.ts`) decides how any of it looks.
 *
 * Life of a client: {@link ChatClient.connect} opens TCP, or TLS with its
 * handshake, and waits for the server's first answer (failures are a
 * {@link ConnectError} with a reason a person understands), then
 * {@link ChatClient.register} sends `hello` (with a password, for a name that
 * belongs to an account) until the server welcomes a name or refuses for
 * good, and {@link ChatClient.updates} yields what happens next. A connection
 * that ends without `bye` is lost, not closed: the client reconnects with
 * growing, jittered pauses and says hello again under the same name (and
 * with the password that worked). A `bye` for a shutdown ends it, unless
 * `restartWaitMs` says to wait that long for the server to come back. A
 * keepalive ping notices a connection that died silently (a laptop that
 * slept, a cable pulled).
 *
 * With a server that follows end-to-end delivery (its welcome names a
 * `stream`), the client acknowledges the ids it has shown (batched, at
 * most once a second, and before quitting), asks after a drop for what
 * came after the last one (`since`, held back while rooms joined again
 * after a restart have not replayed theirs), shows no id twice on a
 * stream, and sends lines with a client-chosen id (`cid`) that makes a
 * resent line post once (docs/PROTOCOL.md, "Delivery").
 *
 * TLS mistakes are told apart, because each has its own fix: a certificate
 * that is not trusted (give `--ca`), one for another host name, a TLS client
 * on a plain server, and a plain client on a TLS server (this project's
 * server answers our first JSON line with a line of text that says so,
 * another TLS server with an alert record).
 *
 * @module
 */

import {
  type ByeEvent,
  type ChatEvent,
  ErrorCode,
  type ErrorEvent,
  PROTOCOL_VERSION,
  type WelcomeEvent,
} from "../core/events.ts";
import { errorMessage } from "../core/errors.ts";
import { type LineRead, readLines } from "../io/line_reader.ts";
import { type ClientFrame, decodeServerFrame, encodeFrame } from "../protocol/json.ts";
import { TLS_ONLY_PREFIX } from "../protocol/tls_notices.ts";
import {
  isBadSignature,
  isUnknownIssuer,
  NOT_THE_CA,
  NOT_TRUSTED,
  plainOnTlsAdvice,
} from "./tls_advice.ts";

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
  /**
   * The connection dropped, or the server stopped on purpose and the client
   * waits for it to come back (`until` is then when it gives up, in epoch
   * ms); the first attempt is at `nextAt` (epoch ms).
   */
  | { kind: "lost"; reason: string; nextAt: number; until?: number }
  /**
   * An attempt to come back failed; the next one is in `delayMs` (before
   * jitter), at `nextAt` (epoch ms).
   */
  | { kind: "retrying"; reason: string; delayMs: number; refused: boolean; nextAt: number }
  /** Back in the room after a drop. */
  | { kind: "back"; welcome: WelcomeEvent }
  /**
   * The end: the server said goodbye (`bye`), or the connection is gone for
   * good. `code` is the server's error code when it refused to let us back
   * in after a drop (the password changed, say), and `reason` then says why.
   */
  | { kind: "end"; bye: ByeEvent | null; reason: string; code?: string };

/**
 * What became of a line sent with {@link ChatClient.deliver}: the server
 * answered it (the message, or another refusal, came as events), refused it
 * for flooding (`error`, not shown as an event), or the connection went
 * before the answer (`offline`: it may or may not have arrived).
 */
export type Delivery =
  | { kind: "answered" }
  | { kind: "flood"; error: ErrorEvent }
  | { kind: "offline" };

/** TLS settings of a client. */
export interface ClientTls {
  /**
   * Certificates (PEM) to trust instead of the system's roots, such as the
   * server's own from `chat cert`.
   */
  caCerts?: string[];
}

/** Timings of a client; defaults suit people on real networks. */
export interface ClientOptions {
  /** Server host name or address. */
  host: string;
  /** Server port. */
  port: number;
  /** What the client calls itself in `hello`, such as `chat/0.1.0`. */
  client: string;
  /** Connect with TLS, checking the server's certificate; plain TCP when absent. */
  tls?: ClientTls;
  /** Longest wait for TCP to connect (and the TLS handshake), in ms. @default 10000 */
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
  /**
   * How long to keep trying to come back after the server said it shuts
   * down (a restart, most often), in ms; 0 ends at its `bye`. @default 0
   */
  restartWaitMs?: number;
  /**
   * First pause after the server said it shuts down, in ms, before a
   * random spread of half of it either way (a room of clients does not come
   * back at once); then doubled after each failure, as `retryInitialMs` is.
   * A server takes a second or more to stop and start again, and the
   * protocol asks clients not to come back right away. @default 2000
   */
  restartPauseMs?: number;
}

/** Formats a host and port as `host:port`, bracketing IPv6 addresses. */
export function formatTarget(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

// How long `connect` waits for the answer to its ping (or a TLS server's line or alert), in ms.
const FIRST_ANSWER_WAIT_MS = 1_000;

// Longest wait for the handshake that tells whether `--tls` will do, in ms.
const TLS_PROBE_MS = 2_000;

/** How often, and after what first pause, a login the server is too busy to check is retried. */
const BUSY_TRIES = 5;
const BUSY_PAUSE_MS = 500;

// How often, at most, the client acknowledges what it was shown, in ms (the protocol's pace).
const ACK_INTERVAL_MS = 1_000;

// Ids remembered as shown on the current stream, so that none is shown twice.
const SEEN_IDS_KEPT = 20_000;

// Times a room refused with a `wait` (flood control, a room made too fast) is asked for again
// after a reconnect, each after the wait the server gave: then its refusal is shown.
const REJOIN_TRIES = 20;

// Longest line read from the server; the longest real frame is far shorter.
const MAX_FRAME_BYTES = 1024 * 1024;

/** What a TLS client is told when the server does not speak TLS. */
export const SERVER_NOT_TLS = "the server does not use TLS; try without --tls";

/** What a client is told when `port` answered as a web server: most likely the web page's port. */
export function webPortReason(port: number): string {
  return "that port serves web pages, not the chat: a chat server's web page is on its chat " +
    `port + 1 by default, so try port ${port - 1}`;
}

// A TLS record starts with its content type (21 alert, 22 handshake) and the
// major version 3: what a TLS server answers to our first JSON line.
const TLS_ALERT = 0x15;
const TLS_HANDSHAKE = 0x16;
const TLS_MAJOR = 0x03;

/** Frames from the server that were skipped: how many, and what was wrong with the first. */
export interface Skipped {
  /** How many frames were skipped, across reconnections. */
  count: number;
  /** What was wrong with the first one, for a person ("" when none was skipped). */
  first: string;
}

/** One connection (TCP or TLS) carrying JSON frames. */
class Link {
  #conn: Deno.Conn;
  #lines: AsyncGenerator<LineRead>;
  // Told about each line from the server that is not a frame the protocol describes.
  #skip: (problem: string) => void;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  // An event read ahead (by `peek`), which `next` hands out first.
  #ahead: Promise<ChatEvent | null> | null = null;
  // The first two bytes from the server, to recognize a TLS record.
  #start: number[] = [];
  // A JSON event has arrived: lines of text after it are not the server's first word.
  #spoke = false;
  // The server's first line said that it uses TLS (TLS_ONLY_MESSAGE, by its start).
  #tlsOnly = false;
  // The first line was an HTTP status line: a web server (the web page's port, by mistake).
  #http = false;
  /** When a byte last arrived, for the keepalive. */
  lastHeard = Date.now();

  constructor(conn: Deno.Conn, skip: (problem: string) => void) {
    this.#conn = conn;
    this.#skip = skip;
    const reader = {
      read: async (buffer: Uint8Array): Promise<number | null> => {
        const n = await conn.read(buffer);
        for (let i = 0; n !== null && i < n && this.#start.length < 2; i++) {
          this.#start.push(buffer[i]);
        }
        return n;
      },
    };
    this.#lines = readLines(reader, MAX_FRAME_BYTES);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether the server said it speaks TLS, and we do not: in a line of text
   * before any event (this project's server), or with a TLS record.
   */
  get sawTls(): boolean {
    if (this.#tlsOnly) return true;
    const [type, major] = this.#start;
    return (type === TLS_ALERT || type === TLS_HANDSHAKE) && major === TLS_MAJOR;
  }

  /** Whether the server answered as a web server does, with an HTTP status line. */
  get sawHttp(): boolean {
    return this.#http;
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

  /**
   * The next event, skipping lines that are not frames the protocol
   * describes (each told to `skip`) and frames of unknown types; null when
   * the link ends.
   */
  next(): Promise<ChatEvent | null> {
    const ahead = this.#ahead;
    this.#ahead = null;
    return ahead ?? this.#read();
  }

  /**
   * Waits up to `ms` for the next event without taking it: `next` returns it
   * after. Null when the link ended, undefined when nothing came in time.
   */
  async peek(ms: number): Promise<ChatEvent | null | undefined> {
    // A read that lost the race stays pending here, so that nothing is lost.
    this.#ahead ??= this.#read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) =>
      timer = setTimeout(() => resolve(undefined), ms)
    );
    try {
      return await Promise.race([this.#ahead, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #read(): Promise<ChatEvent | null> {
    while (!this.#closed) {
      const read = await this.#lines.next();
      if (read.done) break;
      this.lastHeard = Date.now();
      const line = read.value;
      // Before the server speaks JSON, a line of text is its plain-text
      // greeting (or a TLS server's notice); after, it is a broken frame.
      if (line.kind !== "line" || !line.text.trimStart().startsWith("{")) {
        if (line.kind === "line" && !this.#spoke) {
          if (line.text.startsWith(TLS_ONLY_PREFIX)) this.#tlsOnly = true;
          if (line.text.startsWith("HTTP/")) this.#http = true;
        } else if (this.#spoke && (line.kind !== "line" || line.text.trim() !== "")) {
          this.#skip(LINE_PROBLEMS[line.kind]);
        }
        continue;
      }
      let event: ChatEvent | null;
      try {
        event = decodeServerFrame(line.text);
      } catch (error) {
        this.#skip(errorMessage(error));
        continue;
      }
      this.#spoke = true;
      // Null: a type this client does not know, to be ignored (a newer server's).
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

// Refusals of `hello` after which the server waits for another try on the same connection.
const RETRY_CODES: ReadonlySet<string> = new Set([
  ErrorCode.NameTaken,
  ErrorCode.NameInvalid,
  ErrorCode.PasswordRequired,
  ErrorCode.WrongPassword,
]);

/**
 * The refusal that ends reconnecting, as the error to report, or null when
 * trying again later may work (the name is still held by our old connection).
 */
function loginRefusal(
  code: string,
  message: string,
  name: string,
  gavePassword: boolean,
): ErrorEvent | null {
  switch (code) {
    case ErrorCode.WrongPassword:
      return {
        type: "error",
        code,
        message: gavePassword
          ? `${message} (was it changed?); join again with the new one`
          : message,
      };
    case ErrorCode.PasswordRequired:
      return {
        type: "error",
        code,
        message: gavePassword ? message : `${message}; join again to give the password of ${name}`,
      };
    case ErrorCode.Throttled:
      return { type: "error", code, message };
  }
  return null;
}

/**
 * A refusal to come back that asking again would not change: a name the
 * server does not allow, a protocol version it does not speak, a ban, and,
 * from a server that restarted (it knows no resume token), a name someone
 * else has.
 * Null when another attempt may succeed.
 */
function finalRefusal(code: string, message: string, restarted: boolean): ErrorEvent | null {
  // `banned` is the code of a server's goodbye to a banned user (rooms, issue 13).
  if (code === ErrorCode.VersionUnsupported || code === "banned") {
    return { type: "error", code: code as ErrorCode, message };
  }
  if (code === ErrorCode.NameInvalid || (restarted && code === ErrorCode.NameTaken)) {
    return { type: "error", code, message: `${message}; join again with another name` };
  }
  return null;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

// What is wrong with a line from the server that is not a JSON object, by how it was read.
const LINE_PROBLEMS: Record<LineRead["kind"], string> = {
  line: "Frame is not a JSON object",
  "too_long": `Frame is over ${MAX_FRAME_BYTES / (1024 * 1024)} MiB`,
  "bad_encoding": "Frame is not UTF-8",
};

/**
 * Whether `text` asks to leave (`/quit`, `/exit`, `/bye`, `exit`): the
 * client then acknowledges what it was shown first, and `chat join` leaves.
 */
export function isQuitLine(text: string): boolean {
  return /^\s*(exit|\/(quit|exit|bye)\b.*)\s*$/su.test(text);
}

/** A person's (or bot's) connection to a chat server, across reconnections. */
export class ChatClient {
  /** `host:port` of the server, for messages. */
  readonly address: string;
  #options: Required<Omit<ClientOptions, "tls">> & Pick<ClientOptions, "tls">;
  #link: Link | null = null;
  #name = "";
  // The secret from the last welcome: it takes our name back after a drop,
  // before the server has noticed that the old connection is gone.
  #resume = "";
  // The password that got us welcomed, and for which name: after a server
  // restart the resume token means nothing, and the server asks again.
  #login: { name: string; password: string } | null = null;
  #users: string[] = [];
  #userCount = 0;
  // The current room, and who is in each room we are in (the current one's in #users).
  #room = "";
  #home = "";
  #roomUsers = new Map<string, string[]>();
  #registered = false;
  #quitting = false;
  #closed = false;
  #wake: (() => void) | null = null;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #skipped: Skipped = { count: 0, first: "" };
  // The line `deliver` waits an answer for: the token of the ping sent after
  // it, the flood refusal if one came first, and who waits.
  #delivery: { token: string; flood: ErrorEvent | null; done: (d: Delivery) => void } | null = null;
  #deliveries = 0;
  // The sequence the ids belong to ("" from a server without delivery), the
  // highest id shown on it, and the highest acknowledged.
  #stream = "";
  #seen = 0;
  #acked = 0;
  // Private messages shown at or below #acked (kept mail in `missed`, a replay's unacknowledged
  // ones): the server counts them delivered only at an ack, so one is owed even with no newer id.
  #ackOwed = false;
  // The `since` of the last hello; and while its replay has pages to come
  // (the last one says what the replay left out) or the rooms joined again
  // after its welcome have not answered (their replays come with those
  // answers), that since: the id up to which everything was shown, what
  // `since` and acks may say.
  #helloSince = 0;
  #holdAt: number | null = null;
  #replaying = false;
  // The token of the ping sent after those joins: its pong ends the hold.
  #rejoinToken = "";
  #rejoins = 0;
  // Rooms joined again and not entered yet; those refused with a `wait`, to ask for again one
  // at a time after it, and how often each was asked for.
  #rejoining = new Set<string>();
  #rejoinLater: string[] = [];
  #rejoinWait = 0;
  #rejoinTries = new Map<string, number>();
  #rejoinTimer: ReturnType<typeof setTimeout> | undefined;
  // Rooms asked for again late, whose `current` is not the front end's business: the room on
  // screen stays where the person put it (lines name their room, so the server's current
  // room need not follow).
  #quietCurrent = new Set<string>();
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  // Ids shown on this stream, oldest first: a replay or a live frame shows none twice.
  #shownIds = new Set<number>();
  // The last welcome continued the stream of the one before (what was missed can be replayed).
  #continued = false;
  // What makes this session's cids its own, and how many it made.
  #cidPrefix = randomPrefix();
  #cids = 0;

  /** Creates a client; nothing happens until {@link connect}. */
  constructor(options: ClientOptions) {
    this.#options = {
      connectTimeoutMs: 10_000,
      helloTimeoutMs: 10_000,
      pingIntervalMs: 20_000,
      idleTimeoutMs: 60_000,
      retryInitialMs: 500,
      retryMaxMs: 10_000,
      restartWaitMs: 0,
      restartPauseMs: 2_000,
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

  /** The current room: where what we say goes. */
  get room(): string {
    return this.#room;
  }

  /**
   * Whether there is more to rooms than the one everyone enters: we are in
   * several, or in another one (a prompt then says which is current).
   */
  get roaming(): boolean {
    return this.#room !== this.#home || this.#roomUsers.size > 1;
  }

  /** How many users the room has, as the server last said. */
  get userCount(): number {
    return this.#userCount;
  }

  /**
   * Frames from the server that did not follow the protocol (a field
   * missing or of the wrong type, a line that is not JSON) and were skipped.
   */
  get skipped(): Readonly<Skipped> {
    return this.#skipped;
  }

  /**
   * Whether the server follows end-to-end delivery (ids on a stream,
   * acknowledgements, `cid`): lines then stay pending until it answers them.
   */
  get delivers(): boolean {
    return this.#stream !== "";
  }

  /**
   * Whether the last welcome continued the stream of the one before, so
   * that what was said meanwhile was (or can be) replayed.
   */
  get continued(): boolean {
    return this.#continued;
  }

  /** A new client-chosen id (`cid`) for a line: this session's own, never used before. */
  nextCid(): string {
    return `${this.#cidPrefix}-${++this.#cids}`;
  }

  /** Whether messages can be sent right now. */
  get online(): boolean {
    return this.#registered && this.#link !== null && !this.#link.closed;
  }

  /**
   * Opens the connection: TCP, or TLS with its whole handshake, so that a
   * certificate problem shows here. Over TCP it then waits briefly for the
   * answer to its first line, which tells a TLS server from a chat server.
   *
   * @throws {ConnectError} with a reason such as "connection refused" or
   * {@link NOT_TRUSTED}.
   */
  async connect(): Promise<void> {
    this.#link?.close();
    this.#link = null;
    const { host, port, connectTimeoutMs, helloTimeoutMs, tls } = this.#options;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Deno.errors.TimedOut()), connectTimeoutMs);
    });
    const attempt: Promise<Deno.Conn> = tls
      ? Deno.connectTls({ hostname: host, port, ...(tls.caCerts ? { caCerts: tls.caCerts } : {}) })
      : Deno.connect({ hostname: host, port, transport: "tcp" });
    let conn: Deno.Conn | null = null;
    let handshaking = false;
    try {
      conn = await Promise.race([attempt, timeout]);
      if (tls) {
        handshaking = true;
        const handshake = (conn as Deno.TlsConn).handshake();
        // Closing the connection after a timeout fails the handshake too: not a crash.
        handshake.catch(() => {});
        await Promise.race([handshake, timeout]);
        handshaking = false;
      } else {
        try {
          (conn as Deno.TcpConn).setNoDelay(true);
        } catch {
          // Only a latency nicety.
        }
      }
    } catch (error) {
      // A connection that succeeds after we gave up is closed right away.
      if (conn) closeQuietly(conn);
      else attempt.then(closeQuietly, () => {});
      const reason = error instanceof Deno.errors.TimedOut && handshaking
        ? "timed out during the TLS handshake; if the server does not use TLS, try without --tls"
        : tls
        ? tlsReason(error, host, tls.caCerts !== undefined)
        : connectReason(error);
      throw new ConnectError(this.address, reason);
    } finally {
      clearTimeout(timer);
    }
    const link = new Link(conn, (problem) => {
      if (this.#skipped.count++ === 0) this.#skipped.first = problem;
    });
    this.#link = link;
    // The server picks the protocol from the first line: a ping claims JSON
    // at once, while the person may still be typing a name.
    link.send({ type: "ping" });
    if (tls) return;
    // A TLS server answers that line at once, with a line of text saying so
    // (this project's) or an alert: better said now than after the person
    // typed a name. A slow or quiet server is no error
    // here; `register` waits for it as long as it takes.
    const first = await link.peek(Math.min(FIRST_ANSWER_WAIT_MS, helloTimeoutMs));
    if (first === null && link.sawTls) await this.#plainOnTls();
    if (first === null && link.sawHttp) throw new ConnectError(this.address, webPortReason(port));
    // The pong was only a sign of life; anything else (a refusal) is for `register`.
    if (first?.type === "pong") await link.next();
  }

  /**
   * Asks to join as `name`, with `password` when given (front ends give it
   * once the server asked for it; reconnecting gives the one that got us
   * welcomed, as a restarted server asks again). A refusal with
   * `retry` (name taken or invalid, password needed or wrong) leaves the
   * connection open for another try; other refusals (too many failed
   * logins, a full room) close it. A connection that the server closed
   * meanwhile (a name prompt left for too long) is reopened once.
   *
   * @throws {ConnectError} when the server cannot be reached or does not answer.
   */
  async register(name: string, password?: string): Promise<Registration> {
    let busy = 0;
    for (let attempt = 0;; attempt++) {
      if (this.#closed) throw new ConnectError(this.address, "closed");
      if (!this.#link || this.#link.closed) await this.connect();
      const link = this.#link!;
      const resume = this.#resume && name === this.#name ? { resume: this.#resume } : {};
      // After a first welcome: what was said since the last id shown, please.
      if (this.#stream) this.#helloSince = this.#shownUpTo;
      link.send({
        type: "hello",
        version: PROTOCOL_VERSION,
        name,
        client: this.#options.client,
        ...resume,
        ...(password !== undefined ? { password } : {}),
        ...(this.#stream ? { since: this.#helloSince, stream: this.#stream } : {}),
        acks: true,
      });
      const answer = await this.#awaitAnswer(link);
      if (
        answer !== "closed" && !answer.ok && answer.code === ErrorCode.Busy && busy < BUSY_TRIES
      ) {
        // Many logins at once (a class, a restart): wait our turn and ask again.
        await this.#sleep(Math.round(BUSY_PAUSE_MS * 2 ** busy++ * (0.5 + Math.random())));
        attempt--;
        continue;
      }
      if (answer === "closed") {
        if (link.sawTls) await this.#plainOnTls();
        if (link.sawHttp) {
          throw new ConnectError(this.address, webPortReason(this.#options.port));
        }
        if (attempt === 0) continue;
        throw new ConnectError(this.address, "the server closed the connection");
      }
      if (answer.ok) {
        this.#onWelcome(answer.welcome);
        this.#login = password !== undefined ? { name: answer.welcome.name, password } : null;
        this.#startKeepalive();
      } else if (!answer.retry) {
        link.close();
      }
      return answer;
    }
  }

  /**
   * Fails the connection of a plain client to a TLS server, saying which
   * flag will do: `--tls`, or `--ca` for a certificate of the server's own.
   *
   * @throws {ConnectError} always.
   */
  async #plainOnTls(): Promise<never> {
    this.#link?.close();
    const { host, port, connectTimeoutMs } = this.#options;
    const advice = await plainOnTlsAdvice(host, port, Math.min(connectTimeoutMs, TLS_PROBE_MS));
    throw new ConnectError(this.address, advice);
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
          if (RETRY_CODES.has(event.code)) {
            return { ok: false, code: event.code, message: event.message, retry: true };
          }
          // Too many failed logins: the connection stays open, but trying
          // again now would only be refused again. Busy: register() retries.
          if (event.code === ErrorCode.Throttled || event.code === ErrorCode.Busy) {
            return { ok: false, code: event.code, message: event.message, retry: false };
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

  /**
   * Sends a line as the user typed it, in `room` when given (the room it
   * was typed in: its text and commands act there); false when offline
   * (nothing was sent).
   */
  input(text: string, room?: string): boolean {
    if (!this.online) return false;
    if (isQuitLine(text)) this.#sendAck();
    this.#link!.send({ type: "input", text, ...(room !== undefined ? { room } : {}) });
    return true;
  }

  /**
   * Enters `rooms` again, in order, after a server forgot them (a restart):
   * with the last hello's `since` when the stream went on, so that what was
   * said there meanwhile is replayed; false when offline. Until the server
   * has answered them, `since` and acks say no more than that hello did: the
   * other rooms' newer ids, shown meanwhile, are no sign that these rooms'
   * replays were.
   */
  rejoin(rooms: readonly string[]): boolean {
    if (!this.online) return false;
    if (rooms.length === 0) return true;
    this.#sendRejoins(rooms);
    if (this.#continued) this.#holdAt = this.#helloSince;
    return true;
  }

  /**
   * Whether `room` is still to be joined again (asked for and not answered,
   * or refused for a moment and to be asked for again): a line typed there
   * would be refused, so it waits; lines of other rooms need not.
   */
  awaitsRejoin(room: string): boolean {
    return this.#rejoining.has(room) || this.#rejoinLater.includes(room);
  }

  /**
   * Whether rooms are still being joined again after a reconnect: their
   * joins share the server's flood allowance with what is typed meanwhile.
   */
  get rejoinsUnderWay(): boolean {
    return this.#rejoining.size > 0 || this.#rejoinLater.length > 0 ||
      this.#rejoinTimer !== undefined;
  }

  /**
   * Asks for `room` no more: the person parted it, or joins it themselves
   * (their own `/join` then says what the server thinks of it).
   */
  forgetRejoin(room: string): void {
    this.#rejoining.delete(room);
    this.#rejoinLater = this.#rejoinLater.filter((other) => other !== room);
    this.#quietCurrent.delete(room);
  }

  // Joins `rooms` again (with `since` when the stream went on), and a ping whose pong comes after
  // their answers: frames are answered in order, replays included.
  #sendRejoins(rooms: readonly string[]): void {
    const link = this.#link!;
    const since = this.#continued ? { since: this.#helloSince } : {};
    for (const room of rooms) {
      this.#rejoining.add(room);
      this.#rejoinTries.set(room, (this.#rejoinTries.get(room) ?? 0) + 1);
      link.send({ type: "join", room, ...since });
    }
    this.#rejoinToken = `rejoin-${++this.#rejoins}`;
    link.send({ type: "ping", token: this.#rejoinToken });
  }

  /**
   * Whether `event` is a refusal of a room joined again that will be asked
   * for again after its `wait` (not for the front end, so that a person in
   * many rooms sees no line per refusal), or the `current` of a room asked
   * for again late. A refusal without `wait`, or one asked for too often,
   * goes to the front end: that room is not joined, and never asked for again.
   */
  #rejoinRefused(event: ChatEvent): boolean {
    if (event.type === "join" && event.name === this.#name) this.#rejoining.delete(event.room);
    if (event.type === "current") {
      // The answer to a join of a room we are in (the welcome's own) is `current` alone.
      this.#rejoining.delete(event.room);
      if (this.#quietCurrent.delete(event.room)) return true;
    }
    if (event.type !== "error" || event.room === undefined) return false;
    if (!this.#rejoining.has(event.room)) return false;
    // Refused: no `current` of it will come.
    this.#quietCurrent.delete(event.room);
    const tries = this.#rejoinTries.get(event.room) ?? 0;
    if (event.wait === undefined || tries >= REJOIN_TRIES || !this.#link) {
      this.#rejoining.delete(event.room);
      return false;
    }
    if (!this.#rejoinLater.includes(event.room)) this.#rejoinLater.push(event.room);
    this.#rejoinWait = event.wait;
    return true;
  }

  // The joins sent have all answered: the next refused one goes again after the server's wait,
  // alone (each would be refused at once again); false when none is left. The hold of acks
  // stays until then.
  #rejoinNext(): boolean {
    if (this.#rejoinLater.length === 0) return false;
    // A fresh wait for a refusal; none after a join taken (the next may be refused: then its own).
    const wait = this.#rejoinWait;
    this.#rejoinWait = 0;
    this.#rejoinTimer = setTimeout(() => {
      this.#rejoinTimer = undefined;
      if (!this.online) return;
      // Taken when it goes: the person may have parted or joined it meanwhile.
      const room = this.#rejoinLater.shift();
      if (room === undefined) {
        this.#rejoinToken = "";
        this.#release();
        return;
      }
      this.#quietCurrent.add(room);
      this.#sendRejoins([room]);
    }, wait);
    return true;
  }

  // Forgets the rejoins under way: a new welcome says anew which rooms we are in.
  #stopRejoins(): void {
    clearTimeout(this.#rejoinTimer);
    this.#rejoinTimer = undefined;
    this.#rejoining.clear();
    this.#rejoinLater = [];
    this.#rejoinWait = 0;
    this.#rejoinTries.clear();
    this.#quietCurrent.clear();
  }

  /**
   * The id up to which every `message` and `private` of our rooms was
   * shown: the highest one shown, unless a replay is still to end (the
   * hello's, or those of rooms joined again).
   */
  get #shownUpTo(): number {
    return this.#holdAt ?? this.#seen;
  }

  /** Whether `event` is the pong that ends the hold of {@link rejoin} (not for the front end). */
  #rejoined(event: ChatEvent): boolean {
    if (event.type !== "pong" || event.token === undefined || !event.token.startsWith("rejoin-")) {
      return false;
    }
    if (event.token === this.#rejoinToken && !this.#rejoinNext()) {
      this.#rejoinToken = "";
      this.#release();
    }
    return true;
  }

  /** Notes the end of the hello's replay (its last page): the hold ends, unless joins wait. */
  #replayed(event: ChatEvent): void {
    if (event.type !== "replay" || event.more || !this.#replaying) return;
    this.#replaying = false;
    if (this.#rejoinToken === "") this.#release();
  }

  // Nothing is still to come that the hold waited for: what was shown can be acknowledged.
  #release(): void {
    this.#holdAt = null;
    this.#ackSoon();
  }

  /**
   * Sends a line as the user typed it and resolves once the server has
   * answered it: a `ping` follows it, and frames are never reordered, so a
   * flood refusal for it comes before the `pong`. Only a flood refusal is
   * kept from {@link updates}, so that the caller can send the line again
   * (`wait` says when). One line at a time; {@link updates} must be read
   * meanwhile, as it is what reads the answer. With `cid`, a server that
   * follows delivery posts the line once however often it is sent. With
   * `room` (the room it was typed in), it acts there whatever the server's
   * current room is.
   */
  deliver(text: string, cid?: string, room?: string): Promise<Delivery> {
    if (!this.online || this.#delivery) return Promise.resolve({ kind: "offline" });
    const token = `line-${++this.#deliveries}`;
    this.#link!.send({
      type: "input",
      text,
      ...(room !== undefined ? { room } : {}),
      ...(cid !== undefined && this.delivers ? { cid } : {}),
    });
    this.#link!.send({ type: "ping", token });
    return new Promise((done) => this.#delivery = { token, flood: null, done });
  }

  /** Whether `event` answers the line being delivered (and is not for the front end). */
  #answers(event: ChatEvent): boolean {
    const delivery = this.#delivery;
    if (!delivery) return false;
    // An error naming its room answers a `join` frame (a room joined again), never a line.
    if (
      event.type === "error" && event.code === ErrorCode.Flood && event.room === undefined &&
      !delivery.flood
    ) {
      delivery.flood = event;
      return true;
    }
    if (event.type !== "pong" || event.token !== delivery.token) return false;
    this.#delivery = null;
    delivery.done(delivery.flood ? { kind: "flood", error: delivery.flood } : { kind: "answered" });
    return true;
  }

  /** Ends a delivery still waiting: the connection went before its answer. */
  #settleDelivery(): void {
    const delivery = this.#delivery;
    this.#delivery = null;
    delivery?.done({ kind: "offline" });
  }

  /** Asks the server to let us leave; {@link updates} ends with its `bye`. */
  quit(reason?: string): void {
    this.#quitting = true;
    if (this.online) {
      this.#sendAck();
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
    clearTimeout(this.#ackTimer);
    this.#stopRejoins();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#wake?.();
    this.#link?.close();
    this.#settleDelivery();
  }

  /**
   * What happens in the room after registration, until the end. With
   * `reconnect`, a dropped connection is re-established with backoff.
   */
  async *updates(reconnect: boolean): AsyncGenerator<ClientUpdate> {
    try {
      while (!this.#closed) {
        const link = this.#link;
        let event = link ? await link.next() : null;
        // The server's goodbye for a shutdown, when we wait for it to come back.
        let stopped: ByeEvent | null = null;
        if (event) {
          if (this.#answers(event) || this.#rejoined(event) || this.#rejoinRefused(event)) {
            continue;
          }
          const shown = this.#unseen(event);
          if (shown === null) continue;
          event = shown;
          this.#replayed(event);
          this.#track(event);
          if (event.type === "ping") {
            link!.send({
              type: "pong",
              ...(event.token !== undefined ? { token: event.token } : {}),
            });
          }
          yield { kind: "event", event };
          if (event.type !== "bye") continue;
          const waits = reconnect && event.code === "shutdown" && this.#options.restartWaitMs > 0;
          if (!waits || this.#quitting) {
            yield { kind: "end", bye: event, reason: event.reason };
            return;
          }
          stopped = event;
          link!.close();
        }
        this.#registered = false;
        this.#stopKeepalive();
        this.#settleDelivery();
        if (this.#quitting || this.#closed) {
          yield { kind: "end", bye: stopped, reason: stopped?.reason ?? "closed" };
          return;
        }
        const lost = "the connection was lost";
        if (!reconnect) {
          yield { kind: "end", bye: null, reason: lost };
          return;
        }
        const until = stopped ? Date.now() + this.#options.restartWaitMs : undefined;
        const back = yield* this.#comeBack(stopped?.reason ?? lost, until);
        if (back === null) {
          // Gave up on a stopped server: it ended on purpose, as its goodbye said.
          yield { kind: "end", bye: stopped, reason: stopped?.reason ?? lost };
          return;
        }
        if (back.type !== "welcome") {
          yield { kind: "end", bye: null, reason: back.message, code: back.code };
          return;
        }
        yield { kind: "back", welcome: back };
      }
    } finally {
      this.close();
    }
  }

  // Announces the loss, then reconnects with jittered exponential backoff
  // until welcomed, closed or past `until` (null), or refused for good (the
  // server's error).
  async *#comeBack(
    cause: string,
    until?: number,
  ): AsyncGenerator<ClientUpdate, WelcomeEvent | ErrorEvent | null> {
    const restarting = until !== undefined;
    let delay = restarting ? this.#options.restartPauseMs : this.#options.retryInitialMs;
    // Jitter spreads out a room full of clients after a server restart.
    const jitter = (ms: number) => Math.round(ms * (0.8 + Math.random() * 0.4));
    let pause = restarting ? Math.round(delay * (0.5 + Math.random())) : jitter(delay);
    yield {
      kind: "lost",
      reason: cause,
      nextAt: Date.now() + pause,
      ...(until !== undefined ? { until } : {}),
    };
    while (!this.#closed && !this.#quitting) {
      await this.#sleep(pause);
      if (this.#closed || this.#quitting) return null;
      let reason: string;
      let refused: boolean;
      try {
        const login = this.#login?.name === this.#name ? this.#login : null;
        const answer = await this.register(this.#name, login?.password);
        if (answer.ok) return answer.welcome;
        // Asking again would not help: the name is not allowed (any more), a
        // restarted server knows not our resume token and someone else has the
        // name, the password changed, the name became an account's, or too
        // many logins failed. Each says so, once.
        const final = loginRefusal(answer.code, answer.message, this.#name, login !== null) ??
          finalRefusal(answer.code, answer.message, restarting);
        if (final) {
          this.#link?.close();
          return final;
        }
        // Without a resume token that the server knows (it restarted), the old
        // connection may hold the name until the server notices it is gone.
        reason = answer.message;
        // A server still on its way down is not refusing us.
        refused = answer.code !== "shutdown";
      } catch (error) {
        reason = error instanceof ConnectError ? error.reason : errorMessage(error);
        refused = false;
      }
      delay = Math.min(delay * 2, this.#options.retryMaxMs);
      pause = jitter(delay);
      if (until !== undefined && Date.now() + pause > until) return null;
      yield { kind: "retrying", reason, delayMs: delay, refused, nextAt: Date.now() + pause };
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
    const stream = welcome.stream ?? "";
    this.#continued = stream !== "" && stream === this.#stream;
    if (!this.#continued) {
      // A new sequence (a first welcome, a server restarted without its store): its ids start anew.
      this.#stream = stream;
      this.#seen = welcome.last ?? 0;
      this.#shownIds.clear();
    }
    // The hello's replay comes next (the newest that fit, in pages, the last saying what was
    // left out): until its last page, `since` stays at the hello's. Earlier joins are over.
    this.#replaying = this.#continued;
    this.#holdAt = this.#continued ? this.#helloSince : null;
    this.#rejoinToken = "";
    this.#stopRejoins();
    // The hello's `since` said as much as an ack would.
    this.#acked = this.#continued ? this.#helloSince : this.#seen;
    this.#ackOwed = false;
    this.#name = welcome.name;
    this.#resume = welcome.resume ?? "";
    this.#users = [...welcome.users];
    this.#userCount = Math.max(welcome.count ?? 0, welcome.users.length);
    this.#room = welcome.room;
    this.#home ||= welcome.room;
    this.#roomUsers = new Map([[welcome.room, this.#users]]);
    for (const room of welcome.rooms ?? []) {
      if (room !== welcome.room) this.#roomUsers.set(room, []);
    }
    this.#registered = true;
  }

  /**
   * `event` without what this stream already showed (null: nothing left to
   * show), noting the ids shown for `since` and the next ack. A `sent` is the
   * client's business only.
   */
  #unseen(event: ChatEvent): ChatEvent | null {
    switch (event.type) {
      case "sent":
        return null;
      case "message":
      case "private":
        return this.#fresh(event.id) ? event : null;
      case "replay": {
        this.#owePrivates(event.messages);
        const messages = event.messages.filter((message) => this.#fresh(message.id));
        return messages.length === event.messages.length ? event : { ...event, messages };
      }
      case "missed":
        this.#owePrivates(event.messages);
        // Earlier messages, asked for: shown whether or not they were before.
        for (const message of event.messages) this.#fresh(message.id);
        return event;
      case "history":
        for (const message of event.messages) this.#fresh(message.id);
        return event;
      default:
        return event;
    }
  }

  // Notes `id` as shown; false when it already was on this stream.
  #fresh(id: number): boolean {
    if (!this.delivers) return true;
    if (this.#shownIds.has(id)) return false;
    this.#shownIds.add(id);
    if (this.#shownIds.size > SEEN_IDS_KEPT) {
      this.#shownIds.delete(this.#shownIds.values().next().value!);
    }
    if (id > this.#seen) {
      this.#seen = id;
      this.#ackSoon();
    }
    return true;
  }

  // Private messages among `messages` at or below the last ack wait for another (see #ackOwed).
  #owePrivates(messages: readonly ChatEvent[]): void {
    if (!this.delivers) return;
    if (messages.some((m) => m.type === "private" && m.id <= this.#acked)) {
      this.#ackOwed = true;
      this.#ackSoon();
    }
  }

  // Acknowledges at most once a second, however fast ids come.
  #ackSoon(): void {
    this.#ackTimer ??= setTimeout(() => {
      this.#ackTimer = undefined;
      this.#sendAck();
    }, ACK_INTERVAL_MS);
  }

  // Tells the server what was shown, if there is news for it: never past an
  // id not shown, so that it counts no private message delivered too early,
  // and keeps what a resume would need (its window) until then.
  #sendAck(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const id = this.#shownUpTo;
    if (!this.online || !this.delivers || id < this.#acked) return;
    if (id === this.#acked && !this.#ackOwed) return;
    this.#link!.send({ type: "ack", id });
    this.#acked = id;
    this.#ackOwed = false;
  }

  #track(event: ChatEvent): void {
    if (this.#trackRooms(event)) return;
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

  /**
   * Follows the rooms: the current one, and the members of the others
   * (whose events do not touch the current room's list); true when done.
   */
  #trackRooms(event: ChatEvent): boolean {
    if (event.type === "current") {
      if (this.#roomUsers.has(this.#room)) this.#roomUsers.set(this.#room, this.#users);
      this.#room = event.room;
      this.#users = this.#roomUsers.get(event.room) ?? [];
      this.#userCount = this.#users.length;
      return true;
    }
    if (event.type === "part") {
      const names = event.room === this.#room ? this.#users : this.#roomUsers.get(event.room) ?? [];
      const left = names.filter((n) => n !== event.name);
      if (event.name === this.#name) this.#roomUsers.delete(event.room);
      else this.#roomUsers.set(event.room, left);
      if (event.room === this.#room) {
        this.#users = left;
        this.#userCount = event.count;
      }
      return true;
    }
    if (event.type === "rename") {
      for (const [room, names] of this.#roomUsers) {
        this.#roomUsers.set(room, names.map((n) => n === event.from ? event.to : n));
      }
      return false;
    }
    if ((event.type === "join" || event.type === "users") && event.room !== this.#room) {
      const names = this.#roomUsers.get(event.room) ?? [];
      if (event.type === "users") this.#roomUsers.set(event.room, [...event.names]);
      else if (!names.includes(event.name)) this.#roomUsers.set(event.room, [...names, event.name]);
      return true;
    }
    if (event.type === "leave" && event.room !== this.#room) {
      const names = this.#roomUsers.get(event.room) ?? [];
      this.#roomUsers.set(event.room, names.filter((n) => n !== event.name));
      return true;
    }
    return false;
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

// Random letters that tell this session's cids from those of the sessions before it.
function randomPrefix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return [...bytes].map((byte) => byte.toString(36).padStart(2, "0")).join("");
}

/** A short reason for a failed connect, as a person would say it. */
export function connectReason(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.AddrNotAvailable) return "address not available";
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  const message = errorMessage(error);
  if (/lookup|not known|nodename|no such host|name resolution|getaddrinfo/i.test(message)) {
    return "unknown host";
  }
  if (/unreachable/i.test(message)) return "network unreachable";
  return message.replace(/\s*\(os error \d+\)$/, "").toLowerCase() || "unknown error";
}

/**
 * A short reason for a failed TLS handshake with `host`, saying what to do:
 * trust the certificate (or another one, when `withCa` says one was given),
 * use a name it is for, or drop `--tls`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tlsReason } from "./client.ts";
 * import { NOT_TRUSTED } from "./tls_advice.ts";
 * assert.equal(tlsReason(new Error("invalid peer certificate: UnknownIssuer"), "chat.lan"), NOT_TRUSTED);
 * ```
 */
export function tlsReason(error: unknown, host: string, withCa = false): string {
  const message = errorMessage(error);
  if (isUnknownIssuer(error)) return withCa ? NOT_THE_CA : NOT_TRUSTED;
  if (withCa && isBadSignature(error)) return NOT_THE_CA;
  // rustls: certificate not valid for name "1.2.3.4"; certificate is only
  // valid for DnsName("chat.lan"), IpAddress(10.0.0.1) or ...
  if (/not valid for name/i.test(message)) {
    const names = [...message.matchAll(/(?:DnsName|IpAddress)\("?([^")]*)"?\)/g)].map((m) => m[1]);
    const valid = names.length > 0 ? ` (it is for ${names.join(", ")})` : "";
    return `the server's certificate is not for ${host}${valid}; join by a name it is for, ` +
      "or make a certificate with that name ('chat cert')";
  }
  if (/expired/i.test(message)) {
    return "the server's certificate has expired; make a new one ('chat cert'), or check the clock";
  }
  if (/not valid yet/i.test(message)) {
    return "the server's certificate is not valid yet; check this computer's clock";
  }
  if (/invalid peer certificate/i.test(message)) {
    return `the server's certificate was rejected (${message.replace(/^.*?certificate:\s*/i, "")})`;
  }
  if (/unable to add pem|certificate store/i.test(message)) {
    return "the certificate to trust (--ca) is not a valid PEM certificate";
  }
  // A plain server answers the TLS hello with text, which is no TLS record.
  if (/InvalidContentType|corrupt message|wrong version number/i.test(message)) {
    return SERVER_NOT_TLS;
  }
  if (error instanceof Deno.errors.UnexpectedEof || /end of file|eof/i.test(message)) {
    return "the server closed the connection during the TLS handshake; " +
      "if it does not use TLS, try without --tls";
  }
  const alert = /received fatal alert: (\w+)/i.exec(message);
  if (alert) return `the server refused the TLS handshake (${alert[1]})`;
  return connectReason(error);
}
