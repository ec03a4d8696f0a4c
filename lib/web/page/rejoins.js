/**
 * The rooms a restarted server forgot, joined again by the page
 * (docs/PROTOCOL.md, "Limits" and "Rooms"), without the DOM: which were
 * answered; which the server refused for a moment (an `error` with `wait`:
 * flood control, a room made too fast), to ask for again after its wait,
 * one at a time (together they would be refused again), and then the room
 * that was asked for last, since each join makes its room current; and
 * which it refused for good (a private room, say), for the page to say so.
 * A refusal names its room (`room` in the error of a `join` frame).
 *
 * @module
 */

/** Times one room is asked for again before its refusal is shown. */
export const REJOIN_TRIES = 20;

/** The rooms being joined again after a reconnect. */
export class Rejoins {
  /** @type {Set<string>} Asked for, not entered yet. */
  #asked = new Set();
  /** @type {string[]} Refused for a moment, to ask for again. */
  #later = [];
  /** The wait of the last refusal, in ms (0 after a join taken). */
  #wait = 0;
  /** @type {Map<string, number>} How often each room was asked for. */
  #tries = new Map();
  /** The room asked for last: current once all are in. */
  #last = "";
  /** Whether a room was asked for again since the last one was. */
  #late = false;
  /** @type {Set<string>} Rooms asked for again whose `current` the page does not follow. */
  #quiet = new Set();
  /** Whether some joins are still to be answered or asked for again. */
  #busy = false;

  /**
   * Starts joining `rooms` again (the room to show last): returns them, to send.
   * @param {string[]} rooms
   */
  start(rooms) {
    this.reset();
    this.#busy = rooms.length > 0;
    this.#last = rooms.at(-1) ?? "";
    return this.#asking(rooms);
  }

  /**
   * Whether joins are under way: lines typed wait for them (one typed in a
   * room not entered yet would be refused).
   */
  get busy() {
    return this.#busy;
  }

  /**
   * Your own `join` of `room` came: it is in.
   * @param {string} room
   */
  entered(room) {
    this.#asked.delete(room);
  }

  /**
   * An `error` naming `room`: "again" when it is asked for again later (the
   * page says nothing), "refused" when it is not joined (the page says so
   * once), "" when it is no room being joined again.
   * @param {string} room
   * @param {number | undefined} wait
   * @returns {"again" | "refused" | ""}
   */
  refused(room, wait) {
    if (!this.#asked.has(room)) return "";
    if (wait === undefined || (this.#tries.get(room) ?? 0) >= REJOIN_TRIES) {
      this.#asked.delete(room);
      return "refused";
    }
    if (!this.#later.includes(room)) this.#later.push(room);
    this.#wait = wait;
    return "again";
  }

  /**
   * Whether a `current` of `room` answers a join asked for again late: the
   * room the person looks at stays (the last room's `current` comes after).
   * @param {string} room
   */
  quietCurrent(room) {
    return this.#quiet.delete(room);
  }

  /**
   * The joins sent were answered (the pong of the ping after them): the
   * room to ask for next and after how long (ms), or undefined when all are
   * done.
   * @returns {{ room: string, wait: number } | undefined}
   */
  next() {
    const room = this.#later.shift();
    if (room === undefined && !this.#late) {
      this.#busy = false;
      return undefined;
    }
    // A fresh wait after a refusal; none after a join taken (the next one may be refused: its own).
    const wait = this.#wait;
    this.#wait = 0;
    this.#late = room !== undefined && (room !== this.#last || this.#later.length > 0);
    if (this.#late && room !== undefined) this.#quiet.add(room);
    const [next] = this.#asking([this.#late && room !== undefined ? room : this.#last]);
    return { room: next, wait };
  }

  /** Forgets the joins under way (a new welcome, the end of a session). */
  reset() {
    this.#asked.clear();
    this.#later = [];
    this.#wait = 0;
    this.#tries.clear();
    this.#last = "";
    this.#late = false;
    this.#quiet.clear();
    this.#busy = false;
  }

  /**
   * Counts `rooms` as asked for; returns them.
   * @param {string[]} rooms
   */
  #asking(rooms) {
    for (const room of rooms) {
      this.#asked.add(room);
      this.#tries.set(room, (this.#tries.get(room) ?? 0) + 1);
    }
    return rooms;
  }
}
