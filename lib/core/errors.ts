/**
 * The error the chat core raises for a refused action. The core turns it
 * into an `error` event for the one user who caused it.
 *
 * @module
 */

import type { ErrorCode } from "./events.ts";

/** A refusal with a stable code and a message phrased for the user. */
export class ChatError extends Error {
  /** Stable, machine-readable reason (see `ErrorCode`). */
  readonly code: ErrorCode;

  /** Creates a refusal; `message` starts with a capital and has no final period. */
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "ChatError";
    this.code = code;
  }
}
