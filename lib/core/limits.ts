/**
 * The chat rules' limits and their defaults, each with the reason for its
 * value. Front ends and the command line read them from here.
 *
 * @module
 */

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

/**
 * Longest message, in code points; longer ones are refused, not cut. Long
 * enough for a paragraph or a snippet, short enough that a burst of them
 * fanned out to a room cannot swamp its readers.
 */
export const MAX_MESSAGE_LENGTH = 2000;

/** Users admitted at once: a big class, a small community. */
export const DEFAULT_MAX_USERS = 100;

/** Rooms one user may be in at once: more than anyone follows, few enough to stop a script. */
export const DEFAULT_MAX_ROOMS_PER_USER = 20;

/** Rooms a server holds: each of a school's classes and groups, and a bound on memory. */
export const DEFAULT_MAX_ROOMS = 1000;

/**
 * Rooms made from one address: a burst of 20 (a class behind one address
 * making its group rooms at once), then one a minute, so that a script
 * cannot fill the server's rooms (999 took it ten minutes at the flood
 * rate); a person making rooms by hand never meets it.
 */
export const ROOM_CREATION = { burst: 20, perMinute: 1 } as const;

/** Flood limits: well above any typist, low enough to stop a script. */
export const DEFAULT_FLOOD: FloodLimits = { burst: 20, rate: 5, kickAfter: 50 };

/** Join churn limits: a classroom behind one address can all join at once. */
export const DEFAULT_CHURN: ChurnLimits = { burst: 20, rate: 0.2 };

/** Room messages a joiner is shown by default: none, so a newcomer sees only what follows. */
export const DEFAULT_HISTORY = 0;

/**
 * Most room messages `--history` may show a joiner, and most one `/history`
 * request returns: a long scroll-back, small enough to send at once.
 */
export const MAX_HISTORY = 1000;

/**
 * Most bytes of messages (as JSON) in one `history` or `missed` frame. A
 * thousand long messages would be megabytes: more than a connection may
 * queue (`--queue-limit`, 1 MiB) and than a client reads as one line. A
 * longer history is cut from its oldest end; bots page back with `before`.
 */
export const MAX_FRAME_MESSAGE_BYTES = 192 * 1024;

/**
 * Most bytes of JSON one replay queues (see `replay.ts`): half the default
 * `--queue-limit`, leaving room for what else the connection is sent
 * meanwhile. A server with a smaller queue limit replays half of it.
 */
export const MAX_REPLAY_BYTES = 512 * 1024;

/**
 * What the offline mailbox keeps for one account while its owner is away.
 * Past any limit a message is refused (and counted, for the owner's next
 * login), so that nobody can fill a mailbox or the disk, nor crowd out the
 * other senders, and what waits fits in a login's queue.
 *
 * - `messages`, `bytes`: in all (bytes of UTF-8 text).
 * - `fromOneSender`, `bytesFromOneSender`: from any one sender, by name: an
 *   eighth of the bytes, two messages of 2,000 emoji or eight of 2,000 letters,
 *   so that one stranger's flood leaves room for everyone else.
 * - `fromStrangers`, `bytesFromStrangers`: from senders without an account, all
 *   together: half, since a stranger can come back under as many names as they
 *   like; account holders always have the other half.
 * - `refusedSenders`: senders whose refused messages the owner is told of by
 *   name; the others are counted together.
 */
export const MAILBOX_LIMITS = {
  messages: 1000,
  bytes: 128 * 1024,
  fromOneSender: 100,
  bytesFromOneSender: 16 * 1024,
  fromStrangers: 500,
  bytesFromStrangers: 64 * 1024,
  refusedSenders: 20,
} as const;
