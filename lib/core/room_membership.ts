/**
 * Membership of rooms: joining (creating), switching, parting, leaving the
 * chat, renames, and listing rooms and their members. What a room's
 * operators may do is `room_operators.ts`.
 *
 * Every change of a room goes out as an event on the bus, keyed by the
 * room's name (`join`, `part`, `topic`, `mode`), so that another node could
 * apply it. A room with members always has an operator present: when the
 * last one leaves, the member present longest becomes one (`mode` by "").
 * `#lobby` has no room operators: it is the server operator's.
 *
 * @module
 */

import { awayNames } from "./away.ts";
import type { Bus } from "./bus.ts";
import { ChatError } from "./errors.ts";
import { type ChatEvent, ErrorCode, type ModeChange, type RoomListing } from "./events.ts";
import { nameKey } from "./names.ts";
import { plural } from "./plural.ts";
import type { Member, Room } from "./room.ts";
import { checkRoomName, shownRoomName } from "./room_names.ts";
import type { RoomRegistry } from "./rooms.ts";

/** What room membership needs of the hub. */
export interface RoomMembershipOptions {
  /** The rooms. */
  registry: RoomRegistry;
  /** Carries each room's events to its members. */
  bus: Bus;
  /** The clock, in ms since the epoch. */
  now: () => number;
  /** Receives one line per notable event, for the operator. */
  log: (line: string) => void;
  /** Whether a member's comings and goings are not announced (join churn control). */
  isQuiet: (member: Member) => boolean;
  /** Sends a joiner the room's last messages (see RoomHistory.showJoiner). */
  showHistory: (member: Member, room: Room) => void;
}

/** Who is in which room, and how they come and go, for the hub to run. */
export class RoomMembership {
  #registry: RoomRegistry;
  #bus: Bus;
  #now: () => number;
  #log: (line: string) => void;
  #isQuiet: (member: Member) => boolean;
  #showHistory: (member: Member, room: Room) => void;

  /** Membership of the rooms of `options.registry`. */
  constructor(options: RoomMembershipOptions) {
    this.#registry = options.registry;
    this.#bus = options.bus;
    this.#now = options.now;
    this.#log = options.log;
    this.#isQuiet = options.isQuiet;
    this.#showHistory = options.showHistory;
  }

  /**
   * The room `typed` names (with or without `#`), which `member` is in; the
   * member's current room when `typed` is undefined or "".
   *
   * @throws {ChatError} `room_invalid`, `no_such_room` or `not_in_room`.
   */
  roomOf(member: Member, typed: string | undefined): Room {
    if (typed === undefined || typed.trim() === "") {
      if (!member.room) throw new ChatError(ErrorCode.NotRegistered, "You are not in a room");
      return member.room;
    }
    // A bot names a room in every message: the room's own name is found
    // among the member's few rooms without checking and folding it again.
    const bare = typed.startsWith("#") ? typed.slice(1) : typed;
    for (const joined of member.rooms) if (joined.name === bare) return joined;
    const room = this.#registry.get(checkRoomName(typed));
    if (!room) {
      throw new ChatError(ErrorCode.NoSuchRoom, `There is no room #${shownRoomName(typed)}`);
    }
    if (!room.has(member)) {
      throw new ChatError(ErrorCode.NotInRoom, `You are not in #${room.name}; /join #${room.name}`);
    }
    return room;
  }

  /**
   * The room `typed` names, for looking at: one `member` is in, or any
   * public one (a private room is seen by its members only).
   *
   * @throws {ChatError} `room_invalid`, `no_such_room` or `not_in_room`.
   */
  visibleRoom(member: Member, typed: string): Room {
    const room = this.#registry.get(checkRoomName(typed));
    if (!room) {
      throw new ChatError(ErrorCode.NoSuchRoom, `There is no room #${shownRoomName(typed)}`);
    }
    if (room.private && !room.has(member)) {
      throw new ChatError(ErrorCode.NotInRoom, `#${room.name} is private: you are not in it`);
    }
    return room;
  }

