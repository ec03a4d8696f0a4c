/**
 * The TLS relay's internal listener (see lib/server/tls_front.ts) serves the
 * relay's own connections only: a local program that connects to it
 * directly is closed at once, and however many do, public TLS joins go on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cleanUp, JsonClient, startServer, within } from "./_helpers.ts";
import { makeCertificate } from "../lib/auth/certs.ts";
import { procPort, procSockets } from "./_proc.ts";

const { cert, key } = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
const trusted = { tls: { caCerts: [cert] } };

/**
 * The TCP ports this process listens on, from /proc (as `ss -ltn` shows
 * them to any local user); null where /proc cannot tell (not Linux).
 */
async function listeningPorts(): Promise<number[] | null> {
  const sockets = await procSockets();
  if (sockets === null) return null;
  // State 0A: LISTEN.
  return sockets.tcp.filter(([, , , state, , , , , , inode]) =>
    state === "0A" && sockets.inodes.has(inode)
  ).map(([, local]) => procPort(local));
}

/** Resolves when `conn` ends (end of stream, or a reset), reading and dropping what comes. */
async function ended(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(1024);
  try {
    while ((await conn.read(buffer)) !== null) { /* dropped */ }
  } catch {
    // A reset ends it too.
  }
}

Deno.test("100 direct connections to the internal TLS port stop no public join, and are closed", async () => {
  const log: string[] = [];
  const server = startServer({ tls: { cert, key }, log: (line) => log.push(line) });
  const ports = await listeningPorts();
  if (ports === null) {
    await server.shutdown();
    return; // Not Linux: the internal port cannot be found as a local user would.
  }
  const internal = ports.filter((port) => port !== server.addr.port);
  assert.equal(internal.length, 1, `listening on ${ports}`);
  const direct: Deno.Conn[] = [];
  let alice: JsonClient | null = null;
  try {
    for (let i = 0; i < 100; i++) {
      direct.push(await Deno.connect({ hostname: "127.0.0.1", port: internal[0] }));
    }
    alice = await JsonClient.join(server, "Alice", trusted);
    const bob = await JsonClient.join(server, "Bob", trusted);
    await alice.send({ type: "say", text: "still here" });
    assert.equal((await bob.next("message")).text, "still here");
    await bob.close();
    assert.ok(
      log.some((line) => /^TLS accept: closed \d+ connections? not from a relay$/.test(line)),
      log.join("\n"),
    );
    // Closed, they are gone for good once their peer says anything; a silent
    // one Deno holds until then (see tls_front.ts).
    for (const conn of direct) {
      await conn.write(new TextEncoder().encode("hello?\n")).catch(() => 0);
    }
    await within(Promise.all(direct.map(ended)), () => "a direct connection was left open");
    assert.equal(server.connections, 1, "only Alice was served");
  } finally {
    for (const conn of direct) conn.close();
    await cleanUp(server, ...(alice ? [alice] : []));
  }
});
