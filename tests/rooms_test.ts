/**
 * The rules of rooms in the core: joining, switching, parting, operators
 * and their succession, privacy and invitations, topics, names, limits,
 * bans, and rooms kept in a store. Hub and Inbox only: no sockets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BannedError, Hub, type HubOptions } from "../lib/core/hub.ts";
import type { ChatEvent } from "../lib/core/events.ts";
import { nameKey } from "../lib/core/names.ts";
import type { Member } from "../lib/core/room.ts";
import { FORGET_EMPTY_AFTER_MS } from "../lib/core/rooms.ts";
import type { RoomBook, StoredRoom } from "../lib/core/store.ts";
import { refusal } from "./_helpers.ts";
import { Inbox } from "./_inbox.ts";

const T0 = Date.UTC(2026, 11, 6, 12, 0);

function setUp(options: HubOptions = {}) {
  let now = T0;
  const hub = new Hub({ flood: null, churn: null, now: () => now, ...options });
  const join = (name: string, address = "127.0.0.1") => {
    const inbox = new Inbox();
    const member = hub.register(name, inbox, { peer: `${address}:1`, address });
    return { member, inbox, name };
  };
  return { hub, join, later: (ms: number) => now += ms };
}

type User = { member: Member; inbox: Inbox };

/** The codes of the errors `user` got, and forgets everything they got. */
function errors(user: User): string[] {
  const codes = user.inbox.of("error").map((e) => e.code);
  user.inbox.clear();
  return codes;
}

/** Room names in the order of `events` of the types given. */
function seen(user: User, ...types: ChatEvent["type"][]): string[] {
  return user.inbox.events.filter((e) => types.includes(e.type)).map((e) =>
    `${e.type} ${"room" in e ? e.room : ""}${"name" in e ? " " + e.name : ""}`.trim()
  );
}

Deno.test("/join makes a room: its creator is its operator and it becomes their current room", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  ann.inbox.clear();
  bob.inbox.clear();
  hub.handleLine(ann.member, "/join #team");
  assert.deepEqual(ann.inbox.events, [
    { type: "join", time: T0, room: "team", name: "Ann", count: 1 },
    { type: "users", room: "team", names: ["Ann"], ops: ["Ann"] },
    { type: "current", room: "team" },
  ]);
  assert.deepEqual(bob.inbox.events, [], "the lobby is not told");
  assert.equal(ann.member.room?.name, "team");
  assert.deepEqual([...ann.member.rooms].map((r) => r.name), ["lobby", "team"]);
});

Deno.test("a message goes to the current room, or to the room named, and only to its members", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  const cat = join("Cat");
  hub.join(ann.member, "#team");
  hub.join(bob.member, "team");
  for (const user of [ann, bob, cat]) user.inbox.clear();
  hub.say(ann.member, "in team");
  hub.say(ann.member, "in lobby", "#lobby");
  hub.handleLine(ann.member, "/me waves", "lobby");
  const said = (user: User) => user.inbox.of("message").map((m) => `${m.room}: ${m.text}`);
  assert.deepEqual(said(bob), ["team: in team", "lobby: in lobby", "lobby: waves"]);
  assert.deepEqual(said(cat), ["lobby: in lobby", "lobby: waves"]);
  hub.say(cat.member, "sneaking in", "team");
  assert.deepEqual(errors(cat), ["not_in_room"]);
  hub.say(cat.member, "nowhere", "#nowhere");
  assert.deepEqual(errors(cat), ["no_such_room"]);
  assert.deepEqual(said(bob), ["team: in team", "lobby: in lobby", "lobby: waves"]);
});

Deno.test("joining a room one is in switches to it, without a join", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  hub.join(ann.member, "#team");
  ann.inbox.clear();
  hub.join(ann.member, "#lobby");
  assert.deepEqual(ann.inbox.events, [{ type: "current", room: "lobby" }]);
  assert.equal(ann.member.rooms.size, 2);
});

