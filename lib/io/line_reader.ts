/**
 * Splits a byte stream into lines with a length cap, without ever holding
 * more than the cap of one line in memory.
 *
 * Like std's `TextLineStream`, but for untrusted peers: an over-long line is
 * reported as soon as it passes the cap and the rest of it is skipped, and a
 * line that is not valid UTF-8 is reported instead of being decoded into
 * replacement characters. A line ends at `\n`, `\r\n`, a bare `\r` (old
 * Macs, some serial terminals) or telnet's `\r\0`; the two bytes of a pair
 * may come in different reads.
 *
 * {@link readLines} is the convenient form, an async iterator over a reader.
 * {@link LineSplitter} is its core, fed by the caller's own read loop: the
 * server's sessions use it directly, as each layer of async iteration costs
 * every idle connection a few hundred bytes of pending promises and frames.
 *
 * @module
 */

import { concatBytes } from "./bytes.ts";
import { MAX_LINE_BYTES } from "./limits.ts";

/** Something with Deno's `read` contract (a `Deno.Conn`, for one). */
export interface ByteReader {
  /** Reads into `buffer`; resolves to the count read, or null at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** What the reader yields: a line (without its line ending), or a problem. */
export type LineRead =
  | { kind: "line"; text: string }
  | { kind: "too_long" }
  | { kind: "bad_encoding" };

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
/** Telnet sends a bare carriage return as CR NUL (RFC 854). */
const NUL = 0;

/**
 * The read buffer starts small and doubles, up to {@link MAX_READ_SIZE}, while
 * reads fill it. Most connections only ever read a `hello` and a few short
 * lines: a 16 KiB buffer each was a third of an idle connection's memory.
 */
const MIN_READ_SIZE = 1024;
/** Largest read buffer: a busy sender's reads are not split much further. */
const MAX_READ_SIZE = 16 * 1024;
/** Small reads in a row after which a grown buffer goes back to the smallest size. */
const SHRINK_AFTER = 16;

/** Decoding whole lines keeps no state between calls, so one decoder serves every reader. */
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const NO_LINES: readonly LineRead[] = [];

/**
 * Splits the bytes its owner reads into {@link buffer} into lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineSplitter } from "./line_reader.ts";
 * const splitter = new LineSplitter();
 * const n = new TextEncoder().encodeInto("hi\nthe", splitter.buffer).written;
 * assert.deepEqual(splitter.take(n), [{ kind: "line", text: "hi" }]);
 * assert.deepEqual(splitter.finish(), [{ kind: "line", text: "the" }]);
 * ```
 */
export class LineSplitter {
  #maxBytes: number;
  #buffer = new Uint8Array(MIN_READ_SIZE);
  #smallReads = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #skipping = false;
  /** The last read ended with the \r of a line ending: a \n or NUL first in the next is its end. */
  #afterCr = false;

  /** A splitter of lines of at most `maxBytes` bytes (without the line ending). */
  constructor(maxBytes: number = MAX_LINE_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Where to read the next bytes into: grows while reads fill it, shrinks when they stop. */
  get buffer(): Uint8Array {
    return this.#buffer;
  }

  /**
   * Takes the bytes just read into {@link buffer}: `n` were read, of which the
   * first `used` are data (fewer when the owner took some out in place, such
   * as telnet commands). Returns what they complete, in order.
   */
  take(n: number, used: number = n): readonly LineRead[] {
    const data = this.#buffer.subarray(0, used);
    let out: LineRead[] | null = null;
    let start = 0;
    if (this.#afterCr && used > 0) {
      this.#afterCr = false;
      if (data[0] === NEWLINE || data[0] === NUL) start = 1;
    }
    // Each search runs from the end of the last line to the next match, so a
    // read is scanned about once for each byte, however its lines end; -1:
    // there is none.
    let lf = data.indexOf(NEWLINE, start);
    let cr = data.indexOf(CARRIAGE_RETURN, start);
    while (start < used) {
      if (lf !== -1 && lf < start) lf = data.indexOf(NEWLINE, start);
      if (cr !== -1 && cr < start) cr = data.indexOf(CARRIAGE_RETURN, start);
      const at = lf === -1 || (cr !== -1 && cr < lf) ? cr : lf;
      const end = at === -1 ? used : at;
      if (!this.#skipping) {
        if (this.#pendingBytes + end - start > this.#maxBytes) {
          this.#skipping = true;
          this.#pending = [];
          this.#pendingBytes = 0;
          (out ??= []).push({ kind: "too_long" });
        } else if (at === -1) {
          // The read buffer is reused: keep a copy of a partial line.
          this.#pending.push(data.slice(start));
          this.#pendingBytes += used - start;
        } else {
          this.#pending.push(data.subarray(start, at));
          (out ??= []).push(this.#decode(this.#pendingBytes + at - start));
        }
      }
      if (at === -1) break;
      this.#skipping = false;
      start = at + 1;
      if (at === cr) {
        if (start === used) this.#afterCr = true;
        else if (data[start] === NEWLINE || data[start] === NUL) start++;
      }
    }
    this.#resize(n);
    return out ?? NO_LINES;
  }

  /** At the end of input: the last line, if it had no line ending. */
  finish(): readonly LineRead[] {
    if (this.#skipping || this.#pendingBytes === 0) return NO_LINES;
    return [this.#decode(this.#pendingBytes)];
  }

  #decode(total: number): LineRead {
    const parts = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const bytes = parts.length === 1 ? parts[0] : concatBytes(parts, total);
    try {
      return { kind: "line", text: decoder.decode(bytes) };
    } catch {
      return { kind: "bad_encoding" };
    }
  }

  // Only called once the bytes read are consumed: the buffer may be replaced.
  #resize(n: number): void {
    const size = this.#buffer.length;
    if (n === size) {
      this.#smallReads = 0;
      if (size < MAX_READ_SIZE) this.#buffer = new Uint8Array(size * 2);
    } else if (size > MIN_READ_SIZE && n <= size / 4) {
      // A burst is over: do not keep a big buffer for a connection gone quiet.
      if (++this.#smallReads >= SHRINK_AFTER) {
        this.#smallReads = 0;
        this.#buffer = new Uint8Array(MIN_READ_SIZE);
      }
    } else {
      this.#smallReads = 0;
    }
  }
}

/**
 * Yields the lines read from `source` until it ends. A final line without a
 * newline is yielded too. Read errors (a reset connection) end the iteration
 * quietly: to the caller, a vanished peer and a closed one are the same.
 */
export async function* readLines(
  source: ByteReader,
  maxBytes: number = MAX_LINE_BYTES,
): AsyncGenerator<LineRead> {
  const splitter = new LineSplitter(maxBytes);
  while (true) {
    let n: number | null;
    try {
      n = await source.read(splitter.buffer);
    } catch {
      // A reset connection: what it left unfinished was never meant to be sent.
      return;
    }
    if (n === null) break;
    yield* splitter.take(n);
  }
  yield* splitter.finish();
}
