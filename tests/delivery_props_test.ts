/**
 * A property of end-to-end delivery (docs/PROTOCOL.md, "Delivery") in the
 * chat core: people whose connections die silently and who come back with
 * `resume` and `since` (as `chat join` does) have, in the end, been shown each
 * message of their rooms, and each private message to or from them, exactly
 * once and in id order, live or in a `replay`, whatever happened meanwhile.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { ChatError } from "../lib/core/errors.ts";
import type { ChatEvent, Sink } from "../lib/core/events.ts";
import { Hub } from "../lib/core/hub.ts";
import { nameKey } from "../lib/core/names.ts";
import type { Member } from "../lib/core/room.ts";
import { GroupStore } from "./_group_store.ts";
import { checkProperty } from "./_props.ts";

const NAMES = ["Alice", "Bob", "小明", "Zoë", "alice", "Carol"];
const ROOMS = ["lobby", "#dev", "#小明的房间"];

/** One thing a person (by index among those who came) does, or the event loop. */
type Action =
  | { kind: "register"; name: number }
  | { kind: "say"; who: number; room: number | null; text: string }
  | { kind: "msg"; who: number; to: number; text: string }
  | { kind: "join" | "part"; who: number; room: number }
  | { kind: "rename" | "ignore" | "unignore"; who: number; name: number }
  | { kind: "quit" | "vanish" | "reconnect" | "read"; who: number }
  | { kind: "ack"; who: number; lag: number }
  | { kind: "turn" };

const who = fc.nat({ max: 20 });
const room = fc.nat({ max: ROOMS.length - 1 });
const name = fc.nat({ max: NAMES.length - 1 });
const text = fc.constantFrom("hi", "你好", "", "a".repeat(2001));

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("register" as const), name }) },
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant("say" as const), who, room: fc.option(room), text }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("msg" as const), who, to: name, text }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constantFrom("join" as const, "part" as const), who, room }),
  },
  fc.record({
    kind: fc.constantFrom("rename" as const, "ignore" as const, "unignore" as const),
    who,
    name,
  }),
  fc.record({ kind: fc.constant("quit" as const), who }),
  // Connections die silently and come back: the point of this property.
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constantFrom("vanish" as const, "reconnect" as const), who }),
  },
  // The client reads what arrived: until then it is in flight, lost if the connection dies.
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("read" as const), who }) },
  // An ack says what was shown a few steps ago: what came since is still on its way.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("ack" as const), who, lag: fc.nat(3) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("turn" as const) }) },
);

/**
 * One connection of a person: what the server wrote to it waits to be read
 * (in flight); once it is dead, what was in flight and what comes after is lost.
 */
interface Line {
  member: Member;
  dead: boolean;
  inflight: ChatEvent[];
}

/** Someone who came, with what their client has shown them. */
class Person {
  line!: Line;
  /** The ids of the messages shown, in the order shown: live, or in a replay. */
  shown: number[] = [];
  /** The ids the server owed them, as the rooms and names were when each was sent. */
  due = new Set<number>();
  /** The highest id shown, or the welcome's `last`: what `since` says on a reconnect. */
  seen = 0;
  stream = "";
  /** `seen` at the end of each step so far, for acks that lag. */
  seenLog: number[] = [];
  /** Left on purpose (or was put out) while their connection was alive. */
  gone = false;
  /** Each resume with `since`: the ids replayed after it, and whom the person ignored then. */
  resumes: { since: number; upTo: number; ignoring: Set<string> }[] = [];

  /** A sink for a new connection of theirs. */
  sink(line: () => Line): Sink {
    return {
      send: (event: ChatEvent) => {
        if (line().dead) return;
        line().inflight.push(event);
        // The connection closes after a bye: everything before it is read.
        if (event.type === "bye" && event.code !== "replaced") {
          this.gone = true;
          this.read();
        }
      },
    };
  }

  /** The client reads what arrived on its connection and shows it. */
  read(): void {
    const line = this.line;
    if (line.dead) return;
    for (const event of line.inflight.splice(0)) {
      if (event.type === "welcome" && !this.stream) {
        this.stream = event.stream ?? "";
        this.seen = event.last ?? 0;
      }
      if (event.type === "message" || event.type === "private") this.#show(event.id);
      if (event.type === "replay") {
        assert.ok(!event.gaps && !event.privateGap, `a gap: ${JSON.stringify(event)}`);
        for (const m of event.messages) this.#show(m.id);
      }
    }
  }

  #show(id: number): void {
    this.shown.push(id);
    this.seen = Math.max(this.seen, id);
  }
}

