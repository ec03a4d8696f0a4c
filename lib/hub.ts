/**
 * The chat core: users, rooms and everything they can do.
 *
 * This module is pure logic over events. It has no sockets, no terminal and no
 * `Deno.*` calls: a front end registers users with a {@link Sink}, feeds it
 * what they type, and delivers the events it produces. The TCP server in
 * `server.ts` is one such front end; the tests are another.
 *
 * Refusals are thrown as {@link ChatError} inside and reach only the user who
 * caused them, as an `error` event.
 *
 * @module
 */

import { COMMANDS, parseInput } from "./commands.ts";
import { DEFAULT_CHURN, DEFAULT_FLOOD, DEFAULT_HISTORY, MAX_HISTORY } from "./defaults.ts";
import { ChatError } from "./errors.ts";
import {
  type ByeCode,
  type ChatEvent,
  ErrorCode,
  type MessageEvent,
  PROTOCOL_VERSION,
  type Sink,
  WELCOME_NAMES,
} from "./events.ts";
import { checkName, nameKey } from "./names.ts";
import { Member, Room } from "./room.ts";
import { cleanMessage, codePointLength } from "./sanitize.ts";
import { TokenBucket, TokenBuckets } from "./token_bucket.ts";

/** The room everyone enters first. */
export const DEFAULT_ROOM = "lobby";

/**
 * Longest message, in code points; longer ones are refused, not cut. Long
 * enough for a paragraph or a snippet, short enough that a burst of them
 * fanned out to a room cannot swamp its readers.
 */
export const MAX_MESSAGE_LENGTH = 2000;

/** Longest `/quit` reason, in code points. */
const MAX_REASON_LENGTH = 200;

/** Everyone behind one address together may send this many times one user's flood limits. */
const ADDRESS_FLOOD_FACTOR = 3;

/** Flood control of each user's actions; see {@link HubOptions.flood}. */
export interface FloodLimits {
  /** Actions allowed in a burst. @default 20 */
  burst: number;
  /** Actions per second allowed after the burst; 0 turns flood control off. @default 5 */
  rate: number;
  /** Refused actions within 10 s after which the user is disconnected. @default 50 */
  kickAfter: number;
}

/** Join churn control per address; see {@link HubOptions.churn}. */
export interface ChurnLimits {
  /** Joins from one address announced in a burst. @default 20 */
  burst: number;
  /** Joins per second announced after the burst; 0 turns churn control off. @default 0.2 */
  rate: number;
}

const NO_FLOOD_LIMIT: FloodLimits = { burst: 0, rate: 0, kickAfter: 0 };
const NO_CHURN_LIMIT: ChurnLimits = { burst: 0, rate: 0 };

/** The window in which refused actions are counted towards a kick. */
const FLOOD_WINDOW_MS = 10_000;

/** Settings of a hub. */
export interface HubOptions {
  /** Most users registered at once. @default 100 */
  maxUsers?: number;
  /** Message of the day, shown to each user on joining. */
  motd?: string;
  /** Name and version the server reports in `welcome`. @default "chat" */
  server?: string;
  /** The clock, in milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Receives one line per notable event, for the operator. */
  log?: (line: string) => void;
  /** Flood control per user; null turns it off. @default DEFAULT_FLOOD */
  flood?: FloodLimits | null;
  /** Join churn control per address; null turns it off. @default DEFAULT_CHURN */
  churn?: ChurnLimits | null;
  /** Earlier messages shown to each joiner; 0 keeps no history at all. @default 0 */
  history?: number;
  /** Makes the secret `resume` tokens. @default crypto.randomUUID */
  token?: () => string;
}

/** Where a registration comes from; every field is optional. */
export interface Origin {
  /** The peer's `host:port`, for the log. */
  peer?: string;
  /** The peer's IP address, for join churn control. */
  address?: string;
  /** The `resume` token of an earlier welcome, to take the name back. */
  resume?: string;
}

