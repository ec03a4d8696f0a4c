/**
 * The error the chat core raises for a refused action (the core turns it
 * into an `error` event for the one user who caused it), and how any error
 * reads for a person: one short line, never a stack trace. Every layer words
 * its errors with these, the client included.
 *
 * @module
 */

import type { ErrorCode } from "./events.ts";

/** A refusal with a stable code and a message phrased for the user. */
export class ChatError extends Error {
  /** Stable, machine-readable reason (see `ErrorCode`). */
  readonly code: ErrorCode;
  /** For `flood`: in how many ms the next one would be accepted. */
  readonly wait: number | undefined;

  /** Creates a refusal; `message` starts with a capital and has no final period. */
  constructor(code: ErrorCode, message: string, wait?: number) {
    super(message);
    this.name = "ChatError";
    this.code = code;
    this.wait = wait;
  }
}

/**
 * A short, human description of any error, without a stack trace: its
 * message (or its name, when the message is empty).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorMessage } from "./errors.ts";
 * assert.equal(errorMessage(new Error("disk full")), "disk full");
 * assert.equal(errorMessage(new RangeError()), "RangeError");
 * assert.equal(errorMessage("a string"), "a string");
 * ```
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * A message made to follow a colon in a longer sentence: messages start with
 * a capital (see {@link ChatError}), the tail of `chat: cannot join HOST: ...`
 * does not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lowerFirst } from "./errors.ts";
 * assert.equal(lowerFirst("Wrong password for Bob"), "wrong password for Bob");
 * ```
 */
export function lowerFirst(text: string): string {
  return text.replace(/^./u, (c) => c.toLowerCase());
}
