/**
 * `chat serve` and its web page: the flags and variables that place it or
 * turn it off, the addresses (and QR code) it prints, HTTPS with the
 * server's certificate, and a port in use said in one line.
 */

import assert from "node:assert/strict";
import { parseCommandLine, UsageError } from "../lib/cli/command_line.ts";
import { makeCertificate } from "../lib/auth/certs.ts";
import { qrCode, webHints, webUrls } from "../lib/serve/web_hints.ts";
import { ServeProcess } from "./_serve_process.ts";
import { withDir } from "./_helpers.ts";
import { rawGet } from "./_websocket.ts";

function webPort(args: string[], env: Record<string, string> = {}): number | null {
  const call = parseCommandLine(["serve", ...args], env);
  assert.ok(call.command === "serve");
  return call.settings.webPort;
}

Deno.test("the web page's port: the chat port + 1 unless --web-port or CHAT_WEB_PORT says; --no-web or CHAT_NO_WEB turns it off", () => {
  assert.equal(webPort([]), 7778);
  assert.equal(webPort(["--port", "9000"]), 9001);
  assert.equal(webPort(["--port", "0"]), 0);
  assert.equal(webPort(["--web-port", "8080"]), 8080);
  assert.equal(webPort([], { CHAT_WEB_PORT: "8081" }), 8081);
  assert.equal(webPort(["--web-port", "8080"], { CHAT_WEB_PORT: "8081" }), 8080);
  assert.equal(webPort(["--no-web"]), null);
  assert.equal(webPort([], { CHAT_NO_WEB: "1" }), null);
  assert.equal(webPort([], { CHAT_NO_WEB: "0" }), 7778);
  // A flag beats a variable.
  assert.equal(webPort(["--web-port", "8080"], { CHAT_NO_WEB: "1" }), 8080);
});

Deno.test("web page flags that cannot work are usage errors that say why", () => {
  const cases: [string[], Record<string, string>, string][] = [
    [["--web-port", "http"], {}, "invalid --web-port 'http': use a number from 0 to 65535"],
    [
      ["--web-name", "chat.school.lan", "--no-web"],
      {},
      "--web-name and --no-web contradict each other: give one",
    ],
    [["--web-port", "70000"], {}, "invalid --web-port '70000': use a number from 0 to 65535"],
    [
      ["--web-port", "8080", "--no-web"],
      {},
      "--web-port and --no-web contradict each other: give one",
    ],
    [
      ["--port", "9000", "--web-port", "9000"],
      {},
      "--web-port 9000 is the chat port too: give the web page another port",
    ],
    [[], { CHAT_NO_WEB: "maybe" }, "invalid CHAT_NO_WEB 'maybe': use 1 (on) or 0 (off)"],
  ];
  for (const [args, env, message] of cases) {
    assert.throws(() => parseCommandLine(["serve", ...args], env), (error: unknown) => {
      assert.ok(error instanceof UsageError, args.join(" "));
      assert.equal(error.message, message);
      return true;
    });
  }
});

Deno.test("chat serve prints where to open the web page, which serves it", async () => {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0"]);
  try {
    const port = Number((await server.waitFor(/web page on 127\.0\.0\.1:(\d+)$/))[1]);
    await server.waitFor(/^Or open in a browser:$/);
    await server.waitFor(new RegExp(`^  http://localhost:${port}/   \\(from this machine\\)$`));
    // The printed URL's name, which the page answers to (localhost may be ::1 first here).
    const printed = await rawGet(
      await Deno.connect({ hostname: "127.0.0.1", port }),
      `localhost:${port}`,
    );
    assert.match(printed.status, / 200 /);
    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(await response.text(), /<script type="module" src="app\.js"><\/script>/);
    const missing = await fetch(`http://127.0.0.1:${port}/../deno.json`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    server.child.kill("SIGTERM");
    await server.finish();
  }
});

Deno.test("chat serve --no-web serves and prints no web page", async () => {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0", "--no-web"]);
  await server.port();
  await server.waitFor(/^Join with: chat join/);
  server.child.kill("SIGTERM");
  await server.finish();
  assert.ok(!server.log.some((line) => /web page|browser/.test(line)), server.log.join("\n"));
});

Deno.test("chat serve on a web port in use says so in one line and exits 1", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = new ServeProcess([
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--web-port",
    String(taken.addr.port),
  ]);
  const { code, stderr } = await server.finish();
  taken.close();
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `chat: cannot serve the web page on 127.0.0.1:${taken.addr.port} (address already in use); ` +
      "--web-port PORT picks another, --no-web serves none\n",
  );
});

