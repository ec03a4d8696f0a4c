/**
 * Lines the person pressed Enter on that the server has not answered yet:
 * typed while offline, waiting their turn, or sent on a connection that was
 * lost before the answer. Each is sent at the pace the server allows, and
 * stays until answered; one whose answer did not come is sent again on the
 * next connection with the same client-chosen id (`cid`), so that the
 * server posts it once however often it arrives.
 *
 * Sent in one burst, a full queue would run into the server's flood control
 * (`--flood-burst` can be small) and lose lines. So they go one at a time,
 * each answered before the next: a line refused for flooding is sent again
 * once the server said it would take it (the `wait` of its `flood` error),
 * and the lines after it keep at least that distance. A line refused twice
 * is given up, and the person told (unless the queue was made to keep
 * trying: a pipe's lines are all to be sent, however slowly).
 *
 * @module
 */

import type { Delivery } from "./client.ts";

/** How long to wait before sending a refused line again when the server does not say, in ms. */
const FALLBACK_WAIT_MS = 1_000;

/** Added to the server's wait: our timer and its clock are not the same. */
const WAIT_MARGIN_MS = 20;

/** A line waiting to be sent, or for the server's answer. */
export interface PendingLine {
  /** As typed. */
  text: string;
  /** Its client-chosen id, the same each time it is sent. */
  cid: string;
  /** The room it was typed in, when there are rooms. */
  room?: string;
}

/** A queue of lines to send, drained at the server's pace. */
export class PacedQueue {
  #lines: PendingLine[] = [];
  #max: number;
  #deliver: (line: PendingLine) => Promise<Delivery>;
  #onRefused: (text: string, reason: string) => void;
  #onAnswered: () => void;
  #tries: number;
  #draining = false;
  #stopped = false;
  // When the last line went out, when the last one the server took did, and
  // how far apart lines must be (0 until the server refuses one).
  #sentAt = 0;
  #takenAt: number | null = null;
  #gapMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | null = null;
  #ready: (line: PendingLine) => boolean;
  #patient: () => boolean;

  /**
   * A queue of at most `max` lines, each sent with `deliver`; `onRefused`
   * hears of a line the server refused for flooding even when sent again,
   * `onAnswered` of each line that leaves the queue. A line is sent at most
   * `tries` times (Infinity: until the server takes it). `ready` says
   * whether a line may go now: one that may not is passed by the others;
   * a line refused for flooding while `patient` says so is sent until taken
   * (something else of ours takes the server's allowance for a while).
   */
  constructor(
    max: number,
    deliver: (line: PendingLine) => Promise<Delivery>,
    onRefused: (text: string, reason: string) => void,
    onAnswered: () => void = () => {},
    tries = 2,
    ready: (line: PendingLine) => boolean = () => true,
    patient: () => boolean = () => false,
  ) {
    this.#ready = ready;
    this.#patient = patient;
    this.#tries = tries;
    this.#max = max;
    this.#deliver = deliver;
    this.#onRefused = onRefused;
    this.#onAnswered = onAnswered;
  }

  /** How many lines wait. */
  get length(): number {
    return this.#lines.length;
  }

  /** The lines that wait, the next one to send first. */
  get lines(): readonly PendingLine[] {
    return this.#lines;
  }

  /** Adds a line at the end; false when the queue is full (the line is not added). */
  push(line: PendingLine): boolean {
    if (this.#lines.length >= this.#max) return false;
    this.#lines.push(line);
    return true;
  }

  /** Takes the lines `pick` picks off the queue (not sent: they could not go); returns them. */
  take(pick: (waiting: PendingLine) => boolean): PendingLine[] {
    const taken = this.#lines.filter(pick);
    this.#lines = this.#lines.filter((line) => !pick(line));
    return taken;
  }

  /**
   * Sends the lines in order, one at a time, until none is left or the
   * connection goes (the line whose answer did not come stays first, to be
   * sent on the next connection). Lines pushed meanwhile are sent too; a
   * second call while one runs does nothing.
   */
  async drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#lines.length > 0 && !this.#stopped) {
        // A line that cannot go yet (its room is not back) lets the others pass; its room's
        // later lines wait behind it. drain() is called again once it can.
        const line = this.#lines.find(this.#ready);
        if (line === undefined) return;
        let result = await this.#send(line);
        // Refused while something else of ours took the allowance: it goes until taken.
        let patient = false;
        for (let tries = 1; result.kind === "flood"; tries++) {
          patient ||= this.#patient();
          if (tries >= this.#tries && !patient) break;
          const wait = (result.error.wait ?? FALLBACK_WAIT_MS) + WAIT_MARGIN_MS;
          // The server's pace: this line needed that much more time after the last one it took.
          const since = this.#takenAt === null ? 0 : this.#sentAt - this.#takenAt;
          this.#gapMs = Math.max(this.#gapMs, since + wait);
          await this.#sleep(wait);
          if (this.#stopped) return;
          result = await this.#send(line);
        }
        if (result.kind === "offline") return;
        this.#lines.splice(this.#lines.indexOf(line), 1);
        if (result.kind === "flood") this.#onRefused(line.text, result.error.message);
        else this.#takenAt = this.#sentAt;
        this.#onAnswered();
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Stops draining and any wait; what is left stays counted in {@link length}. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
  }

  async #send(line: PendingLine): Promise<Delivery> {
    if (this.#takenAt !== null) await this.#sleep(this.#takenAt + this.#gapMs - Date.now());
    if (this.#stopped) return { kind: "offline" };
    this.#sentAt = Date.now();
    return await this.#deliver(line);
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
    });
  }
}
