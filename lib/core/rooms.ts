/**
 * The rooms of a server: finding them by name (look-alikes included),
 * creating and forgetting them, and the limits on how many there are.
 *
 * `#lobby` always exists. Another room that is empty and has no history is
 * forgotten: at once without a store, a day after its last member left with
 * one (its name, topic and operators are kept that long). When a new room
 * needs a place on a full server, the room empty longest goes: one without
 * history first, else one with history (its messages stay in the store
 * until retention prunes them, and a room made again under its name shows
 * them). One address makes rooms at {@link ROOM_CREATION}'s pace, so that a
 * script cannot fill the server; the server's operator removes a room with
 * {@link RoomRegistry.drop}.
 *
 * @module
 */

import { ChatError, errorMessage } from "./errors.ts";
import { ErrorCode } from "./events.ts";
import { DEFAULT_MAX_ROOMS, DEFAULT_MAX_ROOMS_PER_USER, ROOM_CREATION } from "./limits.ts";
import { type Member, Room } from "./room.ts";
import { roomKey } from "./room_names.ts";
import type { RoomBook } from "./store.ts";
import { TokenBuckets } from "./token_bucket.ts";

/** The room everyone enters first. */
export const DEFAULT_ROOM = "lobby";

/** How long an empty room without history is kept, with a store: a day. */
export const FORGET_EMPTY_AFTER_MS = 24 * 60 * 60 * 1000;

/** Settings of a {@link RoomRegistry}. */
export interface RoomRegistryOptions {
  /** Most rooms on the server. @default DEFAULT_MAX_ROOMS */
  maxRooms?: number;
  /** Most rooms per user. @default DEFAULT_MAX_ROOMS_PER_USER */
  maxRoomsPerUser?: number;
  /** Messages each room remembers itself (see RoomHistory.roomMemory). */
  memory: number;
  /** Where rooms are kept across restarts; null keeps them in memory only. */
  book: RoomBook | null;
  /** The clock, in ms since the epoch. */
  now: () => number;
  /** Receives one line per notable event, for the operator. */
  log: (line: string) => void;
  /** Called for each room made or read (the hub subscribes it to the bus); returns how to stop. */
  opened: (room: Room) => () => void;
  /** Whether one address makes rooms at ROOM_CREATION's pace (off with flood control). @default true */
  paced?: boolean;
}

/** Every room of one server, by the key of its name. */
export class RoomRegistry {
  readonly maxRooms: number;
  readonly maxRoomsPerUser: number;
  #rooms = new Map<string, Room>();
  #closers = new Map<Room, () => void>();
  #options: RoomRegistryOptions;
  /** Rooms made per address (see ROOM_CREATION); null when not paced. */
  #made: TokenBuckets | null;
  /** The room everyone enters first. */
  readonly lobby: Room;

  /** The lobby, and the rooms the book kept. */
  constructor(options: RoomRegistryOptions) {
    this.#options = options;
    this.maxRooms = options.maxRooms ?? DEFAULT_MAX_ROOMS;
    this.maxRoomsPerUser = options.maxRoomsPerUser ?? DEFAULT_MAX_ROOMS_PER_USER;
    this.#made = options.paced === false
      ? null
      : new TokenBuckets(ROOM_CREATION.burst, ROOM_CREATION.perMinute / 60);
    let kept: ReturnType<RoomBook["listRooms"]> = [];
    try {
      kept = options.book?.listRooms() ?? [];
    } catch (error) {
      options.log(`cannot read the rooms: ${errorMessage(error)}`);
    }
    this.lobby = this.#open(DEFAULT_ROOM);
    for (const stored of kept) {
      const room = this.get(stored.name) ?? this.#open(stored.name);
      room.topic = stored.topic;
      for (const op of stored.ops) room.ops.add(op);
      room.private = stored.private && room !== this.lobby;
      room.emptySince = stored.emptySince;
      room.hasHistory = stored.hasHistory === true;
    }
    this.sweep();
  }

  /** How many rooms there are. */
  get size(): number {
    return this.#rooms.size;
  }

  /** The room called `name` (with or without `#`, compared by key), if any. */
  get(name: string): Room | undefined {
    return this.#rooms.get(roomKey(name));
  }

  /** Every room, the lobby first, then in the order they were made. */
  all(): IterableIterator<Room> {
    return this.#rooms.values();
  }

