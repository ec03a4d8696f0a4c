/**
 * The join lines a TLS server prints name only hosts its certificate is for:
 * a line for a host outside it fails for every client that types it. Real
 * certificates from `chat cert`, a real `chat serve`, and the printed
 * `chat join` lines run as printed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runChat } from "./_chat_command.ts";
import { withDir } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";

/** A TLS `chat serve` with the certificate `chat cert NAMES` makes in `dir`, and its join lines. */
async function serveWith(dir: string, names: string[], args: string[] = []): Promise<Served> {
  const made = await runChat(["cert", ...names], { cwd: dir });
  assert.equal(made.code, 0, made.stderr);
  const server = new ServeProcess([
    ...["--port", "0", "--tls-cert", `${dir}/chat-cert.pem`, "--tls-key", `${dir}/chat-key.pem`],
    ...args,
  ]);
  try {
    const port = await server.port();
    const start = server.log.length;
    await server.waitFor(/^ {2}\(give each client a copy of the certificate/);
    return { server, port, lines: server.log.slice(start) };
  } catch (error) {
    await stop(server);
    throw error;
  }
}

interface Served {
  server: ServeProcess;
  port: number;
  /** The lines printed after "listening". */
  lines: string[];
}

async function stop(server: ServeProcess): Promise<void> {
  server.child.kill("SIGTERM");
  const { code, stderr } = await server.finish();
  assert.equal(code, 0, stderr);
}

/** The arguments of each `chat join` line, as a person would copy them. */
function joinCommands(lines: string[]): string[][] {
  return lines.flatMap((line) => {
    const command = /chat join (.*?)(?: {3}\(|$)/.exec(line)?.[1];
    return command === undefined ? [] : [command.split(" ")];
  });
}

/** Runs `chat join ARGS` from `dir` (where chat-cert.pem is), which says one line to `server`. */
async function joinAndSay(dir: string, args: string[], server: ServeProcess): Promise<void> {
  const run = await runChat(["join", ...args, "--name", "Ann"], {
    cwd: dir,
    input: "hello from the hint\n",
    env: { CHAT_PASSWORD: "", CHAT_CA: "", CHAT_NAME: "" },
  });
  assert.equal(run.code, 0, `chat join ${args.join(" ")}: ${run.stderr}`);
  await server.waitFor(/\] <Ann> hello from the hint$/);
}

/** This machine's IPv4 addresses other than loopback, as the server lists them. */
function lanAddresses(): string[] {
  return Deno.networkInterfaces()
    .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    .map((i) => i.address);
}

Deno.test("a TLS server with a certificate for localhost prints the localhost line, which works", async () => {
  await withDir(async (dir) => {
    const { server, port, lines } = await serveWith(dir, ["localhost", "127.0.0.1"]);
    try {
      assert.deepEqual(lines, [
        "Others can join with:",
        `  chat join localhost:${port} --ca chat-cert.pem   (from this machine)`,
        "  (give each client a copy of the certificate given to --tls-cert)",
      ]);
      for (const command of joinCommands(lines)) await joinAndSay(dir, command, server);
    } finally {
      await stop(server);
    }
  });
});

Deno.test("a TLS server with a certificate for a host name prints that name first, for others to type", async () => {
  await withDir(async (dir) => {
    const { server, port, lines } = await serveWith(dir, ["classroom.lan", "localhost"]);
    try {
      assert.deepEqual(lines, [
        "Others can join with:",
        `  chat join classroom.lan:${port} --ca chat-cert.pem   (the certificate's name for this server)`,
        `  chat join localhost:${port} --ca chat-cert.pem   (from this machine)`,
        "  (give each client a copy of the certificate given to --tls-cert)",
      ]);
      // classroom.lan leads nowhere here; the line from this machine works.
      await joinAndSay(dir, joinCommands(lines)[1], server);
    } finally {
      await stop(server);
    }
  });
});

Deno.test("a TLS server whose certificate names no host of this machine says which names it is for", async () => {
  await withDir(async (dir) => {
    assert.ok(!lanAddresses().includes("192.168.1.20"), "this machine has the test's address");
    const { server, port, lines } = await serveWith(dir, ["classroom.lan", "192.168.1.20"]);
    await stop(server);
    assert.deepEqual(lines, [
      "This machine's names and addresses are not in the certificate given to --tls-cert:",
      "  the certificate is for classroom.lan, 192.168.1.20: join with one of those " +
      `(chat join HOST:${port} --ca chat-cert.pem)`,
      "  (give each client a copy of the certificate given to --tls-cert)",
    ]);
  });
});

Deno.test("a TLS server with a certificate for a LAN address prints that address, which works", async () => {
  const [address] = lanAddresses();
  if (address === undefined) return; // Nothing to try on a machine with loopback only.
  await withDir(async (dir) => {
    const { server, port, lines } = await serveWith(dir, [address]);
    try {
      assert.deepEqual(lines, [
        "Others can join with:",
        `  chat join ${address}:${port} --ca chat-cert.pem`,
        "  (give each client a copy of the certificate given to --tls-cert)",
      ]);
      for (const command of joinCommands(lines)) await joinAndSay(dir, command, server);
    } finally {
      await stop(server);
    }
  });
});

Deno.test("a TLS server on 127.0.0.1 with a certificate for localhost only says to join localhost, which works", async () => {
  await withDir(async (dir) => {
    const { server, port, lines } = await serveWith(dir, ["localhost"], ["--host", "127.0.0.1"]);
    try {
      assert.deepEqual(lines, [
        `Join with: chat join localhost:${port} --ca chat-cert.pem`,
        "  (give each client a copy of the certificate given to --tls-cert)",
      ]);
      for (const command of joinCommands(lines)) await joinAndSay(dir, command, server);
    } finally {
      await stop(server);
    }
  });
});
