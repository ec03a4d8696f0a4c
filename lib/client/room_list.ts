/**
 * The rooms `chat join` shows: which ones, in the order they were entered
 * (so Alt+1 is always the same room), the one on screen, and for each of
 * the others how much was said there since it was last on screen and
 * whether someone mentioned you. Pure: the client feeds it what the server
 * says and the keys pressed; nothing here draws.
 *
 * A room you were put out of (kicked) stays, marked with why, so its view
 * can still be read; it goes once you switch away from it.
 *
 * @module
 */

/** One room as the status line shows it. */
export interface RoomEntry {
  /** The room's name, without `#`, as the server spells it. */
  name: string;
  /** Messages said there since it was last on screen. */
  unread: number;
  /** Whether one of them mentioned you. */
  mention: boolean;
  /** Why you are no longer in it (`put out by Bob: spam`); null while you are. */
  left: string | null;
}

/**
 * Rooms listed at most: far more than a server lets one user be in (20 by
 * default), so that a server that names thousands cannot slow the client down.
 */
export const MAX_LISTED_ROOMS = 200;

/** The rooms you are in, the one on screen, and what is new in the others. */
export class RoomList {
  #rooms: RoomEntry[] = [];
  #shown = "";

  /** The rooms, in the order they were entered. */
  get rooms(): readonly RoomEntry[] {
    return this.#rooms;
  }

  /** The room on screen ("" before the first). */
  get shown(): string {
    return this.#shown;
  }

  /** The room named `name`, if listed. */
  get(name: string): RoomEntry | undefined {
    return this.#rooms.find((room) => room.name === name);
  }

  /** Lists `name` (at the end) if it is not; entering a room you had left clears the mark. */
  enter(name: string): void {
    const room = this.get(name);
    if (room) room.left = null;
    else if (this.#rooms.length < MAX_LISTED_ROOMS) {
      this.#rooms.push({ name, unread: 0, mention: false, left: null });
    } else return;
    if (this.#shown === "") this.#shown = name;
  }

  /** Marks `name` as left, `why`, keeping it listed (and its view readable). */
  markLeft(name: string, why: string): void {
    const room = this.get(name);
    if (room) room.left = why;
  }

  /** Takes `name` off the list. */
  remove(name: string): void {
    this.#rooms = this.#rooms.filter((room) => room.name !== name);
  }

  /**
   * Puts `name` on screen: its counts are cleared, and a room left that was
   * on screen goes from the list. Returns whether the room on screen changed.
   */
  show(name: string): boolean {
    if (!this.get(name)) return false;
    const before = this.#shown;
    if (before !== name && this.get(before)?.left) this.remove(before);
    this.#shown = name;
    const room = this.get(name)!;
    room.unread = 0;
    room.mention = false;
    return before !== name;
  }

  /** Counts a message said in `name` when it is not on screen; `mention` when it named you. */
  count(name: string, mention: boolean): void {
    const room = this.get(name);
    if (!room || name === this.#shown) return;
    room.unread++;
    room.mention ||= mention;
  }

  /** The `n`-th room (1-based), if there is one. */
  nth(n: number): string | undefined {
    return this.#rooms[n - 1]?.name;
  }

  /** The room `step` places after the one on screen (before it when negative), wrapping around. */
  next(step: number): string | undefined {
    const count = this.#rooms.length;
    if (count === 0) return undefined;
    const at = this.#rooms.findIndex((room) => room.name === this.#shown);
    return this.#rooms[(((at + step) % count) + count) % count].name;
  }

  /**
   * After a reconnect: `rooms` (the welcome's, the current one first) are
   * the rooms the server has us in. Returns those listed here (and not left)
   * that it lost, to be joined again; rooms only the server knows are added.
   */
  reconcile(rooms: readonly string[]): string[] {
    const lost = this.#rooms.filter((room) => !room.left && !rooms.includes(room.name))
      .map((room) => room.name);
    for (const name of rooms) this.enter(name);
    return lost;
  }
}