/** What the hub tracks about a user beyond the room: flood state, quietness. */
interface Standing {
  bucket: TokenBucket | null;
  refusedSince: number;
  refused: number;
  /** Joined while their address was churning: their join and leave are not announced. */
  quiet: boolean;
}

/** All users and rooms of one server, and the rules between them. */
export class Hub {
  #users = new Map<string, Member>();
  #rooms = new Map<string, Room>();
  #nextId = 1;
  #maxUsers: number;
  #motd: string | undefined;
  #server: string;
  #now: () => number;
  #log: (line: string) => void;
  #flood: FloodLimits;
  #churn: ChurnLimits;
  #churnBuckets: TokenBuckets | null;
  #addressBuckets: TokenBuckets | null;
  #standing = new WeakMap<Member, Standing>();
  #depth = 0;
  #token: () => string;
  #history: number;

  /** Creates a hub with one empty room, {@link DEFAULT_ROOM}. */
  constructor(options: HubOptions = {}) {
    this.#maxUsers = options.maxUsers ?? 100;
    this.#motd = options.motd ? cleanMessage(options.motd) : undefined;
    this.#server = options.server ?? "chat";
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    this.#token = options.token ?? (() => crypto.randomUUID());
    this.#flood = options.flood === undefined ? DEFAULT_FLOOD : options.flood ?? NO_FLOOD_LIMIT;
    this.#churn = options.churn === undefined ? DEFAULT_CHURN : options.churn ?? NO_CHURN_LIMIT;
    this.#churnBuckets = this.#churn.rate > 0
      ? new TokenBuckets(this.#churn.burst, this.#churn.rate)
      : null;
    this.#addressBuckets = this.#flood.rate > 0
      ? new TokenBuckets(
        this.#flood.burst * ADDRESS_FLOOD_FACTOR,
        this.#flood.rate * ADDRESS_FLOOD_FACTOR,
      )
      : null;
    this.#history = Math.min(options.history ?? DEFAULT_HISTORY, MAX_HISTORY);
    // Rooms keep the longest history /history may ask for, if history is on.
    this.#rooms.set(DEFAULT_ROOM, new Room(DEFAULT_ROOM, this.#history > 0 ? MAX_HISTORY : 0));
  }

  /** Number of registered users. */
  get userCount(): number {
    return this.#users.size;
  }

  /** The most users this hub admits. */
  get maxUsers(): number {
    return this.#maxUsers;
  }

  /** Whether a newcomer would be turned away. */
  isFull(): boolean {
    return this.#users.size >= this.#maxUsers;
  }

  /** Names of everyone registered, in the order they joined. */
  userNames(): string[] {
    return [...this.#users.values()].map((m) => m.name);
  }

  /**
   * Registers a user under `name` and puts them in the default room: they get
   * `welcome` (with a `resume` token), everyone else a `join`.
   *
   * `origin.address` identifies where the user connects from (an IP
   * address), for join churn control: joins from an address that keeps
   * joining are not announced. `origin.resume` is the token of an earlier
   * `welcome`: it takes the name back from a connection that was lost but
   * not yet noticed, silently for the room.
   *
   * @throws {ChatError} `name_invalid`, `name_taken` or `room_full`; the
   * connection may try again with another name (except when full).
   */
  register(name: string, sink: Sink, origin: Origin = {}): Member {
    const peer = origin.peer ?? "local";
    const address = origin.address ?? peer;
    const checked = checkName(name);
    if (!checked.ok) {
      this.#log(`refused name from ${peer}: ${checked.reason}`);
      throw new ChatError(ErrorCode.NameInvalid, checked.reason);
    }
    const holder = this.#users.get(nameKey(checked.name));
    if (holder && !(origin.resume && sameSecret(origin.resume, holder.resume))) {
      this.#log(`refused name ${checked.name} from ${peer}: taken`);
      throw new ChatError(ErrorCode.NameTaken, `The name ${checked.name} is taken`);
    }
    if (!holder && this.isFull()) {
      this.#log(`refused ${checked.name} from ${peer}: room full (${this.#maxUsers})`);
      throw new ChatError(ErrorCode.RoomFull, this.fullMessage());
    }
    const member = new Member(holder?.name ?? checked.name, sink, {
      peer,
      address,
      resume: this.#token(),
    });
    const now = this.#now();
    const previous = holder && this.#standing.get(holder);
    this.#standing.set(
      member,
      previous ?? {
        bucket: this.#flood.rate > 0
          ? new TokenBucket(this.#flood.burst, this.#flood.rate, now)
          : null,
        refusedSince: now,
        refused: 0,
        quiet: !this.#takeJoin(address, now),
      },
    );
    const room = holder?.room ?? this.#rooms.get(DEFAULT_ROOM)!;
    if (holder) {
      // The old connection is gone or going: it hands over without a leave.
      holder.sink.send({ type: "bye", code: "replaced", reason: "Resumed on another connection" });
      room.replace(holder, member);
    } else {
      room.add(member);
    }
    this.#users.set(member.key, member);
    sink.send({
      type: "welcome",
      version: PROTOCOL_VERSION,
      name: member.name,
      room: room.name,
      users: room.names(WELCOME_NAMES),
      count: room.size,
      ...(this.#motd ? { motd: this.#motd } : {}),
      server: this.#server,
      resume: member.resume,
    });
    if (holder) {
      this.#log(`resume ${member.name} from ${peer}`);
      return member;
    }
    const earlier = room.recent(this.#history);
    if (earlier.length > 0) sink.send({ type: "history", room: room.name, messages: earlier });
    const quiet = this.#standing.get(member)?.quiet;
    if (!quiet) {
      room.broadcast(
        { type: "join", time: now, room: room.name, name: member.name, count: room.size },
        member,
      );
    }
    this.#log(
      `join ${member.name} from ${peer} (${usersCount(this.#users.size)})${
        quiet ? " unannounced: too many joins from " + address : ""
      }`,
    );
    return member;
  }

  /** Takes a join token for `address`; false when it has joined too often lately. */
  #takeJoin(address: string, now: number): boolean {
    return this.#churnBuckets?.take(address, now) ?? true;
  }

  /** The sentence a refused newcomer reads when the server is full. */
  fullMessage(): string {
    return `The room is full (${usersCount(this.#maxUsers)}); try again later`;
  }

  /**
   * Handles one line as a person typed it: a `/command`, `@name text`, the
   * word `exit`, or a message to the room. Refusals go to `member` only.
   */
  handleLine(member: Member, line: string): void {
    const input = parseInput(line);
    // Leaving is never refused, however fast someone typed before.
    const free = input.kind === "command" && COMMANDS.get(input.name)?.name === "quit";
    this.#guard(member, () => {
      if (input.kind === "say") this.say(member, input.text);
      else COMMANDS.run(this, member, input.name, input.args);
    }, free);
  }

