/**
 * The server's allowance of connections that have not registered yet is
 * shared fairly among addresses: a few addresses holding it all do not keep
 * a newcomer from another out, and whoever is turned away is told why.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type LineRead, readLines } from "../lib/io/line_reader.ts";
import { cleanUp, JsonClient, startServer, streamReader, WAIT_MS, within } from "./_helpers.ts";

/**
 * Opens `count` silent connections from each of the given loopback
 * addresses, taking turns; prints "connected N" once all are up, and
 * "closed ADDRESS TEXT" (TEXT in JSON) for each that the server closes,
 * with what it said. Ends, closing the rest, when its input ends. Node,
 * because Deno cannot connect from a chosen local address.
 */
const SILENT_CROWD = `
const net = require("node:net");
const [port, list, count] = process.argv.slice(1);
const sockets = [];
let connected = 0;
const total = list.split(",").length * Number(count);
for (let i = 0; i < Number(count); i++) {
  for (const localAddress of list.split(",")) {
    let text = "";
    const socket = net.connect({ host: "127.0.0.1", port: Number(port), localAddress }, () => {
      if (++connected === total) console.log("connected " + total);
    });
    sockets.push(socket);
    socket.setEncoding("utf8");
    socket.on("data", (data) => (text += data));
    socket.on("error", () => {});
    socket.on("end", () => {
      console.log("closed " + localAddress + " " + JSON.stringify(text));
      socket.destroy();
    });
  }
}
process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  for (const socket of sockets) socket.destroy();
});`;

/** The crowd as a child process, and its report line by line. */
class Crowd {
  readonly child: Deno.ChildProcess;
  /** Every connection is up. */
  connected = false;
  /** The connections the server closed, in order, with what it said to each. */
  readonly closed: { address: string; text: string }[] = [];
  #lines: AsyncGenerator<LineRead>;
  #seen: string[] = [];

  constructor(port: number, addresses: string[], count: number) {
    this.child = new Deno.Command("node", {
      args: ["-e", SILENT_CROWD, String(port), addresses.join(","), String(count)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#lines = readLines(streamReader(this.child.stdout));
  }

  /** Reads the report until `done` holds; fails after WAIT_MS. */
  async until(done: () => boolean, what: string): Promise<void> {
    const read = async () => {
      while (!done()) {
        const next = await this.#lines.next();
        if (next.done) throw new Error("the crowd ended");
        if (next.value.kind !== "line") continue;
        const line = next.value.text;
        this.#seen.push(line);
        if (line.startsWith("connected ")) this.connected = true;
        const closed = /^closed (\S+) (.*)$/.exec(line);
        if (closed) this.closed.push({ address: closed[1], text: JSON.parse(closed[2]) });
      }
    };
    await within(read(), () => `no ${what} in ${WAIT_MS} ms; got:\n${this.#seen.join("\n")}`);
  }

  /** Closes the connections still open and waits for the child to end. */
  async stop(): Promise<void> {
    await this.child.stdin.close();
    for await (const _ of this.#lines) { /* drain */ }
    await this.child.status;
  }
}

Deno.test("four addresses holding every unregistered place do not keep a fifth out", async () => {
  const log: string[] = [];
  // The places for unregistered connections: max(64, --max-users), 100 here.
  const server = startServer({ log: (line) => log.push(line) });
  const addresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
  const crowd = new Crowd(server.addr.port, addresses, 30);
  let newcomer: JsonClient | null = null;
  try {
    await crowd.until(() => crowd.connected, "connected line");
    // 120 silent connections, 100 places: 20 are turned away (or make room
    // for a newer one from an address with fewer), and each is told why.
    await crowd.until(() => crowd.closed.length >= 20, "20 connections closed");
    for (const { address, text } of crowd.closed) {
      assert.ok(addresses.includes(address));
      assert.match(text, /^Error: .*too many connections waiting to register/im);
    }
    assert.ok(
      log.some((line) => line.startsWith("shedding connections: 100 have")),
      log.join("\n"),
    );

    newcomer = await JsonClient.join(server, "Newcomer");
    assert.equal(newcomer.name, "Newcomer");
    // Its place was the oldest silent connection of an address holding the most.
    await crowd.until(() => crowd.closed.length >= 21, "a connection shed for the newcomer");
    const shed = crowd.closed[20];
    assert.match(shed.text, /Goodbye \(Closed to make room/);
  } finally {
    await crowd.stop();
    await cleanUp(server, ...(newcomer ? [newcomer] : []));
  }
});
