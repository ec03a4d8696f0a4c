import assert from "node:assert/strict";
import { readLines } from "../lib/io/line_reader.ts";
import { chatCommand, ROOT } from "./_chat_command.ts";
import { JsonClient, streamReader, within } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";
import { screenShows, shellLine, startTerminal, stopTerminal } from "./_tmux.ts";

Deno.test("chat serve logs the conversation and stops cleanly on SIGINT", async () => {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0", "--motd", "Hello class"]);
  const port = Number(
    (await server.waitFor(/listening on 127\.0\.0\.1:(\d+) \(at most 100 users\)/))[1],
  );
  await server.waitFor(/^Join with: chat join 127\.0\.0\.1:\d+ {3}\(or: nc 127\.0\.0\.1 \d+\)$/);

  const alice = await JsonClient.connect(port);
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
  assert.equal(await alice.closed(), true, "the server closed the connection");
  await alice.close();
  const { code, stderr } = await server.finish();
  assert.equal(code, 0, stderr);
  assert.match(server.log.join("\n"), /\] stopped$/);
});

// A service manager's stop or Ctrl+\\ must not reset users' connections.
for (const signal of ["SIGTERM", "SIGQUIT"] as const) {
  Deno.test(`chat serve shuts down cleanly on ${signal}: users get bye, the exit code is 0`, async () => {
    const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0"]);
    const port = await server.port();
    const alice = await JsonClient.connect(port);
    try {
      await alice.send({ type: "hello", version: 1, name: "Alice" });
      assert.equal((await alice.next()).type, "welcome");
      server.child.kill(signal);
      assert.deepEqual(await alice.next(), {
        type: "bye",
        code: "shutdown",
        reason: "The server is shutting down",
      });
      assert.equal(await alice.closed(), true, "the server closed the connection");
    } finally {
      await alice.close();
      const { code, signal: killedBy, stderr } = await server.finish();
      assert.deepEqual({ code, killedBy }, { code: 0, killedBy: null }, stderr);
    }
    assert.ok(server.log.some((line) => line.endsWith(`] shutting down (${signal})`)), signal);
    assert.match(server.log.at(-1) ?? "", /\] stopped$/);
  });
}

Deno.test("chat serve in a terminal shuts down cleanly on SIGHUP (its terminal closed)", async () => {
  const socket = `chat-serve-hup-${crypto.randomUUID()}`;
  let alice: JsonClient | undefined;
  try {
    // The inner shell shows its pid and becomes the server (exec), in the foreground of the
    // terminal; the outer one stays to show the exit status (tmux's #{pane_dead_status} is
    // sometimes never filled in).
    const serve = shellLine(chatCommand(["serve", "--host", "127.0.0.1", "--port", "0"]));
    const command = `sh -c ${shellLine([`echo "[pid $$]"; exec ${serve}`])}; ` +
      `echo "[exit $?]"; sleep 60`;
    await startTerminal(socket, command, { cwd: ROOT.pathname, env: { NO_COLOR: "1" } });
    const port = Number((await screenShows(socket, /listening on 127\.0\.0\.1:(\d+)/))[1]);
    const pid = Number((await screenShows(socket, /^\[pid (\d+)\]$/m))[1]);
    alice = await JsonClient.connect(port);
    await alice.send({ type: "hello", version: 1, name: "Alice" });
    assert.equal((await alice.next()).type, "welcome");

    Deno.kill(pid, "SIGHUP");
    assert.deepEqual(await alice.next(), {
      type: "bye",
      code: "shutdown",
      reason: "The server is shutting down",
    });
    assert.equal(await alice.closed(), true, "the server closed the connection");
    const screen = (await screenShows(socket, /^\[exit (\d+)\]$/m)).input;
    assert.match(screen, /^\[exit 0\]$/m);
    assert.match(screen, /\] shutting down \(SIGHUP\)$[\s\S]*\] stopped$/m);
  } finally {
    await alice?.close();
    await stopTerminal(socket);
  }
});

