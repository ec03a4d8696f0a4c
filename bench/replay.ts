/**
 * How long the server takes to replay what a client missed (docs/PROTOCOL.md,
 * "Delivery"), measured in the server's core: from the `hello` with `since`
 * to the last `replay` page encoded as JSON lines, as a connection would,
 * the replay's steps each in a turn of its own (a timer, as the server
 * runs them, with as many steps a turn as fit in its budget); and its
 * longest turn, which is how long every other connection waits. The same
 * for an account's login (without `since`) with 10,000 private messages
 * kept for it, sent in `missed` pages. And what a delivery window costs the fan-out: a room's
 * message handed to members that acknowledge (`acks`) against members that
 * do not.
 *
 * ```sh
 * deno run -A bench/replay.ts [RUNS]
 * ```
 *
 * Prints one line per case: the median of RUNS (default 5) and the slowest,
 * of the whole replay and of its longest turn.
 *
 * @module
 */

import { DeliveryWindow, WINDOW_LIMIT, WindowedSink } from "../lib/core/delivery_window.ts";
import type { ChatEvent, MessageEvent, Sink } from "../lib/core/events.ts";
import { Hub, type HubStore } from "../lib/core/hub.ts";
import { ReplayGate } from "../lib/core/replay_gate.ts";
import { Member, Room } from "../lib/core/room.ts";
import { encodeEvent } from "../lib/protocol/json.ts";
import { Store } from "../lib/store/sqlite_store.ts";

const runs = Number(Deno.args[0] ?? 5);
const TEXT = "a message of a typical length, about sixty characters long.";

