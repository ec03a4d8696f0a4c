/**
 * `chat join` end to end, not in a terminal: real processes with pipes for
 * stdin and stdout, talking to a real server over TCP.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readLines } from "../lib/io/line_reader.ts";
import { makeCertificate } from "../lib/auth/certs.ts";
import { closedPort, runJoin, spawnJoin, startServer } from "./chat_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";
import { JsonClient, streamReader, tempStore, until, withDir, within } from "./_helpers.ts";

const ESC = "\x1b";

/**
 * Ends a `chat join` process a failed test left running (a passing one has
 * exited already) and waits for it, so that no hung client outlives the test.
 */
async function stopJoin(
  process: Deno.ChildProcess,
  stdin: WritableStreamDefaultWriter<Uint8Array>,
  exited: Promise<Deno.CommandOutput>,
): Promise<void> {
  await stdin.close().catch(() => {});
  try {
    process.kill();
  } catch {
    // It has exited.
  }
  await exited;
}

/** Asserts that stderr is the one line expected, with no stack trace. */
function assertOneLine(stderr: string, expected: string): void {
  assert.equal(stderr, expected + "\n");
}

Deno.test("a piped client sends each line, prints plain lines, and leaves at the end of input", async () => {
  const server = startServer();
  const bob = await JsonClient.join(server.addr.port, "Bob");
  try {
    const result = await runJoin(
      [`127.0.0.1:${server.addr.port}`, "--name", "bot"],
      "hello everyone\n@Bob psst\n/me beeps\n",
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.ok(!result.stdout.includes(ESC), "no escape codes in a pipe");
    assert.match(result.stdout, /^\d\d:\d\d Welcome, bot! You are in #lobby with Bob\.$/m);
    assert.match(result.stdout, /^\d\d:\d\d bot: hello everyone$/m);
    assert.match(result.stdout, /^\d\d:\d\d \(private to Bob\) psst$/m);
    assert.match(result.stdout, /^\d\d:\d\d \* bot beeps$/m);
    await bob.waitFor((e) =>
      e.type === "message" && e.from === "bot" && e.text === "hello everyone"
    );
    await bob.waitFor((e) => e.type === "private" && e.text === "psst");
    await bob.waitFor((e) => e.type === "leave" && e.name === "bot");
  } finally {
    await bob.close();
    await server.shutdown();
  }
});

Deno.test("a piped client prints what others say while its input is still open", async () => {
  const server = startServer();
  const bob = await JsonClient.join(server.addr.port, "Bob");
  const process = spawnJoin([`127.0.0.1:${server.addr.port}`, "--name", "bot"]);
  const writer = process.stdin.getWriter();
  try {
    await bob.waitFor((e) => e.type === "join" && e.name === "bot");
    await bob.type("hi bot, \x1b[31mred\x1b[0m?");
    const stdout = streamReader(process.stdout);
    const lines = readLines(stdout);
    let seen = "";
    for await (const read of lines) {
      if (read.kind !== "line") continue;
      if (read.text.includes("Bob:")) {
        seen = read.text;
        break;
      }
    }
    assert.match(seen, /^\d\d:\d\d Bob: hi bot, red\?$/);
    await writer.close();
    const status = await process.status;
    assert.equal(status.code, 0);
    await stdout.cancel();
  } finally {
    await writer.close().catch(() => {});
    await process.stderr.cancel();
    await process.status;
    await bob.close();
    await server.shutdown();
  }
});

Deno.test("a taken name is an error on stderr with exit code 4, not a prompt", async () => {
  const server = startServer();
  const bob = await JsonClient.join(server.addr.port, "Bob");
  try {
    const address = `127.0.0.1:${server.addr.port}`;
    const result = await runJoin([address, "--name", "bob"], "hello\n");
    assert.equal(result.code, 4);
    assertOneLine(result.stderr, `chat: cannot join ${address}: the name bob is taken`);
    assert.equal(result.stdout, "");
  } finally {
    await bob.close();
    await server.shutdown();
  }
});

Deno.test("a full server is an error with exit code 4", async () => {
  const server = startServer({ maxUsers: 1 });
  const bob = await JsonClient.join(server.addr.port, "Bob");
  try {
    const address = `127.0.0.1:${server.addr.port}`;
    const result = await runJoin([address, "--name", "bot"]);
    assert.equal(result.code, 4);
    assertOneLine(
      result.stderr,
      `chat: cannot join ${address}: the room is full (1 user); try again later`,
    );
  } finally {
    await bob.close();
    await server.shutdown();
  }
});

Deno.test("an invalid name is an error with exit code 4 that says why", async () => {
  const server = startServer();
  try {
    const result = await runJoin([`127.0.0.1:${server.addr.port}`, "--name", "two words"]);
    assert.equal(result.code, 4);
    assert.match(result.stderr, /^chat: cannot join .*: a name cannot contain spaces\n$/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a refused connection is one clear line with exit code 3", async () => {
  const port = closedPort();
  const result = await runJoin([`127.0.0.1:${port}`, "--name", "bot"]);
  assert.equal(result.code, 3);
  assertOneLine(result.stderr, `chat: cannot connect to 127.0.0.1:${port} (connection refused)`);
});

Deno.test("an unknown host is one clear line with exit code 3", async () => {
  const result = await runJoin(["no-such-host.invalid", "--name", "bot"]);
  assert.equal(result.code, 3);
  assertOneLine(result.stderr, "chat: cannot connect to no-such-host.invalid:7777 (unknown host)");
});

Deno.test("the web page's port given to chat join by mistake is one line that names the chat port, exit 3", async () => {
  const tls = await makeCertificate({ names: ["127.0.0.1"] });
  const plain = startServer({ webPort: 0 });
  const secure = startServer({ webPort: 0, tls });
  try {
    await withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/chat-cert.pem`, tls.cert);
      for (
        const [server, flags] of [[plain, []], [secure, ["--ca", `${dir}/chat-cert.pem`]]] as const
      ) {
        const web = server.webAddr!.port;
        const result = await runJoin([`127.0.0.1:${web}`, "--name", "bot", ...flags]);
        assert.equal(result.code, 3, result.stderr);
        // Plain, the web server answers the client's first ping; over TLS, its hello.
        const when = flags.length === 0 ? "connect to" : "join";
        assertOneLine(
          result.stderr,
          `chat: cannot ${when} 127.0.0.1:${web} (that port serves web pages, not the chat: ` +
            `a chat server's web page is on its chat port + 1 by default, so try port ${web - 1})`,
        );
      }
    });
  } finally {
    await plain.shutdown();
    await secure.shutdown();
  }
});

/** Reads what a client sends until its hello, answering pings as a server does. */
async function untilHello(conn: Deno.Conn): Promise<void> {
  for await (const read of readLines(conn)) {
    if (read.kind !== "line") continue;
    if (read.text.includes('"hello"')) break;
    if (read.text.includes('"ping"')) {
      await conn.write(new TextEncoder().encode('{"type":"pong"}\n'));
    }
  }
}

Deno.test("a protocol version mismatch is one clear line with exit code 4", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    const message = "Protocol version 1 is not supported; this server speaks 2";
    await untilHello(conn);
    await conn.write(new TextEncoder().encode(
      JSON.stringify({ type: "error", code: "version_unsupported", message }) + "\n" +
        JSON.stringify({ type: "bye", code: "version", reason: message }) + "\n",
    ));
    conn.close();
  })();
  try {
    const address = `127.0.0.1:${listener.addr.port}`;
    const result = await runJoin([address, "--name", "bot"]);
    assert.equal(result.code, 4);
    assertOneLine(
      result.stderr,
      `chat: cannot join ${address}: protocol version 1 is not supported; this server speaks 2`,
    );
  } finally {
    await serving;
    listener.close();
  }
});

