/**
 * What a room's operators may do: set the topic, kick, make and unmake
 * operators, invite, and make the room private or public. Each change is an
 * event on the bus under the room's name (`topic`, `part`, `mode`). `#lobby`
 * has no room operators: it is the server operator's.
 *
 * @module
 */

import type { Bus } from "./bus.ts";
import { ChatError } from "./errors.ts";
import { ErrorCode } from "./events.ts";
import { ignores } from "./ignoring.ts";
import { nameKey } from "./names.ts";
import type { Member, Room } from "./room.ts";
import type { RoomMembership } from "./room_membership.ts";
import { shownRoomName } from "./room_names.ts";
import type { RoomRegistry } from "./rooms.ts";
import { cleanMessage, codePointLength } from "./sanitize.ts";

/** Longest topic, in code points. */
export const MAX_TOPIC_LENGTH = 300;

/** What operator actions need of the hub. */
export interface RoomOperatorsOptions {
  /** The rooms. */
  registry: RoomRegistry;
  /** Carries each room's events to its members. */
  bus: Bus;
  /** The clock, in ms since the epoch. */
  now: () => number;
  /** Receives one line per notable event, for the operator. */
  log: (line: string) => void;
  /** The user online under a name, if any. */
  find: (name: string) => Member | undefined;
  /** Who is in which room: a kick is a part, and operators succeed each other there. */
  membership: RoomMembership;
}

/** The rules of room operators, for the hub to run. */
export class RoomOperators {
  #registry: RoomRegistry;
  #bus: Bus;
  #now: () => number;
  #log: (line: string) => void;
  #find: (name: string) => Member | undefined;
  #membership: RoomMembership;

  /** Operator actions over the rooms of `options.registry`. */
  constructor(options: RoomOperatorsOptions) {
    this.#registry = options.registry;
    this.#bus = options.bus;
    this.#now = options.now;
    this.#log = options.log;
    this.#find = options.find;
    this.#membership = options.membership;
  }

  /**
   * `/topic [text]`: without `text` (undefined), tells `member` the topic;
   * with it, an operator sets it ("" clears it).
   *
   * @throws {ChatError} `not_allowed` in `#lobby`, `not_operator`, `message_too_long`.
   */
  topic(member: Member, room: Room, text: string | undefined): void {
    const time = this.#now();
    if (text === undefined) {
      member.sink.send({ type: "topic", time, room: room.name, topic: room.topic });
      return;
    }
    this.#checkOperator(member, room, "set the topic");
    const topic = cleanMessage(text).trim();
    const length = codePointLength(topic);
    if (length > MAX_TOPIC_LENGTH) {
      throw new ChatError(
        ErrorCode.MessageTooLong,
        `Topic not set: ${length} characters, the limit is ${MAX_TOPIC_LENGTH}`,
      );
    }
    room.topic = topic;
    this.#registry.save(room);
    this.#bus.publish(room.name, { type: "topic", time, room: room.name, topic, by: member.name });
    this.#log(`${member.name} set the topic of #${room.name}: ${topic}`);
  }

  /**
   * `/kick NAME [reason]`: an operator puts a member out of the room.
   *
   * @throws {ChatError} `not_allowed` in `#lobby`, `not_operator`, `no_such_user`.
   */
  kick(member: Member, room: Room, name: string, reason: string): void {
    this.#checkOperator(member, room, "kick");
    const target = this.#member(room, name);
    this.#membership.part(target, room, cleanMessage(reason).trim() || "kicked", member);
  }

  /**
   * `/op NAME`, `/deop NAME`: an operator makes a member an operator, or
   * takes it back. The only operator present cannot unmake themselves (a
   * room with members keeps one present): they /op someone first, or part.
   *
   * @throws {ChatError} `not_allowed` in `#lobby` or for the last operator
   * present, `not_operator`, `no_such_user`.
   */
  setOperator(member: Member, room: Room, name: string, op: boolean): void {
    this.#checkOperator(member, room, op ? "make operators" : "unmake operators");
    const target = this.#member(room, name);
    if (op === room.isOp(target)) {
      member.sink.send({
        type: "info",
        text: `${target.name} is ${op ? "already" : "not"} an operator of #${room.name}`,
      });
      return;
    }
    if (!op && target === member && room.operators().length === 1) {
      // Succession would hand it straight back to the member present longest: refused instead.
      throw new ChatError(
        ErrorCode.NotAllowed,
        `You are the only operator of #${room.name} here: /op someone first, or /part to hand it over`,
      );
    }
    if (op) room.ops.add(target.key);
    else room.ops.delete(target.key);
    this.#registry.save(room);
    this.#membership.mode(room, member.name, op ? "op" : "deop", target.name);
    this.#membership.succeed(room);
  }

  /**
   * `/invite NAME`: an operator lets someone online into the room, even
   * when it is private; they are told, unless they ignore the operator.
   *
   * @throws {ChatError} `not_allowed` in `#lobby`, `not_operator`, `no_such_user`.
   */
  invite(member: Member, room: Room, name: string): void {
    this.#checkOperator(member, room, "invite");
    const target = this.#find(name.trim().replace(/^@/, ""));
    if (!target) {
      throw new ChatError(ErrorCode.NoSuchUser, `Nobody called ${shownRoomName(name)} is here`);
    }
    if (room.has(target)) {
      member.sink.send({ type: "info", text: `${target.name} is in #${room.name} already` });
      return;
    }
    room.invites.add(target.key);
    // Someone who ignores the inviter is not told; the inviter reads the usual answer.
    if (!ignores(target, member.name)) {
      target.sink.send({ type: "invite", time: this.#now(), room: room.name, from: member.name });
    }
    member.sink.send({ type: "info", text: `${target.name} is invited to #${room.name}` });
    this.#log(`${member.name} invited ${target.name} to #${room.name}`);
  }

  /**
   * `/private`, `/public`: an operator makes the room entered by invitation
   * only, or open to all again.
   *
   * @throws {ChatError} `not_allowed` in `#lobby`, `not_operator`.
   */
  setPrivate(member: Member, room: Room, privateRoom: boolean): void {
    this.#checkOperator(member, room, privateRoom ? "make it private" : "make it public");
    if (room.private === privateRoom) return;
    room.private = privateRoom;
    this.#registry.save(room);
    this.#membership.mode(room, member.name, privateRoom ? "private" : "public");
  }

  #checkOperator(member: Member, room: Room, what: string): void {
    if (room === this.#registry.lobby) {
      throw new ChatError(
        ErrorCode.NotAllowed,
        "#lobby has no room operators: only the server's operator looks after it",
      );
    }
    if (!room.isOp(member)) {
      throw new ChatError(
        ErrorCode.NotOperator,
        `Only an operator of #${room.name} may ${what}`,
      );
    }
  }

  /** The member of `room` called `name`. */
  #member(room: Room, name: string): Member {
    const key = nameKey(name.trim().replace(/^@/, ""));
    const target = room.members().find((m) => m.key === key);
    if (!target) {
      throw new ChatError(
        ErrorCode.NoSuchUser,
        `Nobody called ${shownRoomName(name)} is in #${room.name}`,
      );
    }
    return target;
  }
}