Deno.test("/who lists a room's members in join order, its operators marked; any public room", () => {
  const { hub, join } = setUp();
  const users = ["Zed", "Ann", "小明"].map((name) => join(name));
  for (const user of users) hub.join(user.member, "#team");
  hub.handleLine(users[0].member, "/who");
  assert.deepEqual(users[0].inbox.last(), {
    type: "users",
    room: "team",
    names: ["Zed", "Ann", "小明"],
    ops: ["Zed"],
  });
  hub.handleLine(users[1].member, "/who #lobby");
  assert.deepEqual(users[1].inbox.last(), {
    type: "users",
    room: "lobby",
    names: ["Zed", "Ann", "小明"],
  });
  const outsider = join("Out");
  hub.handleLine(outsider.member, "/who #team");
  assert.deepEqual((outsider.inbox.last() as { names: string[] }).names, ["Zed", "Ann", "小明"]);
  hub.setPrivate(users[0].member, "team", true);
  outsider.inbox.clear();
  hub.handleLine(outsider.member, "/who #team");
  assert.deepEqual(errors(outsider), ["not_in_room"]);
  hub.handleLine(outsider.member, "/who #nowhere");
  assert.deepEqual(errors(outsider), ["no_such_room"]);
});

Deno.test("/part leaves a room: its members and the leaver are told, the current room moves on", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  hub.join(ann.member, "#team");
  hub.join(bob.member, "#team");
  ann.inbox.clear();
  bob.inbox.clear();
  hub.handleLine(bob.member, "/part bye all");
  const part = { type: "part", time: T0, room: "team", name: "Bob", count: 1, reason: "bye all" };
  assert.deepEqual(ann.inbox.events, [part]);
  assert.deepEqual(bob.inbox.events, [part, { type: "current", room: "lobby" }]);
  hub.handleLine(bob.member, "/part");
  assert.deepEqual(errors(bob), ["not_allowed"], "#lobby alone cannot be left");
  assert.equal(bob.member.room?.name, "lobby");
});

Deno.test("leaving one's only room but #lobby goes back to #lobby", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  hub.join(ann.member, "#team");
  hub.part(ann.member, "#lobby");
  assert.deepEqual([...ann.member.rooms].map((r) => r.name), ["team"]);
  ann.inbox.clear();
  hub.part(ann.member);
  assert.deepEqual(seen(ann, "part", "join", "current"), [
    "part team Ann",
    "join lobby Ann",
    "current lobby",
  ]);
  assert.deepEqual([...ann.member.rooms].map((r) => r.name), ["lobby"]);
});

Deno.test("when the last operator leaves, the member present longest becomes operator", () => {
  const { hub, join } = setUp();
  const [ann, bob, cat] = ["Ann", "Bob", "Cat"].map((name) => join(name));
  for (const user of [ann, bob, cat]) hub.join(user.member, "#team");
  bob.inbox.clear();
  hub.quit(ann.member, "lunch");
  assert.deepEqual(bob.inbox.events.map((e) => e.type), ["leave", "leave", "mode"]);
  assert.deepEqual(bob.inbox.of("mode"), [
    { type: "mode", time: T0, room: "team", by: "", change: "op", name: "Bob" },
  ]);
  bob.inbox.clear();
  hub.handleLine(bob.member, "/topic Week 2");
  assert.equal(bob.inbox.of("topic")[0].topic, "Week 2");
});

Deno.test("/kick, /op, /deop, /topic, /private and /invite by a non-operator change nothing", () => {
  const { hub, join } = setUp();
  const [ann, bob] = ["Ann", "Bob"].map((name) => join(name));
  hub.join(ann.member, "#team");
  hub.join(bob.member, "#team");
  ann.inbox.clear();
  for (
    const line of ["/kick Ann", "/op Bob", "/deop Ann", "/topic mine", "/private", "/invite Ann"]
  ) {
    hub.handleLine(bob.member, line);
    assert.deepEqual(errors(bob), ["not_operator"], line);
  }
  assert.match(
    refusalMessage(() => hub.handleLine(bob.member, "/kick Ann"), bob),
    /Only an operator of #team may kick/,
  );
  assert.deepEqual(ann.inbox.events, [], "nobody else saw anything");
  assert.deepEqual(
    [...ann.member.rooms].map((r) => r.name),
    ["lobby", "team"],
  );
});

/** Runs `action` and returns the message of the error `user` got. */
function refusalMessage(action: () => void, user: User): string {
  user.inbox.clear();
  action();
  const [error] = user.inbox.of("error");
  assert.ok(error, "an error");
  return error.message;
}

