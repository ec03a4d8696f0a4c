/**
 * The events the chat core produces for the people in it.
 *
 * Each event is a plain object with a `type`; the JSON protocol sends it as it
 * is (see docs/PROTOCOL.md), the plain-text session renders it as a line. The
 * core builds one object per event and hands the same object to every
 * recipient, so a front end can encode it once for all of them.
 *
 * Times are milliseconds since the Unix epoch, stamped by the server.
 *
 * @module
 */

/** Version of the wire protocol that these events belong to. */
export const PROTOCOL_VERSION = 1;

/**
 * Most names a `welcome` lists. As many as the default `--max-users`, so that
 * a default server lists everyone; past it, listing every name made each
 * welcome O(N) bytes, and a room filling up O(N²): half a gigabyte of
 * welcomes for 10,000 users, and garbage that grew the server's heap for good.
 */
export const WELCOME_NAMES = 100;

/** Stable error codes, for programs to act on; the message is for people. */
export const ErrorCode = {
  /** The frame was not a JSON object, or lacked a required field. */
  BadFrame: "bad_frame",
  /** The frame's `type` is not one this server knows. */
  UnknownType: "unknown_type",
  /** A line was longer than the server accepts; it was discarded. */
  LineTooLong: "line_too_long",
  /** A line was not valid UTF-8; it was discarded. */
  BadEncoding: "bad_encoding",
  /** The client speaks a protocol version this server does not. */
  VersionUnsupported: "version_unsupported",
  /** The name is used by someone else (compared case-insensitively). */
  NameTaken: "name_taken",
  /** The name is not allowed (see the message for why). */
  NameInvalid: "name_invalid",
  /** The server holds as many users as it allows. */
  RoomFull: "room_full",
  /** Something that needs a registered user was sent before `hello`. */
  NotRegistered: "not_registered",
  /** `hello` was sent by a user who is already registered. */
  AlreadyRegistered: "already_registered",
  /** No user of that name is here. */
  NoSuchUser: "no_such_user",
  /** The message was empty after cleaning; nothing was sent. */
  EmptyMessage: "empty_message",
  /** The message is longer than the server accepts; nothing was sent. */
  MessageTooLong: "message_too_long",
  /** A `/command` the server does not know. */
  UnknownCommand: "unknown_command",
  /** A command was used with missing arguments. */
  BadArguments: "bad_arguments",
  /** No `hello` arrived within the registration time limit. */
  Timeout: "timeout",
  /** Sending too fast; that message was not sent. */
  Flood: "flood",
  /** Too many connections from one address. */
  TooManyConnections: "too_many_connections",
  /**
   * This name belongs to an account (or the server admits account holders
   * only): send `hello` again with its `password`.
   */
  PasswordRequired: "password_required",
  /** The password was wrong (or, where only accounts get in, the name or the password). */
  WrongPassword: "wrong_password",
  /** Too many failed logins lately for this name or address; the message says how long to wait. */
  Throttled: "throttled",
  /** The server is busy checking other passwords; send `hello` again in a moment. */
  Busy: "busy",
  /**
   * The server could not store the message (its disk, say), so it was not
   * sent; or could not read the stored history asked for.
   */
  NotSaved: "not_saved",
  /** The action is not allowed here (such as `/nick` when names are accounts). */
  NotAllowed: "not_allowed",
  /** The room name breaks the rules (see the message for why). */
  RoomInvalid: "room_invalid",
  /** No room of that name. */
  NoSuchRoom: "no_such_room",
  /** The user is not in that room. */
  NotInRoom: "not_in_room",
  /** The room is private and the user was not invited. */
  InviteOnly: "invite_only",
  /** Only the room's operators may do that. */
  NotOperator: "not_operator",
  /** The user is in as many rooms as allowed, or the server has as many as it holds. */
  TooManyRooms: "too_many_rooms",
  /** The server's operator keeps this name or address out for a while. */
  Banned: "banned",
} as const;

/** One of the stable error codes. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** Why a connection is being closed by the server, sent in `bye`. */
export type ByeCode =
  | "quit"
  | "shutdown"
  | "room_full"
  | "timeout"
  | "version"
  | "flood"
  | "too_many_connections"
  | "replaced"
  | "refused"
  | "kicked"
  | "banned";