function run(actions: Action[]): void {
  let clock = Date.UTC(2026, 11, 6);
  const store = new GroupStore();
  const hub = new Hub({
    store,
    now: () => clock,
    flood: null,
    churn: null,
    roomPace: false,
    maxUsers: 8,
  });
  const people: Person[] = [];
  const present = () => people.filter((p) => !p.gone);
  const pick = (i: number) => present()[i % present().length] as Person | undefined;

  const connect = (person: Person, wanted: string, resume?: Member) => {
    const line: Line = { member: undefined as unknown as Member, dead: false, inflight: [] };
    const origin = resume
      ? { resume: resume.resume, since: person.seen, stream: person.stream, acks: true }
      : { acks: true };
    line.member = hub.register(wanted, person.sink(() => line), { peer: "127.0.0.1:1", ...origin });
    person.line = line;
    if (resume) {
      const ignoring = new Set((line.member.ignoring?.names() ?? []).map(nameKey));
      person.resumes.push({ since: origin.since!, upTo: store.lastId, ignoring });
    }
    // A client reads its welcome (and the replay after it) before it does anything else.
    person.read();
  };

  // Who would get a message sent now: each person's rooms and whom they ignore, by their name's key.
  const snapshot = () => {
    const byKey = new Map(present().map((p) => [p.line.member.key, p]));
    const rooms = new Map<string, Set<Person>>();
    for (const { room } of hub.roomList()) {
      const members = (hub.roomMembers(room) ?? []).map((n) =>
        byKey.get(nameKey(n.replace(/^@/, "")))
      );
      rooms.set(room, new Set(members.filter((p) => p !== undefined)));
    }
    const ignoring = new Map(
      present().map((p) => [p, new Set((p.line.member.ignoring?.names() ?? []).map(nameKey))]),
    );
    return { byKey, rooms, ignoring };
  };

  const senders = new Map<number, string>();
  const all = [...actions, { kind: "turn" } as const, "everyone back" as const];
  for (const [step, act] of all.entries()) {
    clock += 1000;
    const before = snapshot();
    const where = `step ${step} (${JSON.stringify(act)})`;
    try {
      if (act === "everyone back") {
        for (const p of present()) {
          if (p.line.dead) connect(p, p.line.member.name, p.line.member);
          else p.read();
        }
      } else {
        perform(act);
      }
    } catch (error) {
      if (!(error instanceof ChatError)) throw new Error(`${where}: ${error}`, { cause: error });
    }
    for (const p of people) p.seenLog.push(p.seen);
    // The messages committed in this step: each was sent to its room or its two people then.
    for (const message of store.takeCommitted()) {
      const from = nameKey(message.from);
      senders.set(message.id, from);
      if ("room" in message) {
        for (const p of before.rooms.get(message.room) ?? []) {
          // The sender always gets the echo: it says the message was sent (and kept).
          const sender = before.byKey.get(from) === p;
          if (sender || !before.ignoring.get(p)?.has(from)) p.due.add(message.id);
        }
      } else {
        before.byKey.get(from)?.due.add(message.id);
        const to = before.byKey.get(nameKey(message.to));
        if (to && !before.ignoring.get(to)?.has(from)) to.due.add(message.id);
      }
    }
  }

  for (const [i, p] of people.entries()) {
    // A replay leaves out the names the person ignores when they resume (docs/PROTOCOL.md), even
    // in messages their lost connection was handed before they ignored the name.
    const excused = (id: number) =>
      p.resumes.some((r) => id > r.since && id <= r.upTo && r.ignoring.has(senders.get(id)!));
    const sorted = [...p.due].filter((id) => !excused(id)).sort((a, b) => a - b);
    assert.deepEqual(
      p.shown,
      sorted,
      `person ${i} (${p.line.member.name}) was shown ${p.shown}, owed ${sorted}`,
    );
  }

  function perform(act: Action): void {
    if (act.kind === "register") {
      const person = new Person();
      try {
        connect(person, NAMES[act.name]);
      } catch (error) {
        if (error instanceof ChatError) return;
        throw error;
      }
      people.push(person);
      return;
    }
    if (act.kind === "turn") return store.commitNow();
    const person = pick(act.who);
    if (!person) return;
    const { member, dead } = person.line;
    if (act.kind === "reconnect") {
      // The client gives its connection up first (it thinks it dead): nothing more is read from it.
      person.line.dead = true;
      return connect(person, member.name, member);
    }
    // A dead connection's person can do nothing else until they are back.
    if (dead) return;
    switch (act.kind) {
      case "read":
        return person.read();
      case "vanish":
        person.line.dead = true;
        return;
      case "ack":
        return hub.ack(member, person.seenLog.at(-1 - act.lag) ?? person.seen);
      case "say":
        return hub.say(member, act.text, act.room === null ? undefined : ROOMS[act.room]);
      case "msg":
        return hub.whisper(member, NAMES[act.to], act.text);
      case "join":
        return hub.join(member, ROOMS[act.room]);
      case "part":
        return hub.part(member, ROOMS[act.room]);
      case "rename":
        return hub.rename(member, NAMES[act.name]);
      case "ignore":
        return hub.ignore(member, NAMES[act.name]);
      case "unignore":
        return hub.unignore(member, NAMES[act.name]);
      case "quit":
        return hub.quit(member, "bye");
    }
  }
}

Deno.test("people who drop silently and come back with since are shown each message of their rooms once, in order", () => {
  const arrivals = fc.array(fc.nat({ max: 3 }), { minLength: 2, maxLength: 4 })
    .map((names) => names.map((name): Action => ({ kind: "register", name })));
  const actions = fc.array(action, { minLength: 1, maxLength: 80, size: "max" });
  checkProperty(fc.property(arrivals, actions, (first, then) => run([...first, ...then])), 300);
});