Deno.test("an operator kicks, makes and unmakes operators; the room is told who did it", () => {
  const { hub, join } = setUp();
  const [ann, bob, cat] = ["Ann", "Bob", "Cat"].map((name) => join(name));
  for (const user of [ann, bob, cat]) hub.join(user.member, "#team");
  cat.inbox.clear();
  hub.handleLine(ann.member, "/op Bob");
  hub.handleLine(bob.member, "/kick Cat off topic");
  assert.deepEqual(cat.inbox.events.slice(0, 2), [
    { type: "mode", time: T0, room: "team", by: "Ann", change: "op", name: "Bob" },
    { type: "part", time: T0, room: "team", name: "Cat", count: 2, reason: "off topic", by: "Bob" },
  ]);
  assert.equal(cat.member.room?.name, "lobby");
  hub.handleLine(bob.member, "/deop Ann");
  hub.handleLine(ann.member, "/topic mine now");
  assert.deepEqual(errors(ann).at(-1), "not_operator");
  hub.handleLine(ann.member, "/kick Nobody");
  assert.deepEqual(errors(ann), ["not_operator"]);
  hub.handleLine(bob.member, "/kick Nobody");
  assert.deepEqual(errors(bob), ["no_such_user"]);
});

Deno.test("a private room is entered by invitation only, and listed only to its members", () => {
  const { hub, join } = setUp();
  const [ann, bob, cat] = ["Ann", "Bob", "Cat"].map((name) => join(name));
  hub.join(ann.member, "#ta");
  hub.handleLine(ann.member, "/private");
  assert.equal(ann.inbox.of("mode").at(-1)?.change, "private");
  bob.inbox.clear();
  hub.join(bob.member, "#ta");
  assert.deepEqual(errors(bob), ["invite_only"]);
  assert.equal(hub.roomMembers("ta")?.length, 1, "nothing changed");
  hub.rooms(bob.member);
  assert.deepEqual(bob.inbox.last(), {
    type: "rooms",
    rooms: [{ room: "lobby", count: 3, topic: "", joined: true }],
  });
  hub.handleLine(ann.member, "/invite bob");
  assert.deepEqual(bob.inbox.last(), { type: "invite", time: T0, room: "ta", from: "Ann" });
  hub.join(bob.member, "#TA");
  assert.equal(bob.member.room?.name, "ta");
  hub.rooms(bob.member);
  const listed = bob.inbox.last() as { rooms: unknown[] };
  assert.deepEqual(listed.rooms[1], {
    room: "ta",
    count: 2,
    topic: "",
    private: true,
    joined: true,
  });
  hub.join(cat.member, "#ta");
  assert.deepEqual(errors(cat), ["invite_only"], "an invitation is for one person");
});

Deno.test("topics: shown to joiners and on asking, set by operators, cleaned and capped", () => {
  const { hub, join } = setUp();
  const [ann, bob] = ["Ann", "Bob"].map((name) => join(name));
  hub.join(ann.member, "#team");
  hub.topic(ann.member, undefined, "Week \x1b[31m2\u200b");
  assert.equal(ann.inbox.of("topic").at(-1)?.topic, "Week 2");
  hub.topic(ann.member, undefined, "x".repeat(301));
  assert.deepEqual(errors(ann), ["message_too_long"]);
  hub.join(bob.member, "#team");
  assert.deepEqual(bob.inbox.of("topic"), [
    { type: "topic", time: T0, room: "team", topic: "Week 2" },
  ]);
  hub.handleLine(bob.member, "/topic");
  assert.equal(bob.inbox.of("topic").length, 2);
  hub.handleLine(ann.member, "/topic", "lobby");
  assert.deepEqual(ann.inbox.last(), { type: "topic", time: T0, room: "lobby", topic: "" });
  hub.topic(ann.member, "lobby", "mine");
  assert.deepEqual(errors(ann), ["not_allowed"], "#lobby is the server operator's");
});

Deno.test("bad room names are refused with the reason, and nothing is made", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  const cases: [string, RegExp][] = [
    ["#evil\x1b[31m", /control or invisible/],
    ["#zero\u200bwidth", /control or invisible/],
    ["#two words", /spaces/],
    ["#" + "a".repeat(33), /at most 32/],
    ["##x", /one #/],
    ["#", /empty/],
    ["#\u0430lice", /mix Latin, Cyrillic/],
  ];
  for (const [name, reason] of cases) {
    ann.inbox.clear();
    hub.join(ann.member, name);
    const [error] = ann.inbox.of("error");
    assert.equal(error?.code, "room_invalid", name);
    assert.match(error.message, reason, name);
    assert.match(error.message, /^A room name/);
  }
  assert.deepEqual(hub.roomList().map((r) => r.room), ["lobby"]);
});

