/**
 * The defaults of the network front ends' settings, each with the reason for
 * its value. The command line reads them for its help text without loading
 * the server.
 *
 * @module
 */

export { DEFAULT_QUEUE_LIMIT } from "../io/limits.ts";

/** Interface `chat serve` listens on: all of them, so a LAN can join. */
export const DEFAULT_SERVE_HOST = "0.0.0.0";

/** Connections allowed from one address: a class behind one NAT fits. */
export const DEFAULT_MAX_PER_ADDRESS = 32;

/** A JSON client silent this long is pinged (and dropped after twice that). */
export const DEFAULT_PING_INTERVAL_MS = 30_000;

/** How long a connection may take to give a name: time to think of one. */
export const DEFAULT_REGISTRATION_TIMEOUT_MS = 60_000;

/** Port of the web page: next to the chat port, so that both are easy to remember. */
export const DEFAULT_WEB_PORT = 7778;
