/**
 * The connections that have not registered yet, by address, and which of
 * them gives way when they fill the server's allowance.
 *
 * Unregistered connections are cheap to open and each costs memory and a
 * file descriptor, so the server keeps a fixed number of places for them.
 * Counted server-wide only, a few addresses could hold every place, and
 * every newcomer was turned away. Here, a newcomer whose address holds fewer
 * places than the address holding the most takes the place of that
 * address's oldest connection (the oldest silent one, if it has any): so a
 * newcomer from an address with no place always gets in, and only addresses
 * already holding the most are turned away.
 *
 * @module
 */

/** Where an entry is: its address, and when it came (a serial number). */
interface Seat {
  address: string;
  serial: number;
}

/** An entry that gives way to a newcomer, with its address and that address's count. */
export interface Evicted<T> {
  /** The entry to close, already taken out. */
  entry: T;
  /** Its address, as limits per address count it. */
  address: string;
  /** How many entries its address held, it included. */
  held: number;
}

/**
 * Unregistered connections (or whatever stands for them: a TLS arrival) by
 * address, oldest first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WaitingRoom } from "./waiting_room.ts";
 * const room = new WaitingRoom<string>(() => true);
 * room.add("a1", "10.0.0.1");
 * room.add("a2", "10.0.0.1");
 * room.add("b1", "10.0.0.2");
 * assert.equal(room.evictFor("10.0.0.1"), null);
 * assert.deepEqual(room.evictFor("10.0.0.3"), { entry: "a1", address: "10.0.0.1", held: 2 });
 * assert.equal(room.size, 2);
 * ```
 */
export class WaitingRoom<T> {
  #seats = new Map<T, Seat>();
  /** The entries of each address that has any. */
  #byAddress = new Map<string, Set<T>>();
  #serial = 0;
  #silent: (entry: T) => boolean;

  /** `silent` tells whether an entry's peer has sent nothing yet: those give way first. */
  constructor(silent: (entry: T) => boolean) {
    this.#silent = silent;
  }

  /** How many entries there are. */
  get size(): number {
    return this.#seats.size;
  }

  /** How many entries `address` has. */
  held(address: string): number {
    return this.#byAddress.get(address)?.size ?? 0;
  }

  /** Adds a newcomer from `address`. */
  add(entry: T, address: string): void {
    this.#seat(entry, { address, serial: this.#serial++ });
  }

  /** Puts `entry` in the place of `old` (a TLS arrival's connection in its arrival's), as old as it. */
  replace(old: T, entry: T): void {
    const seat = this.#seats.get(old);
    if (!seat) return;
    this.delete(old);
    this.#seat(entry, seat);
  }

  /** Takes `entry` out (it registered, or closed); false if it was not in. */
  delete(entry: T): boolean {
    const seat = this.#seats.get(entry);
    if (!seat) return false;
    this.#seats.delete(entry);
    const entries = this.#byAddress.get(seat.address)!;
    entries.delete(entry);
    if (entries.size === 0) this.#byAddress.delete(seat.address);
    return true;
  }

  /**
   * Makes room for a newcomer from `address`: takes out and returns the
   * entry that gives way to it, the oldest silent one (or else the oldest)
   * of the address holding the most; null when `address` holds as many as
   * any, and the newcomer is the one to turn away. Looks at each entry of
   * that address (as many as one address may have).
   */
  evictFor(address: string): Evicted<T> | null {
    // A scan of the addresses, only when every place is taken: counting them
    // on every arrival and departure made garbage for each connection.
    let mostAddress: string | null = null;
    let most: Set<T> | undefined;
    for (const [other, entries] of this.#byAddress) {
      if (!most || entries.size > most.size) {
        mostAddress = other;
        most = entries;
      }
    }
    if (!most || mostAddress === null || this.held(address) >= most.size) return null;
    let oldest: T | null = null;
    let oldestSilent: T | null = null;
    for (const entry of most) {
      const serial = this.#seats.get(entry)!.serial;
      if (oldest === null || serial < this.#seats.get(oldest)!.serial) oldest = entry;
      if (
        this.#silent(entry) &&
        (oldestSilent === null || serial < this.#seats.get(oldestSilent)!.serial)
      ) {
        oldestSilent = entry;
      }
    }
    const entry = oldestSilent ?? oldest!;
    const held = most.size;
    this.delete(entry);
    return { entry, address: mostAddress, held };
  }

  #seat(entry: T, seat: Seat): void {
    this.#seats.set(entry, seat);
    let entries = this.#byAddress.get(seat.address);
    if (!entries) this.#byAddress.set(seat.address, entries = new Set());
    entries.add(entry);
  }
}