Deno.test("with --tls-cert the web page is HTTPS, at the names the certificate is for", async () => {
  await withDir(async (dir) => {
    const made = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
    await Deno.writeTextFile(`${dir}/cert.pem`, made.cert);
    await Deno.writeTextFile(`${dir}/key.pem`, made.key);
    const server = new ServeProcess([
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--tls-cert",
      `${dir}/cert.pem`,
      "--tls-key",
      `${dir}/key.pem`,
    ]);
    const client = Deno.createHttpClient({ caCerts: [made.cert] });
    try {
      const port = Number((await server.waitFor(/web page on 127\.0\.0\.1:(\d+) with TLS$/))[1]);
      await server.waitFor(new RegExp(`^  https://localhost:${port}/   \\(from this machine\\)$`));
      const response = await fetch(`https://localhost:${port}/`, { client });
      assert.equal(response.status, 200);
      await response.body?.cancel();
    } finally {
      client.close();
      server.child.kill("SIGTERM");
      await server.finish();
    }
  });
});

Deno.test("chat serve --web-name prints that name first under 'Or open in a browser:'", async () => {
  const server = new ServeProcess(
    ["--host", "127.0.0.1", "--port", "0", "--web-name", "chat.school.lan"],
  );
  try {
    const port = Number((await server.waitFor(/web page on 127\.0\.0\.1:(\d+)$/))[1]);
    await server.waitFor(/^Or open in a browser:$/);
    await server.waitFor(/^ {2}/);
    assert.equal(server.log.at(-1), `  http://chat.school.lan:${port}/`);
  } finally {
    server.child.kill("SIGTERM");
    await server.finish();
  }
});

Deno.test("webUrls() lists a --web-name that is also the address once, and brackets an IPv6 name once", () => {
  const addr: Deno.NetAddr = { transport: "tcp", hostname: "192.0.2.7", port: 7778 };
  assert.deepEqual(webUrls(addr, undefined, ["192.0.2.7"]).remote, ["http://192.0.2.7:7778/"]);
  assert.deepEqual(webUrls(addr, undefined, ["[fd00::1]", "fd00::2"]).remote, [
    "http://[fd00::1]:7778/",
    "http://[fd00::2]:7778/",
    "http://192.0.2.7:7778/",
  ]);
});

Deno.test("webHints() gives the LAN address as a QR code only for a console that is a terminal", () => {
  const addr: Deno.NetAddr = { transport: "tcp", hostname: "192.0.2.7", port: 7778 };
  assert.deepEqual(webUrls(addr), { remote: ["http://192.0.2.7:7778/"], local: undefined });
  const plain = webHints(addr, undefined, false);
  assert.deepEqual(plain, ["Or open in a browser:", "  http://192.0.2.7:7778/"]);
  const withQr = webHints(addr, undefined, true);
  const code = qrCode("http://192.0.2.7:7778/");
  assert.deepEqual(withQr, [...plain, ...code.map((row) => `  ${row}`)]);
  // A version 2 code (25 modules) with a quiet zone of 2: 29 columns, rows in pairs.
  assert.ok(code.every((row) => [...row].length === 29), code.join("\n"));
  assert.ok(code.every((row) => /^[█▀▄ ]+$/.test(row)), code.join("\n"));
  assert.deepEqual(webHints(null, undefined, true), []);
});

Deno.test("when the chat port + 1 is taken, the web page is served on a free port, which it prints", async () => {
  // A taken port whose neighbour below is free, for the chat port.
  let taken: Deno.TcpListener | null = null;
  for (let i = 0; i < 20 && !taken; i++) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      Deno.listen({ hostname: "127.0.0.1", port: listener.addr.port - 1 }).close();
      taken = listener;
    } catch {
      listener.close();
    }
  }
  assert.ok(taken, "no taken port with a free one below it");
  const chatPort = taken.addr.port - 1;
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", String(chatPort)]);
  try {
    await server.waitFor(
      new RegExp(`port ${taken.addr.port} is in use; serving it on a free port`),
    );
    const port = Number((await server.waitFor(/web page on 127\.0\.0\.1:(\d+)$/))[1]);
    assert.notEqual(port, taken.addr.port);
    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(response.status, 200);
    await response.body?.cancel();
  } finally {
    taken.close();
    server.child.kill("SIGTERM");
    await server.finish();
  }
});
