/**
 * The rooms a restarted server forgot, joined again by the page
 * (docs/PROTOCOL.md, "Limits" and "Rooms"), without the DOM: which were
 * answered; which the server refused for a moment (an `error` with `wait`:
 * flood control, a room made too fast), to ask for again after its wait,
 * one at a time (together they would be refused again), their `current`
 * not followed (the room on screen stays where the person put it: lines
 * name their room); and which it refused for good (a private room, say),
 * for the page to say so once, never to be asked for again. The person's
 * own `/part` of a room takes it off the list (their `/join` of it leaves it
 * on: the retries bring it back). A refusal names
 * its room (`room` in the error of a `join` frame).
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
  /** @type {Set<string>} Rooms asked for again whose `current` the page does not follow. */
  #quiet = new Set();

  /**
   * Starts joining `rooms` again: returns them, to send.
   * @param {string[]} rooms
   */
  start(rooms) {
    this.reset();
    return this.#asking(rooms);
  }

  /**
   * Whether `room` is still to be joined again: a line typed there waits
   * for it (it would be refused before); lines of other rooms need not.
   * @param {string} room
   */
  waiting(room) {
    return this.#asked.has(room) || this.#later.includes(room);
  }

  /**
   * Whether rooms are still being joined again: their joins share the
   * server's flood allowance with what the person does meanwhile.
   */
  get underWay() {
    return this.#asked.size > 0 || this.#later.length > 0;
  }

  /**
   * The person parted `room`: it is asked for no more.
   * @param {string} room
   */
  forget(room) {
    this.#asked.delete(room);
    this.#later = this.#later.filter((other) => other !== room);
    this.#quiet.delete(room);
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
    // Refused: no `current` of it will come.
    this.#quiet.delete(room);
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
   * room the person looks at stays.
   * @param {string} room
   */
  quietCurrent(room) {
    return this.#quiet.delete(room);
  }

  /**
   * The joins sent were answered (the pong of the ping after them): in how
   * many ms to {@link take} the next room refused for a moment, or
   * undefined when none is left.
   * @returns {number | undefined}
   */
  next() {
    if (this.#later.length === 0) return undefined;
    // A fresh wait after a refusal; none after a join taken (the next one may be refused: its own).
    const wait = this.#wait;
    this.#wait = 0;
    return wait;
  }

  /**
   * The room to ask for again now (after the wait {@link next} said), or
   * undefined when the person parted or joined those left meanwhile.
   * @returns {string | undefined}
   */
  take() {
    const room = this.#later.shift();
    if (room === undefined) return undefined;
    this.#quiet.add(room);
    this.#asking([room]);
    return room;
  }

  /** Forgets the joins under way (a new welcome, the end of a session). */
  reset() {
    this.#asked.clear();
    this.#later = [];
    this.#wait = 0;
    this.#tries.clear();
    this.#quiet.clear();
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
