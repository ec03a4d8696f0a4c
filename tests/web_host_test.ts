/**
 * The web page answers only to this server's own names (lib/web/host_names.ts):
 * a site whose DNS name is rebound to the server's address (DNS rebinding)
 * gets neither the page nor the WebSocket, though its `Origin` matches its
 * `Host`; addresses, localhost, this machine's name, the certificate's names
 * and the operator's --web-name are served.
 */

import assert from "node:assert/strict";
import { makeCertificate } from "../lib/auth/certs.ts";
import { parseCommandLine, UsageError } from "../lib/cli/command_line.ts";
import { startServer } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";
import { rawGet, rawUpgrade } from "./_websocket.ts";

function connect(port: number): Promise<Deno.Conn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Whether a page asked for by the name `host` gets the page and its WebSocket. */
async function served(port: number, host: string, scheme = "http"): Promise<boolean> {
  const page = await rawGet(await connect(port), host);
  const socket = await rawUpgrade(port, { Host: host, Origin: `${scheme}://${host}` });
  socket.conn.close();
  assert.equal(/ 101 /.test(socket.status), / 200 /.test(page.status), `${host}: ${socket.status}`);
  return / 200 /.test(page.status);
}

Deno.test("DNS rebinding: a page and a WebSocket asked for by another site's name are refused, logged once", async () => {
  const log: string[] = [];
  const server = startServer({ webPort: 0, log: (line) => log.push(line) });
  const port = server.webAddr!.port;
  const host = `evil.example:${port}`;
  try {
    const page = await rawGet(await connect(port), host);
    assert.match(page.status, / 421 /);
    assert.equal(
      page.body,
      "This server does not answer to the name evil.example: its operator can add it with " +
        "--web-name evil.example\n",
    );
    assert.doesNotMatch(page.body, /<html/i);
    const script = await rawGet(await connect(port), host, "/app.js");
    assert.match(script.status, / 421 /);
    // The rebound page's own origin: the Origin check alone lets it in.
    const socket = await rawUpgrade(port, { Host: host, Origin: `http://${host}` });
    socket.conn.close();
    assert.match(socket.status, / 421 /);
    const told = log.filter((line) => line.includes("evil.example"));
    assert.equal(told.length, 1, told.join("\n"));
    assert.match(
      told[0],
      /^web page: refuse 127\.0\.0\.1:\d+ asking for the name evil\.example, not one of this server's \(--web-name evil\.example serves it\); said once per name$/,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("the page answers to addresses, localhost and this machine's names", async () => {
  const server = startServer({ webPort: 0 });
  const port = server.webAddr!.port;
  const machine = Deno.hostname().toLowerCase().split(".")[0];
  try {
    for (
      const host of [
        `127.0.0.1:${port}`,
        `localhost:${port}`,
        `LocalHost.:${port}`,
        `app.localhost:${port}`,
        `[::1]:${port}`,
        `192.168.1.20:${port}`,
        `${Deno.hostname()}:${port}`,
        `${machine}.local:${port}`,
      ]
    ) {
      assert.ok(await served(port, host), host);
    }
    for (const host of [`evil.example:${port}`, `localhost.evil.example:${port}`, "bad host"]) {
      assert.ok(!await served(port, host), host);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("--web-name names are served, in any script, and no others", async () => {
  const server = startServer({
    webPort: 0,
    webNames: ["chat.school.lan", "*.rooms.lan", "聊天.lan"],
  });
  const port = server.webAddr!.port;
  try {
    assert.ok(await served(port, `chat.school.lan:${port}`));
    assert.ok(await served(port, `CHAT.school.lan:${port}`));
    assert.ok(await served(port, `a.rooms.lan:${port}`));
    assert.ok(await served(port, `${new URL("http://聊天.lan/").hostname}:${port}`));
    assert.ok(!await served(port, `school.lan:${port}`));
    assert.ok(!await served(port, `a.b.rooms.lan:${port}`));
  } finally {
    await server.shutdown();
  }
});

Deno.test("with TLS, the names the certificate is for are served", async () => {
  const made = await makeCertificate({ names: ["chat.school.lan", "127.0.0.1"] });
  const server = startServer({ webPort: 0, tls: { cert: made.cert, key: made.key } });
  const port = server.webAddr!.port;
  const tls = () => Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [made.cert] });
  try {
    assert.match((await rawGet(await tls(), `chat.school.lan:${port}`)).status, / 200 /);
    assert.match((await rawGet(await tls(), `other.school.lan:${port}`)).status, / 421 /);
  } finally {
    await server.shutdown();
  }
});

Deno.test("--web-name and CHAT_WEB_NAME: repeatable, comma-separated; a name that is no host name is a usage error", () => {
  const names = (args: string[], env: Record<string, string> = {}) => {
    const call = parseCommandLine(["serve", ...args], env);
    assert.ok(call.command === "serve");
    return call.settings.webNames;
  };
  assert.deepEqual(names([]), []);
  assert.deepEqual(names(["--web-name", "chat.lan", "--web-name", "a.lan, 聊天.lan"]), [
    "chat.lan",
    "a.lan",
    "聊天.lan",
  ]);
  assert.deepEqual(names([], { CHAT_WEB_NAME: "chat.lan,b.lan" }), ["chat.lan", "b.lan"]);
  assert.deepEqual(names(["--web-name", "x.lan"], { CHAT_WEB_NAME: "chat.lan" }), ["x.lan"]);
  for (const bad of ["chat.lan:7778", "http://chat.lan/", "bad name"]) {
    assert.throws(() => names(["--web-name", bad]), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(
        error.message,
        `invalid --web-name '${bad}': give a host name as typed in a browser, such as chat.school.lan`,
      );
      return true;
    });
  }
});

Deno.test("chat serve --web-name serves that name; another name is refused, and logged", async () => {
  const server = new ServeProcess(["--host", "127.0.0.1", "--port", "0", "--web-name", "chat.lan"]);
  try {
    const port = Number((await server.waitFor(/web page on 127\.0\.0\.1:(\d+)$/))[1]);
    assert.match((await rawGet(await connect(port), `chat.lan:${port}`)).status, / 200 /);
    const refused = await rawGet(await connect(port), `evil.example:${port}`);
    assert.match(refused.status, / 421 /);
    await server.waitFor(/refuse .* the name evil\.example, not one of this server's/);
  } finally {
    server.child.kill("SIGTERM");
    await server.finish();
  }
});
