/**
 * A browser pointed at the chat port (`http://HOST:7777/`, the port people
 * are told) is sent to the web page, on its own port, instead of getting the
 * name prompt as an answer it cannot read; without a web page, it is told
 * what the port is for. People at the prompt are not affected.
 */

import assert from "node:assert/strict";
import { makeCertificate } from "../lib/auth/certs.ts";
import { cleanUp, LineClient, startServer } from "./_helpers.ts";
import { launchBrowser, openPage } from "./_browser.ts";
import { rawGet } from "./_websocket.ts";

function connect(port: number): Promise<Deno.Conn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

Deno.test("a browser that opens the chat port lands on the web page", async () => {
  const log: string[] = [];
  const server = startServer({ webPort: 0, log: (line) => log.push(line) });
  const { browser, close } = await launchBrowser();
  try {
    const page = await openPage(browser, `http://127.0.0.1:${server.addr.port}/`);
    await page.waitForSelector("#name");
    assert.equal(page.url(), `http://127.0.0.1:${server.webAddr!.port}/`);
    assert.ok(
      log.some((line) => line.includes("a web browser on the chat port; sent it to http://")),
      log.join("\n"),
    );
  } finally {
    await close();
    await server.shutdown();
  }
});

Deno.test("a request on the chat port is sent to the web page by the name it asked for", async () => {
  const server = startServer({ webPort: 0 });
  try {
    const web = server.webAddr!.port;
    const answer = await rawGet(
      await connect(server.addr.port),
      `chat.school.lan:${server.addr.port}`,
    );
    assert.equal(answer.status, "HTTP/1.1 302 Found");
    assert.equal(
      answer.body,
      `This is the chat port of a chat server; its web page is at http://chat.school.lan:${web}/\r\n`,
    );
    // A Host that is no plain name goes into no Location: the port is said instead.
    const odd = await rawGet(await connect(server.addr.port), "a b");
    assert.equal(odd.status, "HTTP/1.1 400 Bad Request");
    assert.equal(
      odd.body,
      `This is the chat port of a chat server; its web page is on port ${web}\r\n`,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("without a web page, a request on the chat port is told what the port is for", async () => {
  const server = startServer();
  const nc = await LineClient.connect(server);
  try {
    const answer = await rawGet(await connect(server.addr.port), "localhost");
    assert.equal(answer.status, "HTTP/1.1 400 Bad Request");
    assert.equal(
      answer.body,
      "This is the chat port of a chat server, for chat join, nc and telnet; it serves no web page\r\n",
    );
    // A person at the prompt meanwhile is asked for a name as ever.
    await nc.waitFor("Welcome to chat! 0 of 100 users online.");
    await nc.write("Ann\r\n");
    await nc.waitFor("Welcome, Ann! You are in #lobby. You are the first one here.");
  } finally {
    await cleanUp(server, nc);
  }
});

Deno.test("over TLS, the chat port sends a browser to the HTTPS web page", async () => {
  const tls = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
  const server = startServer({ webPort: 0, tls });
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: server.addr.port,
    caCerts: [tls.cert],
  });
  try {
    const answer = await rawGet(conn, `localhost:${server.addr.port}`);
    assert.equal(answer.status, "HTTP/1.1 302 Found");
    assert.match(answer.body, new RegExp(`at https://localhost:${server.webAddr!.port}/\r\n$`));
  } finally {
    await server.shutdown();
  }
});
