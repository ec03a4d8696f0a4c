/**
 * The "chat" permission set of deno.json, which the executables get, against
 * what the program really uses.
 *
 * Each scenario runs main.ts as the executable runs: with exactly that set and
 * `--no-prompt`, in real processes. Deno writes every permission check of each
 * process to a file (`DENO_AUDIT_PERMISSIONS`), granted or not, so a denial
 * the code catches and hides (serve's LAN addresses, say) is still seen. The
 * test then asks: was every check covered by the set, and is every part of the
 * set used? A new scenario is one more `chat(...)` call feeding `audits`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { shellLine, stopTerminal, tmux } from "./_tmux.ts";
import config from "../deno.json" with { type: "json" };
import { PERMISSION_SET } from "../tools/build.ts";
import { within } from "./_helpers.ts";
import { CHAT_EXE, chatCommand, ROOT } from "./_chat_command.ts";

const SET: PermissionSet = config.permissions[PERMISSION_SET];

/** The parts of a deno.json permission set that chat uses. */
interface PermissionSet {
  net?: boolean | string[];
  env?: boolean | string[];
  sys?: boolean | string[];
  read?: boolean | string[];
  write?: boolean | string[];
}

/** One permission check, as DENO_AUDIT_PERMISSIONS records it. */
interface Access {
  permission: string;
  value: string | null;
}

/** Whether `set` grants `access`; `NAME*` entries match by prefix, as Deno's do. */
function covers(set: PermissionSet, access: Access): boolean {
  const granted = set[access.permission as keyof PermissionSet];
  if (granted === true) return true;
  if (!Array.isArray(granted) || access.value === null) return false;
  const value = access.value;
  return granted.some((g) => g.endsWith("*") ? value.startsWith(g.slice(0, -1)) : g === value);
}

/** A chat process run as the executable runs, its output read line by line. */
class Chat {
  readonly child: Deno.ChildProcess;
  readonly audit: string;
  readonly out: string[] = [];
  #lines: AsyncIterator<string>;
  #stderr: Promise<string>;

