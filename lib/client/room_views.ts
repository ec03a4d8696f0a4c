/**
 * Where each line goes in `chat join` once there are rooms: each room has
 * its own conversation (a {@link Scrollback}), and what the server says is
 * put in the room it was said in; what belongs to no room (private
 * messages, errors, answers such as `/rooms`, the client's own notes) goes
 * to the room on screen, where the person is looking. Messages in the
 * other rooms are counted for the status line, a mention of your name
 * marked. Pure: it keeps the views and says which one to show; join.ts
 * draws.
 *
 * The room on screen and the server's current room agree: switching sends
 * a `join` of the room (which, for a room you are in, only makes it
 * current), and a `current` the server sends by itself (after `/join`,
 * `/part`) puts that room on screen. The one exception is a room you were
 * put out of while reading it: its view stays until you switch away.
 *
 * @module
 */

import type { ChatEvent, WelcomeEvent } from "../core/events.ts";
import { SAID_IN_ROOM } from "../protocol/room_text.ts";
import type { Line } from "./render.ts";
import { RoomList } from "./room_list.ts";
import { Scrollback } from "./scrollback.ts";

/** The commands about rooms, offered by Tab after `/` along with the others. */
export const ROOM_COMMANDS: readonly string[] = [
  "join",
  "part",
  "rooms",
  "topic",
  "kick",
  "op",
  "deop",
  "invite",
  "private",
  "public",
];

/** The conversations of the rooms you are in, and which one is on screen. */
export class RoomViews {
  /** The rooms, the one on screen, unread counts and mentions. */
  readonly list = new RoomList();
  #views = new Map<string, Scrollback>();
  // Lines said before the first welcome (the name prompt...): they become the first room's.
  #first: Scrollback;
  // Rooms asked to be made current (switches, rejoins), whose `current` has not come yet.
  #awaiting: string[] = [];
  // A room just entered: its `users` come before its `current`, and belong in its view.
  #entering = "";
  // A room you left yourself while it was on screen: it goes once the server says where you are.
  #parting = "";
  // Rooms heard of (listed, invited to): what Tab offers after `#`.
  #heard = new Set<string>();

  /** Views that start with `first`, the conversation shown before any room. */
  constructor(first: Scrollback) {
    this.#first = first;
  }

  /** The room on screen ("" before the welcome). */
  get shown(): string {
    return this.list.shown;
  }

  /** Whether there is more than one room to tell apart (and so a status line). */
  get several(): boolean {
    return this.list.rooms.length > 1;
  }

  /** The conversation of `room`, made when first asked for. */
  view(room: string): Scrollback {
    let view = this.#views.get(room);
    if (!view) {
      view = this.#views.size === 0 ? this.#first : new Scrollback();
      this.#views.set(room, view);
    }
    return view;
  }

  /** Room names Tab offers after `#`: yours, then those heard of. */
  get names(): string[] {
    return [...new Set([...this.list.rooms.map((room) => room.name), ...this.#heard])];
  }

  /**
   * A welcome (the first, or after a reconnect): the rooms it lists are
   * listed here. Returns the rooms to join again (lost by a restarted
   * server), and last the room on screen when it is not the server's current
   * one or others are joined again (each join makes its room current), so
   * that both agree once they are joined, on the room the person was on.
   */
  welcome(welcome: WelcomeEvent): string[] {
    const rooms = welcome.rooms ?? [welcome.room];
    this.view(welcome.room);
    const first = this.list.shown === "";
    const lost = this.list.reconcile([welcome.room, ...rooms]);
    if (first) {
      this.list.show(welcome.room);
      return [];
    }
    const shown = this.list.shown;
    const again = lost.filter((room) => room !== shown);
    if ((shown !== welcome.room || again.length > 0) && !this.list.get(shown)?.left) {
      again.push(shown);
    }
    this.#awaiting = [...again];
    return again;
  }

  /**
   * Switches the screen to `room` (a key was pressed); true when it changed.
   * `asked` says whether the server was asked to make it current too (not
   * while offline, nor for a room you left).
   */
  switchTo(room: string, asked: boolean): boolean {
    if (asked) this.#awaiting.push(room);
    return this.list.show(room);
  }

  /** Whether lines typed now would go nowhere: the room on screen was left; why, if so. */
  get leftWhy(): string | null {
    return this.list.get(this.list.shown)?.left ?? null;
  }

  /**
   * Follows `event` (before its lines are placed): rooms entered and left,
   * rooms heard of. Returns the room to put on screen now, if any.
   */
  follow(event: ChatEvent, me: string): string | null {
    switch (event.type) {
      case "join":
        if (event.name === me) {
          this.list.enter(event.room);
          this.view(event.room);
          this.#entering = event.room;
        }
        return null;
      case "part":
        if (event.name !== me) return null;
        if (event.by !== undefined) {
          this.list.markLeft(event.room, `put out by ${event.by}${reasonOf(event.reason)}`);
        } else if (event.room !== this.list.shown) {
          this.list.remove(event.room);
        } else {
          this.list.markLeft(event.room, "you left it");
          this.#parting = event.room;
        }
        return null;
      case "current":
        return this.#current(event.room);
      case "invite":
        if (this.#heard.size < MAX_HEARD) this.#heard.add(event.room);
        return null;
      case "rooms":
        // The latest listing only: what the server has now, bounded by what it lists.
        this.#heard = new Set(event.rooms.slice(0, MAX_HEARD).map((room) => room.room));
        return null;
      default:
        return null;
    }
  }

  /**
   * The room whose view `event`'s lines go to; counts a message in a room
   * not on screen (`lines` tell whether it mentions you). Null for your
   * leaving the room on screen: its lines go to the next room shown.
   */
  place(event: ChatEvent, lines: Line[]): string | null {
    const shown = this.list.shown;
    if (event.type === "part" && event.room === this.#parting && event.by === undefined) {
      return null;
    }
    let room = shown;
    if (event.type === "users") {
      if (event.room === this.#entering) room = event.room;
    } else if (SAID_IN_ROOM.has(event.type) && "room" in event) {
      // Some events name a room only sometimes (a whois, say): those stay where you look.
      const named = event.room;
      if (named !== undefined && this.list.get(named)) room = named;
    }
    if (event.type === "message" && room !== shown) {
      this.list.count(room, lines.some((line) => line.bell));
    }
    return room;
  }

  // A `current` from the server: the room to show, or null to stay.
  #current(room: string): string | null {
    this.#entering = "";
    const awaited = this.#awaiting.indexOf(room);
    if (awaited >= 0) {
      this.#awaiting.splice(0, awaited + 1);
      // More switches on their way: the last one decides.
      if (this.#awaiting.length > 0) return null;
      return room === this.list.shown ? null : room;
    }
    this.#awaiting = [];
    // You were put out of the room you are reading: it stays on screen until you switch.
    const parting = this.#parting === this.list.shown;
    this.#parting = "";
    if (this.leftWhy !== null && !parting) {
      if (!this.list.get(room)) this.list.enter(room);
      return null;
    }
    const before = this.list.shown;
    if (!this.list.get(room)) this.list.enter(room);
    if (room === before) return null;
    return room;
  }
}

/** Room names from `/rooms` and invitations kept for Tab, at most. */
const MAX_HEARD = 2_000;

function reasonOf(reason: string): string {
  return reason ? `: ${reason}` : "";
}
