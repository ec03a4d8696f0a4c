/**
 * The protocol client over TLS: a trusted certificate chats, and each TLS
 * mistake (untrusted certificate, wrong host name, TLS on one side only) is
 * a ConnectError at once, with a reason that says what to do.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ChatClient,
  type ClientUpdate,
  ConnectError,
  SERVER_NOT_TLS,
} from "../lib/client/client.ts";
import {
  NOT_THE_CA,
  NOT_TRUSTED,
  SERVER_USES_OWN_CERT,
  SERVER_USES_TLS_MAYBE_OWN,
} from "../lib/client/tls_advice.ts";
import { makeCertificate } from "../lib/auth/certs.ts";
import { TLS_ONLY_MESSAGE } from "../lib/protocol/tls_notices.ts";
import { FakeServer, welcome } from "./_fake_server.ts";
import { clientFor, startServer, within } from "./_helpers.ts";

const LOCAL = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
const ELSEWHERE = await makeCertificate({ names: ["chat.example", "10.9.8.7"] });

/** A server that welcomes any name. */
function welcoming(tls?: { cert: string; key: string }): FakeServer {
  return new FakeServer((hello) => [welcome(hello.name)], tls);
}

/** The reason `connect` fails with; fails the test if it succeeds or takes a second or more. */
async function refusal(client: ChatClient): Promise<string> {
  const started = Date.now();
  try {
    await client.connect();
  } catch (error) {
    assert.ok(error instanceof ConnectError, String(error));
    assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
    return error.reason;
  } finally {
    client.close();
  }
  throw new Error("connect() succeeded");
}