  /**
   * `/join #name`: enters the room, creating it (the creator is its
   * operator); a room the member is in becomes their current room.
   *
   * @throws {ChatError} `room_invalid`, `too_many_rooms`, `invite_only`.
   */
  join(member: Member, typed: string): void {
    const name = checkRoomName(typed);
    const existing = this.#registry.get(name);
    if (existing?.has(member)) {
      this.#makeCurrent(member, existing);
      return;
    }
    this.#registry.checkRoomFor(member);
    if (existing?.private && !existing.invites.has(member.key) && !existing.isOp(member)) {
      throw new ChatError(
        ErrorCode.InviteOnly,
        `#${existing.name} is private: an operator of it must /invite you`,
      );
    }
    let room = existing;
    if (!room) {
      room = this.#registry.create(name, member);
      room.ops.add(member.key);
      this.#registry.save(room);
      this.#log(`room #${room.name} made by ${member.name}`);
    }
    room.invites.delete(member.key);
    this.#enter(member, room);
  }

  /** Puts `member` in `room` and tells them all about it, their current room after. */
  #enter(member: Member, room: Room): void {
    room.add(member);
    // Current from now (a plain-text joiner reads what follows without the room's name); told last.
    member.room = room;
    const event: ChatEvent = {
      type: "join",
      time: this.#now(),
      room: room.name,
      name: member.name,
      count: room.size,
    };
    if (this.#isQuiet(member)) member.sink.send(event);
    else this.#bus.publish(room.name, event);
    this.succeed(room);
    this.who(member, room);
    if (room.topic) {
      member.sink.send({ type: "topic", time: event.time, room: room.name, topic: room.topic });
    }
    this.#showHistory(member, room);
    member.sink.send({ type: "current", room: room.name });
    this.#log(`${member.name} joined #${room.name} (${plural(room.size, "user")})`);
  }

