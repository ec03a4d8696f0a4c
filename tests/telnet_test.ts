import assert from "node:assert/strict";
import { TelnetFilter } from "../lib/protocol/telnet.ts";
import { cleanUp, JsonClient, startServer, within } from "./_helpers.ts";

const IAC = 255;

function run(filter: TelnetFilter, bytes: number[]) {
  const buffer = new Uint8Array(bytes);
  const result = filter.filter(buffer);
  return {
    data: [...buffer.subarray(0, result.length)],
    reply: result.reply ? [...result.reply] : null,
    stop: result.stop,
  };
}

Deno.test("TelnetFilter removes negotiation and refuses every option", () => {
  const cases: [string, number[], { data: number[]; reply: number[] | null; stop: boolean }][] = [
    ["plain text passes", [104, 105, 10], { data: [104, 105, 10], reply: null, stop: false }],
    ["WILL is refused with DONT", [IAC, 251, 1, 97], {
      data: [97],
      reply: [IAC, 254, 1],
      stop: false,
    }],
    ["DO is refused with WONT", [IAC, 253, 3], { data: [], reply: [IAC, 252, 3], stop: false }],
    ["DO TIMING-MARK is confirmed", [IAC, 253, 6], { data: [], reply: [IAC, 251, 6], stop: false }],
    ["WONT and DONT need no answer", [IAC, 252, 1, IAC, 254, 1], {
      data: [],
      reply: null,
      stop: false,
    }],
    ["subnegotiation is skipped", [IAC, 250, 24, 0, 65, IAC, 240, 98], {
      data: [98],
      reply: null,
      stop: false,
    }],
    ["interrupt process stops", [IAC, 244, IAC, 253, 6], {
      data: [],
      reply: [IAC, 251, 6],
      stop: true,
    }],
    ["a literal 0xFF is dropped", [IAC, IAC, 99], { data: [99], reply: null, stop: false }],
  ];
  for (const [name, bytes, want] of cases) {
    assert.deepEqual(run(new TelnetFilter(), bytes), want, name);
  }
});

Deno.test("TelnetFilter keeps its place when a command is split between reads", () => {
  const filter = new TelnetFilter();
  assert.deepEqual(run(filter, [97, IAC]), { data: [97], reply: null, stop: false });
  assert.deepEqual(run(filter, [253]), { data: [], reply: null, stop: false });
  assert.deepEqual(run(filter, [6, 98]), { data: [98], reply: [IAC, 251, 6], stop: false });
});

/** Reads from `conn` until the bytes so far satisfy `done`; returns them all. */
async function readUntil(conn: Deno.Conn, done: (bytes: number[]) => boolean): Promise<number[]> {
  const seen: number[] = [];
  const buffer = new Uint8Array(4096);
  while (!done(seen)) {
    const n = await within(conn.read(buffer), () => `stuck after: ${latin1(seen)}`);
    if (n === null) break;
    seen.push(...buffer.subarray(0, n));
  }
  return seen;
}

const latin1 = (bytes: number[]) => new TextDecoder().decode(new Uint8Array(bytes));

Deno.test("a telnet user can register through negotiation and leave with Ctrl+C", async () => {
  const server = startServer();
  const bob = await JsonClient.join(server, "Bob");
  const telnet = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    await readUntil(telnet, (b) => latin1(b).includes("Your name: "));
    // What a telnet client sends for "Ann" after offering an option.
    await telnet.write(new Uint8Array([IAC, 251, 31, 65, 110, 110, 13, 10]));
    const welcome = await readUntil(telnet, (b) => latin1(b).includes("Welcome, Ann!"));
    assert.deepEqual(welcome.slice(0, 3), [IAC, 254, 31], "the option was refused first");
    assert.equal((await bob.next("join")).name, "Ann");
    // Ctrl+C in telnet: interrupt process, then a timing mark to confirm.
    await telnet.write(new Uint8Array([IAC, 244, IAC, 253, 6]));
    const rest = await readUntil(telnet, () => false);
    assert.deepEqual(rest.slice(0, 3), [IAC, 251, 6], "the timing mark was confirmed");
    assert.match(latin1(rest), /Goodbye \(quit\)/);
    assert.equal((await bob.next("leave")).name, "Ann");
  } finally {
    telnet.close();
    await cleanUp(server, bob);
  }
});
