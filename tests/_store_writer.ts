/**
 * A child process for tests/store_test.ts that uses a store as `chat serve`
 * will: it opens DIR exclusively, then either
 *
 * - `append`: stores messages (and every fifth a private message) as fast as
 *   it can, printing `ack ID TEXT` after each store call returns, which is
 *   when the server will send its echo; the test kills it with SIGKILL; or
 * - `hold`: prints `ready` and waits, holding the directory, to be killed.
 *
 * ```sh
 * deno run -RW tests/_store_writer.ts DIR append|hold
 * ```
 *
 * @module
 */

import { Store } from "../lib/store/sqlite_store.ts";

const [dir, mode] = Deno.args;
const store = Store.open(dir, { exclusive: true });
const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

if (mode === "hold") {
  say("ready");
  setInterval(() => {}, 60_000);
} else {
  for (let n = 1;; n++) {
    const text = `message ${n} ${"x".repeat(n % 50)}`;
    const id = n % 5 === 0
      ? store.appendPrivate({
        time: Date.now(),
        from: "writer",
        to: "Reader",
        text,
        delivered: false,
      })
      : store.appendMessage({ time: Date.now(), room: "lobby", from: "writer", text });
    say(`ack ${id} ${text}`);
  }
}
