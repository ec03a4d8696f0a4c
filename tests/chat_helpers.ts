/**
 * Shared pieces of the end-to-end tests of `chat join`: a real server on a
 * free port, a scripted second user speaking the JSON protocol, and the
 * client run as a real process.
 *
 * @module
 */

export { startServer } from "./_helpers.ts";
import type { ChatEvent } from "../lib/core/events.ts";
import { readLines } from "../lib/io/line_reader.ts";
import { encodeFrame } from "../lib/protocol/json.ts";

/** The repository root, where main.ts is. */
export const ROOT = new URL("..", import.meta.url).pathname;

/** A port nothing listens on (it was free a moment ago). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** A second user, scripted by the test over the JSON protocol. */
export class RawUser {
  readonly events: ChatEvent[] = [];
  #conn: Deno.TcpConn;
  #reading: Promise<void>;
  #waiters = new Set<() => void>();

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#reading = this.#read();
  }

  /** Connects and registers as `name`; resolves once welcomed. */
  static async join(port: number, name: string): Promise<RawUser> {
    const user = new RawUser(await Deno.connect({ hostname: "127.0.0.1", port }));
    user.send({ type: "hello", version: 1, name });
    await user.waitFor((e) => e.type === "welcome");
    return user;
  }

  async #read(): Promise<void> {
    for await (const read of readLines(this.#conn)) {
      if (read.kind === "line") this.events.push(JSON.parse(read.text));
      for (const wake of this.#waiters) wake();
    }
  }

  /** Sends a client frame. */
  send(frame: Parameters<typeof encodeFrame>[0]): void {
    void this.#conn.write(encodeFrame(frame));
  }

  /** Says `text` to the room (as if typed). */
  say(text: string): void {
    this.send({ type: "input", text });
  }

  /** Resolves with the first event (seen so far or later) matching `match`; fails after `ms`. */
  waitFor(match: (event: ChatEvent) => boolean, ms = 10_000): Promise<ChatEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.find(match);
        if (!found) return false;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(found);
        return true;
      };
      const wake = () => void check();
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`no matching event in ${ms} ms; got ${JSON.stringify(this.events)}`));
      }, ms);
      if (!check()) this.#waiters.add(wake);
    });
  }

  /** Closes the connection and waits for the reader to end. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // Closed by the server already.
    }
    await this.#reading;
  }
}

/** What a finished `chat join` process did. */
export interface JoinResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `chat join ARGS` as a real process with `input` on stdin. */
export async function runJoin(
  args: string[],
  input = "",
  env: Record<string, string> = {},
): Promise<JoinResult> {
  const process = spawnJoin(args, env);
  const writer = process.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input)).catch(() => {});
  await writer.close().catch(() => {});
  const output = await process.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Starts `chat join ARGS` with piped stdin, stdout and stderr. */
export function spawnJoin(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "main.ts", "join", ...args],
    cwd: ROOT,
    env: {
      ...{ NO_COLOR: "", CHAT_HOST: "", CHAT_PORT: "", CHAT_NAME: "" },
      ...{ CHAT_PASSWORD: "", CHAT_CA: "" },
      ...env,
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}
