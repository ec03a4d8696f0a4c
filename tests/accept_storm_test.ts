/**
 * Connections that their peers reset before the server accepts them: each
 * such failed accept belongs to one connection, not to the listener, so the
 * accept loop takes the next at once instead of pausing, and the next person
 * gets in.
 *
 * @module
 */

import assert from "node:assert/strict";
import { JsonClient } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";

/**
 * Opens `count` connections to `port` and resets each (SO_LINGER 0, then
 * close) as soon as it is up. Node, because Deno cannot reset a connection.
 */
const RESET_STORM = `
const net = require("node:net");
const [port, count] = process.argv.slice(1).map(Number);
let left = count;
for (let i = 0; i < count; i++) {
  const socket = net.connect({ host: "127.0.0.1", port }, () => socket.resetAndDestroy());
  socket.on("error", () => {});
  socket.on("close", () => {
    if (--left === 0) console.log("reset " + count);
  });
}`;

Deno.test("connections reset before they are accepted do not hold up the next join", async () => {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0"]);
  const port = await server.port();
  let late: JsonClient | null = null;
  try {
    // Stopped, the server accepts nothing: the kernel completes each
    // connection into the listener's queue, where the reset finds it.
    server.child.kill("SIGSTOP");
    const storm = await new Deno.Command("node", {
      args: ["-e", RESET_STORM, String(port), "50"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    server.child.kill("SIGCONT");
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    assert.equal(decode(storm.stdout).trim(), "reset 50", decode(storm.stderr));

    late = await JsonClient.join(port, "Late");
    assert.equal(late.name, "Late");
    // Said in the log, and not as a failure of the listener that pauses accepting.
    await server.waitFor(
      /accept: \d+ connections? reset by (its peer|their peers) before (it was|they were) accepted \(/,
    );
  } finally {
    await late?.close();
    server.child.kill("SIGCONT");
    server.child.kill("SIGTERM");
  }
  const { code } = await server.finish();
  assert.equal(code, 0);
  assert.deepEqual(server.log.filter((line) => /accept failed|retrying/.test(line)), []);
});