Deno.test("a piped client whose connection drops says so and exits 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    await untilHello(conn);
    const welcome = {
      type: "welcome",
      version: 1,
      name: "bot",
      room: "lobby",
      users: ["bot"],
      count: 1,
      server: "fake",
      resume: "token",
    };
    await conn.write(new TextEncoder().encode(JSON.stringify(welcome) + "\n"));
    conn.close();
  })();
  const process = spawnJoin([`127.0.0.1:${listener.addr.port}`, "--name", "bot"]);
  try {
    // Input stays open: the client must notice the drop by itself.
    const output = await process.output();
    assert.equal(output.code, 1);
    assertOneLine(
      new TextDecoder().decode(output.stderr),
      `chat: lost the connection to 127.0.0.1:${listener.addr.port}`,
    );
  } finally {
    await process.stdin.close().catch(() => {});
    await serving;
    listener.close();
  }
});

Deno.test("when the server shuts down, a piped client says so and exits 0", async () => {
  const server = startServer();
  const process = spawnJoin([`127.0.0.1:${server.addr.port}`, "--name", "bot"]);
  const writer = process.stdin.getWriter();
  const exited = process.output();
  try {
    await until(() => server.hub.userCount >= 1, "the piped client to join the room");
    await server.shutdown();
    const output = await within(exited, () => "the piped client did not exit after the shutdown");
    assert.equal(output.code, 0);
    assert.match(new TextDecoder().decode(output.stdout), /\*\*\* The server is shutting down\n$/);
  } finally {
    await stopJoin(process, writer, exited);
    await server.shutdown();
  }
});