Deno.test("look-alike room names are one room, shown by the name it was made with", () => {
  const { hub, join } = setUp();
  const [ann, bob, cat] = ["Ann", "Bob", "Cat"].map((name) => join(name));
  hub.join(ann.member, "#Team");
  hub.join(bob.member, "#TEAM");
  hub.join(cat.member, "#Теам"); // Cyrillic Т, е, а, м
  assert.deepEqual(hub.roomList().map((r) => [r.room, r.count]), [["lobby", 3], ["Team", 3]]);
  assert.equal(cat.member.room?.name, "Team");
});

Deno.test("10,000 /join lines from a script stop at the rooms a user may be in", () => {
  const { hub, join } = setUp({ maxRoomsPerUser: 20 });
  const ann = join("Ann");
  for (let i = 0; i < 10_000; i++) hub.handleLine(ann.member, `/join #r${i}`);
  assert.equal(ann.member.rooms.size, 20);
  assert.equal(hub.roomList().length, 20, "the lobby and 19 rooms");
  const refused = ann.inbox.of("error");
  assert.equal(refused.length, 10_000 - 19);
  assert.ok(refused.every((e) => e.code === "too_many_rooms"));
  assert.match(refused[0].message, /You are in 20 rooms, the most one may be in; \/part one/);
});

Deno.test("the server holds --max-rooms rooms; an empty room without history makes place", () => {
  const { hub, join } = setUp({ maxRooms: 3 });
  const [ann, bob] = ["Ann", "Bob"].map((name) => join(name));
  hub.join(ann.member, "#a");
  hub.join(ann.member, "#b");
  hub.join(bob.member, "#c");
  assert.deepEqual(errors(bob).at(-1), "too_many_rooms");
  hub.part(ann.member, "#b");
  assert.deepEqual(hub.roomList().map((r) => r.room), ["lobby", "a"], "forgotten at once");
  hub.join(bob.member, "#c");
  assert.equal(bob.member.room?.name, "c");
});

Deno.test("someone leaving the chat is told to each room they were in; renames too, ops kept", () => {
  const { hub, join } = setUp();
  const [ann, bob] = ["Ann", "Bob"].map((name) => join(name));
  for (const room of ["#a", "#b"]) {
    hub.join(ann.member, room);
    hub.join(bob.member, room);
  }
  bob.inbox.clear();
  hub.rename(ann.member, "Anna");
  assert.deepEqual(bob.inbox.of("rename").map((e) => `${e.room} ${e.from}>${e.to}`), [
    "lobby Ann>Anna",
    "a Ann>Anna",
    "b Ann>Anna",
  ]);
  assert.deepEqual(hub.roomMembers("a"), ["@Anna", "Bob"]);
  hub.quit(ann.member, "home");
  assert.deepEqual(bob.inbox.of("leave").map((e) => `${e.room} ${e.count}`), [
    "lobby 1",
    "a 1",
    "b 1",
  ]);
});

Deno.test("a resumed connection keeps every room and its current room", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  hub.join(ann.member, "#team");
  hub.join(ann.member, "#lobby");
  const inbox = new Inbox();
  const back = hub.register("Ann", inbox, { resume: ann.member.resume });
  assert.equal(back.room?.name, "lobby");
  assert.deepEqual(inbox.of("welcome")[0].rooms, ["lobby", "team"]);
  assert.deepEqual(hub.roomMembers("team"), ["@Ann"]);
});

Deno.test("history is per room", () => {
  const { hub, join } = setUp({ history: 10 });
  const [ann, bob] = ["Ann", "Bob"].map((name) => join(name));
  hub.join(ann.member, "#team");
  hub.say(ann.member, "team talk");
  hub.say(ann.member, "lobby talk", "lobby");
  hub.join(bob.member, "#team");
  assert.deepEqual(
    bob.inbox.of("history").map((h) => [h.room, h.messages.map((m) => m.text)]),
    [["team", ["team talk"]]],
  );
  hub.recall(bob.member, "", "lobby");
  assert.deepEqual(bob.inbox.of("history").at(-1)?.messages.map((m) => m.text), ["lobby talk"]);
});