Deno.test("chat serve under nohup (SIGHUP ignored, no terminal) keeps serving after SIGHUP", async () => {
  // As `nohup chat serve &` leaves it: SIGHUP ignored, stdin not a terminal.
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `trap '' HUP; exec ${
        shellLine(chatCommand(["serve", "--host", "127.0.0.1", "--port", "0"]))
      }`,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = readLines(streamReader(child.stdout));
  const log: string[] = [];
  const waitFor = (pattern: RegExp) =>
    within(
      (async () => {
        while (true) {
          const next = await lines.next();
          if (next.done) throw new Error(`log ended before ${pattern}:\n${log.join("\n")}`);
          log.push(next.value.kind === "line" ? next.value.text : "");
          const match = pattern.exec(log.at(-1)!);
          if (match) return match;
        }
      })(),
      () => `no log line matching ${pattern}:\n${log.join("\n")}`,
    );
  let terminated = false;
  try {
    const alice = await JsonClient.connect(Number((await waitFor(/listening on [^ ]+:(\d+)/))[1]));
    try {
      await alice.send({ type: "hello", version: 1, name: "Alice" });
      assert.equal((await alice.next()).type, "welcome");
      child.kill("SIGHUP");
      await alice.send({ type: "say", text: "still here?" });
      const echo = await alice.next();
      assert.deepEqual(
        { type: echo.type, from: echo.from, text: echo.text },
        { type: "message", from: "Alice", text: "still here?" },
      );
      await waitFor(/\] <Alice> still here\?$/);
      child.kill("SIGTERM");
      terminated = true;
      assert.equal((await alice.next()).code, "shutdown");
    } finally {
      await alice.close();
    }
  } finally {
    if (!terminated) child.kill("SIGKILL");
    const rest = async () => {
      for await (const read of lines) log.push(read.kind === "line" ? read.text : "");
      return { stderr: await new Response(child.stderr).text(), ...await child.status };
    };
    const { code, signal, stderr } = await within(rest(), () => "the server did not exit");
    if (terminated) assert.deepEqual({ code, signal }, { code: 0, signal: null }, stderr);
  }
  assert.ok(!log.some((line) => line.includes("SIGHUP")), log.join("\n"));
  assert.ok(log.some((line) => line.endsWith("] shutting down (SIGTERM)")), log.join("\n"));
});

Deno.test("chat serve on a port in use says so in one line and exits 1", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", String(taken.addr.port)]);
  const { code, stderr } = await server.finish();
  taken.close();
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `chat: cannot listen on 127.0.0.1:${taken.addr.port} (address already in use); ` +
      "is a chat server already running? --port PORT picks another\n",
  );
});

Deno.test("chat serve brackets an IPv6 address in its log, and logs its stop in one line", async () => {
  const server = new ServeProcess(["--host", "::1", "--port", "0"]);
  await server.waitFor(/\] chat \S+ listening on \[::1\]:\d+ \(at most 100 users\)$/);
  await server.waitFor(/\] web page on \[::1\]:\d+$/);
  server.child.kill("SIGTERM");
  const { code, stderr } = await server.finish();
  assert.equal(code, 0, stderr);
  const stops = server.log.filter((line) => line.includes("shutting down"));
  assert.deepEqual(stops.map((line) => line.replace(/^\[[\d:]+\] /, "")), [
    "shutting down (SIGTERM)",
  ]);
});

for (
  const [auth, effect] of [
    ["required", "nobody can log in"],
    ["names", "every name is free to take, none is protected"],
  ]
) {
  Deno.test(`chat serve --auth ${auth} warns at start when there is no account`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const server = new ServeProcess(
        ["--host", "127.0.0.1", "--port", "0", "--no-web", "--data", dir, "--auth", auth],
      );
      await server.waitFor(
        new RegExp(
          `\\] warning: --auth ${auth} and no accounts in .+: ${effect} until ` +
            `'chat user add NAME --data .+' makes one$`,
        ),
      );
      server.child.kill("SIGTERM");
      const { code, stderr } = await server.finish();
      assert.equal(code, 0, stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