/** Sent once when registration succeeds. */
export interface WelcomeEvent {
  type: "welcome";
  version: number;
  name: string;
  room: string;
  /** The room's users in join order: the first {@link WELCOME_NAMES} of them; `who` lists all. */
  users: string[];
  /** How many users the room has, the newcomer included; older servers leave it out. */
  count?: number;
  motd?: string;
  server: string;
  /** Secret to send in `hello` after a lost connection, to take the name back. */
  resume: string;
  /** Present when the user logged in to an account with its password. */
  account?: true;
  /** Every room the user is in, the current one (`room`) first. */
  rooms?: string[];
  /** Names the sequence message ids belong to (see `delivery.ts`); older servers leave it out. */
  stream?: string;
  /** The newest id handed out so far on `stream` (0 when none). */
  last?: number;
}

/** How many users a welcome says are in the room besides the newcomer. */
export function othersCount(welcome: WelcomeEvent): number {
  const listed = welcome.users.filter((name) => name !== welcome.name).length;
  return welcome.count === undefined ? listed : Math.max(listed, welcome.count - 1);
}

/** A message to the room; `action` marks `/me` messages. */
export interface MessageEvent {
  type: "message";
  id: number;
  time: number;
  room: string;
  from: string;
  text: string;
  action?: true;
}

/** A private message; both its recipient and its sender get it. */
export interface PrivateEvent {
  type: "private";
  id: number;
  time: number;
  from: string;
  to: string;
  text: string;
  /**
   * On the sender's copy only: the recipient (an account) was not online;
   * the message is kept and shown to them when they next log in.
   */
  offline?: true;
}

/**
 * Private messages sent to an account while its owner was away, oldest
 * first; sent right after `welcome` (and `history`), in pages of at most
 * 1000, to the owner only.
 */
export interface MissedEvent {
  type: "missed";
  messages: PrivateEvent[];
}

/** Earlier messages of a room, oldest first: on joining, or asked for with `/history`. */
export interface HistoryEvent {
  type: "history";
  room: string;
  messages: MessageEvent[];
  /**
   * Set when the server stopped reading past messages from names the
   * reader ignores before the page was full: page back from this id.
   */
  before?: number;
}

/** Someone entered the room; `count` is the number of users after. */
export interface JoinEvent {
  type: "join";
  time: number;
  room: string;
  name: string;
  count: number;
}

/** Someone left the room; `count` is the number of users after. */
export interface LeaveEvent {
  type: "leave";
  time: number;
  room: string;
  name: string;
  count: number;
  reason: string;
}

/** Someone changed their name. */
export interface RenameEvent {
  type: "rename";
  time: number;
  room: string;
  from: string;
  to: string;
}

/** The users in a room, in the order they joined; the answer to `who`. */
export interface UsersEvent {
  type: "users";
  room: string;
  names: string[];
  /** The room's operators who are present. */
  ops?: string[];
  /** Those of `names` who are away (see `away`); older servers leave it out. */
  away?: string[];
}

/**
 * Someone's away state: to yourself when you set it (`text`, `since`) or
 * end it (neither), and to whoever sends a private message to someone away.
 */
export interface AwayEvent {
  type: "away";
  name: string;
  /** Their away message; absent: they are back. */
  text?: string;
  /** Since when they are away, in ms since the epoch. */
  since?: number;
}

/** The names you ignore, in the order added: the answer to `ignore` and `unignore`. */
export interface IgnoringEvent {
  type: "ignoring";
  names: string[];
  /** The name just added. */
  added?: string;
  /** The name just removed. */
  removed?: string;
}

/** The answer to `whois`: what you may know of someone. */
export interface WhoisEvent {
  type: "whois";
  name: string;
  /** Whether they are here now; offline, only `account` is told. */
  online: boolean;
  /** The name belongs to an account. */
  account?: true;
  /** Since when they are here, in ms since the epoch. */
  since?: number;
  /** Milliseconds since they last said something (in a room or privately), or since they came. */
  idle?: number;
  /** Their away message, when they are away. */
  away?: string;
  /** Since when they are away. */
  awaySince?: number;
  /** Their rooms that you may know of: the public ones, and private ones you are in too. */
  rooms?: string[];
  /** Of `rooms`, those they are an operator of. */
  ops?: string[];
}