/** A connection's side: each event encoded, its bytes counted. */
class Wire implements Sink {
  bytes = 0;
  frames = 0;
  /** The stream its welcome said. */
  stream = "";
  /** Messages replayed to it. */
  replayed = 0;
  /** Resolves once the replay's last page is sent. */
  readonly ended: Promise<void>;
  #end = () => {};
  constructor() {
    this.ended = new Promise((resolve) => this.#end = resolve);
  }
  send(event: ChatEvent): void {
    if (event.type === "welcome") this.stream = event.stream ?? "";
    if (event.type === "replay") this.replayed += event.messages.length;
    if (event.type === "replay" && !event.more) this.#end();
    this.bytes += encodeEvent(event).length;
    this.frames++;
  }
}

/** How long each step of a replay that ran in a turn of its own took, in ms. */
let turns: number[] = [];

/** Runs each step of a replay in a turn of its own, as the server does, timing it. */
function nextTurn(step: () => void): void {
  setTimeout(() => {
    const start = performance.now();
    step();
    turns.push(performance.now() - start);
  }, 0);
}

/** Median and slowest of `times`, in ms. */
function summary(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `median ${median.toFixed(1)} ms, slowest ${sorted.at(-1)?.toFixed(1)} ms`;
}

/**
 * One resume of Ann after `missed` messages from Bob (half in the lobby, half
 * in #team, every tenth a private message to her); `acks` gives her a window.
 */
function resume(store: HubStore | undefined, missed: number, acks: boolean, account: boolean) {
  // All of it replayed, as a server with a --queue-limit big enough would: the time is what is measured.
  const hub = new Hub({
    flood: null,
    churn: null,
    store,
    auth: account ? "names" : "off",
    replayBytes: Infinity,
    nextTurn,
    turnClock: () => performance.now(),
  });
  const bob = hub.register("Bob", new Wire());
  const first = new Wire();
  const ann = hub.register("Ann", first, { acks, account });
  hub.join(ann, "team");
  hub.join(bob, "team");
  for (let i = 0; i < missed; i++) {
    if (i % 10 === 9) hub.whisper(bob, "Ann", TEXT);
    else hub.say(bob, TEXT, i % 2 === 0 ? "lobby" : "team");
  }
  hub.settle();
  return { hub, ann, stream: first.stream };
}

async function withStore<T>(body: (store: Store) => T | Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "chat-replay-bench-" });
  const store = Store.open(dir);
  try {
    return await body(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Messages replayed in the last run, and its longest turn (ms), for the line printed. */
let replayed = 0;
let longest: number[] = [];

/** Times `register` (a `hello` with `since`) until the last replay page; notes its longest turn. */
async function timeReplay(register: (wire: Wire) => void): Promise<number> {
  const wire = new Wire();
  turns = [];
  const start = performance.now();
  register(wire);
  const first = performance.now() - start;
  await wire.ended;
  const ms = performance.now() - start;
  replayed = wire.replayed;
  longest.push(Math.max(first, ...turns));
  return ms;
}

/** Times the resume of Ann with `since` 0 after `missed` messages. */
function timeResume(store: HubStore | undefined, missed: number, acks: boolean): Promise<number> {
  const { hub, ann, stream } = resume(store, missed, acks, false);
  return timeReplay((wire) =>
    hub.register("Ann", wire, { resume: ann.resume, since: 0, stream, acks })
  );
}

/** Times an account login of Ann with `since` 0 after `missed` messages, from the store. */
function timeLogin(store: Store, missed: number): Promise<number> {
  if (!store.getUser("Ann")) store.addUser("Ann", "hash", Date.now());
  const { hub, ann, stream } = resume(store, missed, false, true);
  hub.leave(ann, "gone");
  return timeReplay((wire) => hub.register("Ann", wire, { account: true, since: 0, stream }));
}

/**
 * Times an account login of Ann (acknowledging) with `kept` private
 * messages waiting for her: handed to her last connection, never
 * acknowledged. Without `since`, they come in `missed` pages; with it (the
 * newest id, as her client would say after showing them), in the replay.
 * Until a `pong` asked for right after it, which waits behind the pages.
 */
async function timeKeptMail(store: Store, kept: number, since = false): Promise<number> {
  if (!store.getUser("Ann")) store.addUser("Ann", "hash", Date.now());
  const hub = new Hub({
    flood: null,
    churn: null,
    store,
    auth: "names",
    replayBytes: Infinity,
    nextTurn,
    turnClock: () => performance.now(),
  });
  const bob = hub.register("Bob", new Wire());
  const earlier = new Wire();
  const ann = hub.register("Ann", earlier, { acks: true, account: true });
  for (let i = 0; i < kept; i++) hub.whisper(bob, "Ann", TEXT);
  hub.settle();
  hub.leave(ann, "gone");
  const asks = since ? { since: store.lastId, stream: earlier.stream } : {};
  const pong = { type: "pong" as const, token: "end" };
  const wire = new Wire();
  let ended = () => {};
  const pongs = new Promise<void>((resolve) => ended = resolve);
  wire.send = ((send) => (event: ChatEvent) => {
    send(event);
    if (event.type === "missed" || event.type === "replay") replayed += event.messages.length;
    if (event.type === "pong") ended();
  })(wire.send.bind(wire));
  turns = [];
  replayed = 0;
  const start = performance.now();
  const member = hub.register("Ann", wire, { acks: true, account: true, ...asks });
  hub.answer(member, pong);
  const first = performance.now() - start;
  await pongs;
  const ms = performance.now() - start;
  longest.push(Math.max(first, ...turns));
  return ms;
}

/** Hands `count` messages to `members` members of a room, with or without windows; ms per message. */
function fanOut(members: number, count: number, acks: boolean): number {
  const room = new Room("lobby");
  for (let i = 0; i < members; i++) {
    // As the hub makes them (Delivery.sinkFor): behind a replay's gate, in a window with acks.
    const gate = new ReplayGate(new Wire());
    const sink = acks ? new WindowedSink(gate, new DeliveryWindow(0)) : gate;
    room.add(new Member(`m${i}`, sink, { peer: "", address: "", resume: "" }));
  }
  const start = performance.now();
  for (let id = 1; id <= count; id++) {
    const message: MessageEvent = {
      type: "message",
      id,
      time: 0,
      room: "lobby",
      from: "m0",
      text: TEXT,
    };
    room.broadcast(message);
    // As the clients would: an ack a second, here one per 100 messages.
    if (acks && id % 100 === 0) {
      for (const member of room.members()) (member.sink as WindowedSink).window.ack(id);
    }
  }
  return (performance.now() - start) / count;
}

const cases: [string, () => number | Promise<number>][] = [
  // The window holds WINDOW_LIMIT: past it, a resume falls back to the history.
  ["resume from the window, no store", () => timeResume(undefined, WINDOW_LIMIT, true)],
  // Not an account: of 11,111 missed, the 1,111 private messages are not replayed.
  ["resume from the store (--data)", () => withStore((s) => timeResume(s, 11_111, false))],
  // A login is in #lobby alone: half the room messages, and the private messages.
  [
    "account login with since, from the store (--data)",
    () => withStore((s) => timeLogin(s, 18_182)),
  ],
  [
    "account login without since, 10,000 kept private messages (--data)",
    () => withStore((s) => timeKeptMail(s, 10_000)),
  ],
  [
    "account login with since, the same 10,000 kept (never acknowledged) in the replay",
    () => withStore((s) => timeKeptMail(s, 10_000, true)),
  ],
];
for (const [label, run] of cases) {
  const times: number[] = [];
  longest = [];
  for (let i = 0; i < runs; i++) times.push(await run());
  console.log(
    `${label}, ${replayed} messages replayed: ${summary(times)}; longest turn ${summary(longest)}`,
  );
}
for (const acks of [false, true]) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(fanOut(1000, 2000, acks) * 1000);
  console.log(
    `fan-out of one message to 1000 members, ${acks ? "with" : "without"} windows: ${
      summary(times).replaceAll(" ms", " µs")
    }`,
  );
}