  /**
   * Runs one user action: checks flood control once (nested calls, such as
   * handleLine() running say(), count once), and sends a {@link ChatError}
   * it throws to `member` only.
   */
  #guard(member: Member, action: () => void, free = false): void {
    this.#depth++;
    try {
      if (this.#depth === 1 && !free && !this.#admit(member)) return;
      action();
    } catch (error) {
      if (!(error instanceof ChatError)) throw error;
      member.sink.send({ type: "error", code: error.code, message: error.message });
    } finally {
      this.#depth--;
    }
  }

  /**
   * Flood control: takes a token for the member's action. Refuses with a
   * "slow down" error, or disconnects a member who keeps flooding (false).
   */
  #admit(member: Member): boolean {
    const standing = this.#standing.get(member);
    if (!standing?.bucket) return true;
    const now = this.#now();
    // Both the user's own bucket and their address's shared one must allow it,
    // so that many users behind one address cannot multiply the flood.
    if (standing.bucket.take(now) && (this.#addressBuckets?.take(member.address, now) ?? true)) {
      return true;
    }
    if (now - standing.refusedSince > FLOOD_WINDOW_MS) {
      standing.refusedSince = now;
      standing.refused = 0;
    }
    if (++standing.refused >= this.#flood.kickAfter) {
      this.#log(`kick ${member.name}: flooding`);
      member.sink.send({ type: "bye", code: "flood", reason: "Disconnected for flooding" });
      this.leave(member, "disconnected for flooding");
      return false;
    }
    throw new ChatError(
      ErrorCode.Flood,
      `Slow down: at most ${this.#flood.rate} messages per second; that one was not sent`,
    );
  }

