/**
 * `chat serve` as a separate process, as a user or a service manager runs
 * it, and a bare JSON client for it.
 *
 * @module
 */

import { type LineRead, readLines } from "../lib/io/line_reader.ts";
import { chatCommand } from "./_chat_command.ts";
import { streamReader, WAIT_MS, within } from "./_helpers.ts";

/** `chat serve` as a user starts it, with its console log readable line by line. */
export class ServeProcess {
  readonly child: Deno.ChildProcess;
  readonly log: string[] = [];
  #lines: AsyncGenerator<LineRead>;

  /** Starts `chat serve ARGS` (with the permissions the executables get). */
  constructor(args: string[]) {
    const [program, ...rest] = chatCommand(["serve", ...args]);
    this.child = new Deno.Command(program, {
      args: rest,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    // As under a service manager: no console, and end of input must not stop the server.
    this.child.stdin.close();
    this.#lines = readLines(streamReader(this.child.stdout));
  }

  /** Reads the log until a line matches; fails after WAIT_MS. */
  async waitFor(pattern: RegExp): Promise<RegExpExecArray> {
    const search = async () => {
      while (true) {
        const next = await this.#lines.next();
        if (next.done) throw new Error(`log ended before ${pattern}:\n${this.log.join("\n")}`);
        const text = next.value.kind === "line" ? next.value.text : "";
        this.log.push(text);
        const match = pattern.exec(text);
        if (match) return match;
      }
    };
    return await within(
      search(),
      () => `no log line matching ${pattern} in ${WAIT_MS} ms:\n${this.log.join("\n")}`,
    );
  }

  /** Waits for the "listening" line and returns the port. */
  async port(): Promise<number> {
    return Number((await this.waitFor(/listening on [^ ]+:(\d+)/))[1]);
  }

  /** Reads the rest of stdout and stderr and waits for the exit. */
  async finish(): Promise<{ code: number; signal: Deno.Signal | null; stderr: string }> {
    const rest = async () => {
      for await (const read of this.#lines) this.log.push(read.kind === "line" ? read.text : "");
      const stderr = await new Response(this.child.stderr).text();
      const { code, signal } = await this.child.status;
      return { code, signal, stderr };
    };
    return await within(rest(), () => `the server did not exit:\n${this.log.join("\n")}`);
  }
}

/** A frame from the server, loosely typed for assertions. */
export type Frame = { type: string; [field: string]: unknown };

/** A bare JSON-lines client of a server on this machine. */
export async function connect(port: number): Promise<{
  conn: Deno.TcpConn;
  send: (frame: object) => Promise<number>;
  next: () => Promise<Frame>;
  /** Resolves when the server has closed the connection, sending nothing more. */
  closed: () => Promise<boolean>;
}> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines = readLines(conn, 1 << 24);
  const send = (frame: object) =>
    conn.write(new TextEncoder().encode(JSON.stringify(frame) + "\n"));
  const next = async (): Promise<Frame> => {
    const read = await within(lines.next(), () => "no frame from the server");
    if (read.done) throw new Error("the server closed the connection");
    if (read.value.kind !== "line") throw new Error(`unreadable line: ${read.value.kind}`);
    return JSON.parse(read.value.text);
  };
  const closed = async () =>
    (await within(lines.next(), () => "the server did not close")).done === true;
  return { conn, send, next, closed };
}
