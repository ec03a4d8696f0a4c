/**
 * Accepting connections until a listener is closed, for the public port and
 * the internal TLS listener alike: a failed accept (out of file descriptors,
 * say) is retried after a pause instead of ending the server.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";

/** Pause after a failed accept (out of file descriptors, say) before retrying. */
const ACCEPT_RETRY_MS = 100;

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
  while (!acceptor.stopping()) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (acceptor.stopping() || error instanceof Deno.errors.BadResource) return;
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
    acceptor.accepted(conn);
  }
}
