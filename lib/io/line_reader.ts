/**
 * Splits a byte stream into lines with a length cap, without ever holding
 * more than the cap of one line in memory.
 *
 * Like std's `TextLineStream`, but for untrusted peers: an over-long line is
 * reported as soon as it passes the cap and the rest of it is skipped, and a
 * line that is not valid UTF-8 is reported instead of being decoded into
 * replacement characters.
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

/** What the reader yields: a line (without its `\n` or `\r\n`), or a problem. */
export type LineRead =
  | { kind: "line"; text: string }
  | { kind: "too_long" }
  | { kind: "bad_encoding" };

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;

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
    const buffer = this.#buffer;
    let out: LineRead[] | null = null;
    let chunk = buffer.subarray(0, used);
    while (chunk.length > 0) {
      const at = chunk.indexOf(NEWLINE);
      const end = at === -1 ? chunk.length : at;
      if (!this.#skipping) {
        // One byte of room for the \r of a \r\n, which does not count.
        if (this.#pendingBytes + end > this.#maxBytes + 1) {
          this.#skipping = true;
          this.#pending = [];
          this.#pendingBytes = 0;
          (out ??= []).push({ kind: "too_long" });
        } else if (at === -1) {
          // The read buffer is reused: keep a copy of a partial line.
          this.#pending.push(chunk.slice());
          this.#pendingBytes += chunk.length;
        } else {
          this.#pending.push(chunk.subarray(0, at));
          (out ??= []).push(this.#decode(this.#pendingBytes + at));
        }
      }
      if (at === -1) break;
      this.#skipping = false;
      chunk = chunk.subarray(at + 1);
    }
    this.#resize(n);
    return out ?? NO_LINES;
  }

  /** At the end of input: the last line, if it had no newline. */
  finish(): readonly LineRead[] {
    if (this.#skipping || this.#pendingBytes === 0) return NO_LINES;
    return [this.#decode(this.#pendingBytes)];
  }

  #decode(total: number): LineRead {
    const parts = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    let bytes = parts.length === 1 ? parts[0] : concatBytes(parts, total);
    if (bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) {
      bytes = bytes.subarray(0, -1);
    }
    if (bytes.length > this.#maxBytes) return { kind: "too_long" };
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
