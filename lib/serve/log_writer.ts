/**
 * The operator's log as `chat serve` writes it: lines collected and written
 * in batches, never blocking the server.
 *
 * A busy room logs a line per message, tens of thousands a second under load.
 * `console.log` formats each argument and writes each line with its own
 * blocking system call, which cost 28% of the server's time at saturation
 * (docs/PERFORMANCE.md), and a terminal or pipe that reads slowly would stall
 * every connection with it. Here a line is appended to a buffer; whatever
 * collected while the previous write was in flight goes out in one write, so
 * there is at most one write in flight. When the output falls behind by more
 * than the buffer's limit, lines are dropped and counted, and a line saying
 * how many takes their place once the output catches up.
 *
 * With `minGapMs`, writes are also paced: a line after a quiet spell goes out
 * at once, and the lines that follow it within the gap wait and share the
 * next write. Writing to a pipe is done on another thread; a write per line
 * at a few hundred messages a second (1,000 users in 150 rooms) was a sixth
 * of the server's CPU (docs/PERFORMANCE.md).
 *
 * @module
 */

import type { ByteWriter } from "../io/outbox.ts";

/** Settings of a {@link LogWriter}. */
export interface LogWriterOptions {
  /**
   * Most characters waiting to be written; lines beyond it are dropped.
   * @default 1 MiB (about 10,000 lines)
   */
  limit?: number;
  /** The text of the line that replaces `count` dropped lines. */
  droppedNote?: (count: number) => string;
  /** Least time from the start of one write to the start of the next, in ms. @default 0 */
  minGapMs?: number;
}

/** Default {@link LogWriterOptions.limit}: seconds of a saturated server's log. */
const DEFAULT_LIMIT = 1024 * 1024;

const encoder = new TextEncoder();

/** A batched, non-blocking writer of log lines with a bounded buffer. */
export class LogWriter {
  #writer: ByteWriter;
  #limit: number;
  #droppedNote: (count: number) => string;
  #minGapMs: number;
  /** When the last write started (`performance.now()`). */
  #lastWrite = -Infinity;
  /** Wakes a pump that waits out the gap; flush() cuts the wait short. */
  #gapTimer: ReturnType<typeof setTimeout> | undefined;
  #endGap: (() => void) | null = null;
  #text = "";
  #dropped = 0;
  #writing = false;
  #failed = false;
  #idle: (() => void)[] = [];

  /** Creates a writer of lines to `writer` (`Deno.stdout`, for one). */
  constructor(writer: ByteWriter, options: LogWriterOptions = {}) {
    this.#writer = writer;
    this.#limit = options.limit ?? DEFAULT_LIMIT;
    this.#droppedNote = options.droppedNote ?? ((count) => `${count} log lines dropped`);
    this.#minGapMs = options.minGapMs ?? 0;
  }

  /** Lines dropped since the last note about them. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues `line` and a newline; drops it when too much is waiting already. */
  line(line: string): void {
    if (this.#failed) return;
    if (this.#text.length + line.length >= this.#limit) {
      this.#dropped++;
      return;
    }
    if (this.#dropped > 0) this.#noteDropped();
    this.#text += line + "\n";
    // A microtask, so that the lines of one burst of work share a write.
    if (!this.#writing) {
      this.#writing = true;
      queueMicrotask(() => void this.#pump());
    }
  }

  /**
   * Resolves when everything queued so far has been written, or the output
   * failed. Does not wait for an output that never takes more: see `timeoutMs`.
   */
  flush(timeoutMs = Infinity): Promise<void> {
    if (!this.#writing || this.#failed) return Promise.resolve();
    this.#endGap?.();
    const done = new Promise<void>((resolve) => this.#idle.push(resolve));
    if (timeoutMs === Infinity) return done;
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      done,
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]).finally(() => clearTimeout(timer));
  }

  #noteDropped(): void {
    this.#text += this.#droppedNote(this.#dropped) + "\n";
    this.#dropped = 0;
  }

  /** Waits until the gap since the last write has passed, or flush() asks for the lines. */
  #gap(): Promise<void> {
    const wait = this.#lastWrite + this.#minGapMs - performance.now();
    if (wait <= 0 || this.#idle.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#endGap = () => {
        clearTimeout(this.#gapTimer);
        this.#endGap = null;
        resolve();
      };
      this.#gapTimer = setTimeout(this.#endGap, wait);
    });
  }

  async #pump(): Promise<void> {
    try {
      while (this.#text.length > 0 || this.#dropped > 0) {
        // Lines dropped while the last batch was written: say so now that there is room.
        if (this.#text.length === 0) this.#noteDropped();
        await this.#gap();
        this.#lastWrite = performance.now();
        const bytes = encoder.encode(this.#text);
        this.#text = "";
        let offset = 0;
        while (offset < bytes.length) offset += await this.#writer.write(bytes.subarray(offset));
      }
    } catch {
      // The output is gone (a closed pipe): there is nowhere left to log to.
      this.#failed = true;
      this.#text = "";
    } finally {
      this.#writing = false;
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}

let clockSecond = -1;
let clockText = "";

/**
 * The local time of day as `HH:MM:SS`, as the log stamps its lines. Formatted
 * once a second: `toTimeString()` for every line was 9% of the log's cost.
 */
export function timeOfDay(now: number = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== clockSecond) {
    clockSecond = second;
    clockText = new Date(now).toTimeString().slice(0, 8);
  }
  return clockText;
}
