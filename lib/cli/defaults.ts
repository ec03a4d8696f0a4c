/**
 * The defaults of every setting an operator or user can change, in one
 * place, each with the reason for its value. The command line reads them
 * for its help text without loading the server.
 *
 * @module
 */

import type { ChurnLimits, FloodLimits } from "../core/hub.ts";

/** Port `chat serve` listens on and `chat join` connects to: unprivileged and easy to type. */
export const DEFAULT_PORT = 7777;

/** Interface `chat serve` listens on: all of them, so a LAN can join. */
export const DEFAULT_SERVE_HOST = "0.0.0.0";

/** Host `chat join` connects to: this machine. */
export const DEFAULT_JOIN_HOST = "localhost";

/** Users admitted at once: a big class, a small community. */
export const DEFAULT_MAX_USERS = 100;

/** Connections allowed from one address: a class behind one NAT fits. */
export const DEFAULT_MAX_PER_ADDRESS = 32;

/** A JSON client silent this long is pinged (and dropped after twice that). */
export const DEFAULT_PING_INTERVAL_MS = 30_000;

/** How long a connection may take to give a name: time to think of one. */
export const DEFAULT_REGISTRATION_TIMEOUT_MS = 60_000;

/**
 * Longest line accepted, in bytes: a message of the longest length (2000
 * characters) fits in any script, even with every character escaped in JSON.
 */
export const MAX_LINE_BYTES = 32 * 1024;

/** Bytes queued for one peer before it is dropped: minutes of a busy room's traffic. */
export const DEFAULT_QUEUE_LIMIT = 1024 * 1024;

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
 * Most private messages kept for one account while its owner is away, in
 * all and from any one sender, and most bytes of their text: past them, more
 * are refused, so that nobody can fill a mailbox (or the disk), or crowd out
 * the other senders, and what waits fits in a login's queue.
 */
export const MAILBOX_LIMITS = { messages: 1000, fromOneSender: 100, bytes: 128 * 1024 } as const;

/** Days a certificate from `chat cert` is valid by default: a school year. */
export const DEFAULT_CERT_DAYS = 365;

/** Most days `chat cert --days` allows: Apple's clients refuse server certificates valid longer. */
export const MAX_CERT_DAYS = 825;
