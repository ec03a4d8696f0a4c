/**
 * `chat backup --data DIR FILE` as an operator runs it: against a live
 * server under load, restored as the README says and served again; and each
 * mistake as one line with its exit code.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { allHistory, JsonClient, until, withDir } from "./_helpers.ts";
import { runChat } from "./_chat_command.ts";
import { ServeProcess } from "./_serve_process.ts";
import { DATABASE_FILE, Store } from "../lib/store/sqlite_store.ts";

type Message = { id: number; text: string };

/** `chat serve` on a free loopback port with `--data path`, no flood limits. */
function serve(path: string): ServeProcess {
  return new ServeProcess([
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--data",
    path,
    "--flood-rate",
    "0",
  ]);
}

/** The README's restore steps (a new private directory, the copy as its chat.db), then served. */
async function restoreAndServe(file: string, restored: string): Promise<ServeProcess> {
  await Deno.mkdir(restored, { mode: 0o700 });
  await Deno.copyFile(file, join(restored, "chat.db"));
  return serve(restored);
}

Deno.test("chat backup copies a live server under load; the restored copy serves every message echoed before it began", async () => {
  await withDir(async (dir) => {
    const data = join(dir, "data");
    const file = join(dir, "小明's backup.db");
    const live = serve(data);
    const writer = await JsonClient.join(await live.port(), "writer");
    const echoed: Message[] = [];
    let sending = true;
    const load = (async () => {
      for (let i = 0; sending; i++) {
        await writer.send({ type: "say", text: `message ${i}` });
        const echo = await writer.next("message");
        echoed.push({ id: echo.id, text: echo.text });
      }
    })();
    await until(() => echoed.length >= 300, () => `300 echoes (${echoed.length} so far)`);
    const before = [...echoed];
    const backup = await runChat(["backup", "--data", data, file]);
    const during = echoed.length - before.length;
    sending = false;
    await load;
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /^backed up .* to .*小明's backup\.db \(\d+ KB in \d+\.\d s\)\n$/);
    assert.ok(during > 0, "the server went on while the backup ran");
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600, "private, as the data is");
    await writer.close();
    live.child.kill("SIGTERM");
    assert.equal((await live.finish()).code, 0);

    // The README's restore steps.
    const again = await restoreAndServe(file, join(dir, "restored"));
    const reader = await JsonClient.join(await again.port(), "reader");
    const stored = new Map((await allHistory(reader)).map((m) => [m.id, m.text]));
    const lost = before.filter((m) => stored.get(m.id) !== m.text);
    assert.deepEqual(lost, [], `${lost.length} of ${before.length} echoed messages missing`);
    await reader.close();
    again.child.kill("SIGTERM");
    assert.equal((await again.finish()).code, 0);
  });
});

Deno.test("chat backup says what is wrong in one line: no data, a file in the way, a missing argument", async () => {
  await withDir(async (dir) => {
    const empty = await runChat(["backup", "--data", join(dir, "none"), join(dir, "x.db")]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^chat: the data directory .*none does not exist; check --data\n$/);

    const data = join(dir, "data");
    const made = await runChat(["user", "add", "Ann", "--data", data], {
      env: { CHAT_PASSWORD: "long enough" },
    });
    assert.equal(made.code, 0, made.stderr);
    const taken = join(dir, "taken.db");
    await Deno.writeTextFile(taken, "keep me");
    const exists = await runChat(["backup", "--data", data, taken]);
    assert.equal(exists.code, 1);
    assert.equal(exists.stderr, `chat: ${taken} exists; remove it or name another file\n`);
    assert.equal(await Deno.readTextFile(taken), "keep me");

    // The README's example on a first run: its folder does not exist yet.
    const dated = join(dir, "backups", "chat-2026-12-06.db");
    const first = await runChat(["backup", "--data", data, dated]);
    assert.equal(first.code, 0, first.stderr);
    assert.ok((await Deno.stat(dated)).size > 0);

    const missing = await runChat(["backup", "--data", data]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^chat: name the file to write the copy to, e.g\. /);
    assert.match(missing.stderr, /Run 'chat backup --help' for usage\.\n$/);
  });
});

Deno.test("a restored copy counts ids on a stream of its own: a client that saw ids past the backup is replayed the restored history, not the tail of it", async () => {
  await withDir(async (dir) => {
    const data = join(dir, "data");
    const file = join(dir, "backup.db");
    const live = serve(data);
    const ann = await JsonClient.connect(await live.port());
    await ann.send({ type: "hello", version: 1, name: "Ann" });
    const { stream } = await ann.next("welcome");
    await ann.send({ type: "say", text: "in the backup" });
    await ann.next("message");
    assert.equal((await runChat(["backup", "--data", data, file])).code, 0);
    let last = 0;
    for (const text of ["lost 1", "lost 2", "lost 3"]) {
      await ann.send({ type: "say", text });
      last = (await ann.next("message")).id;
    }
    await ann.close();
    live.child.kill("SIGTERM");
    assert.equal((await live.finish()).code, 0);

    // The README's restore steps; then more is said there than was lost, before Ann is back.
    const again = await restoreAndServe(file, join(dir, "restored"));
    const port = await again.port();
    const bob = await JsonClient.join(port, "Bob");
    const said = ["new 1", "new 2", "new 3", "new 4"];
    let newest = 0;
    for (const text of said) {
      await bob.send({ type: "say", text });
      newest = (await bob.next("message")).id;
    }
    assert.ok(newest > last, `the restored server counted past ${last} (to ${newest})`);

    // Ann comes back with the last id she saw before the restore.
    const back = await JsonClient.connect(port);
    await back.send({ type: "hello", version: 1, name: "Ann", since: last, stream });
    const welcome = await back.next("welcome");
    assert.notEqual(welcome.stream, stream, "the restored copy names a stream of its own");
    const replay = await back.next("replay");
    assert.deepEqual(replay.gaps, ["lobby"], "what Ann saw is from another history");
    await back.send({ type: "history", count: 100 });
    const history = await back.next("history");
    assert.deepEqual(
      history.messages.map((m: { text: string }) => m.text),
      ["in the backup", ...said],
    );
    await Promise.all([bob.close(), back.close()]);
    again.child.kill("SIGTERM");
    assert.equal((await again.finish()).code, 0);
  });
});

Deno.test("a backup's copy gets a stream of its own at its first open, and keeps it from then on; the original keeps its own", async () => {
  await withDir(async (dir) => {
    const original = Store.open(join(dir, "data"));
    const ours = original.stream;
    const file = join(dir, "copy.db");
    try {
      await original.backup(file);
      const restored = join(dir, "restored");
      await Deno.mkdir(restored);
      await Deno.copyFile(file, join(restored, DATABASE_FILE));
      const first = Store.open(restored);
      const stream = first.stream;
      first.close();
      assert.notEqual(stream, original.stream);
      assert.match(stream, /^[0-9a-f]{32}$/);
      const second = Store.open(restored);
      assert.equal(second.stream, stream, "a restart keeps the stream");
      second.close();
    } finally {
      original.close();
    }
    const reopened = Store.open(join(dir, "data"));
    assert.equal(reopened.stream, ours, "the original is no copy");
    reopened.close();
  });
});
