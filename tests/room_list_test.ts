/**
 * The rooms `chat join` keeps (lib/client/room_list.ts) and where their
 * lines go (lib/client/room_views.ts): order, switching, counts, rooms left,
 * a reconnect's welcome.
 *
 * @module
 */

import assert from "node:assert/strict";
import { MAX_LISTED_ROOMS, RoomList } from "../lib/client/room_list.ts";
import { RoomViews } from "../lib/client/room_views.ts";
import { Scrollback } from "../lib/client/scrollback.ts";
import type { WelcomeEvent } from "../lib/core/events.ts";

function list(...names: string[]): RoomList {
  const rooms = new RoomList();
  for (const name of names) rooms.enter(name);
  return rooms;
}

Deno.test("rooms keep the order they were entered in; next and previous wrap around", () => {
  const rooms = list("lobby", "team", "ops");
  assert.equal(rooms.shown, "lobby");
  assert.equal(rooms.nth(2), "team");
  assert.equal(rooms.nth(4), undefined);
  assert.equal(rooms.next(1), "team");
  assert.equal(rooms.next(-1), "ops");
  rooms.show("ops");
  assert.equal(rooms.next(1), "lobby");
});

Deno.test("messages in rooms not on screen are counted, a mention marked; showing the room clears both", () => {
  const rooms = list("lobby", "team");
  rooms.count("team", false);
  rooms.count("team", true);
  rooms.count("lobby", true);
  assert.deepEqual(rooms.get("team"), { name: "team", unread: 2, mention: true, left: null });
  assert.equal(rooms.get("lobby")?.unread, 0, "the room on screen counts nothing");
  rooms.show("team");
  assert.deepEqual([rooms.get("team")?.unread, rooms.get("team")?.mention], [0, false]);
});

Deno.test("a room left stays listed, marked, until another is shown", () => {
  const rooms = list("lobby", "team");
  rooms.show("team");
  rooms.markLeft("team", "put out by Bob");
  assert.equal(rooms.get("team")?.left, "put out by Bob");
  rooms.show("lobby");
  assert.equal(rooms.get("team"), undefined);
});

Deno.test("a reconnect's welcome: rooms the server lost are named to join again, the one on screen last", () => {
  const welcome = (room: string, rooms: string[]): WelcomeEvent => ({
    type: "welcome",
    version: 1,
    name: "Ann",
    room,
    rooms,
    users: ["Ann"],
    server: "chat",
    resume: "x",
  });
  const views = new RoomViews(new Scrollback());
  assert.deepEqual(views.welcome(welcome("lobby", ["lobby"])), []);
  for (const room of ["team", "ops"]) {
    views.follow({ type: "join", time: 0, room, name: "Ann", count: 1 }, "Ann");
  }
  assert.equal(views.follow({ type: "current", room: "ops" }, "Ann"), "ops");
  views.list.show("ops");
  views.switchTo("team", true);
  assert.equal(views.follow({ type: "current", room: "team" }, "Ann"), null, "already on screen");
  // A restarted server has us in the lobby only.
  assert.deepEqual(views.welcome(welcome("lobby", ["lobby"])), ["ops", "team"]);
  // Its answers to those joins do not flip the screen from room to room.
  assert.equal(views.follow({ type: "current", room: "ops" }, "Ann"), null);
  assert.equal(views.follow({ type: "current", room: "team" }, "Ann"), null);
  assert.equal(views.shown, "team");
  // A resumed connection kept them all: nothing to do.
  assert.deepEqual(views.welcome(welcome("team", ["team", "lobby", "ops"])), []);
  // The lobby on screen, another restart: the lobby is joined again last, so that it stays.
  views.switchTo("lobby", true);
  views.follow({ type: "current", room: "lobby" }, "Ann");
  assert.deepEqual(views.welcome(welcome("lobby", ["lobby"])), ["team", "ops", "lobby"]);
  assert.equal(views.follow({ type: "current", room: "team" }, "Ann"), null);
  assert.equal(views.follow({ type: "current", room: "ops" }, "Ann"), null);
  views.follow({ type: "current", room: "lobby" }, "Ann");
  assert.equal(views.shown, "lobby");
});

Deno.test("lines go to the view of their room; a private message and errors to the one on screen", () => {
  const views = new RoomViews(new Scrollback());
  views.welcome({
    type: "welcome",
    version: 1,
    name: "Ann",
    room: "lobby",
    rooms: ["lobby", "team"],
    users: ["Ann"],
    server: "chat",
    resume: "x",
  });
  const said = { type: "message", id: 1, time: 0, room: "team", from: "Bob", text: "hi" } as const;
  assert.equal(views.place(said, [{ spans: [], bell: true }]), "team");
  assert.deepEqual(views.list.get("team"), { name: "team", unread: 1, mention: true, left: null });
  const whisper = {
    type: "private",
    id: 2,
    time: 0,
    from: "Bob",
    to: "Ann",
    text: "psst",
  } as const;
  assert.equal(views.place(whisper, []), "lobby");
  assert.equal(views.place({ type: "error", code: "x", message: "no" } as never, []), "lobby");
  assert.equal(
    views.place({ type: "users", room: "team", names: [] }, []),
    "lobby",
    "asked with /who",
  );
});

Deno.test("a server that names thousands of rooms cannot make the list grow without bound", () => {
  const rooms = new RoomList();
  for (let i = 0; i < 5_000; i++) rooms.enter(`r${i}`);
  assert.equal(rooms.rooms.length, MAX_LISTED_ROOMS);
  assert.equal(rooms.get("r4999"), undefined);
});