Deno.test("a TLS client that trusts the server's certificate joins and chats", async () => {
  const server = welcoming(LOCAL);
  const client = clientFor(server.port, { tls: { caCerts: [LOCAL.cert] } });
  try {
    await client.connect();
    const answer = await client.register("Alice");
    assert.ok(answer.ok);
    const updates = client.updates(false);
    assert.ok(client.input("hello over TLS"));
    const { value } = await updates.next();
    assert.equal((value as ClientUpdate & { kind: "event" }).event.type, "message");
    client.quit();
    const rest: ClientUpdate[] = [];
    await within(
      (async () => {
        for await (const update of updates) rest.push(update);
      })(),
      () => `the updates did not end after quit; got ${JSON.stringify(rest)}`,
    );
    const bye = { type: "bye", code: "quit", reason: "quit" };
    assert.deepEqual(rest.at(-1), { kind: "end", bye, reason: "quit" }, JSON.stringify(rest));
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("the host name may be any name the certificate is for", async () => {
  const server = welcoming(LOCAL);
  const client = new ChatClient({
    host: "localhost",
    port: server.port,
    client: "chat/test",
    tls: { caCerts: [LOCAL.cert] },
  });
  try {
    await client.connect();
    assert.ok((await client.register("Alice")).ok);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("an untrusted certificate is refused with advice to pass --ca, or another --ca", async () => {
  const server = welcoming(LOCAL);
  try {
    // The system's roots do not know a certificate from `chat cert`...
    assert.equal(await refusal(clientFor(server.port, { tls: {} })), NOT_TRUSTED);
    // ...and trusting another one does not help.
    const other = clientFor(server.port, { tls: { caCerts: [ELSEWHERE.cert] } });
    assert.equal(await refusal(other), NOT_THE_CA);
    assert.equal(server.hellos.length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("an old copy of a certificate made again for the same names is refused as not the one given", async () => {
  // `chat cert --force` for the same names: the same subject, a new key. The
  // copy a client kept is then signed by a key the server no longer has.
  const remade = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
  const server = welcoming(remade);
  try {
    assert.equal(
      await refusal(clientFor(server.port, { tls: { caCerts: [LOCAL.cert] } })),
      NOT_THE_CA,
    );
    assert.equal(server.hellos.length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("a certificate for another host name is refused, saying which names it is for", async () => {
  const server = welcoming(ELSEWHERE);
  try {
    const reason = await refusal(clientFor(server.port, { tls: { caCerts: [ELSEWHERE.cert] } }));
    assert.match(
      reason,
      /^the server's certificate is not for 127\.0\.0\.1 \(it is for chat\.example, 10\.9\.8\.7\); /,
    );
  } finally {
    await server.close();
  }
});

Deno.test("an expired certificate is refused as expired", async () => {
  const old = await makeCertificate({
    names: ["127.0.0.1"],
    days: 1,
    now: new Date(Date.now() - 3 * 86_400_000),
  });
  const server = welcoming(old);
  try {
    const reason = await refusal(clientFor(server.port, { tls: { caCerts: [old.cert] } }));
    assert.match(reason, /^the server's certificate has expired/);
  } finally {
    await server.close();
  }
});

Deno.test("a damaged certificate to trust is a ConnectError, not a crash", async () => {
  const server = welcoming(LOCAL);
  try {
    const damaged = LOCAL.cert.slice(0, 200);
    const reason = await refusal(clientFor(server.port, { tls: { caCerts: [damaged] } }));
    assert.equal(reason, "the certificate to trust (--ca) is not a valid PEM certificate");
  } finally {
    await server.close();
  }
});

Deno.test("a plain client on another TLS server (it answers with an alert) is told to use --ca for its own certificate", async () => {
  const server = welcoming(LOCAL);
  try {
    assert.equal(await refusal(clientFor(server.port)), SERVER_USES_OWN_CERT);
  } finally {
    await server.close();
  }
});

/** A plain server that reads the first bytes, answers with `reply` (if any) and closes. */
function plainServer(reply: string | null): { port: number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tasks: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      tasks.push((async () => {
        await conn.read(new Uint8Array(1024)).catch(() => null);
        if (reply !== null) await conn.write(new TextEncoder().encode(reply)).catch(() => 0);
        conn.close();
      })());
    }
  })();
  return {
    port: listener.addr.port,
    close: async () => {
      listener.close();
      await accepting;
      await Promise.all(tasks);
    },
  };
}

Deno.test("a plain client is told to use --tls by the line of text this project's TLS port sends", async () => {
  // It says so, but no TLS handshake shows its certificate: both flags are named.
  const server = plainServer(`${TLS_ONLY_MESSAGE}\r\n`);
  try {
    assert.equal(await refusal(clientFor(server.port)), SERVER_USES_TLS_MAYBE_OWN);
  } finally {
    await server.close();
  }
});

Deno.test("a plain client understands the TLS line of servers of 0.1.0 too", async () => {
  const server = plainServer(
    "This chat server uses TLS: join with 'chat join HOST --tls' (or --ca FILE)\r\n",
  );
  try {
    assert.equal(await refusal(clientFor(server.port)), SERVER_USES_TLS_MAYBE_OWN);
  } finally {
    await server.close();
  }
});

Deno.test("the same line after the server's first event is no TLS hint", async () => {
  // A chat server that greets with an event, then sends that line and hangs up.
  const server = plainServer(`{"type":"pong"}\n${TLS_ONLY_MESSAGE}\r\n`);
  try {
    const client = clientFor(server.port);
    await client.connect();
    const reason = await client.register("Alice").then(() => "registered", (error) => error.reason);
    client.close();
    assert.equal(reason, "the server closed the connection");
  } finally {
    await server.close();
  }
});

Deno.test("a TLS client on a plain server is told to try without --tls", async () => {
  // What this project's server answers to a TLS hello on a plain port.
  const server = plainServer("This chat server does not use TLS; connect without --tls\r\n");
  try {
    const client = clientFor(server.port, { tls: { caCerts: [LOCAL.cert] } });
    assert.equal(await refusal(client), SERVER_NOT_TLS);
  } finally {
    await server.close();
  }
});

Deno.test("a plain server that hangs up on a TLS hello is a clear reason too", async () => {
  const server = plainServer(null);
  try {
    const client = clientFor(server.port, { tls: { caCerts: [LOCAL.cert] } });
    assert.equal(
      await refusal(client),
      "the server closed the connection during the TLS handshake; " +
        "if it does not use TLS, try without --tls",
    );
  } finally {
    await server.close();
  }
});

Deno.test("a TLS handshake that never finishes times out instead of hanging", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = clientFor(listener.addr.port, {
    tls: { caCerts: [LOCAL.cert] },
    connectTimeoutMs: 200,
  });
  try {
    assert.match(await refusal(client), /^timed out during the TLS handshake/);
  } finally {
    (await accepted).close();
    listener.close();
  }
});

Deno.test("a TLS client comes back over TLS after the connection drops", async () => {
  const server = welcoming(LOCAL);
  const client = clientFor(server.port, {
    tls: { caCerts: [LOCAL.cert] },
    retryInitialMs: 10,
  });
  try {
    await client.connect();
    assert.ok((await client.register("Alice")).ok);
    const updates = client.updates(true);
    server.dropAll();
    const seen: string[] = [];
    for await (const update of updates) {
      seen.push(update.kind);
      if (update.kind === "back" || update.kind === "end") break;
    }
    assert.deepEqual(seen, ["lost", "back"]);
    assert.equal(server.hellos.length, 2);
    assert.equal(server.hellos[1].resume, "token-Alice");
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("with the real server: TLS chats, and TLS on one side only is named at connect", async () => {
  const tlsServer = startServer({ tls: { cert: LOCAL.cert, key: LOCAL.key } });
  const plainServer = startServer();
  const client = clientFor(tlsServer.addr.port, { tls: { caCerts: [LOCAL.cert] } });
  try {
    await client.connect();
    assert.ok((await client.register("Alice")).ok);
    assert.equal(await refusal(clientFor(tlsServer.addr.port)), SERVER_USES_OWN_CERT);
    const tlsOnPlain = clientFor(plainServer.addr.port, { tls: { caCerts: [LOCAL.cert] } });
    assert.equal(await refusal(tlsOnPlain), SERVER_NOT_TLS);
  } finally {
    client.close();
    await tlsServer.shutdown();
    await plainServer.shutdown();
  }
});