  /** Sends a message to the member's room, the sender included. */
  say(member: Member, text: string): void {
    this.#post(member, text, false);
  }

  /** Sends a `/me` action to the member's room. */
  act(member: Member, text: string): void {
    this.#post(member, text, true);
  }

  #post(member: Member, text: string, action: boolean): void {
    this.#guard(member, () => {
      const room = this.#roomOf(member);
      const clean = this.#checkText(text);
      const message: MessageEvent = {
        type: "message",
        id: this.#nextId++,
        time: this.#now(),
        room: room.name,
        from: member.name,
        text: clean,
        ...(action ? { action: true as const } : {}),
      };
      room.broadcast(message);
      room.remember(message);
      this.#log(action ? `* ${member.name} ${clean}` : `<${member.name}> ${clean}`);
    });
  }

  /** Sends a private message; the sender gets the same event as a receipt. */
  whisper(member: Member, to: string, text: string): void {
    this.#guard(member, () => {
      this.#roomOf(member);
      const target = this.#users.get(nameKey(to.trim().replace(/^@/, "")));
      if (!target) {
        throw new ChatError(ErrorCode.NoSuchUser, `No user named ${cleanMessage(to)} is here`);
      }
      const clean = this.#checkText(text);
      const event: ChatEvent = {
        type: "private",
        id: this.#nextId++,
        time: this.#now(),
        from: member.name,
        to: target.name,
        text: clean,
      };
      target.sink.send(event);
      if (target !== member) member.sink.send(event);
      // The operator sees that it happened, not what was said.
      this.#log(`private ${member.name} -> ${target.name} (${codePointLength(clean)} chars)`);
    });
  }

  /** Changes the member's name, if the new one is valid and free. */
  rename(member: Member, name: string): void {
    this.#guard(member, () => {
      const room = this.#roomOf(member);
      const checked = checkName(name);
      if (!checked.ok) throw new ChatError(ErrorCode.NameInvalid, checked.reason);
      const key = nameKey(checked.name);
      const holder = this.#users.get(key);
      if (holder && holder !== member) {
        throw new ChatError(ErrorCode.NameTaken, `The name ${checked.name} is taken`);
      }
      if (checked.name === member.name) {
        throw new ChatError(ErrorCode.BadArguments, `You are already called ${member.name}`);
      }
      const old = member.name;
      this.#users.delete(member.key);
      member.rename(checked.name);
      this.#users.set(member.key, member);
      const event: ChatEvent = {
        type: "rename",
        time: this.#now(),
        room: room.name,
        from: old,
        to: member.name,
      };
      // A user whose join was not announced is not revealed by a rename.
      if (this.#standing.get(member)?.quiet) member.sink.send(event);
      else room.broadcast(event);
      this.#log(`rename ${old} -> ${member.name}`);
    });
  }

  /** Tells the member who is in their room. */
  who(member: Member): void {
    this.#guard(member, () => {
      const room = this.#roomOf(member);
      member.sink.send({ type: "users", room: room.name, names: room.names() });
    });
  }

  /**
   * Sends the member the last `count` messages of their room (`/history`).
   *
   * @throws {ChatError} when history is off, or `count` is not 1 to MAX_HISTORY.
   */
  recall(member: Member, count: string): void {
    this.#guard(member, () => {
      const room = this.#roomOf(member);
      if (this.#history <= 0) {
        throw new ChatError(ErrorCode.BadArguments, "This server keeps no history");
      }
      const n = count.trim() === "" ? this.#history : Number(count.trim());
      if (!/^\d*$/.test(count.trim()) || !Number.isInteger(n) || n < 1 || n > MAX_HISTORY) {
        throw new ChatError(
          ErrorCode.BadArguments,
          `Usage: /history [N], N a whole number from 1 to ${MAX_HISTORY}`,
        );
      }
      member.sink.send({ type: "history", room: room.name, messages: room.recent(n) });
    });
  }

  /** Sends the help text to the member. */
  help(member: Member): void {
    this.#guard(member, () => member.sink.send({ type: "info", text: COMMANDS.help() }));
  }

  /**
   * The member leaves on purpose: they get `bye`, the room a `leave`. The
   * front end closes the connection when it has delivered the `bye`.
   */
  quit(member: Member, reason = ""): void {
    const why = shortReason(reason) || "quit";
    member.sink.send({ type: "bye", code: "quit", reason: why });
    this.leave(member, why);
  }

  /**
   * Removes the member and tells the room. Safe to call more than once: a
   * front end calls it whenever a connection ends, however it ended.
   */
  leave(member: Member, reason: string): void {
    if (this.#users.get(member.key) !== member) return;
    this.#users.delete(member.key);
    const room = member.room;
    if (!room) return;
    room.remove(member);
    if (!this.#standing.get(member)?.quiet) {
      room.broadcast({
        type: "leave",
        time: this.#now(),
        room: room.name,
        name: member.name,
        count: room.size,
        reason,
      });
    }
    this.#log(`leave ${member.name} (${reason}) (${usersCount(this.#users.size)})`);
  }

  /**
   * Disconnects the user called `name` on the operator's word; the room is
   * told why. Returns false when nobody has that name.
   */
  kick(name: string, reason = ""): boolean {
    const member = this.#users.get(nameKey(name.trim()));
    if (!member) return false;
    const why = shortReason(reason);
    const said = why ? `Disconnected by the operator: ${why}` : "Disconnected by the operator";
    member.sink.send({ type: "bye", code: "kicked", reason: said });
    this.leave(member, why ? `kicked: ${why}` : "kicked");
    this.#log(`kick ${member.name}${why ? ": " + why : ""}`);
    return true;
  }

  /** Sends an announcement from the server to every user. */
  announce(text: string): void {
    const clean = cleanMessage(text);
    if (!clean) return;
    const event: ChatEvent = { type: "notice", time: this.#now(), text: clean };
    for (const member of this.#users.values()) member.sink.send(event);
    this.#log(`announce: ${clean}`);
  }

  /** Says goodbye to everyone (`bye` with `code`) and empties the hub. */
  closeAll(code: ByeCode, reason: string): void {
    const event: ChatEvent = { type: "bye", code, reason };
    for (const member of this.#users.values()) {
      member.sink.send(event);
      member.room?.remove(member);
    }
    this.#users.clear();
  }

  #roomOf(member: Member): Room {
    if (!member.room || this.#users.get(member.key) !== member) {
      throw new ChatError(ErrorCode.NotRegistered, "You are not in a room");
    }
    return member.room;
  }

  #checkText(text: string): string {
    const clean = cleanMessage(text);
    if (!clean.trim()) {
      throw new ChatError(ErrorCode.EmptyMessage, "Empty message not sent; type some text first");
    }
    const length = codePointLength(clean);
    if (length > MAX_MESSAGE_LENGTH) {
      throw new ChatError(
        ErrorCode.MessageTooLong,
        `Message not sent: ${length} characters, the limit is ${MAX_MESSAGE_LENGTH}`,
      );
    }
    return clean;
  }
}

function usersCount(count: number): string {
  return count === 1 ? "1 user" : `${count} users`;
}

/** Compares two secrets in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** A reason as people see it: cleaned, and cut to MAX_REASON_LENGTH characters (not UTF-16 units). */
function shortReason(reason: string): string {
  return [...cleanMessage(reason)].slice(0, MAX_REASON_LENGTH).join("");
}
