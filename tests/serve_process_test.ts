import assert from "node:assert/strict";
import { type LineRead, readLines } from "../lib/line_reader.ts";
import { streamReader, WAIT_MS, within } from "./_helpers.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** `chat serve` as a user starts it, with its console log readable line by line. */
class ServeProcess {
  readonly child: Deno.ChildProcess;
  readonly log: string[] = [];
  #lines: AsyncGenerator<LineRead>;

  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", "--allow-sys", MAIN, "serve", ...args],
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

  /** Reads the rest of stdout and stderr and waits for the exit. */
  async finish(): Promise<{ code: number; stderr: string }> {
    const rest = async () => {
      for await (const read of this.#lines) this.log.push(read.kind === "line" ? read.text : "");
      const stderr = await new Response(this.child.stderr).text();
      const { code } = await this.child.status;
      return { code, stderr };
    };
    return await within(rest(), () => `the server did not exit:\n${this.log.join("\n")}`);
  }
}

async function connect(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines = readLines(conn);
  const send = (frame: object) =>
    conn.write(new TextEncoder().encode(JSON.stringify(frame) + "\n"));
  const next = async () => {
    const read = await within(lines.next(), () => "no frame from the server");
    return read.done || read.value.kind !== "line" ? null : JSON.parse(read.value.text);
  };
  return { conn, send, next };
}

Deno.test("chat serve logs the conversation and stops cleanly on SIGINT", async () => {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0", "--motd", "Hello class"]);
  const port = Number(
    (await server.waitFor(/listening on 127\.0\.0\.1:(\d+) \(at most 100 users\)/))[1],
  );
  await server.waitFor(/^Join with: chat join 127\.0\.0\.1:\d+ {3}\(or: nc 127\.0\.0\.1 \d+\)$/);

  const alice = await connect(port);
  await alice.send({ type: "hello", version: 1, name: "Alice" });
  const welcome = await alice.next();
  assert.equal(welcome.type, "welcome");
  assert.equal(welcome.motd, "Hello class");
  await server.waitFor(/^\[\d\d:\d\d:\d\d\] join Alice from 127\.0\.0\.1:\d+ \(1 user\)$/);
  await alice.send({ type: "say", text: "hi" });
  assert.equal((await alice.next()).text, "hi");
  await server.waitFor(/^\[\d\d:\d\d:\d\d\] <Alice> hi$/);

  server.child.kill("SIGINT");
  assert.deepEqual(await alice.next(), {
    type: "bye",
    code: "shutdown",
    reason: "The server is shutting down",
  });
  assert.equal(await alice.next(), null, "the server closed the connection");
  alice.conn.close();
  const { code, stderr } = await server.finish();
  assert.equal(code, 0, stderr);
  assert.match(server.log.join("\n"), /\] stopped$/);
});

Deno.test("chat serve exits on SIGTERM too", async () => {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0"]);
  await server.waitFor(/listening on/);
  server.child.kill("SIGTERM");
  const { code } = await server.finish();
  assert.equal(code, 0);
});

Deno.test("chat serve on a port in use says so in one line and exits 1", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", String(taken.addr.port)]);
  const { code, stderr } = await server.finish();
  taken.close();
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `chat: cannot listen on 127.0.0.1:${taken.addr.port} (address already in use)\n`,
  );
});