  /**
   * Makes the room `name` (checked already) for `creator`, with no one in
   * it yet.
   *
   * @throws {ChatError} `too_many_rooms` when the creator's address made
   * rooms too fast (with `wait`), or when the server holds as many as it
   * may and none of them is empty.
   */
  create(name: string, creator: Member): Room {
    const now = this.#options.now();
    const wait = this.#made?.waitMs(creator.address, now) ?? 0;
    if (wait > 0) {
      this.#options.log(`refused room #${name} from ${creator.name}: made too many lately`);
      throw new ChatError(
        ErrorCode.TooManyRooms,
        `${ROOM_CREATION.burst} rooms were made from your address lately; make another in ${
          Math.ceil(wait / 1000)
        } s, or join one (/rooms lists them)`,
        wait,
      );
    }
    if (this.#rooms.size >= this.maxRooms) this.#makePlace();
    if (this.#rooms.size >= this.maxRooms) {
      this.#options.log(`refused room #${name}: ${this.maxRooms} rooms`);
      throw new ChatError(
        ErrorCode.TooManyRooms,
        `The server holds ${this.maxRooms} rooms, its most, all in use; join one of them (/rooms lists them)`,
      );
    }
    this.#made?.take(creator.address, now);
    const room = this.#open(name);
    this.save(room);
    return room;
  }

  /**
   * Forgets `room` on the server operator's word (its members must have
   * been taken out); its messages stay in the store, as for any room that
   * goes.
   *
   * @throws {ChatError} `not_allowed` for `#lobby`.
   */
  drop(room: Room): void {
    if (room === this.lobby) {
      throw new ChatError(ErrorCode.NotAllowed, "#lobby cannot be removed");
    }
    this.#forget(room);
  }

  /**
   * Refuses when `member` is in as many rooms as a user may be.
   *
   * @throws {ChatError} `too_many_rooms`.
   */
  checkRoomFor(member: Member): void {
    if (member.rooms.size >= this.maxRoomsPerUser) {
      throw new ChatError(
        ErrorCode.TooManyRooms,
        `You are in ${this.maxRoomsPerUser} rooms, the most one may be in; /part one first`,
      );
    }
  }

  /**
   * Called when a member left `room`: an empty room without history is
   * forgotten now when nothing keeps rooms, else noted as empty since now.
   */
  emptied(room: Room): void {
    if (room.size > 0) return;
    room.emptySince = this.#options.now();
    if (this.#forgettable(room) && !this.#options.book) this.#forget(room);
    else this.save(room);
  }

  /** Forgets the rooms that have been empty, without history, for a day. */
  sweep(): void {
    const limit = this.#options.now() - FORGET_EMPTY_AFTER_MS;
    for (const room of [...this.#rooms.values()]) {
      if (this.#forgettable(room) && room.emptySince <= limit) this.#forget(room);
    }
  }

  /** Keeps `room`'s name, topic, operators and privacy in the book (if any). */
  save(room: Room): void {
    const book = this.#options.book;
    if (!book) return;
    try {
      book.saveRoom({
        name: room.name,
        topic: room.topic,
        ops: [...room.ops],
        private: room.private,
        emptySince: room.emptySince,
      });
    } catch (error) {
      // The room works on in memory; the operator hears what will not survive a restart.
      this.#options.log(`cannot store the room #${room.name}: ${errorMessage(error)}`);
    }
  }

  #open(name: string): Room {
    const room = new Room(name, this.#options.memory, this.#options.now());
    this.#rooms.set(room.key, room);
    this.#closers.set(room, this.#options.opened(room));
    return room;
  }

  #forgettable(room: Room): boolean {
    return room !== this.lobby && room.size === 0 && !room.hasHistory;
  }

  /**
   * Forgets the room empty longest, to make place for a new one: one
   * without history if there is one, else one with history, so that rooms
   * a script said a word in cannot hold the server's places for good.
   */
  #makePlace(): void {
    let oldest: Room | undefined;
    let oldestWithHistory: Room | undefined;
    for (const room of this.#rooms.values()) {
      if (room === this.lobby || room.size > 0) continue;
      if (!room.hasHistory) {
        if (!oldest || room.emptySince < oldest.emptySince) oldest = room;
      } else if (!oldestWithHistory || room.emptySince < oldestWithHistory.emptySince) {
        oldestWithHistory = room;
      }
    }
    const room = oldest ?? oldestWithHistory;
    if (!room) return;
    if (room.hasHistory) this.#options.log(`forgot the room #${room.name} to make place`);
    this.#forget(room);
  }

  #forget(room: Room): void {
    this.#rooms.delete(room.key);
    this.#closers.get(room)?.();
    this.#closers.delete(room);
    try {
      this.#options.book?.forgetRoom(room.key);
    } catch (error) {
      this.#options.log(`cannot forget the room #${room.name}: ${errorMessage(error)}`);
    }
  }
}