/** Someone left a room without leaving the chat; `by` is the operator who kicked them. */
export interface PartEvent {
  type: "part";
  time: number;
  room: string;
  name: string;
  count: number;
  reason: string;
  by?: string;
}

/** The user's current room (where frames that name none act) is now `room`. */
export interface CurrentEvent {
  type: "current";
  room: string;
}

/** A room's topic ("" for none); `by` is the operator who set it. */
export interface TopicEvent {
  type: "topic";
  time: number;
  room: string;
  topic: string;
  by?: string;
}

/** How a room changed: an operator made or unmade, or its privacy. */
export type ModeChange = "op" | "deop" | "private" | "public";

/** A room changed; `by` is the operator who did it, "" for the server itself. */
export interface ModeEvent {
  type: "mode";
  time: number;
  room: string;
  by: string;
  change: ModeChange;
  /** The member made or unmade an operator. */
  name?: string;
}

/** To one user: an invitation into a private room. */
export interface InviteEvent {
  type: "invite";
  time: number;
  room: string;
  from: string;
}

/** One room, as `/rooms` lists it. */
export interface RoomListing {
  room: string;
  count: number;
  topic: string;
  private?: true;
  /** The user asking is in it. */
  joined?: true;
}

/** The answer to `rooms`: public rooms, and the private ones the user is in. */
export interface RoomsEvent {
  type: "rooms";
  rooms: RoomListing[];
}

/** An announcement from the server's operator, or from the server itself. */
export interface NoticeEvent {
  type: "notice";
  time: number;
  text: string;
  /** The room it was announced to; none when to everyone. */
  room?: string;
}

/** Information for one user only, such as the help text. */
export interface InfoEvent {
  type: "info";
  text: string;
}

/** Something the user sent was refused; only that user is told. */
export interface ErrorEvent {
  type: "error";
  code: ErrorCode;
  message: string;
  /** For `flood`: in how many ms the server would accept the next one. */
  wait?: number;
  /** The `cid` of the frame refused, when it had one. */
  cid?: string;
  /** The room of the `join` frame refused (as it named it, without `#`). */
  room?: string;
}

/**
 * What a client missed since the id it named in `hello` (or `join`), oldest
 * first, in pages (see docs/PROTOCOL.md, "Delivery"); the last page has no
 * `more`, and says what the replay could not reach.
 */
export interface ReplayEvent {
  type: "replay";
  messages: (MessageEvent | PrivateEvent)[];
  /** More pages follow. */
  more?: true;
  /** On the last page: rooms (without `#`) whose messages after `since` are not all here. */
  gaps?: string[];
  /** On the last page: private messages after `since` may be missing. */
  privateGap?: true;
}

/** The message a frame with `cid` posted was sent (after the sender's echo), with its `id`. */
export interface SentEvent {
  type: "sent";
  cid: string;
  id: number;
}

/** The server checks that a quiet client is still there; answer with `pong`. */
export interface PingEvent {
  type: "ping";
  token?: string;
}

/** The answer to a client's `ping`, echoing its `token`. */
export interface PongEvent {
  type: "pong";
  token?: string;
}

/** The server is closing this connection; nothing follows. */
export interface ByeEvent {
  type: "bye";
  code: ByeCode;
  reason: string;
  /** With `banned`: until when, in ms since the epoch (none: until the operator lifts it). */
  until?: number;
}

/** Everything the server sends to a user. */
export type ChatEvent =
  | WelcomeEvent
  | MessageEvent
  | PrivateEvent
  | MissedEvent
  | ReplayEvent
  | SentEvent
  | HistoryEvent
  | JoinEvent
  | LeaveEvent
  | RenameEvent
  | UsersEvent
  | AwayEvent
  | IgnoringEvent
  | WhoisEvent
  | PartEvent
  | CurrentEvent
  | TopicEvent
  | ModeEvent
  | InviteEvent
  | RoomsEvent
  | NoticeEvent
  | InfoEvent
  | ErrorEvent
  | PingEvent
  | PongEvent
  | ByeEvent;

/** Where the core delivers a user's events: a connection, or an array in tests. */
export interface Sink {
  /** Queues one event; must not block, must not reorder. */
  send(event: ChatEvent): void;
  /** Closes the connection at once, without a goodbye: its reader is too far behind. */
  drop?(): void;
}
