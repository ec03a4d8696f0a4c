/**
 * Properties of the chat core (`lib/core/hub.ts`) over random sequences of
 * what users do, run on a hub with array sinks (no sockets): whatever the
 * sequence, nothing but a ChatError is thrown, names stay unique, every
 * message reaches exactly the members of its room (but those who ignore its
 * sender) once and in id order, nobody gets an event of a room they are not
 * in, and `#lobby` stays.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { ChatError } from "../lib/core/errors.ts";
import type { ChatEvent } from "../lib/core/events.ts";
import { Hub } from "../lib/core/hub.ts";
import { nameKey } from "../lib/core/names.ts";
import type { Member } from "../lib/core/room.ts";
import { GroupStore } from "./_group_store.ts";
import { Inbox } from "./_inbox.ts";
import { checkProperty } from "./_props.ts";

/** Names people try: look-alikes of one another, any script, and some the hub refuses. */
const NAMES = [
  "Alice",
  "alice",
  "ＡＬＩＣＥ",
  "Bob",
  "B0b",
  "小明",
  "Zoë",
  "Zoe\u0308",
  "Server",
  "two words",
];
/** Rooms people name: the lobby in its spellings, look-alikes, any script, a bad one. */
const ROOMS = ["lobby", "#lobby", "#dev", "DEV", "#小明的房间", "#x", "bad room"];
/** Texts: plain, empty after cleaning, escape sequences, too long. */
const TEXTS = ["hi", "", "   ", "\x1b[31mred", "小明 says 你好", "a".repeat(2001)];

/** One thing a user (by index among those who ever registered) or the operator does. */
type Action =
  | { kind: "register"; name: number }
  | { kind: "resume"; who: number }
  | { kind: "rename"; who: number; name: number }
  | { kind: "join" | "part" | "who"; who: number; room: number }
  | { kind: "say" | "me"; who: number; room: number | null; text: string }
  | { kind: "msg"; who: number; to: number; text: string }
  | { kind: "ignore" | "unignore"; who: number; name: number }
  | { kind: "away"; who: number; text: string }
  | { kind: "quit" | "drop"; who: number }
  | { kind: "roomKick"; who: number; room: number | null; name: number }
  | { kind: "kick"; name: number }
  | { kind: "ban"; name: number }
  | { kind: "dropRoom"; room: number }
  | { kind: "line"; who: number; line: string }
  | { kind: "turn" }
  | { kind: "disk"; full: boolean };

const who = fc.nat({ max: 20 });
const name = fc.nat({ max: NAMES.length - 1 });
const room = fc.nat({ max: ROOMS.length - 1 });
const text = fc.oneof(fc.constantFrom(...TEXTS), fc.string({ maxLength: 8 }));
/** Lines a person types: commands with arguments from the same pools. */
const line = fc.tuple(
  fc.constantFrom(
    "/join",
    "/part",
    "/op",
    "/deop",
    "/invite",
    "/private",
    "/public",
    "/topic",
    "/kick",
    "/nick",
    "/me",
    "/msg",
    "/away",
    "/ignore",
    "@",
  ),
  fc.oneof(fc.constantFrom(...ROOMS), fc.constantFrom(...NAMES)),
  text,
).map(([command, arg, words]) =>
  command === "@" ? `@${arg} ${words}` : `${command} ${arg} ${words}`
);

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("register" as const), name }) },
  fc.record({ kind: fc.constant("resume" as const), who }),
  fc.record({ kind: fc.constant("rename" as const), who, name }),
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom("join" as const, "part" as const, "who" as const),
      who,
      room,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom("say" as const, "me" as const),
      who,
      room: fc.option(room),
      text,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("msg" as const), who, to: name, text }) },
  fc.record({ kind: fc.constantFrom("ignore" as const, "unignore" as const), who, name }),
  fc.record({ kind: fc.constant("away" as const), who, text }),
  fc.record({ kind: fc.constantFrom("quit" as const, "drop" as const), who }),
  fc.record({ kind: fc.constant("roomKick" as const), who, room: fc.option(room), name }),
  fc.record({ kind: fc.constant("kick" as const), name }),
  fc.record({ kind: fc.constant("ban" as const), name }),
  fc.record({ kind: fc.constant("dropRoom" as const), room }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("line" as const), who, line }) },
  // With a store that commits in groups: the end of a turn of the event loop, a full disk.
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("turn" as const) }) },
  fc.record({ kind: fc.constant("disk" as const), full: fc.boolean() }),
);

/** One connection: the member it registered and what it received. */
interface Connection {
  member: Member;
  inbox: Inbox;
  /** Still registered: no `bye` came and the test did not drop it. */
  live: boolean;
}

/** What the invariants need of a live connection at one moment. */
interface Seen {
  key: string;
  rooms: Set<string>;
  ignoring: Set<string>;
}

/** Events of a room, which only its members (before or after the action) may get. */
const ROOM_EVENTS = new Set(["message", "join", "leave", "part", "rename", "topic", "mode"]);

/**
 * Runs `actions` on a fresh hub (with a store that commits in groups, or
 * none), then a last turn, checking the invariants after each.
 */
