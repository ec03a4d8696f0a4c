/**
 * What the operator's log says while the store refuses messages (a full
 * disk, say): the first refusal with its reason, then a count at most once
 * a minute, then how many were refused once a message is kept again. One
 * line per refused message buried the rest of the log (580 in a short run).
 *
 * @module
 */

import { plural } from "./plural.ts";

/** How often, at most, the log says again that messages are being refused. */
export const OUTAGE_REMINDER_MS = 60_000;

/**
 * Counts the messages refused since the store last worked, and says so in
 * the log without a line for each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StoreOutage } from "./store_outage.ts";
 * const log: string[] = [];
 * const outage = new StoreOutage(() => 0, (line) => log.push(line));
 * outage.refused("message from Ann in #lobby", "disk is full");
 * outage.refused("message from Bo in #lobby", "disk is full");
 * outage.stored();
 * assert.deepEqual(log, [
 *   "not saved: message from Ann in #lobby: disk is full; " +
 *   "more refusals are counted until storing works again",
 *   "storing works again after 2 messages were refused",
 * ]);
 * ```
 */
export class StoreOutage {
  #now: () => number;
  #log: (line: string) => void;
  /** Messages refused since the store last kept one. */
  #refused = 0;
  /** When the log last spoke of this outage. */
  #saidAt = 0;

  /** An outage watcher with this clock (milliseconds) and log. */
  constructor(now: () => number, log: (line: string) => void) {
    this.#now = now;
    this.#log = log;
  }

  /** The store refused `what` (words for the log) for `reason`. */
  refused(what: string, reason: string): void {
    const now = this.#now();
    if (this.#refused++ === 0) {
      this.#saidAt = now;
      this.#log(
        `not saved: ${what}: ${reason}; more refusals are counted until storing works again`,
      );
    } else if (now - this.#saidAt >= OUTAGE_REMINDER_MS) {
      this.#saidAt = now;
      this.#log(
        `still not saving: ${plural(this.#refused, "message")} refused so far; the last: ${reason}`,
      );
    }
  }

  /** The store kept a message: an outage, if there was one, is over. */
  stored(): void {
    if (this.#refused === 0) return;
    const were = this.#refused === 1 ? "was" : "were";
    this.#log(`storing works again after ${plural(this.#refused, "message")} ${were} refused`);
    this.#refused = 0;
  }
}
