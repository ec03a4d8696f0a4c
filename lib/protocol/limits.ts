/**
 * What client and server agree on before they speak: where to connect, and
 * the longest line either side sends.
 *
 * @module
 */

export { MAX_LINE_BYTES } from "../io/limits.ts";

/** Port `chat serve` listens on and `chat join` connects to: unprivileged and easy to type. */
export const DEFAULT_PORT = 7777;

/** Host `chat join` connects to: this machine. */
export const DEFAULT_JOIN_HOST = "localhost";