Deno.test("a banned name or address is refused and told why and until when; online, disconnected", () => {
  const { hub, join, later } = setUp();
  const eve = join("Eve", "10.0.0.9");
  const ann = join("Ann");
  hub.ban("eve", 30, "spam");
  assert.deepEqual(eve.inbox.last(), {
    type: "bye",
    code: "banned",
    reason: "You are banned from this server until 2026-12-06 12:30 UTC: spam",
    until: T0 + 30 * 60_000,
  });
  assert.deepEqual(ann.inbox.of("leave").map((e) => e.reason), ["banned"]);
  const error = refusal(() => hub.register("EVE", new Inbox(), { address: "10.0.0.1" }));
  assert.ok(error instanceof BannedError);
  assert.equal(error.code, "banned");
  hub.ban("10.0.0.9", undefined, "");
  assert.match(
    refusal(() => hub.register("Mallory", new Inbox(), { address: "10.0.0.9" })).message,
    /^You are banned from this server$/,
  );
  assert.deepEqual(hub.bans().map((b) => `${b.kind} ${b.value}`), ["name eve", "address 10.0.0.9"]);
  later(30 * 60_000);
  hub.register("Eve", new Inbox(), { address: "10.0.0.1" });
  assert.ok(hub.unban("10.0.0.9"));
  assert.equal(hub.unban("10.0.0.9"), false);
  assert.deepEqual(hub.bans(), []);
});

/** A RoomBook in memory. */
class Rooms implements RoomBook {
  kept = new Map<string, StoredRoom>();
  /** Rooms something was said in. */
  said = new Set<string>();
  saveRoom(room: StoredRoom): void {
    this.kept.set(nameKey(room.name), structuredClone(room));
  }
  forgetRoom(key: string): void {
    this.kept.delete(key);
  }
  listRooms(): StoredRoom[] {
    return [...this.kept.values()].map((room) => ({
      ...room,
      hasHistory: this.said.has(room.name),
    }));
  }
}

/** A hub store with `book` for rooms and nothing else kept. */
function storeWith(book: Rooms) {
  return {
    ...book,
    saveRoom: (room: StoredRoom) => book.saveRoom(room),
    forgetRoom: (key: string) => book.forgetRoom(key),
    listRooms: () => book.listRooms(),
    appendMessage: (message: { room: string }) => {
      book.said.add(message.room);
      return book.said.size;
    },
    recentMessages: () => [],
    appendPrivate: () => 1,
    undelivered: () => [],
    waiting: () => ({
      messages: 0,
      bytes: 0,
      fromSender: 0,
      bytesFromSender: 0,
      fromStrangers: 0,
      bytesFromStrangers: 0,
    }),
    markDelivered: () => 0,
    countRefused: () => {},
    takeRefused: () => [],
    getUser: () => undefined,
  };
}

Deno.test("with a store, rooms are kept and read back; empty ones without history go after a day", () => {
  const book = new Rooms();
  const store = storeWith(book);
  const { hub, join, later } = setUp({ store });
  const ann = join("Ann");
  hub.join(ann.member, "#team");
  hub.topic(ann.member, undefined, "Week 2");
  hub.setPrivate(ann.member, undefined, true);
  hub.join(ann.member, "#quiet");
  hub.part(ann.member, "#quiet");
  hub.say(ann.member, "kept", "team");
  hub.quit(ann.member);
  assert.deepEqual(book.kept.get(nameKey("team")), {
    name: "team",
    topic: "Week 2",
    ops: ["ann"],
    private: true,
    emptySince: T0,
  });
  assert.ok(book.kept.has(nameKey("quiet")), "kept for a day");
  later(FORGET_EMPTY_AFTER_MS);
  const again = new Hub({ store, now: () => T0 + FORGET_EMPTY_AFTER_MS, flood: null });
  assert.deepEqual(again.roomList().map((r) => r.room), ["lobby", "team"]);
  assert.ok(!book.kept.has(nameKey("quiet")), "forgotten after a day");
  const inbox = new Inbox();
  const back = again.register("Ann", inbox);
  again.join(back, "#team");
  assert.deepEqual(inbox.of("users").at(-1)?.ops, ["Ann"], "an operator by name is one again");
  assert.equal(inbox.of("topic").at(-1)?.topic, "Week 2");
});

