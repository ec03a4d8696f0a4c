/**
 * `make install` as someone with a source checkout runs it: the `chat` launcher
 * it writes works from any folder without deno on PATH, and `make uninstall`
 * removes it (and nothing that is not ours).
 *
 * @module
 */

import assert from "node:assert/strict";
import { readLines } from "../lib/io/line_reader.ts";
import { startServer, streamReader, within } from "./_helpers.ts";
import { ROOT } from "./_chat_command.ts";

const text = new TextDecoder();

/** The Deno version the Makefile pins, installed under .tools/ when deno is not on PATH. */
const DENO_VERSION = /^DENO_VERSION\s*:=\s*(\S+)/m.exec(
  await Deno.readTextFile(new URL("Makefile", ROOT)),
)![1];

/** A PATH with the shell and coreutils but no deno, as on a machine with only make and Node. */
const BARE_PATH = "/usr/bin:/bin";

/** What a finished command printed. */
interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `program args` in `cwd` (the checkout by default) to the end; fails after WAIT_MS. */
async function run(
  program: string,
  args: string[],
  options: { cwd?: string | URL; env?: Record<string, string> } = {},
): Promise<Ran> {
  const output = new Deno.Command(program, {
    args,
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const { code, stdout, stderr } = await within(output, () => `${program} ${args.join(" ")} hung`);
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** Runs `make TARGET PREFIX=prefix` in the checkout. */
function make(target: string, prefix: string): Promise<Ran> {
  return run("make", ["-s", target, `PREFIX=${prefix}`]);
}

Deno.test("make install writes a chat command that serves and joins from anywhere without deno on PATH", async () => {
  const prefix = await Deno.makeTempDir({ prefix: "chat-bin-" });
  const elsewhere = await Deno.makeTempDir({ prefix: "chat-cwd-" });
  const env = { PATH: `${prefix}:${BARE_PATH}` };
  try {
    const noDeno = await run("sh", ["-c", "command -v deno"], { env });
    assert.notEqual(noDeno.code, 0, `the test's PATH must not have deno: ${noDeno.stdout}`);

    const installed = await make("install", prefix);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, new RegExp(`^installed ${prefix}/chat `, "m"));
    assert.match(installed.stderr, new RegExp(`warning: ${prefix} is not on your PATH`));

    const version = await run("sh", ["-c", "chat --version"], { cwd: elsewhere, env });
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^chat \d+\.\d+\.\d+/);

    const server = new Deno.Command(`${prefix}/chat`, {
      args: ["serve", "--host", "127.0.0.1", "--port", "0"],
      cwd: elsewhere,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const log: string[] = [];
    const stdout = streamReader(server.stdout);
    const lines = readLines(stdout);
    try {
      // The command the server tells people to run, run as they would run it.
      const waitForJoinLine = async () => {
        for await (const read of lines) {
          const line = read.kind === "line" ? read.text : "";
          log.push(line);
          const match = /^Join with: (chat join 127\.0\.0\.1:\d+)/.exec(line);
          if (match) return match[1];
        }
        throw new Error(`chat serve ended:\n${log.join("\n")}`);
      };
      const join = await within(waitForJoinLine(), () => `no join line:\n${log.join("\n")}`);
      const joined = await run("sh", ["-c", `printf 'hi\\n' | ${join} --name Alice`], {
        cwd: elsewhere,
        env,
      });
      assert.equal(joined.code, 0, joined.stderr);
      assert.equal(joined.stderr, "");
      assert.match(joined.stdout, /^\d\d:\d\d Welcome, Alice! You are in #lobby/m);
      assert.match(joined.stdout, /^\d\d:\d\d Alice: hi$/m);
    } finally {
      server.kill("SIGINT");
      await stdout.cancel();
      await server.stderr.cancel();
      await within(server.status, () => "chat serve did not stop on SIGINT");
    }

    const removed = await make("uninstall", prefix);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `removed ${prefix}/chat\n`);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(prefix)), []);
  } finally {
    await Deno.remove(prefix, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("make install and make uninstall leave a chat that is not theirs alone", async () => {
  const prefix = await Deno.makeTempDir({ prefix: "chat-bin-" });
  const theirs = "#!/bin/sh\necho another chat\n";
  await Deno.writeTextFile(`${prefix}/chat`, theirs);
  try {
    const installed = await make("install", prefix);
    assert.notEqual(installed.code, 0);
    assert.match(installed.stderr, /chat exists and is not a launcher of make install/);
    const removed = await make("uninstall", prefix);
    assert.notEqual(removed.code, 0);
    assert.match(removed.stderr, /chat is not a launcher of make install; left it alone/);
    assert.equal(await Deno.readTextFile(`${prefix}/chat`), theirs);
  } finally {
    await Deno.remove(prefix, { recursive: true });
  }
});

Deno.test("make join passes ARGS through to chat join, next to HOST and PORT", async () => {
  const server = startServer();
  try {
    const joined = await run("sh", [
      "-c",
      `printf 'hi\\n' | make -s join HOST=127.0.0.1 PORT=${server.addr.port} ARGS="--name Bob"`,
    ]);
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, /^\d\d:\d\d Welcome, Bob! You are in #lobby/m);
    assert.match(joined.stdout, /^\d\d:\d\d Bob: hi$/m);
  } finally {
    await server.shutdown();
  }
});

Deno.test("make serve passes ARGS through to chat serve, next to HOST and PORT", async () => {
  // A dry run (-n): make prints the command it would run, without starting a server.
  const dry = await run("make", ["-n", "serve", "PORT=8000", "ARGS=--history 20 --motd hi"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /main\.ts serve +--port 8000 --history 20 --motd hi$/m);
});

Deno.test("make install works with spaces in PREFIX and in the checkout's path", async () => {
  const root = await Deno.makeTempDir({ prefix: "chat-make-" });
  const checkout = `${root}/my chat`;
  const prefix = `${root}/bin dir`;
  const env = { PATH: BARE_PATH };
  try {
    // A checkout in a folder with a space, with the pinned Deno where make looks for it.
    await Deno.mkdir(`${checkout}/.tools/deno-${DENO_VERSION}/node_modules/deno`, {
      recursive: true,
    });
    await Deno.symlink(
      Deno.execPath(),
      `${checkout}/.tools/deno-${DENO_VERSION}/node_modules/deno/deno`,
    );
    const copied = await run("cp", ["-R", "Makefile", "main.ts", "deno.json", "lib", checkout]);
    assert.equal(copied.code, 0, copied.stderr);

    const installed = await run("make", ["-s", "install", `PREFIX=${prefix}`], {
      cwd: checkout,
      env,
    });
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(
      installed.stdout,
      new RegExp(`^installed ${prefix}/chat \\(runs ${checkout}/main`, "m"),
    );
    const version = await run(`${prefix}/chat`, ["--version"], { cwd: root, env });
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^chat \d+\.\d+\.\d+/);

    // A relative PREFIX is relative to the checkout.
    const relative = await run("make", ["-s", "install", "PREFIX=rel bin"], { cwd: checkout, env });
    assert.equal(relative.code, 0, relative.stderr);
    assert.match(relative.stdout, new RegExp(`^installed ${checkout}/rel bin/chat `, "m"));

    for (const [dir, where] of [[prefix, prefix], ["rel bin", `${checkout}/rel bin`]]) {
      const removed = await run("make", ["-s", "uninstall", `PREFIX=${dir}`], {
        cwd: checkout,
        env,
      });
      assert.equal(removed.code, 0, removed.stderr);
      assert.equal(removed.stdout, `removed ${where}/chat\n`);
    }
    assert.deepEqual(await Array.fromAsync(Deno.readDir(prefix)), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("make install refuses a PREFIX with a quote, saying why", async () => {
  const installed = await make("install", "/tmp/it's here");
  assert.equal(installed.code, 2);
  assert.match(installed.stderr, /^make: cannot install from or into a path with a ' in it/m);
});

Deno.test("make serve and make join take NAME, HOST and PORT from make's command line, not the environment", async () => {
  // WSL exports NAME, a PaaS exports PORT: neither is meant for chat.
  const env = { NAME: "wsl-user", HOST: "build-host", PORT: "5000", PATH: Deno.env.get("PATH")! };
  const join = await run("make", ["-n", "join"], { env });
  assert.equal(join.code, 0, join.stderr);
  assert.match(join.stdout, /main\.ts join +$/m);
  const serve = await run("make", ["-n", "serve"], { env });
  assert.match(serve.stdout, /main\.ts serve +$/m);
  const given = await run("make", ["-n", "join", "NAME=Alice", "HOST=chat.lan", "PORT=8000"], {
    env,
  });
  assert.match(given.stdout, /main\.ts join --name Alice --host chat\.lan --port 8000 *$/m);
});

Deno.test("make test FILES=... runs only those test files, with the Makefile's permissions", async () => {
  const ran = await run("make", ["-n", "test", "FILES=tests/cli_test.ts"]);
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(
    ran.stdout,
    /deno test --allow-net --allow-env --allow-run --allow-read --allow-write --allow-sys tests\/cli_test\.ts$/m,
  );
});
