/**
 * `chat serve` as a separate process, as a user or a service manager runs
 * it (its clients are _helpers.ts's JsonClient, given the port).
 *
 * @module
 */

import { type LineRead, readLines } from "../lib/io/line_reader.ts";
import { spawnChat } from "./_chat_command.ts";
import { streamReader, WAIT_MS, within } from "./_helpers.ts";

/** `chat serve` as a user starts it, with its console log readable line by line. */
export class ServeProcess {
  readonly child: Deno.ChildProcess;
  readonly log: string[] = [];
  #lines: AsyncGenerator<LineRead>;

  /** Starts `chat serve ARGS` (with the permissions the executables get). */
  constructor(args: string[]) {
    this.child = spawnChat(["serve", ...args]);
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