  constructor(args: string[], audit: string, env: Record<string, string> = {}, stdin = "") {
    this.audit = audit;
    const [program, ...rest] = chatCommand(args);
    this.child = new Deno.Command(program, {
      args: rest,
      cwd: ROOT,
      env: { DENO_AUDIT_PERMISSIONS: audit, ...env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#lines = lines(this.child.stdout);
    this.#stderr = new Response(this.child.stderr).text();
    const writer = this.child.stdin.getWriter();
    // A process that exits before reading its input is the test's failure to report, not this.
    writer.write(new TextEncoder().encode(stdin)).then(() => writer.close()).catch(() => {});
  }

  /** Reads output until a line matches `pattern`; fails after WAIT_MS. */
  async waitFor(pattern: RegExp): Promise<RegExpExecArray> {
    const search = async () => {
      while (true) {
        const next = await this.#lines.next();
        if (next.done) throw new Error(`output ended before ${pattern}:\n${this.out.join("\n")}`);
        this.out.push(next.value);
        const match = pattern.exec(next.value);
        if (match) return match;
      }
    };
    return await within(search(), () => `no line matching ${pattern}:\n${this.out.join("\n")}`);
  }

  /** Reads the rest of the output and waits for the exit. */
  async finish(): Promise<{ code: number; stderr: string }> {
    const rest = async () => {
      for (let next; !(next = await this.#lines.next()).done;) this.out.push(next.value);
      const { code } = await this.child.status;
      return { code, stderr: await this.#stderr };
    };
    return await within(rest(), () => `chat did not exit:\n${this.out.join("\n")}`);
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
    }
  }
  if (buffer) yield buffer;
}

/** Every check recorded in the audit files (a missing file records none). */
async function readAudits(paths: string[]): Promise<Access[]> {
  const accesses: Access[] = [];
  for (const path of paths) {
    const text = await Deno.readTextFile(path).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return "";
      throw error;
    });
    for (const line of text.split("\n")) {
      if (line.trim()) accesses.push(JSON.parse(line));
    }
  }
  return accesses;
}

const DENIED = /NotCapable|PermissionDenied|Requires \w+ access/;

Deno.test("chat serve (open, and with data, accounts and TLS), join (pipe, terminal, TLS), user and cert need only the chat permission set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-permissions-" });
  const socket = `chat-permissions-${crypto.randomUUID()}`;
  const audits: string[] = [];
  const audit = (name: string) => {
    audits.push(`${dir}/${name}.jsonl`);
    return audits.at(-1)!;
  };
  // All interfaces, so that serve looks up the LAN addresses to print.
  const server = new Chat(["serve", "--host", "0.0.0.0", "--port", "0"], audit("serve"), {
    CHAT_MOTD: "permission check",
  });
  try {
    const port = Number((await server.waitFor(/listening on 0\.0\.0\.0:(\d+)/))[1]);
    await server.waitFor(/chat join localhost:\d+ +\(from this machine\)/);

    // A pipe: sends its input, then leaves.
    const pipe = new Chat(["join", `127.0.0.1:${port}`], audit("join-pipe"), {
      CHAT_NAME: "Piper",
      NO_COLOR: "1",
    }, "hello from a pipe\n");
    const piped = await pipe.finish();
    assert.equal(piped.code, 0, piped.stderr);
    assert.doesNotMatch(piped.stderr, DENIED);
    await server.waitFor(/<Piper> hello from a pipe/);

    // A terminal (tmux): the interactive client, typed into like a person would.
    const tty = audit("join-tty");
    const status = `${dir}/join-tty.status`;
    const command = shellLine(chatCommand(["join", `127.0.0.1:${port}`, "--name", "Tty"]));
    await tmux(
      socket,
      "new-session",
      "-d",
      "-s",
      "chat",
      "-x",
      "100",
      "-y",
      "30",
      "-c",
      ROOT.pathname,
      "-e",
      `DENO_AUDIT_PERMISSIONS=${tty}`,
      `${command} 2>'${dir}/join-tty.err'; echo $? >'${status}'; tmux -L '${socket}' wait-for -S done`,
      // In the same tmux command, so the server outlives a client that exits at once.
      ";",
      "set-option",
      "-t",
      "chat",
      "remain-on-exit",
      "on",
    );
    await server.waitFor(/join Tty from/);
    await tmux(socket, "send-keys", "-t", "chat", "-l", "hello from a terminal");
    await tmux(socket, "send-keys", "-t", "chat", "Enter");
    await server.waitFor(/<Tty> hello from a terminal/);
    await tmux(socket, "send-keys", "-t", "chat", "-l", "/quit");
    await tmux(socket, "send-keys", "-t", "chat", "Enter");
    await within(tmux(socket, "wait-for", "done"), () => "the terminal client did not exit");
    assert.equal((await Deno.readTextFile(status)).trim(), "0");
    assert.doesNotMatch(await Deno.readTextFile(`${dir}/join-tty.err`), DENIED);

    // Accounts in a data directory (node:sqlite), and a certificate (node-forge, files), one
    // after another: the list must see the account added.
    const steps: [string[], string, Record<string, string>, string][] = [
      [["user", "add", "Bob", "--data", `${dir}/data`], "user-add", {}, "bob's secret\n".repeat(2)],
      [["user", "list"], "user-list", { CHAT_DATA: `${dir}/data` }, ""],
      [["cert", "chat.lan", "127.0.0.1", "--out", `${dir}/tls`], "cert", {}, ""],
    ];
    for (const [args, name, env, input] of steps) {
      const command = new Chat(args, audit(name), env, input);
      const done = await command.finish();
      assert.equal(done.code, 0, done.stderr);
      assert.doesNotMatch(done.stderr, DENIED);
      if (name === "user-list") assert.deepEqual(command.out, ["Bob"]);
    }

    // The data directory and the certificate in use: a server with stored
    // history, accounts and TLS, and a bot that logs in to it over TLS.
    const secure = new Chat([
      ...["serve", "--host", "127.0.0.1", "--port", "0", "--data", `${dir}/data`],
      ...["--auth", "names", "--history", "5"],
      ...["--tls-cert", `${dir}/tls/chat-cert.pem`, "--tls-key", `${dir}/tls/chat-key.pem`],
    ], audit("serve-secure"));
    try {
      const securePort = Number(
        (await secure.waitFor(/listening on 127\.0\.0\.1:(\d+) with TLS/))[1],
      );
      const bot = new Chat(
        ["join", `127.0.0.1:${securePort}`, "--ca", `${dir}/tls/chat-cert.pem`],
        audit("join-secure"),
        { CHAT_NAME: "Bob", CHAT_PASSWORD: "bob's secret", NO_COLOR: "1" },
        "hello over TLS\n",
      );
      const botDone = await bot.finish();
      assert.equal(botDone.code, 0, botDone.stderr);
      assert.doesNotMatch(botDone.stderr, DENIED);
      await secure.waitFor(/<Bob> hello over TLS/);
    } finally {
      secure.child.kill("SIGTERM");
    }
    const secureDone = await secure.finish();
    assert.equal(secureDone.code, 0, secureDone.stderr);
    assert.doesNotMatch(secureDone.stderr, DENIED);

    server.child.kill("SIGTERM");
    const served = await server.finish();
    assert.equal(served.code, 0, served.stderr);
    assert.doesNotMatch(served.stderr, DENIED);

    const accesses = await readAudits(audits);
    if (CHAT_EXE && accesses.length === 0) {
      // The executable ran without a permission error above; whether its
      // runtime writes audits is its own affair. The baked-in set itself is
      // checked in build_test.ts.
      console.log(`${CHAT_EXE} wrote no permission audit; checked exit codes and errors only`);
      return;
    }
    const uncovered = accesses.filter((access) => !covers(SET, access));
    assert.deepEqual(uncovered, [], "checks the chat permission set does not grant");
    // Every part of the set is used: nothing is granted for nothing.
    for (const kind of Object.keys(SET)) {
      if (kind === "import") continue; // denied, not granted
      assert.ok(accesses.some((a) => a.permission === kind), `'${kind}' is granted but unused`);
    }
    for (const name of Array.isArray(SET.env) ? SET.env : []) {
      assert.ok(
        accesses.some((a) => a.permission === "env" && covers({ env: [name] }, a)),
        `env ${name} is granted but never read`,
      );
    }
  } finally {
    try {
      server.child.kill("SIGKILL");
    } catch { /* already exited */ }
    await server.finish().catch(() => {});
    await stopTerminal(socket);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("covers() matches names, NAME* prefixes and whole grants", () => {
  const set = { net: true, env: ["CHAT_*", "NO_COLOR"], sys: ["networkInterfaces"], read: true };
  const cases: [Access, boolean][] = [
    [{ permission: "net", value: "0.0.0.0:0" }, true],
    [{ permission: "env", value: "CHAT_PORT" }, true],
    [{ permission: "env", value: "NO_COLOR" }, true],
    [{ permission: "env", value: "HOME" }, false],
    [{ permission: "env", value: "NO_COLORS" }, false],
    [{ permission: "sys", value: "networkInterfaces" }, true],
    [{ permission: "sys", value: "hostname" }, false],
    [{ permission: "read", value: "/etc/passwd" }, true],
    [{ permission: "write", value: "/etc/passwd" }, false],
    [{ permission: "env", value: null }, false],
  ];
  for (const [access, want] of cases) {
    assert.equal(covers(set, access), want, JSON.stringify(access));
  }
});
