/**
 * Tests of lib/certs.ts and `chat cert`: the names that go into a
 * certificate, what the certificate says (read back by openssl), and that it
 * really works: a TLS server with it is trusted for each of its names and for
 * no other, by Deno's TLS client (rustls, as `chat join --tls` will use).
 *
 * @module
 */

import assert from "node:assert/strict";
import { CertNameError, makeCertificate, sortNames } from "../lib/auth/certs.ts";
import { type ChatRun, runChat } from "./_chat_command.ts";
import { within } from "./_helpers.ts";

Deno.test("sortNames() sorts host names and addresses, in the forms a certificate needs", () => {
  const cases: [string[], { dns: string[]; ip: string[] }][] = [
    [["chat.lan"], { dns: ["chat.lan"], ip: [] }],
    [["Chat.LAN.", "chat.lan"], { dns: ["chat.lan"], ip: [] }],
    [["classroom-pc", "192.168.1.20"], { dns: ["classroom-pc"], ip: ["192.168.1.20"] }],
    [["[::1]", "fe80::1", "2001:DB8:0:0::1"], { dns: [], ip: ["::1", "fe80::1", "2001:db8::1"] }],
    [["bücher.lan"], { dns: ["xn--bcher-kva.lan"], ip: [] }],
    [["localhost", "127.0.0.1"], { dns: ["localhost"], ip: ["127.0.0.1"] }],
  ];
  for (const [names, want] of cases) assert.deepEqual(sortNames(names), want, names.join(" "));
});

Deno.test("sortNames() refuses what is neither a host name nor an address, saying why", () => {
  const cases: [string, string][] = [
    ["256.1.1.1", "256.1.1.1 is not a valid IPv4 address"],
    ["192.168.1", "192.168.1 is not a valid IPv4 address"],
    ["010.0.0.1", "010.0.0.1 is not a valid IPv4 address"],
    ["1::2::3", "1::2::3 is not a valid IPv6 address"],
    ["fe80::1%eth0", "fe80::1%eth0: an address with a zone (%...) cannot be in a certificate"],
    [
      "chat.lan:7777",
      "chat.lan:7777 is not a host name (letters, digits and -, in parts separated by dots) " +
      "or an IP address",
    ],
  ];
  for (const [name, message] of cases) {
    assert.throws(() => sortNames([name]), (error: unknown) => {
      assert.ok(error instanceof CertNameError);
      assert.equal(error.message, message);
      return true;
    }, name);
  }
  for (
    const name of ["-chat.lan", "chat_lan", "a..b", "http://chat.lan", "*.lan", "x".repeat(64)]
  ) {
    assert.throws(() => sortNames([name]), CertNameError, name);
  }
  assert.throws(() => sortNames([]), CertNameError);
});