function run(actions: Action[], store: GroupStore | null): void {
  let clock = Date.UTC(2026, 11, 6);
  const hub = new Hub({
    ...(store ? { store } : {}),
    now: () => clock,
    flood: null,
    churn: null,
    roomPace: false,
    history: 3,
    maxUsers: 6,
    maxRooms: 5,
    maxRoomsPerUser: 3,
  });
  const connections: Connection[] = [];
  // Mostly someone still connected; now and then a connection that is gone, which must be refused.
  const connection = (i: number) => {
    const live = connections.filter((c) => c.live);
    return live.length && i % 5 !== 0 ? live[i % live.length] : connections[i % connections.length];
  };
  let lastId = 0;
  const seen = new Map<Inbox, number>();

  for (const [step, act] of [...actions, { kind: "turn" } as const].entries()) {
    clock += 1000;
    const before = seenBy(hub, connections);
    const where = `step ${step} (${JSON.stringify(act)})`;
    try {
      if (act.kind === "turn") store?.commitNow();
      else if (act.kind === "disk") store && (store.full = act.full);
      else perform(hub, act, connections, connection);
    } catch (error) {
      if (!(error instanceof ChatError)) throw new Error(`${where}: ${error}`, { cause: error });
    }
    const after = seenBy(hub, connections);

    // What each connection got in this step.
    const news = new Map<Connection, ChatEvent[]>();
    for (const c of connections) {
      const from = seen.get(c.inbox) ?? 0;
      news.set(c, c.inbox.events.slice(from));
      seen.set(c.inbox, c.inbox.events.length);
      if (news.get(c)!.some((e) => e.type === "bye")) c.live = false;
    }

    // Names are unique by key, and the hub's users are the connections still live.
    const names = hub.userNames();
    assert.equal(
      new Set(names.map(nameKey)).size,
      names.length,
      `${where}: names not unique: ${names}`,
    );
    const live = connections.filter((c) => c.live);
    assert.deepEqual(
      live.map((c) => c.member.name).sort(),
      [...names].sort(),
      `${where}: the hub's users are not the live connections`,
    );
    assert.ok(hub.roomList().some((r) => r.room === "lobby"), `${where}: #lobby is gone`);
    for (const c of live) {
      assert.ok(after.get(c)?.rooms.size, `${where}: ${c.member.name} is in no room`);
    }

    // Nobody gets an event of a room they were not in.
    for (const [c, events] of news) {
      for (const event of events) {
        if (!ROOM_EVENTS.has(event.type) || !("room" in event) || event.room === undefined) {
          continue;
        }
        const room = event.room;
        const inRoom = before.get(c)?.rooms.has(room) || after.get(c)?.rooms.has(room);
        assert.ok(inRoom, `${where}: ${c.member.name} got ${JSON.stringify(event)} from outside`);
      }
    }

    // Each message goes once to each member of its room who does not ignore its sender, in id order.
    const messages = new Map<number, Extract<ChatEvent, { type: "message" | "private" }>>();
    for (const events of news.values()) {
      for (const e of events) {
        if (e.type === "message" || e.type === "private") messages.set(e.id, e);
      }
    }
    // A message kept is sent: its sender, still here, gets the echo (or the receipt) of it.
    for (const kept of store?.takeCommitted() ?? []) {
      const sender = [...before].find(([, then]) => then.key === nameKey(kept.from))?.[0];
      const echoed = sender &&
        news.get(sender)!.some((e) =>
          (e.type === "message" || e.type === "private") && e.id === kept.id
        );
      assert.ok(!sender || echoed, `${where}: ${kept.from} got no echo of message ${kept.id}`);
    }
    for (const id of [...messages.keys()].sort((a, b) => a - b)) {
      assert.ok(id > lastId, `${where}: id ${id} after ${lastId}`);
      lastId = id;
    }
    // Messages wait for their commit, but any action that changes who is where, or who
    // ignores whom, sends them first: they go by how things were before this step.
    for (const message of messages.values()) {
      for (const c of connections) {
        const got = news.get(c)!.filter((e) => e === message).length;
        const then = before.get(c);
        const from = nameKey(message.from);
        let due = false;
        if (then && message.type === "message") {
          // The sender always gets the echo: it says the message was sent (and kept).
          due = then.rooms.has(message.room) && (then.key === from || !then.ignoring.has(from));
        } else if (then && message.type === "private") {
          // The receipt to the sender; the message to the recipient, unless they ignore the sender.
          due = then.key === from || then.key === nameKey(message.to) && !then.ignoring.has(from);
        }
        assert.equal(
          got,
          due ? 1 : 0,
          `${where}: ${c.member.name} got ${JSON.stringify(message)} ${got} times`,
        );
      }
    }
    for (const c of connections) {
      const ids = c.inbox.of("message").map((m) => m.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        `${where}: ${c.member.name} got ids out of order`,
      );
    }
  }
}