Deno.test("a piped client kicked by the operator says why and exits 1", async () => {
  const server = startServer();
  const process = spawnJoin([`127.0.0.1:${server.addr.port}`, "--name", "bot"]);
  const writer = process.stdin.getWriter();
  const exited = process.output();
  try {
    await until(() => server.hub.userCount >= 1, "the piped client to join the room");
    assert.ok(server.hub.kick("bot", "spamming"));
    const output = await within(exited, () => "the piped client did not exit after the kick");
    assert.equal(output.code, 1);
    assertOneLine(
      new TextDecoder().decode(output.stderr),
      `chat: disconnected by the operator: spamming (127.0.0.1:${server.addr.port})`,
    );
  } finally {
    await stopJoin(process, writer, exited);
    await server.shutdown();
  }
});

Deno.test("a file piped into chat join arrives whole and in order, at the pace of the server's --flood-burst", async () => {
  // 40 lines against a burst of 3 and 20 per second: sent at once, 37 would be refused.
  const server = new ServeProcess(
    ["--host", "127.0.0.1", "--port", "0", "--no-web", "--flood-burst", "3", "--flood-rate", "20"],
  );
  const port = await server.port();
  const bob = await JsonClient.join(port, "Bob");
  try {
    const sent = Array.from({ length: 40 }, (_, i) => `flood ${i + 1}`);
    const result = await runJoin(
      [`127.0.0.1:${port}`, "--name", "flooder"],
      sent.join("\n") + "\n",
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.deepEqual([...result.stdout.matchAll(/flooder: (flood \d+)$/gm)].map((m) => m[1]), sent);
    const seen: string[] = [];
    await bob.waitFor((e) => {
      if (e.type === "message" && e.from === "flooder") seen.push(String(e.text));
      return e.type === "leave" && e.name === "flooder";
    });
    assert.deepEqual(seen, sent);
  } finally {
    await bob.close();
    server.child.kill("SIGTERM");
    await server.finish();
  }
});

Deno.test("without a name and without a terminal, the client explains and exits 2", async () => {
  const result = await runJoin(["127.0.0.1:1"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^chat: --name is needed when input or output is not a terminal/);
});

Deno.test("CHAT_HOST, CHAT_PORT and CHAT_NAME stand in for the flags", async () => {
  const server = startServer();
  try {
    const result = await runJoin([], "hi\n", {
      CHAT_HOST: "127.0.0.1",
      CHAT_PORT: String(server.addr.port),
      CHAT_NAME: "envbot",
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /envbot: hi/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a server that shuts down before welcoming the client is a clean exit 0", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    await untilHello(conn);
    const bye = { type: "bye", code: "shutdown", reason: "The server is shutting down" };
    await conn.write(new TextEncoder().encode(JSON.stringify(bye) + "\n"));
    conn.close();
  })();
  try {
    const address = `127.0.0.1:${listener.addr.port}`;
    const result = await runJoin([address, "--name", "bot"]);
    assert.equal(result.code, 0);
    assertOneLine(result.stderr, `chat: ${address} is shutting down`);
  } finally {
    await serving;
    listener.close();
  }
});

/** A server with the account Bob ("correct horse"); stop() shuts it and its store down. */
async function accountServer() {
  const data = await tempStore({ Bob: "correct horse" });
  const server = startServer({ store: data.store, auth: "names" });
  return {
    address: `127.0.0.1:${server.addr.port}`,
    async stop() {
      await server.shutdown();
      await data.dispose();
    },
  };
}

Deno.test("a piped client gives CHAT_PASSWORD when the server asks for it, and never shows it", async () => {
  const { address, stop } = await accountServer();
  try {
    const result = await runJoin([address, "--name", "Bob"], "hi\n", {
      CHAT_PASSWORD: "correct horse",
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\d\d:\d\d Logged in as Bob\. You are in #lobby/m);
    assert.match(result.stdout, /^\d\d:\d\d Bob: hi$/m);
    assert.ok(!(result.stdout + result.stderr).includes("correct horse"));
  } finally {
    await stop();
  }
});

Deno.test("a piped client without CHAT_PASSWORD for an account's name exits 4, saying how to give it", async () => {
  const { address, stop } = await accountServer();
  try {
    const result = await runJoin([address, "--name", "Bob"], "hi\n", { CHAT_PASSWORD: "" });
    assert.equal(result.code, 4);
    assertOneLine(
      result.stderr,
      `chat: cannot join ${address}: the name Bob belongs to an account; ` +
        "set CHAT_PASSWORD to its password",
    );
    assert.equal(result.stdout, "");
  } finally {
    await stop();
  }
});

Deno.test("a wrong CHAT_PASSWORD is one clear line with exit code 4", async () => {
  const { address, stop } = await accountServer();
  try {
    const result = await runJoin([address, "--name", "Bob"], "hi\n", {
      CHAT_PASSWORD: "wrong horse",
    });
    assert.equal(result.code, 4);
    assertOneLine(result.stderr, `chat: cannot join ${address}: wrong password for Bob`);
    assert.ok(!result.stdout.includes("wrong horse"));
  } finally {
    await stop();
  }
});

const CERT = await makeCertificate({ names: ["localhost", "127.0.0.1"] });

/** Runs `body` with a temporary folder holding chat-cert.pem (CERT) and chat-key.pem. */
function withCertFiles(body: (dir: string) => Promise<void>): Promise<void> {
  return withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/chat-cert.pem`, CERT.cert);
    await Deno.writeTextFile(`${dir}/chat-key.pem`, CERT.key);
    await body(dir);
  });
}

Deno.test("--ca FILE joins a TLS server whose certificate it holds", async () => {
  const server = startServer({ tls: { cert: CERT.cert, key: CERT.key } });
  try {
    await withCertFiles(async (dir) => {
      const address = `127.0.0.1:${server.addr.port}`;
      const result = await runJoin(
        [address, "--name", "bot", "--ca", `${dir}/chat-cert.pem`],
        "over TLS\n",
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^\d\d:\d\d bot: over TLS$/m);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("TLS mistakes are one clear line each, naming --ca for a certificate from chat cert, with exit code 3", async () => {
  const tlsServer = startServer({ tls: { cert: CERT.cert, key: CERT.key } });
  const plainServer = startServer();
  const other = await makeCertificate({ names: ["127.0.0.1"] });
  try {
    await withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/other-cert.pem`, other.cert);
      const tls = `127.0.0.1:${tlsServer.addr.port}`;
      const plain = `127.0.0.1:${plainServer.addr.port}`;
      const giveCa = "join with --ca chat-cert.pem, a copy of the server's certificate " +
        "from whoever runs it";
      const cases: [string[], string][] = [
        // A certificate from chat cert: --tls alone would fail next.
        [
          [tls],
          `chat: cannot connect to ${tls} (the server uses TLS with a certificate of its own; ${giveCa})`,
        ],
        [
          [tls, "--tls"],
          `chat: cannot connect to ${tls} (the server's certificate is not from an authority ` +
          `this computer trusts (one from 'chat cert' is not); ${giveCa})`,
        ],
        [
          [tls, "--ca", `${dir}/other-cert.pem`],
          `chat: cannot connect to ${tls} (the server's certificate is not the one given with --ca; ` +
          "get a copy of the server's own (chat-cert.pem) from whoever runs it)",
        ],
        [
          [plain, "--tls"],
          `chat: cannot connect to ${plain} (the server does not use TLS; try without --tls)`,
        ],
      ];
      for (const [args, expected] of cases) {
        const result = await runJoin([...args, "--name", "bot"], "", { CHAT_CA: "" });
        assert.equal(result.code, 3, args.join(" "));
        assertOneLine(result.stderr, expected);
      }
    });
  } finally {
    await tlsServer.shutdown();
    await plainServer.shutdown();
  }
});

Deno.test("a --ca file that cannot be used is one clear line with exit code 1", async () => {
  await withCertFiles(async (dir) => {
    const port = closedPort();
    const cases: [string, string][] = [
      [`${dir}/missing.pem`, "no such file"],
      [dir, "a directory"],
      [
        `${dir}/chat-key.pem`,
        "a private key, not a certificate: give the certificate ('chat cert' wrote both)",
      ],
    ];
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a certificate\n");
    cases.push([`${dir}/notes.txt`, "not a PEM certificate"]);
    await Deno.writeTextFile(
      `${dir}/damaged.pem`,
      CERT.cert.replace(/\n[A-Za-z0-9+/]{8}/, "\n%%%%%%%%"),
    );
    cases.push([`${dir}/damaged.pem`, "a damaged PEM certificate"]);
    for (const [path, problem] of cases) {
      const result = await runJoin([`127.0.0.1:${port}`, "--name", "bot", "--ca", path]);
      assert.equal(result.code, 1, path);
      assertOneLine(result.stderr, `chat: cannot read --ca ${path} (${problem})`);
    }
  });
});