/** `openssl x509 -text` of `pem`, or undefined when openssl is not installed. */
async function openssl(pem: string): Promise<string | undefined> {
  try {
    const child = new Deno.Command("openssl", {
      args: ["x509", "-noout", "-text"],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(pem));
    await writer.close();
    const { stdout } = await child.output();
    return new TextDecoder().decode(stdout);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

Deno.test("makeCertificate() makes a self-signed server leaf, not a CA, for exactly the names given", async () => {
  const now = new Date("2030-01-01T00:00:00Z");
  const made = await makeCertificate({ names: ["chat.lan", "192.168.1.20", "::1"], days: 30, now });
  assert.match(
    made.cert,
    /^-----BEGIN CERTIFICATE-----\r?\n[\s\S]+-----END CERTIFICATE-----\r?\n$/,
  );
  assert.match(made.key, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.deepEqual(made.notAfter, new Date("2030-01-31T00:00:00Z"));
  const text = await openssl(made.cert);
  if (text === undefined) {
    console.log("openssl is not installed; the certificate's fields were not read back");
    return;
  }
  assert.match(text, /Issuer: CN ?= ?chat\.lan, O ?= ?chat \(self-signed\)/);
  assert.match(text, /Subject: CN ?= ?chat\.lan, O ?= ?chat \(self-signed\)/);
  assert.match(text, /Not Before: Dec 31 23:00:00 2029 GMT/);
  assert.match(text, /Not After : Jan 31 00:00:00 2030 GMT/);
  assert.match(text, /Public-Key: \(2048 bit\)/);
  assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
  assert.match(text, /X509v3 Extended Key Usage: ?\s+TLS Web Server Authentication\n/);
  const sans = /X509v3 Subject Alternative Name: ?\s+(.+)\n/.exec(text)?.[1];
  assert.equal(sans, "DNS:chat.lan, IP Address:192.168.1.20, IP Address:0:0:0:0:0:0:0:1");
});

Deno.test("makeCertificate() refuses a validity outside 1 to 825 days", async () => {
  for (const days of [0, 826, 1.5]) {
    await assert.rejects(makeCertificate({ names: ["chat.lan"], days }), RangeError);
  }
});

/**
 * A TLS server on 127.0.0.1 and ::1 with `cert` and `key`, and a function
 * that tries a handshake to it as a client checking the name `hostname`
 * against `caCerts` (none: the system's roots); resolves to "ok" or the
 * client's error message.
 */
async function withTlsServer(
  cert: string,
  key: string,
  body: (handshake: (hostname: string, caCerts?: string[]) => Promise<string>) => Promise<void>,
): Promise<void> {
  const listeners = [
    Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key }),
    Deno.listenTls({ hostname: "::1", port: 0, cert, key }),
  ];
  const serving = listeners.map(async (listener) => {
    for await (const conn of listener) {
      try {
        await conn.handshake();
        await conn.write(new TextEncoder().encode("hello over TLS\n"));
      } catch {
        // The client refused our certificate: that is what some tests want.
      } finally {
        conn.close();
      }
    }
  });
  const handshake = async (hostname: string, caCerts?: string[]) => {
    // Connect by address, verify by name: as a client that resolved `hostname`.
    const v6 = hostname.includes(":");
    const tcp = await Deno.connect({
      hostname: v6 ? "::1" : "127.0.0.1",
      port: listeners[v6 ? 1 : 0].addr.port,
    });
    const tls = await Deno.startTls(tcp, { hostname, ...(caCerts ? { caCerts } : {}) });
    try {
      await tls.handshake();
      const buffer = new Uint8Array(64);
      const n = await tls.read(buffer);
      return new TextDecoder().decode(buffer.subarray(0, n ?? 0)) === "hello over TLS\n"
        ? "ok"
        : "no greeting";
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    } finally {
      tls.close();
    }
  };
  try {
    await body(handshake);
  } finally {
    for (const listener of listeners) listener.close();
    await Promise.all(serving);
  }
}

Deno.test("a TLS server with the certificate is trusted for each of its names, and no other", async () => {
  const { cert, key } = await makeCertificate({
    names: ["chat.lan", "classroom-pc", "127.0.0.1", "::1"],
  });
  await withTlsServer(cert, key, async (handshake) => {
    for (const name of ["chat.lan", "classroom-pc", "127.0.0.1", "::1"]) {
      assert.equal(await handshake(name, [cert]), "ok", name);
    }
    // localhost was not asked for, so it is not in the certificate.
    for (const name of ["localhost", "other.lan", "chat.lan.evil", "127.0.0.2"]) {
      assert.match(await handshake(name, [cert]), /not valid for name/i, name);
    }
    // Without being given the certificate, a client trusts only the system's roots.
    assert.match(await handshake("chat.lan"), /UnknownIssuer|unknown issuer|invalid peer/i);
  });
});

Deno.test("a certificate is not trusted for a server that has another key", async () => {
  const trusted = await makeCertificate({ names: ["chat.lan"] });
  const impostor = await makeCertificate({ names: ["chat.lan"] });
  await withTlsServer(impostor.cert, impostor.key, async (handshake) => {
    assert.match(await handshake("chat.lan", [trusted.cert]), /invalid peer certificate/i);
  });
});

// ---- chat cert, as a user runs it ------------------------------------------------

function chat(args: string[], cwd?: string): Promise<ChatRun> {
  return runChat(args, { cwd });
}

Deno.test("chat cert writes a certificate and a private key a TLS server can use at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-cert-" });
  try {
    const run = await within(chat(["cert", "chat.lan", "127.0.0.1"], dir), () => "chat cert hung");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(
      lines[0],
      /^wrote chat-cert\.pem: a certificate for chat\.lan, 127\.0\.0\.1, valid until \d{4}-\d\d-\d\d$/,
    );
    assert.equal(
      lines[1],
      "wrote chat-key.pem: its private key, readable by you only; keep it on the server",
    );
    assert.equal(
      lines[2],
      "Serve with: chat serve --tls-cert chat-cert.pem --tls-key chat-key.pem",
    );
    assert.match(lines[3], /^Join with: +chat join chat\.lan --ca chat-cert\.pem /);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(`${dir}/chat-key.pem`)).mode! & 0o777, 0o600);
    }
    const cert = await Deno.readTextFile(`${dir}/chat-cert.pem`);
    const key = await Deno.readTextFile(`${dir}/chat-key.pem`);
    await withTlsServer(cert, key, async (handshake) => {
      assert.equal(await handshake("chat.lan", [cert]), "ok");
      assert.equal(await handshake("127.0.0.1", [cert]), "ok");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("chat cert never replaces a key without --force, and explains bad names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-cert-" });
  try {
    const out = `${dir}/tls`;
    assert.equal((await chat(["cert", "chat.lan", "--out", out])).code, 0);
    const key = await Deno.readTextFile(`${out}/chat-key.pem`);

    const again = await chat(["cert", "chat.lan", "--out", out]);
    assert.equal(again.code, 1);
    assert.equal(
      again.stderr,
      `chat: ${out}/chat-cert.pem already exists; --force replaces it (clients that trust the ` +
        `old certificate must then be given the new one), --out DIR writes elsewhere\n`,
    );
    assert.equal(await Deno.readTextFile(`${out}/chat-key.pem`), key, "the key was touched");

    const forced = await chat(["cert", "chat.lan", "--out", out, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(await Deno.readTextFile(`${out}/chat-key.pem`), key);

    const bad = await chat(["cert", "chat.lan:7777", "--out", `${dir}/bad`]);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      "chat: chat.lan:7777 is not a host name (letters, digits and -, in parts separated by " +
        "dots) or an IP address\nRun 'chat cert --help' for usage.\n",
    );
    await assert.rejects(Deno.stat(`${dir}/bad`), Deno.errors.NotFound);

    const none = await chat(["cert"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^chat: name the host names or IP addresses clients will use/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
