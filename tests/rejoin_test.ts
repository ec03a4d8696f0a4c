/**
 * Joining again the rooms a restarted server forgot (docs/PROTOCOL.md,
 * "Limits"): right after a login, `join` frames of rooms that exist cost no
 * flood token, within bounds a hostile client cannot stretch; a refused
 * join names its room. The hub alone for the bounds; a real `chat serve
 * --data`, restarted, and raw JSON clients behind one address for the rest.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ErrorEvent, ReplayEvent } from "../lib/core/events.ts";
import { Hub } from "../lib/core/hub.ts";
import { Inbox } from "./_inbox.ts";
import { JsonClient, withDir } from "./_helpers.ts";
import { ServeProcess } from "./_serve_process.ts";

const ROOMS = Array.from({ length: 19 }, (_, i) => `room${i + 1}`);

/** A hub with a small flood allowance, rooms `names` made, and a fresh login's inbox. */
function hubWithRooms(names: readonly string[], maxRoomsPerUser = 20) {
  let now = 0;
  const hub = new Hub({
    now: () => now,
    flood: { burst: 3, rate: 1, kickAfter: 1000 },
    churn: { burst: 2, rate: 0.001 },
    roomPace: false,
    maxRoomsPerUser,
  });
  const maker = hub.register("Maker", new Inbox(), { address: "10.0.0.9" });
  // Kept with a member in each: without a store, an empty room is forgotten.
  for (const name of names) {
    hub.join(maker, name);
    // The maker's joins are counted (the rooms were not there): at the flood rate.
    now += 1000;
  }
  const login = (name: string, address = "10.0.0.1") => {
    const inbox = new Inbox();
    return { member: hub.register(name, inbox, { address }), inbox };
  };
  return { hub, login };
}

/** The codes of the errors `inbox` got. */
function refusals(inbox: Inbox): string[] {
  return inbox.of("error").map((e) => e.code);
}

Deno.test("right after a login, joins of rooms that exist cost no flood token, up to the rooms one may be in", () => {
  const { hub, login } = hubWithRooms(ROOMS);
  const { member, inbox } = login("Ann");
  for (const room of ROOMS) hub.join(member, room);
  assert.deepEqual(refusals(inbox), []);
  assert.equal(member.rooms.size, 20);
  // The allowance is the flood burst's, untouched: three lines go.
  for (const text of ["a", "b", "c"]) hub.say(member, text);
  assert.deepEqual(refusals(inbox), []);
});

Deno.test("the uncounted joins end with the first other action, and past the room limit", () => {
  const { hub, login } = hubWithRooms(ROOMS, 5);
  const first = login("Ann");
  hub.join(first.member, "room1");
  hub.who(first.member);
  // After a counted action, each join is counted: the burst of 3 (one went to /who).
  for (const room of ["room2", "room3", "room4"]) hub.join(first.member, room);
  assert.deepEqual(refusals(first.inbox), ["flood"]);

  const second = login("Bob", "10.0.0.2");
  // Five uncounted (the room limit), four of them entering rooms and one making #lobby current:
  // then the burst of 3.
  for (const room of ["room1", "room2", "room3", "room4", "lobby", "lobby", "lobby", "lobby"]) {
    hub.join(second.member, room);
  }
  assert.deepEqual(refusals(second.inbox), []);
  hub.join(second.member, "lobby");
  assert.deepEqual(refusals(second.inbox), ["flood"]);
});

Deno.test("a login from an address that keeps logging in gets no uncounted joins; a /join line is counted", () => {
  const { hub, login } = hubWithRooms(ROOMS);
  login("One");
  login("Two");
  // The address's third login within the churn burst of 2: quiet, and counted.
  const third = login("Three");
  for (const room of ROOMS.slice(0, 4)) hub.join(third.member, room);
  assert.deepEqual(refusals(third.inbox), ["flood"]);

  const typed = login("Ann", "10.0.0.3");
  for (const room of ROOMS.slice(0, 4)) hub.handleLine(typed.member, `/join #${room}`);
  assert.deepEqual(refusals(typed.inbox), ["flood"]);
});

