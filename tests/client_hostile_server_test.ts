/**
 * `chat join` against a server that breaks the protocol or means harm: a
 * fake server sends frames that do not fit docs/PROTOCOL.md, and text with
 * terminal escapes (OSC 52 writes the clipboard, OSC 8 hides a link, ESC[2J
 * clears the screen), BEL and C1 controls in every place a server's words
 * can reach the person: refusals, goodbyes, the motd, names, messages. The
 * real client runs in a pipe and in a terminal (tmux), and what it wrote is
 * checked byte for byte: in a terminal, tmux's pipe-pane records the raw
 * output, before the terminal has interpreted (and hidden) any of it.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ChatEvent } from "../lib/core/events.ts";
import { chatCommand, ROOT } from "./_chat_command.ts";
import { FakeServer, type Script, welcome } from "./_fake_server.ts";
import { WAIT_MS } from "./_helpers.ts";
import { shellLine, startTerminal, stopTerminal, tmux } from "./_tmux.ts";
import { runJoin, spawnJoin } from "./chat_helpers.ts";

const NOW = Date.now();

/** Text that would act on a terminal printed as is; "X" is all that should remain. */
const HOSTILE = "\x1b]52;c;aGFja2Vk\x07" + // OSC 52: set the clipboard
  "\x1b]8;;https://evil.example/\x1b\\" + "X" + "\x1b]8;;\x1b\\" + // OSC 8: a hidden link
  "\x1b[2J\x1b[H" + // clear the screen
  "\x07" + // bell
  "\x9b31m\x9d0;title\x9c\x85\x90q\x9c"; // C1: CSI, OSC ... ST, NEL, DCS ... ST

/** A message from Bob that a working client shows: `Bob: good N`. */
function good(n: number): string {
  return JSON.stringify({
    type: "message",
    id: 1000 + n,
    time: NOW,
    room: "lobby",
    from: "Bob",
    text: `good ${n}`,
  });
}

const message = { type: "message", id: 1, time: NOW, room: "lobby", from: "Bob", text: "x" };
const join = { type: "join", time: NOW, room: "lobby", name: "Cy", count: 2 };

/**
 * Frames that do not fit the protocol, and whether the client counts them:
 * unknown types are ignored as the protocol says (a newer server may send
 * them), not counted.
 */
const BAD_FRAMES: { line: string; counted: boolean }[] = [
  ...[
    { type: "history" },
    { type: "users" },
    { type: "info" },
    { type: "bye" },
    { type: "missed", messages: [null] },
    { type: "missed", messages: [message] },
    { type: "history", room: "lobby", messages: [{ type: "message" }] },
    { type: "history", room: "lobby", messages: { 0: message, length: 1 } },
    { ...message, text: undefined },
    { ...message, text: { nested: [[[{ text: "x" }]]] } },
    { ...message, from: null },
    { ...message, id: "7" },
    { ...message, id: -1 },
    { ...message, time: 1e308 },
    { ...message, time: 2 ** 53 },
    { ...message, action: "yes" },
    { type: "private", id: 2, time: NOW, from: "Bob", text: "no to" },
    { ...join, count: 2 ** 60 },
    { ...join, count: -3 },
    { ...join, count: 1.5 },
    { type: "leave", time: NOW, room: "lobby", name: "Cy", count: 1 },
    { type: "rename", time: NOW, room: "lobby", from: "Cy", to: 7 },
    { type: "users", room: "lobby", names: "Bob" },
    { type: "users", room: "lobby", names: ["Bob", 2, null] },
    { type: "notice", time: NOW },
    { type: "info", text: null },
    { type: "error", code: 7, message: "x" },
    { type: "error", code: "flood" },
    { type: "ping", token: {} },
    { type: "pong", token: 5 },
    { type: "bye", code: "kicked" },
    { type: "welcome", name: "bot", room: "lobby", users: "bot" },
    { type: 42 },
    {},
  ].map((frame) => ({ line: JSON.stringify(frame), counted: true })),
  // Huge numbers and deep nesting, which JSON.stringify would not write.
  { line: '{"type":"join","time":1,"room":"lobby","name":"Cy","count":1e400}', counted: true },
  { line: `{"type":"info","text":${"[".repeat(100_000)}${"]".repeat(100_000)}}`, counted: true },
  { line: "[1,2,3]", counted: true },
  { line: "null", counted: true },
  { line: '"text"', counted: true },
  { line: "{not json", counted: true },
  { line: `{"type":"info","text":"${"x".repeat(1024 * 1024 + 10)}"}`, counted: true },
  ...[
    { type: "__proto__" },
    { type: "constructor", text: "x" },
    { type: "toString" },
    { type: "hasOwnProperty" },
    { type: `sparkle${HOSTILE}`, text: HOSTILE },
  ].map((frame) => ({ line: JSON.stringify(frame), counted: false })),
  // __proto__ as a key of its own, which JSON.stringify cannot write either.
  { line: '{"type":"message","__proto__":{"text":"x","id":1}}', counted: true },
];

