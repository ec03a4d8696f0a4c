/**
 * Accepting connections until a listener is closed, for the public port and
 * the internal TLS listener alike.
 *
 * A failed accept means one of two things. Most often one connection was
 * gone before it could be accepted (its peer reset it while it waited in the
 * listener's queue): that is the peer's business, and the next connection is
 * taken at once; pausing there let anyone who resets ten connections a second
 * keep everybody out. Otherwise the listener itself is in trouble (out of file
 * descriptors, say): the loop pauses before it retries, so that connections
 * can close, instead of spinning or ending the server.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import { plural } from "../core/plural.ts";

/** Pause after a failed accept (out of file descriptors, say) before retrying. */
const ACCEPT_RETRY_MS = 100;

/** Connections lost before their accept are logged at most this often, in a count. */
const LOST_REPORT_MS = 1_000;

/**
 * Errors of one connection, not of the listener: codes that Linux's
 * accept(2) asks to retry at once, and ENOTCONN, which Deno meets when it
 * asks a connection reset in the queue for its peer's address.
 */
const CONNECTION_ERRORS = new Set([
  "ECONNABORTED",
  "ECONNRESET",
  "ENOTCONN",
  "EPROTO",
  "EPERM",
  "ENETDOWN",
  "ENOPROTOOPT",
  "EHOSTDOWN",
  "ENONET",
  "EHOSTUNREACH",
  "EOPNOTSUPP",
  "ENETUNREACH",
]);

/**
 * Whether a failed accept lost only the connection it was accepting, which
 * the peer reset or aborted, rather than showing trouble with the listener.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lostConnection } from "./accept_loop.ts";
 * assert.equal(lostConnection(new Deno.errors.NotConnected("os error 107")), true);
 * const outOfFiles = Object.assign(new Error("Too many open files"), { code: "EMFILE" });
 * assert.equal(lostConnection(outOfFiles), false);
 * ```
 */
export function lostConnection(error: unknown): boolean {
  if (
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted
  ) {
    return true;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && CONNECTION_ERRORS.has(code);
}

/** What an {@link acceptLoop} needs from the front end that runs it. */
export interface Acceptor<C extends Deno.Conn> {
  /** What the log calls the accepting: "accept", or "TLS accept" for the internal listener. */
  what: string;
  /** Whether the log says so when accepting works again after failures. */
  logRecovery: boolean;
  /** Receives the operator's log. */
  log(line: string): void;
  /** Whether the front end is stopping: the loop ends. */
  stopping(): boolean;
  /** Takes an accepted connection. */
  accepted(conn: C): void;
}

/**
 * Accepts connections from `listener` and hands each to `acceptor`, until
 * the front end stops or the listener is closed; never throws.
 */
export async function acceptLoop<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  acceptor: Acceptor<C>,
): Promise<void> {
  let failures = 0;
  // Connections lost before their accept, not logged yet, and the last error among them.
  let lost = 0;
  let lostError: unknown = null;
  let reportedAt = -Infinity;
  const report = () => {
    acceptor.log(
      `${acceptor.what}: ${plural(lost, "connection")} reset by ${
        lost === 1 ? "its peer before it was" : "their peers before they were"
      } accepted (${errorMessage(lostError)})`,
    );
    lost = 0;
    reportedAt = performance.now();
  };
  while (!acceptor.stopping()) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (acceptor.stopping() || error instanceof Deno.errors.BadResource) return;
      if (lostConnection(error)) {
        // One connection's loss: the next one is taken at once.
        lost++;
        lostError = error;
        if (performance.now() - reportedAt >= LOST_REPORT_MS) report();
        continue;
      }
      // Out of file descriptors and the like: wait for connections to close.
      // Logged once per episode, not once per retry.
      if (failures++ === 0) {
        acceptor.log(`${acceptor.what} failed: ${errorMessage(error)}; retrying`);
      }
      await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
      continue;
    }
    if (failures > 0 && acceptor.logRecovery) {
      acceptor.log(`${acceptor.what} recovered after ${failures} failed attempts`);
    }
    failures = 0;
    if (lost > 0 && performance.now() - reportedAt >= LOST_REPORT_MS) report();
    acceptor.accepted(conn);
  }
}