/** Each live connection's name key, rooms (as the hub's operator sees them) and whom it ignores. */
function seenBy(hub: Hub, connections: Connection[]): Map<Connection, Seen> {
  const seen = new Map<Connection, Seen>();
  for (const c of connections) {
    if (!c.live) continue;
    const ignoring = new Set((c.member.ignoring?.names() ?? []).map(nameKey));
    seen.set(c, { key: c.member.key, rooms: new Set(), ignoring });
  }
  const byKey = new Map([...seen].map(([c, s]) => [s.key, c]));
  for (const { room } of hub.roomList()) {
    for (const shown of hub.roomMembers(room) ?? []) {
      const c = byKey.get(nameKey(shown.replace(/^@/, "")));
      assert.ok(c, `#${room} holds ${shown}, who is not a live connection`);
      seen.get(c)!.rooms.add(room);
    }
  }
  return seen;
}

function perform(
  hub: Hub,
  act: Exclude<Action, { kind: "turn" | "disk" }>,
  connections: Connection[],
  connection: (i: number) => Connection,
): void {
  if (act.kind === "register" || act.kind === "resume") {
    const inbox = new Inbox();
    const holder = act.kind === "resume" && connections.length ? connection(act.who) : undefined;
    if (act.kind === "resume" && !holder) return;
    const member = holder
      ? hub.register(holder.member.name, inbox, {
        peer: "127.0.0.1:2",
        resume: holder.member.resume,
      })
      : hub.register(NAMES[act.kind === "register" ? act.name : 0], inbox, { peer: "127.0.0.1:1" });
    connections.push({ member, inbox, live: true });
    return;
  }
  // The server's operator.
  if (act.kind === "kick" || act.kind === "ban") {
    if (act.kind === "kick") hub.kick(NAMES[act.name], "property");
    else hub.ban(NAMES[act.name], 1, "property");
    return;
  }
  if (act.kind === "dropRoom") {
    hub.dropRoom(ROOMS[act.room], "property");
    return;
  }
  if (!connections.length) return;
  const c = connection(act.who);
  const m = c.member;
  const roomName = (i: number | null) => i === null ? undefined : ROOMS[i];
  switch (act.kind) {
    case "rename":
      return hub.rename(m, NAMES[act.name]);
    case "join":
      return hub.join(m, ROOMS[act.room]);
    case "part":
      return hub.part(m, ROOMS[act.room]);
    case "who":
      return hub.who(m, ROOMS[act.room]);
    case "say":
      return hub.say(m, act.text, roomName(act.room));
    case "me":
      return hub.act(m, act.text, roomName(act.room));
    case "msg":
      return hub.whisper(m, NAMES[act.to], act.text);
    case "ignore":
      return hub.ignore(m, NAMES[act.name]);
    case "unignore":
      return hub.unignore(m, NAMES[act.name]);
    case "away":
      return hub.away(m, act.text);
    case "quit":
      return hub.quit(m, "bye");
    case "drop":
      // The connection is lost: the front end calls leave, and the test stops counting it.
      hub.leave(m, "connection lost");
      c.live = false;
      return;
    case "roomKick":
      return hub.roomKick(m, roomName(act.room), NAMES[act.name], "out");
    case "line":
      return hub.handleLine(m, act.line);
  }
}

/** A few people arrive first, so that most actions have someone to act and a room to act in. */
const arrivals = fc.array(fc.nat({ max: 7 }), { minLength: 1, maxLength: 5 })
  .map((names) => names.map((name): Action => ({ kind: "register", name })));
const actions = fc.array(action, { minLength: 1, maxLength: 80, size: "max" });

Deno.test("any sequence of user actions keeps names unique and delivers each message once to exactly its room", () => {
  checkProperty(
    fc.property(arrivals, actions, (first, then) => run([...first, ...then], null)),
    300,
  );
});

Deno.test("the same holds with a store that commits messages in groups, full disks included", () => {
  checkProperty(
    fc.property(arrivals, actions, (first, then) => run([...first, ...then], new GroupStore())),
    300,
  );
});

// Found by the properties above, kept as plain cases.

Deno.test("someone who takes a name they ignored still gets the echo of what they say and the receipt of what they whisper", () => {
  const hub = new Hub({ flood: null });
  const inbox = new Inbox();
  const bob = hub.register("Bob", inbox);
  hub.ignore(bob, "Alice");
  hub.rename(bob, "alice");
  hub.say(bob, "hi");
  hub.whisper(bob, "Alice", "note to self");
  assert.deepEqual(inbox.of("message").map((m) => m.text), ["hi"]);
  assert.deepEqual(inbox.of("private").map((m) => m.text), ["note to self"]);
});

Deno.test("a message waiting for its commit when the operator closes its room is still echoed, before the room closes", () => {
  const store = new GroupStore();
  const hub = new Hub({ store, flood: null, roomPace: false });
  const inbox = new Inbox();
  const alice = hub.register("Alice", inbox);
  hub.join(alice, "#dev");
  hub.say(alice, "hi", "dev");
  hub.dropRoom("dev");
  store.commitNow();
  const seen = inbox.events.filter((e) => e.type === "message" || e.type === "notice");
  assert.deepEqual(seen.map((e) => e.type === "message" ? e.text : e.type), ["hi", "notice"]);
});