Deno.test("a room in use when the server stops gets its day's grace from then", () => {
  const book = new Rooms();
  const store = storeWith(book);
  const { hub, join, later } = setUp({ store });
  const ann = join("Ann");
  hub.join(ann.member, "#busy");
  const stopped = later(2 * FORGET_EMPTY_AFTER_MS);
  hub.closeAll("shutdown", "bye");
  assert.equal(book.kept.get(nameKey("busy"))?.emptySince, stopped);
  const again = new Hub({ store, now: () => stopped + 60_000, flood: null });
  assert.deepEqual(again.roomList().map((r) => r.room), ["lobby", "busy"]);
});

Deno.test("a banned name (or a look-alike) cannot be taken with /nick; the words are a ban's", () => {
  const { hub, join } = setUp();
  hub.ban("Eve", undefined, "spam");
  const mal = join("Mallory");
  hub.ban("Bob", undefined, "spam");
  for (const line of ["/nick Eve", "/nick EVE", "/nick B0b"]) {
    mal.inbox.clear();
    hub.handleLine(mal.member, line);
    assert.deepEqual(
      mal.inbox.events,
      [{ type: "error", code: "banned", message: "You are banned from this server: spam" }],
      line,
    );
  }
  assert.equal(mal.member.name, "Mallory");
  hub.unban("Eve");
  hub.handleLine(mal.member, "/nick Eve");
  assert.equal(mal.member.name, "Eve", "free again once unbanned");
});

Deno.test("one address makes 20 rooms at once, then one a minute; the refusal says when", () => {
  const { hub, join, later } = setUp({ maxRoomsPerUser: 1000 });
  const mal = join("Mallory", "10.0.0.66");
  const ann = join("Ann", "10.0.0.1");
  for (let i = 0; i < 20; i++) hub.join(mal.member, `#r${i}`);
  assert.deepEqual(errors(mal), []);
  hub.join(mal.member, "#r20");
  const [refused] = mal.inbox.of("error");
  assert.equal(refused.code, "too_many_rooms");
  assert.equal(
    refused.message,
    "20 rooms were made from your address lately; make another in 60 s, or join one (/rooms lists them)",
  );
  assert.equal(refused.wait, 60_000);
  mal.inbox.clear();
  hub.join(ann.member, "#homework");
  assert.deepEqual(errors(ann), [], "another address is not held back");
  hub.join(mal.member, "#r0");
  assert.deepEqual(errors(mal), [], "joining a room that is there is no making");
  later(60_000);
  hub.join(mal.member, "#r20");
  hub.join(mal.member, "#r21");
  assert.deepEqual(errors(mal), ["too_many_rooms"]);
});

Deno.test("a script filling the server with rooms it said a word in does not keep #homework out", () => {
  const { hub, join, later } = setUp({ maxRooms: 50, maxRoomsPerUser: 1000 });
  const mal = join("Mallory", "10.0.0.66");
  for (let i = 0; hub.roomList().length < 50; i++) {
    hub.join(mal.member, `#spam${i}`);
    hub.say(mal.member, "x", `#spam${i}`);
    hub.part(mal.member, `#spam${i}`);
    later(60_000);
  }
  assert.deepEqual(errors(mal).filter((code) => code !== "too_many_rooms"), []);
  const ann = join("Ann", "10.0.0.1");
  hub.join(ann.member, "#homework");
  assert.deepEqual(errors(ann), []);
  assert.equal(ann.member.room?.name, "homework");
  const rooms = hub.roomList().map((r) => r.room);
  assert.equal(rooms.length, 50);
  assert.ok(!rooms.includes("spam0"), "the room empty longest went");
  assert.ok(rooms.includes("spam1"));
});

Deno.test("a full server whose rooms all have members refuses a new room", () => {
  const { hub, join } = setUp({ maxRooms: 3 });
  const [ann, bob] = ["Ann", "Bob"].map((name) => join(name));
  hub.join(ann.member, "#a");
  hub.say(ann.member, "x");
  hub.join(bob.member, "#b");
  hub.join(bob.member, "#c");
  assert.equal(
    bob.inbox.of("error").at(-1)?.message,
    "The server holds 3 rooms, its most, all in use; join one of them (/rooms lists them)",
  );
});

