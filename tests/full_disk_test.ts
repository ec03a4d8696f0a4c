/**
 * `chat serve --data` when the disk is full, made real with a file-size
 * limit (`prlimit`, from util-linux, on the running server): messages are
 * refused with `not_saved` and never shown, nothing crashes, the operator's
 * log says so once, and storing resumes by itself when there is room again.
 *
 * @module
 */

import assert from "node:assert/strict";
import { JsonClient, withDir } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";

/** Sets the file-size limit (soft; the hard one stays, so anyone may raise it back) of `pid`. */
async function limitFileSize(pid: number, bytes: number | "unlimited"): Promise<void> {
  const { code, stderr } = await new Deno.Command("prlimit", {
    args: ["--pid", String(pid), `--fsize=${bytes}:unlimited`],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

Deno.test("a full disk refuses messages with not_saved, tells the operator once, and storing resumes by itself", async () => {
  await withDir(async (dir) => {
    const server = new ServeProcess([
      ...["--host", "127.0.0.1", "--port", "0", "--data", dir, "--flood-rate", "0"],
    ]);
    const port = await server.port();
    const ann = await JsonClient.join(port, "Ann");
    const bo = await JsonClient.join(port, "Bo");
    await ann.send({ type: "say", text: "before" });
    assert.equal((await bo.next("message")).text, "before");

    // No file of the server may grow any more: the next commit cannot be written.
    // No write at all: a WAL that a checkpoint has copied is written again from its start,
    // so a limit at its size would not stop the next commit.
    await limitFileSize(server.child.pid, 0);
    const refused = 40;
    const text = "x".repeat(900);
    for (let i = 0; i < refused; i++) await ann.send({ type: "say", text: `${i} ${text}` });
    for (let i = 0; i < refused; i++) {
      const error = await ann.next("error");
      assert.equal(error.code, "not_saved");
    }
    await server.waitFor(
      /not saved: message from Ann in #lobby: cannot save to .*; free some disk space/,
    );

    await limitFileSize(server.child.pid, "unlimited");
    await ann.send({ type: "say", text: "after" });
    // Bo saw nothing of what was refused: the next message he gets is "after".
    assert.equal((await bo.next("message")).text, "after");
    assert.equal((await ann.next("message")).text, "after");
    await server.waitFor(new RegExp(`storing works again after ${refused} messages were refused`));
    assert.equal(server.log.filter((line) => line.includes("not saved:")).length, 1);
    // The checkpoint thread, which failed too, is still the one that checkpoints.
    assert.ok(!server.log.some((line) => line.includes("checkpoints run on the main thread")));

    await bo.send({ type: "history", count: 100 });
    const history = (await bo.next("history")).messages as { text: string }[];
    assert.deepEqual(history.map((m) => m.text), ["before", "after"]);

    await Promise.all([ann.close(), bo.close()]);
    server.child.kill("SIGTERM");
    assert.equal((await server.finish()).code, 0, server.log.join("\n"));
  });
});