  #makeCurrent(member: Member, room: Room): void {
    member.room = room;
    member.sink.send({ type: "current", room: room.name });
  }

  /**
   * `/part`: takes `member` out of `room`; `by` is the operator who kicked
   * them. Leaving one's only room but `#lobby` goes back to `#lobby`.
   *
   * @throws {ChatError} `not_allowed` for `#lobby` when it is their only room.
   */
  part(member: Member, room: Room, reason: string, by?: Member): void {
    const lobby = this.#registry.lobby;
    if (room === lobby && member.rooms.size === 1) {
      throw new ChatError(
        ErrorCode.NotAllowed,
        "#lobby is your only room: join another first, or /quit to leave the chat",
      );
    }
    room.remove(member);
    const event: ChatEvent = {
      type: "part",
      time: this.#now(),
      room: room.name,
      name: member.name,
      count: room.size,
      reason,
      ...(by ? { by: by.name } : {}),
    };
    if (!by && this.#isQuiet(member)) {
      member.sink.send(event);
    } else {
      this.#bus.publish(room.name, event);
      member.sink.send(event);
    }
    this.#log(
      by
        ? `${by.name} kicked ${member.name} from #${room.name}${reason ? ": " + reason : ""}`
        : `${member.name} left #${room.name}`,
    );
    this.#afterLeaving(room);
    if (member.rooms.size === 0) this.#enter(member, lobby);
    else if (!member.room) this.#makeCurrent(member, [...member.rooms].at(-1)!);
  }

  /**
   * The server's operator removes `room`: its members are told (a `notice`,
   * then each their own `part` with `reason`), and whoever has no room left
   * is put back in `#lobby`; then the room is forgotten.
   *
   * @throws {ChatError} `not_allowed` for `#lobby`.
   */
  close(room: Room, reason: string): void {
    const lobby = this.#registry.lobby;
    if (room === lobby) throw new ChatError(ErrorCode.NotAllowed, "#lobby cannot be removed");
    const time = this.#now();
    this.#bus.publish(room.name, {
      type: "notice",
      time,
      room: room.name,
      text: `#${room.name} is closed by the server's operator${reason ? ": " + reason : ""}`,
    });
    const members = room.members();
    for (const member of members) {
      room.remove(member);
      member.sink.send({
        type: "part",
        time,
        room: room.name,
        name: member.name,
        count: 0,
        reason: reason || "room closed",
      });
      if (member.rooms.size === 0) this.#enter(member, lobby);
      else if (!member.room) this.#makeCurrent(member, [...member.rooms].at(-1)!);
    }
    this.#registry.drop(room);
    this.#log(`closed #${room.name} (${plural(members.length, "user")})`);
  }

  /** Takes `member`, who is leaving the chat, out of every room: each is told (`leave`). */
  leaveAll(member: Member, reason: string): void {
    const quiet = this.#isQuiet(member);
    // One time for every room: a front end that shows it once per person knows the copies by it.
    const time = this.#now();
    for (const room of [...member.rooms]) {
      room.remove(member);
      if (!quiet) {
        this.#bus.publish(room.name, {
          type: "leave",
          time,
          room: room.name,
          name: member.name,
          count: room.size,
          reason,
        });
      }
      this.#afterLeaving(room);
    }
    member.room = null;
  }

  /** A member left `room`: a new operator when none is left, and an empty room may be forgotten. */
  #afterLeaving(room: Room): void {
    this.succeed(room);
    this.#registry.emptied(room);
  }

  /** Makes the member present longest an operator when no operator is present. */
  succeed(room: Room): void {
    if (room === this.#registry.lobby) return;
    const next = room.successor();
    if (!next) return;
    room.ops.add(next.key);
    this.#registry.save(room);
    this.mode(room, "", "op", next.name);
  }

  /**
   * Tells each room `member` is in that they are now called what they are
   * (`old` their former name); operators stay operators.
   */
  renamed(member: Member, old: string): void {
    const oldKey = nameKey(old);
    const quiet = this.#isQuiet(member);
    const time = this.#now();
    for (const room of member.rooms) {
      if (room.ops.delete(oldKey)) {
        room.ops.add(member.key);
        this.#registry.save(room);
      }
      const event: ChatEvent = {
        type: "rename",
        time,
        room: room.name,
        from: old,
        to: member.name,
      };
      // A user whose join was not announced is not revealed by a rename.
      if (quiet) {
        if (room === member.room) member.sink.send(event);
      } else {
        this.#bus.publish(room.name, event);
      }
    }
  }

  /** `/who`: the room's members in join order, its operators present, and who is away. */
  who(member: Member, room: Room): void {
    const ops = room.operators();
    const away = awayNames(room.members());
    member.sink.send({
      type: "users",
      room: room.name,
      names: room.names(),
      ...(ops.length > 0 ? { ops } : {}),
      ...(away.length > 0 ? { away } : {}),
    });
  }

  /** `/rooms`: the public rooms and those `member` is in. */
  list(member: Member): void {
    const rooms: RoomListing[] = [];
    for (const room of this.#registry.all()) {
      const joined = room.has(member);
      if (room.private && !joined) continue;
      rooms.push(listing(room, joined));
    }
    member.sink.send({ type: "rooms", rooms });
  }

  /** Tells the room how it changed (an operator made or unmade, its privacy); `by` "" is the server. */
  mode(room: Room, by: string, change: ModeChange, name?: string): void {
    this.#bus.publish(room.name, {
      type: "mode",
      time: this.#now(),
      room: room.name,
      by,
      change,
      ...(name !== undefined ? { name } : {}),
    });
    this.#log(`#${room.name}: ${change}${name ? " " + name : ""}${by ? " by " + by : ""}`);
  }
}

/** How `/rooms` lists `room`. */
export function listing(room: Room, joined: boolean): RoomListing {
  return {
    room: room.name,
    count: room.size,
    topic: room.topic,
    ...(room.private ? { private: true as const } : {}),
    ...(joined ? { joined: true as const } : {}),
  };
}