/** How many of BAD_FRAMES the client should count (the bad welcome is one more). */
const COUNTED = BAD_FRAMES.filter((f) => f.counted).length;

/**
 * A server that answers the first hello with a welcome lacking `users`, a
 * good welcome, then each bad frame followed by a good message.
 */
const badFrames: Script = (hello) => [
  JSON.stringify({ ...welcome(hello.name), users: undefined }),
  welcome(hello.name),
  ...BAD_FRAMES.flatMap((frame, i) => [frame.line, good(i)]),
];

/** The line a client that skipped frames writes to stderr when it ends. */
function skippedLine(port: number): RegExp {
  return new RegExp(
    `^chat: skipped ${COUNTED + 1} frames from 127\\.0\\.0\\.1:${port} that did not follow ` +
      `the protocol \\(the first: frame "welcome" needs a list of strings "users"\\)$`,
    "m",
  );
}

/** Every raw ESC, BEL or C1 control in `text`, as the escaped strings that show them. */
function controls(text: string): string[] {
  // deno-lint-ignore no-control-regex -- these bytes are what is looked for
  return [...text.matchAll(/[\x07\x1b\x80-\x9f]/g)].map((m) => JSON.stringify(m[0]));
}

/** Fails unless `text` (a pipe's output) holds no ESC, BEL or C1 control at all. */
function assertNoControls(text: string, where: string): void {
  assert.deepEqual(controls(text), [], `${where} holds raw controls:\n${JSON.stringify(text)}`);
}

/** Fails if `text` shows a stack trace or an uncaught error. */
function assertNoCrash(text: string): void {
  assert.doesNotMatch(text, /Uncaught|^\s+at .*:\d+:\d+/m, text);
}

Deno.test("a piped client skips each frame that does not fit the protocol, shows the next, and counts them", async () => {
  const server = new FakeServer(badFrames);
  try {
    const result = await runJoin([`127.0.0.1:${server.port}`, "--name", "bot"]);
    assertNoCrash(result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^\d\d:\d\d Welcome, bot! You are in #lobby, the first one here\.$/m,
    );
    for (let i = 0; i < BAD_FRAMES.length; i++) {
      assert.match(result.stdout, new RegExp(`^\\d\\d:\\d\\d Bob: good ${i}$`, "m"));
    }
    assert.match(result.stderr, skippedLine(server.port));
    assert.equal(result.stderr.split("\n").length, 2, `one line: ${result.stderr}`);
    assertNoControls(result.stdout + result.stderr, "the output");
  } finally {
    await server.close();
  }
});

/** An error refusing `hello`, with hostile text. */
function refused(code: string): ChatEvent {
  return { type: "error", code, message: `Refused ${HOSTILE}now` } as ChatEvent;
}