Deno.test("a join of a room that is not there is counted but keeps the uncounted joins; a refused join names its room", () => {
  const { hub, login } = hubWithRooms(ROOMS.slice(0, 4));
  const { member, inbox } = login("Ann");
  hub.join(member, "#new1");
  hub.join(member, "new2");
  for (const room of ROOMS.slice(0, 4)) hub.join(member, room);
  assert.deepEqual(refusals(inbox), []);
  hub.join(member, "new3");
  hub.join(member, "#new4");
  const refused = inbox.of("error") as ErrorEvent[];
  assert.deepEqual(refused.map((e) => [e.code, e.room]), [["flood", "new4"]]);
  hub.join(member, "bad name");
  assert.equal(inbox.of("error").at(-1)?.room, "bad name");
  // A refusal of anything else names no room.
  hub.say(member, "");
  assert.equal(inbox.of("error").at(-1)?.room, undefined);
});

/** Waits until `client` has the answer to its join of each of `rooms`: its `current`, or an `error`. */
async function answers(client: JsonClient, rooms: readonly string[]) {
  const errors: ErrorEvent[] = [];
  const replays = new Map<string, string[]>();
  const joined = new Set<string>();
  let room = "";
  let answered = 0;
  while (answered < rooms.length) {
    const frame = await client.next() as unknown as Record<string, unknown>;
    if (frame.type === "error") errors.push(frame as unknown as ErrorEvent);
    if (frame.type === "error" || frame.type === "current") answered++;
    if (frame.type === "join" && frame.name === client.name) joined.add(room = String(frame.room));
    if (frame.type === "replay") {
      const texts = (frame as unknown as ReplayEvent).messages.map((m) => m.text);
      replays.set(room, [...(replays.get(room) ?? []), ...texts]);
    }
  }
  return { errors, replays, joined };
}

Deno.test("after a restart, four users behind one address each join their 19 rooms again at once: none refused, each room's missed line once (--data)", async () => {
  await withDir(async (dir) => {
    const args = ["--host", "127.0.0.1", "--port", "0", "--no-web", "--data", dir];
    // The rooms, a line in each before and after `since`: made without flood control.
    const first = new ServeProcess([...args, "--flood-rate", "0"]);
    const maker = await JsonClient.join(await first.port(), "Maker");
    let since = 0;
    for (const room of ROOMS) {
      await maker.send({ type: "join", room });
      await maker.send({ type: "say", text: `before in ${room}`, room });
      const said = await maker.next("message", (m) => m.room === room);
      since = said.id;
    }
    for (const room of ROOMS) await maker.send({ type: "say", text: `missed in ${room}`, room });
    await maker.next("message", (m) => m.room === ROOMS.at(-1));
    await maker.send({ type: "who" });
    await maker.close();
    first.child.kill("SIGTERM");
    await first.finish();

    // The restart, with the default flood control.
    const second = new ServeProcess(args);
    const port = await second.port();
    const users: JsonClient[] = [];
    try {
      for (const name of ["Ann", "Bob", "Carol", "Dan"]) {
        const user = await JsonClient.connect(port);
        await user.send({ type: "hello", version: 1, name, acks: true });
        await user.next("welcome");
        user.name = name;
        users.push(user);
      }
      // All at once: their rooms, then a line each.
      for (const user of users) {
        for (const room of ROOMS) await user.send({ type: "join", room, since });
        await user.send({ type: "say", text: `${user.name} is back`, room: ROOMS[0] });
      }
      for (const user of users) {
        const { errors, replays, joined } = await answers(user, ROOMS);
        assert.deepEqual(errors.map((e) => [e.code, e.room]), [], user.name);
        assert.equal(joined.size, ROOMS.length);
        for (const room of ROOMS) {
          // Whoever joined later may also be replayed the lines said by those back before.
          const missed = replays.get(room)?.filter((text) => !text.endsWith("is back"));
          assert.deepEqual(missed, [`missed in ${room}`], room);
        }
        await user.next("message", (m) => m.from === user.name && m.text.endsWith("is back"));
      }
    } finally {
      for (const user of users) await user.close();
      second.child.kill("SIGTERM");
      await second.finish();
    }
  });
});