Deno.test("the server's operator removes a room: its members are told and go back to #lobby", () => {
  const { hub, join } = setUp();
  const [ann, bob, cat] = ["Ann", "Bob", "Cat"].map((name) => join(name));
  hub.join(ann.member, "#spam");
  hub.join(bob.member, "#spam");
  hub.join(bob.member, "#team");
  hub.join(bob.member, "#spam");
  hub.part(ann.member, "#lobby");
  for (const user of [ann, bob, cat]) user.inbox.clear();
  assert.equal(hub.dropRoom("#SPAM", "not for this server"), "spam");
  assert.deepEqual(ann.inbox.events.slice(0, 3), [
    {
      type: "notice",
      time: T0,
      room: "spam",
      text: "#spam is closed by the server's operator: not for this server",
    },
    { type: "part", time: T0, room: "spam", name: "Ann", count: 0, reason: "not for this server" },
    { type: "join", time: T0, room: "lobby", name: "Ann", count: 3 },
  ]);
  assert.deepEqual(ann.inbox.last(), { type: "current", room: "lobby" });
  assert.deepEqual(seen(bob, "part", "current"), ["part spam Bob", "current team"]);
  assert.deepEqual(seen(cat, "notice", "part"), [], "#lobby heard nothing but Ann's join");
  assert.deepEqual(hub.roomList().map((r) => r.room), ["lobby", "team"]);
  assert.equal(hub.dropRoom("#spam"), undefined);
  assert.equal(refusal(() => hub.dropRoom("#lobby")).code, "not_allowed");
  hub.join(cat.member, "#spam");
  assert.deepEqual(seen(cat, "mode"), [], "made anew: Cat is its operator, no one else");
  assert.deepEqual(cat.inbox.of("users").at(-1)?.ops, ["Cat"]);
});

Deno.test("an ignored operator's invitation does not reach the one who ignores; the operator is not told", () => {
  const { hub, join } = setUp();
  const [ann, mal] = ["Ann", "Mallory"].map((name) => join(name));
  hub.ignore(ann.member, "Mallory");
  hub.join(mal.member, "#spam");
  ann.inbox.clear();
  mal.inbox.clear();
  hub.handleLine(mal.member, "/invite Ann");
  assert.deepEqual(ann.inbox.events, []);
  assert.deepEqual(mal.inbox.events, [{ type: "info", text: "Ann is invited to #spam" }]);
  hub.unignore(ann.member, "Mallory");
  ann.inbox.clear();
  hub.handleLine(mal.member, "/invite Ann");
  assert.deepEqual(ann.inbox.of("invite").map((e) => e.from), ["Mallory"]);
});

Deno.test("/topic - clears the topic; /topic alone shows it", () => {
  const { hub, join } = setUp();
  const [ann, bob] = ["Ann", "Bob"].map((name) => join(name));
  hub.join(ann.member, "#team");
  hub.join(bob.member, "#team");
  hub.handleLine(ann.member, "/topic Week 2");
  bob.inbox.clear();
  hub.handleLine(ann.member, "/topic  - ");
  assert.deepEqual(bob.inbox.events, [
    { type: "topic", time: T0, room: "team", topic: "", by: "Ann" },
  ]);
  hub.handleLine(bob.member, "/topic -");
  assert.deepEqual(errors(bob).at(-1), "not_operator");
  hub.handleLine(bob.member, "/topic");
  assert.deepEqual(bob.inbox.last(), { type: "topic", time: T0, room: "team", topic: "" });
});

Deno.test("the only operator present cannot /deop themselves, and is told how to hand over", () => {
  const { hub, join } = setUp();
  const [ann, bob] = ["Ann", "Bob"].map((name) => join(name));
  hub.join(ann.member, "#team");
  hub.join(bob.member, "#team");
  bob.inbox.clear();
  assert.equal(
    refusalMessage(() => hub.handleLine(ann.member, "/deop Ann"), ann),
    "You are the only operator of #team here: /op someone first, or /part to hand it over",
  );
  assert.deepEqual(ann.inbox.of("error").map((e) => e.code), ["not_allowed"]);
  assert.deepEqual(bob.inbox.events, [], "nothing changed");
  hub.handleLine(ann.member, "/op Bob");
  hub.handleLine(ann.member, "/deop Ann");
  assert.deepEqual(seen(bob, "mode"), ["mode team Bob", "mode team Ann"]);
  assert.deepEqual(bob.inbox.of("mode").map((e) => `${e.by} ${e.change} ${e.name}`), [
    "Ann op Bob",
    "Ann deop Ann",
  ]);
});
