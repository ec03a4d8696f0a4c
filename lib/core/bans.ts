/**
 * Bans: names and addresses the server's operator keeps out of the whole
 * server for a while (or until lifted), with the reason they are told.
 * A name is banned by its key, so its look-alikes are banned with it.
 *
 * @module
 */

import { errorMessage } from "./errors.ts";
import { nameKey } from "./names.ts";
import type { BanBook, StoredBan } from "./store.ts";

/** Longest ban, in minutes: a year. */
export const MAX_BAN_MINUTES = 525_600;

/** The bans of one server, kept in a {@link BanBook} when there is one. */
export class BanList {
  #bans = new Map<string, StoredBan>();
  #book: BanBook | null;
  #now: () => number;
  #log: (line: string) => void;

  /** Bans kept in `book` (read from it now), timed by `now`. */
  constructor(book: BanBook | null, now: () => number, log: (line: string) => void) {
    this.#book = book;
    this.#now = now;
    this.#log = log;
    try {
      for (const ban of book?.listBans() ?? []) this.#bans.set(`${ban.kind}:${ban.key}`, ban);
    } catch (error) {
      log(`cannot read the bans: ${errorMessage(error)}`);
    }
  }

  /**
   * Bans a name or an address for `minutes` (undefined: until lifted) and
   * returns the ban; a ban of the same name or address is replaced.
   */
  add(
    kind: StoredBan["kind"],
    value: string,
    minutes: number | undefined,
    reason: string,
  ): StoredBan {
    const key = kind === "name" ? nameKey(value) : value;
    const until = minutes === undefined ? null : this.#now() + minutes * 60_000;
    const ban: StoredBan = { kind, value, key, until, reason };
    this.#bans.set(`${kind}:${key}`, ban);
    this.#keep(() => this.#book?.saveBan(ban));
    return ban;
  }

  /** Lifts the ban of a name (any look-alike of it) or an address; false when there was none. */
  remove(value: string): boolean {
    let removed = false;
    for (const [id, ban] of [["name", nameKey(value)], ["address", value]] as const) {
      if (this.#bans.delete(`${id}:${ban}`)) {
        removed = true;
        this.#keep(() => this.#book?.removeBan(id, ban));
      }
    }
    return removed;
  }

  /** The ban keeping out `name` or `address`, if one is in force (expired ones are dropped). */
  find(name: string, address: string): StoredBan | undefined {
    if (this.#bans.size === 0) return undefined;
    for (const id of [`name:${nameKey(name)}`, `address:${address}`]) {
      const ban = this.#bans.get(id);
      if (ban && this.#expired(ban)) this.remove(ban.value);
      else if (ban) return ban;
    }
    return undefined;
  }

  /** The ban keeping out `name` (or a look-alike of it), if one is in force. */
  findName(name: string): StoredBan | undefined {
    if (this.#bans.size === 0) return undefined;
    const ban = this.#bans.get(`name:${nameKey(name)}`);
    if (ban && this.#expired(ban)) this.remove(ban.value);
    else if (ban) return ban;
    return undefined;
  }

  /** The bans in force, oldest first. */
  list(): StoredBan[] {
    for (const ban of [...this.#bans.values()]) if (this.#expired(ban)) this.remove(ban.value);
    return [...this.#bans.values()];
  }

  #expired(ban: StoredBan): boolean {
    return ban.until !== null && ban.until <= this.#now();
  }

  /** A store that fails keeps the ban in memory, and the operator hears why. */
  #keep(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.#log(`cannot store the ban: ${errorMessage(error)}`);
    }
  }
}

/**
 * What a banned person is told: why, and until when (UTC, as the core has
 * no time zone of its own).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { banMessage } from "./bans.ts";
 * const ban = { kind: "name", value: "Eve", key: "eve", until: Date.UTC(2026, 0, 2, 3, 4), reason: "spam" } as const;
 * assert.equal(banMessage(ban), "You are banned from this server until 2026-01-02 03:04 UTC: spam");
 * ```
 */
export function banMessage(ban: StoredBan): string {
  const until = ban.until === null
    ? ""
    : ` until ${new Date(ban.until).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return `You are banned from this server${until}${ban.reason ? ": " + ban.reason : ""}`;
}
