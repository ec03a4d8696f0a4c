/**
 * A stand-in chat server for client tests: it speaks just enough of the JSON
 * protocol (pong, and a scripted answer to each `hello`), over TCP or TLS,
 * and records what the client sent, so a test can check a password went
 * only where it should.
 *
 * @module
 */

import type { ChatEvent, WelcomeEvent } from "../lib/core/events.ts";
import { readLines } from "../lib/io/line_reader.ts";
import { encodeEvent } from "../lib/protocol/json.ts";

/** A `hello` as the fake server received it. */
export interface Hello {
  type: "hello";
  name: string;
  password?: string;
  resume?: string;
}

/**
 * What the fake server answers to the `index`-th hello (from 0, across
 * connections): events, or strings sent as they are, one line each (for
 * frames no real server would send).
 */
export type Script = (hello: Hello, index: number) => (ChatEvent | string)[];

/** A welcome for `name`, optionally logged in to an account. */
export function welcome(name: string, account = false): WelcomeEvent {
  return {
    type: "welcome",
    version: 1,
    name,
    room: "lobby",
    users: [name],
    count: 1,
    server: "fake",
    resume: `token-${name}`,
    ...(account ? { account: true as const } : {}),
  };
}

/** A chat server whose answers to `hello` a test scripts. */
export class FakeServer {
  /** Every hello received, in order. */
  readonly hellos: Hello[] = [];
  /** Every frame received, in order. */
  readonly frames: { type: string; [field: string]: unknown }[] = [];
  /** What to answer to an `input` frame; null echoes it as a message from the last hello's name. */
  onInput: ((text: string) => (ChatEvent | string)[]) | null = null;
  /** Whether a `ping` is answered: false leaves the client waiting, as a link that froze does. */
  answersPings = true;
  #listener: Deno.Listener;
  #conns = new Set<Deno.Conn>();
  #tasks = new Set<Promise<void>>();
  #accepting: Promise<void>;
  #script: Script;
  #waiters = new Set<() => void>();

  /** Listens on a free loopback port; with `tls`, serves TLS with that certificate and key. */
  constructor(script: Script, tls?: { cert: string; key: string }) {
    this.#script = script;
    const address = { hostname: "127.0.0.1", port: 0 };
    this.#listener = tls ? Deno.listenTls({ ...address, ...tls }) : Deno.listen(address);
    this.#accepting = this.#accept();
  }

  /** The port listened on. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Connections accepted and still open. */
  get connections(): number {
    return this.#conns.size;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        const task = this.#serve(conn).finally(() => {
          this.#conns.delete(conn);
          this.#tasks.delete(task);
          this.#wake();
        });
        this.#tasks.add(task);
      }
    } catch {
      // The listener was closed.
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const send = async (event: ChatEvent | string) => {
      try {
        const bytes = typeof event === "string"
          ? new TextEncoder().encode(event + "\n")
          : encodeEvent(event);
        for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
      } catch {
        // The client left.
      }
    };
    // A failed TLS handshake ends the lines at once (readLines swallows the error).
    for await (const read of readLines(conn)) {
      if (read.kind !== "line") continue;
      const frame = JSON.parse(read.text);
      this.frames.push(frame);
      if (frame.type === "ping" && this.answersPings) {
        await send({ type: "pong", token: frame.token });
      }
      if (frame.type === "hello") {
        this.hellos.push(frame);
        for (const event of this.#script(frame, this.hellos.length - 1)) await send(event);
      }
      if (frame.type === "input" && this.onInput) {
        for (const event of this.onInput(frame.text)) await send(event);
      } else if (frame.type === "input") {
        await send({
          type: "message",
          id: this.frames.length,
          time: Date.now(),
          room: "lobby",
          from: this.hellos.at(-1)?.name ?? "?",
          text: frame.text,
        });
      }
      if (frame.type === "quit") {
        await send({ type: "bye", code: "quit", reason: "quit" });
        break;
      }
      this.#wake();
    }
    try {
      conn.close();
    } catch {
      // Closed by dropAll.
    }
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Resolves once `test` holds (checked after each frame and each closed connection). */
  until(test: () => boolean, ms = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!test()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`condition never held; frames: ${JSON.stringify(this.frames)}`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  /** Closes every open connection, as a network failure or a restart would. */
  dropAll(): void {
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  /** Stops listening, closes every connection and waits for the tasks to end. */
  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    this.dropAll();
    await Promise.all(this.#tasks);
  }
}
