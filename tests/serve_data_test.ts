/**
 * `chat serve --data`, `--auth` and `--tls-*` run as a user runs them (real
 * processes, the executables' permission set): what survives a `kill -9`,
 * and each mistake with the files as one line and exit code 1.
 *
 * @module
 */

import assert from "node:assert/strict";
import { makeCertificate } from "../lib/auth/certs.ts";
import { hashPassword } from "../lib/auth/passwords.ts";
import { Store } from "../lib/store/sqlite_store.ts";
import { allHistory, JsonClient, withDir } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";

type Message = { id: number; text: string };

const CHEAP = { ln: 10, r: 8, p: 1 };

Deno.test("kill -9 of chat serve --data loses no acknowledged message, and ids never go back", async () => {
  await withDir(async (dir) => {
    const args = ["--host", "127.0.0.1", "--port", "0", "--data", dir, "--flood-rate", "0"];
    const first = new ServeProcess(args);
    const writer = await JsonClient.connect(await first.port());
    await writer.send({ type: "hello", version: 1, name: "writer" });
    assert.equal((await writer.next()).type, "welcome");

    // A window of messages in flight, as a busy client keeps them; the
    // server's echo of each is its acknowledgement. The server is stopped the
    // moment the 300th echo arrives, with the others still in flight, and
    // killed once a few more are sent (so some are in flight however fast it
    // was): an echo sent before its message is on disk would be lost.
    const window = 8;
    let sent = 0;
    const send = () => writer.send({ type: "say", text: `message ${sent++}` });
    for (let i = 0; i < window; i++) await send();
    const acknowledged: Message[] = [];
    while (acknowledged.length < 300) {
      const frame = await writer.next("message");
      acknowledged.push({ id: frame.id as number, text: frame.text as string });
      if (acknowledged.length < 300) await send();
    }
    first.child.kill("SIGSTOP");
    for (let i = 0; i < window; i++) await send();
    first.child.kill("SIGKILL");
    // Echoes already on their way count as acknowledged too.
    try {
      while (true) {
        const frame = await writer.next();
        if (frame.type === "message") {
          acknowledged.push({ id: frame.id as number, text: frame.text as string });
        }
      }
    } catch {
      // The connection ended with the server.
    }
    await writer.close();
    assert.equal((await first.finish()).signal, "SIGKILL");
    assert.ok(acknowledged.length < sent, "the server died with messages in flight");

    const second = new ServeProcess(args);
    const reader = await JsonClient.connect(await second.port());
    await reader.send({ type: "hello", version: 1, name: "reader" });
    assert.equal((await reader.next()).type, "welcome");
    const stored = await allHistory(reader);
    const byId = new Map(stored.map((m) => [m.id, m.text]));
    const lost = acknowledged.filter((m) => byId.get(m.id) !== m.text);
    assert.deepEqual(
      lost,
      [],
      `${lost.length} of ${acknowledged.length} acknowledged messages lost`,
    );
    // Stored in order, with no id twice.
    const ids = stored.map((m) => m.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(new Set(ids).size, ids.length);

    await reader.send({ type: "say", text: "after the crash" });
    const after = await reader.next("message");
    assert.ok((after.id as number) > Math.max(...ids), "a new message gets a new id");

    second.child.kill("SIGTERM");
    await reader.close();
    assert.equal((await second.finish()).code, 0);
  });
});

Deno.test("a private message to an account that is away survives a kill -9 and is shown at login", async () => {
  await withDir(async (dir) => {
    const store = Store.open(dir);
    store.addUser("Bob", await hashPassword("bob's password", CHEAP), Date.now());
    store.close();
    const args = ["--host", "127.0.0.1", "--port", "0", "--data", dir, "--auth", "names"];
    const first = new ServeProcess(args);
    const alice = await JsonClient.connect(await first.port());
    await alice.send({ type: "hello", version: 1, name: "Alice" });
    assert.equal((await alice.next()).type, "welcome");
    await alice.send({ type: "msg", to: "bob", text: "see you at 5" });
    const receipt = await alice.next("private");
    assert.equal(receipt.to, "Bob");
    assert.equal(receipt.offline, true);
    first.child.kill("SIGKILL");
    await first.finish();
    await alice.close();

    const second = new ServeProcess(args);
    const port = await second.port();
    const bob = await JsonClient.connect(port);
    await bob.send({ type: "hello", version: 1, name: "bob", password: "bob's password" });
    const welcome = await bob.next("welcome");
    assert.equal(welcome.account, true);
    const missed = await bob.next("missed");
    const messages = missed.messages;
    assert.deepEqual(messages.map((m) => [m.from, m.to, m.text]), [[
      "Alice",
      "Bob",
      "see you at 5",
    ]]);
    await bob.close();

    // Shown once: the next login has nothing waiting.
    const again = await JsonClient.connect(port);
    await again.send({ type: "hello", version: 1, name: "Bob", password: "bob's password" });
    await again.next("welcome");
    await again.send({ type: "who" });
    assert.equal((await again.next()).type, "users", "no missed messages the second time");
    await again.close();
    second.child.kill("SIGTERM");
    assert.equal((await second.finish()).code, 0);
  });
});

Deno.test("chat serve --data refuses a file that is not a database, and a directory in use, in one line", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/notes`);
    await Deno.writeTextFile(`${dir}/notes/chat.db`, "my shopping list\n".repeat(100));
    const bad = new ServeProcess(["--port", "0", "--data", `${dir}/notes`]);
    const refused = await bad.finish();
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `chat: ${dir}/notes/chat.db is not a chat database (file is not a database); ` +
        "move it away or use another --data\n",
    );
    assert.equal(await Deno.readTextFile(`${dir}/notes/chat.db`), "my shopping list\n".repeat(100));

    const holder = new ServeProcess(["--host", "127.0.0.1", "--port", "0", "--data", `${dir}/d`]);
    await holder.port();
    const second = new ServeProcess(["--host", "127.0.0.1", "--port", "0", "--data", `${dir}/d`]);
    const busy = await second.finish();
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /^chat: [^\n]*another chat server[^\n]*\n$/);
    holder.child.kill("SIGINT");
    assert.equal((await holder.finish()).code, 0);
  });
});

Deno.test("chat serve --tls-* says what is wrong with the files in one line", async () => {
  await withDir(async (dir) => {
    const one = await makeCertificate({ names: ["localhost"] });
    const two = await makeCertificate({ names: ["localhost"] });
    await Deno.writeTextFile(`${dir}/cert.pem`, one.cert);
    await Deno.writeTextFile(`${dir}/key.pem`, one.key);
    await Deno.writeTextFile(`${dir}/other-key.pem`, two.key);
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a certificate\n");
    const cases: [string, string, string][] = [
      [
        `${dir}/missing.pem`,
        `${dir}/key.pem`,
        `cannot read --tls-cert ${dir}/missing.pem (no such file)`,
      ],
      [
        `${dir}/cert.pem`,
        `${dir}/missing.pem`,
        `cannot read --tls-key ${dir}/missing.pem (no such file)`,
      ],
      [
        `${dir}/notes.txt`,
        `${dir}/key.pem`,
        `--tls-cert ${dir}/notes.txt holds no PEM certificate ('chat cert' makes one)`,
      ],
      [
        `${dir}/cert.pem`,
        `${dir}/notes.txt`,
        `--tls-key ${dir}/notes.txt holds no PEM private key`,
      ],
      [
        `${dir}/cert.pem`,
        `${dir}/other-key.pem`,
        `--tls-key ${dir}/other-key.pem is not the private key of --tls-cert ${dir}/cert.pem`,
      ],
    ];
    for (const [cert, key, message] of cases) {
      const server = new ServeProcess(["--port", "0", "--tls-cert", cert, "--tls-key", key]);
      const { code, stderr } = await server.finish();
      assert.deepEqual({ code, stderr }, { code: 1, stderr: `chat: ${message}\n` });
    }
  });
});

Deno.test("chat serve warns when accounts are on without TLS, and tells TLS clients to bring the certificate", async () => {
  await withDir(async (dir) => {
    const plain = new ServeProcess([
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--data",
      dir,
      "--auth",
      "names",
    ]);
    await plain.waitFor(/listening on 127\.0\.0\.1:\d+ \(at most 100 users\)$/);
    await plain.waitFor(
      /warning: --auth names without TLS: passwords cross the network as plain text/,
    );
    plain.child.kill("SIGINT");
    assert.equal((await plain.finish()).code, 0);

    const made = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
    await Deno.writeTextFile(`${dir}/cert.pem`, made.cert);
    await Deno.writeTextFile(`${dir}/key.pem`, made.key);
    const tls = new ServeProcess([
      ...["--host", "127.0.0.1", "--port", "0", "--data", dir, "--auth", "required"],
      ...["--tls-cert", `${dir}/cert.pem`, "--tls-key", `${dir}/key.pem`],
    ]);
    await tls.waitFor(/listening on 127\.0\.0\.1:\d+ with TLS \(at most 100 users\)$/);
    await tls.waitFor(/^Join with: chat join 127\.0\.0\.1:\d+ --ca chat-cert\.pem$/);
    tls.child.kill("SIGINT");
    const { code } = await tls.finish();
    assert.equal(code, 0);
    // (It still warns that nobody has an account yet: that is not about TLS.)
    assert.ok(!tls.log.some((line) => line.includes("without TLS")), tls.log.join("\n"));
  });
});