Deno.test("a piped client cleans the server's words in every refusal at connect", async () => {
  const scripts: [string, Script][] = [
    [
      "room_full",
      () => [refused("room_full"), { type: "bye", code: "room_full", reason: HOSTILE }],
    ],
    ["name_taken", () => [refused("name_taken")]],
    ["password_required", () => [refused("password_required")]],
    ["throttled", () => [refused("throttled")]],
    ["bye", () => [{ type: "bye", code: "refused", reason: `Go ${HOSTILE}away` }]],
  ];
  for (const [what, script] of scripts) {
    const server = new FakeServer(script);
    try {
      const address = `127.0.0.1:${server.port}`;
      const result = await runJoin([address, "--name", "bot"]);
      assert.equal(result.code, 4, `${what}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`^chat: cannot join ${address}: .*X.*\n$`), what);
      assertNoControls(result.stdout + result.stderr, what);
    } finally {
      await server.close();
    }
  }
});

/** Every kind of event, each carrying hostile text in every string a person sees. */
function hostileEvents(me: string): ChatEvent[] {
  const name = `Eve${HOSTILE}`;
  const said = { id: 1, time: NOW, room: `lobby${HOSTILE}`, from: name, text: `hi ${HOSTILE}` };
  const privately = { id: 2, time: NOW, from: name, to: me, text: `psst ${HOSTILE}` };
  return [
    { type: "message", ...said },
    { type: "message", ...said, action: true },
    { type: "private", ...privately },
    { type: "private", ...privately, from: me, to: name, offline: true },
    { type: "missed", messages: [{ type: "private", ...privately }] },
    { type: "history", room: `lobby${HOSTILE}`, messages: [{ type: "message", ...said }] },
    { type: "join", time: NOW, room: "lobby", name, count: 3 },
    { type: "leave", time: NOW, room: "lobby", name, count: 2, reason: `bye ${HOSTILE}` },
    { type: "rename", time: NOW, room: "lobby", from: name, to: `${name}2` },
    { type: "users", room: `lobby${HOSTILE}`, names: [me, name] },
    { type: "notice", time: NOW, text: `note ${HOSTILE}` },
    { type: "info", text: `help ${HOSTILE}\nmore ${HOSTILE}` },
    { type: "error", code: "flood", message: `slow ${HOSTILE}down` } as ChatEvent,
  ];
}

/** A welcome whose every string a person sees is hostile. */
function hostileWelcome(name: string): ChatEvent {
  return {
    ...welcome(name),
    room: `lobby${HOSTILE}`,
    users: [name, `Eve${HOSTILE}`],
    count: 2,
    motd: `Be ${HOSTILE}kind`,
  };
}

Deno.test("a piped client cleans the server's words in every event and in the goodbye", async () => {
  const server = new FakeServer((hello) => [
    hostileWelcome(hello.name),
    ...hostileEvents(hello.name),
    { type: "bye", code: "kicked", reason: `Kicked: ${HOSTILE}bye` },
  ]);
  const process = spawnJoin([`127.0.0.1:${server.port}`, "--name", "bot"]);
  try {
    // Input stays open: the goodbye ends the client.
    const output = await process.output();
    const [stdout, stderr] = [output.stdout, output.stderr].map((b) => new TextDecoder().decode(b));
    assert.equal(output.code, 1, stderr);
    // The refusal of what the client sent (the error event) goes to stderr too.
    assert.match(stderr, /^\d\d:\d\d Error: slow Xdown\n/);
    assert.match(
      stderr,
      new RegExp(`\nchat: kicked: Xbye \\(127\\.0\\.0\\.1:${server.port}\\)\n$`),
    );
    assert.match(stdout, /Welcome, bot! You are in #lobbyX with EveX\./);
    assert.match(stdout, /\*\*\* Be Xkind/);
    assert.match(stdout, /EveX: hi X/);
    assertNoControls(stdout + stderr, "the output");
  } finally {
    await process.stdin.close().catch(() => {});
    await server.close();
  }
});

let sessions = 0;

/**
 * `chat join` in a tmux window whose raw output is recorded: the shell waits
 * for Enter before starting it, so that pipe-pane is on before its first byte.
 */
class RecordedTerminal {
  readonly socket = `chat-hostile-${Deno.pid}-${++sessions}`;
  #log = "";

  async start(args: string[]): Promise<void> {
    this.#log = await Deno.makeTempFile({ prefix: "chat-pane-" });
    const script = `read -r _; ${shellLine(chatCommand(["join", ...args]))}; ` +
      `echo "[exit $?]"; sleep 60`;
    await startTerminal(this.socket, script, {
      // Wide, so that no status line the tests look for is wrapped.
      columns: 160,
      rows: 40,
      cwd: ROOT.pathname,
      env: {
        ...{ NO_COLOR: "", CHAT_NAME: "", CHAT_HOST: "", CHAT_PORT: "" },
        ...{ CHAT_PASSWORD: "", CHAT_CA: "" },
      },
    });
    await tmux(this.socket, "pipe-pane", "-o", "-t", "chat", `cat >> ${shellLine([this.#log])}`);
    await tmux(this.socket, "send-keys", "-t", "chat", "Enter");
  }

  /** Types text literally, or presses keys by tmux name with `keys`. */
  async type(text: string, ...keys: string[]): Promise<void> {
    if (text) await tmux(this.socket, "send-keys", "-t", "chat", "-l", text);
    if (keys.length > 0) await tmux(this.socket, "send-keys", "-t", "chat", ...keys);
  }

  /** The screen with all its scrollback. */
  screen(): Promise<string> {
    return tmux(this.socket, "capture-pane", "-p", "-J", "-S", "-", "-t", "chat");
  }

  /** Polls the screen and its scrollback until `pattern` shows; fails after twice WAIT_MS. */
  async waitFor(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 2 * WAIT_MS;
    let screen = "";
    while (Date.now() < deadline) {
      screen = await this.screen();
      if (pattern.test(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the screen never showed ${pattern}:\n${screen}`);
  }

  /**
   * Waits for the client to exit; resolves to its exit code and everything
   * it wrote, raw, as the terminal received it.
   */
  async ended(): Promise<{ code: number; raw: string; screen: string }> {
    const screen = await this.waitFor(/^\[exit \d+\]/m);
    const deadline = Date.now() + WAIT_MS;
    let raw = "";
    // pipe-pane hands the bytes to cat, which may write them a moment later.
    while (!raw.includes("[exit ") && Date.now() < deadline) {
      raw = await Deno.readTextFile(this.#log);
      if (!raw.includes("[exit ")) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const code = Number(/^\[exit (\d+)\]/m.exec(screen)![1]);
    return { code, raw: raw.slice(0, raw.indexOf("[exit ")), screen };
  }

  /** Stops tmux, removing its socket file and the recording. */
  async kill(): Promise<void> {
    await stopTerminal(this.socket);
    if (this.#log) await Deno.remove(this.#log).catch(() => {});
  }
}

/**
 * What a terminal client wrote that it should not have: the client's own
 * escapes (colours, cursor moves, its title ended by BEL) are allowed, and
 * nothing else: no other OSC, no screen clearing, no bell (the tests send
 * nothing that rings it), no C1 control.
 */
function hostileInTerminal(raw: string): string[] {
  // deno-lint-ignore no-control-regex -- the client's own title sequence
  const own = raw.replace(/\x1b\]0;[^\x07\x1b]*\x07/g, "");
  // The client's colours and cursor moves (CSI), which lose their ESC here.
  // deno-lint-ignore no-control-regex -- the client's own sequences
  const found = controls(own.replace(/\x1b(?=\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e])/g, ""));
  if (own.includes("\x1b[2J")) found.push("ESC[2J");
  return found;
}

/** Runs `body` with a fake server answering `script` and a recorded terminal. */
async function withTerminal(
  script: Script,
  body: (term: RecordedTerminal, server: FakeServer) => Promise<void>,
): Promise<void> {
  const server = new FakeServer(script);
  const term = new RecordedTerminal();
  try {
    await body(term, server);
  } finally {
    await term.kill();
    await server.close();
  }
}

Deno.test("in a terminal, frames that do not fit are skipped, the next shows, and the count follows the exit", async () => {
  await withTerminal(badFrames, async (term, server) => {
    await term.start([`127.0.0.1:${server.port}`, "--name", "bot"]);
    const last = BAD_FRAMES.length - 1;
    await term.waitFor(new RegExp(`Bob: good ${last}$`, "m"));
    await term.type("", "C-c");
    const { code, raw, screen } = await term.ended();
    assertNoCrash(screen);
    assert.equal(code, 0, screen);
    for (let i = 0; i <= last; i++) assert.match(screen, new RegExp(`Bob: good ${i}$`, "m"));
    assert.match(screen, skippedLine(server.port));
    assert.match(raw, /good \d+/, "the recording holds the conversation");
    assert.deepEqual(hostileInTerminal(raw), []);
  });
});

Deno.test("in a terminal, the server's words are cleaned in refusals, events, reconnections and the end", async () => {
  const script: Script = (hello, index) => {
    switch (index) {
      case 0:
        return [refused("name_taken")];
      case 1:
        return [refused("password_required")];
      case 2:
        // No private message or mention here: they ring the bell, which is the client's own.
        return [
          hostileWelcome(`Bea${HOSTILE}`),
          ...hostileEvents(hello.name).filter((e) => e.type !== "private" && e.type !== "missed"),
          { type: "notice", time: NOW, text: "end of events" },
        ];
      case 3:
        return [refused("name_taken")];
      case 4:
        return [welcome(`Bea${HOSTILE}2`, true)];
      default:
        return [refused("throttled")];
    }
  };
  await withTerminal(script, async (term, server) => {
    await term.start([`127.0.0.1:${server.port}`, "--name", "Ann"]);
    await term.waitFor(/Refused Xnow\. Please choose another name\./);
    await term.type("Bea", "Enter");
    await term.waitFor(/Refused Xnow$/m);
    await term.waitFor(/Password for Bea:/);
    await term.type("secret", "Enter");
    await term.waitFor(/\*\*\* end of events/);
    server.dropAll();
    await term.waitFor(/refused to let you back in: Refused Xnow; will keep trying/);
    await term.waitFor(/Reconnected to .* as BeaX2/);
    server.dropAll();
    const { code, raw, screen } = await term.ended();
    assertNoCrash(screen);
    assert.equal(code, 4, screen);
    assert.match(screen, /^chat: 127\.0\.0\.1:\d+ refused to let you back in: refused Xnow$/m);
    assert.match(raw, /hi X/, "the recording holds the conversation");
    assert.deepEqual(hostileInTerminal(raw), []);
  });
});

Deno.test("in a terminal, a refusal at connect and a goodbye are cleaned", async () => {
  const endings: [Script, number, RegExp][] = [
    [
      () => [refused("room_full"), { type: "bye", code: "room_full", reason: HOSTILE }],
      4,
      /^chat: cannot join 127\.0\.0\.1:\d+: refused Xnow$/m,
    ],
    [
      (hello) => [welcome(hello.name), { type: "bye", code: "kicked", reason: `Out ${HOSTILE}` }],
      1,
      /^chat: out X \(127\.0\.0\.1:\d+\)$/m,
    ],
  ];
  for (const [script, expected, line] of endings) {
    await withTerminal(script, async (term, server) => {
      await term.start([`127.0.0.1:${server.port}`, "--name", "Ann"]);
      const { code, raw, screen } = await term.ended();
      assertNoCrash(screen);
      assert.equal(code, expected, screen);
      assert.match(screen, line);
      assert.match(raw, /chat: .*X/, "the recording holds the last line");
      assert.deepEqual(hostileInTerminal(raw), []);
    });
  }
});
