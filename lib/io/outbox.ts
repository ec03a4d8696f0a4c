/**
 * The one writer of a connection: a bounded queue with one write in flight.
 *
 * Deno may interleave the bytes of concurrent `write` calls and a write may be
 * partial, so nothing but the outbox writes to the connection. Whatever queued
 * up while a write was in flight goes out in one write (coalescing). A peer
 * that stops reading makes its queue grow; past the limit the outbox gives up
 * on it, and nobody else ever waits for it.
 *
 * When a write starts is up to a {@link FlushScheduler}: at once by default,
 * or, for the server's connections, at the end of the event loop's turn
 * ({@link TURN_FLUSHER}), so that everything a busy turn queued for a peer
 * shares one write.
 *
 * Coalescing copies the queued parts into one buffer, unless they are
 * adjacent bytes of one buffer: the server lays encoded events end to end
 * (see ByteArena), so what queues up for a member of a busy room is usually
 * one run of bytes, written as it is. Joining the parts was 10% of the
 * server's time under saturation.
 *
 * @module
 */

import process from "node:process";
import { setImmediate } from "node:timers";
import { concatBytes } from "./bytes.ts";
import { DEFAULT_QUEUE_LIMIT } from "./limits.ts";

/** Something with Deno's `write` contract (a `Deno.Conn`, for one). */
export interface ByteWriter {
  /** Writes some of `bytes`; resolves to how many were written. */
  write(bytes: Uint8Array): Promise<number>;
}

/** Why an outbox stopped: the peer was too slow, or a write failed. */
export type OutboxFailure = "overflow" | "write_error";

/** Settings of an outbox. */
export interface OutboxOptions {
  /** Most bytes queued before the peer is given up on. @default 1 MiB */
  limit?: number;
  /** Called once when the outbox stops delivering. */
  onFailure?: (why: OutboxFailure, error?: unknown) => void;
  /** When writes start. @default WRITE_NOW */
  scheduler?: FlushScheduler;
}

/** Decides when an outbox with bytes to send writes them. */
export interface FlushScheduler {
  /** `outbox` has bytes to write and no write in flight: call its `flush()`, now or soon. */
  request(outbox: Outbox): void;
}

/** Writes as soon as there is something to write and no write in flight. */
export const WRITE_NOW: FlushScheduler = { request: (outbox) => outbox.flush() };

/**
 * Writes at the end of the current turn of the event loop, once every read
 * that completed in it has been handled; and while the process is busy, at
 * most every couple of milliseconds.
 *
 * A write costs a system call of about 7 µs on loopback whatever its size,
 * and the reader pays another to read it. Once the process uses most of a
 * core, waiting for the next timer (about 2 ms in Deno) instead of the end of
 * the turn lets the writes of several turns go out together, each carrying
 * what queued up meanwhile. Measured (docs/PERFORMANCE.md): saturated, 88
 * deliveries per write instead of 33 and 2.6 times the throughput; at 500
 * members and 500 messages a second, p99 14 ms instead of 45, as queueing
 * shrank far more than the 2 ms added. Below that load, the end of the turn
 * is microseconds away, so a message is not held back.
 */
export class TurnFlusher implements FlushScheduler {
  #waiting: Outbox[] = [];
  #scheduled = false;
  #busy = false;
  /** Start of the current measuring window (ms) and the process's CPU time then. */
  #windowStart = 0;
  #cpuAtStart = process.cpuUsage();

  /** Queues `outbox` for the next flush. */
  request(outbox: Outbox): void {
    this.#waiting.push(outbox);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate runs after the turn's I/O callbacks; a timer is at least a millisecond away.
    if (this.#busy) setTimeout(TurnFlusher.#run, 0, this);
    else setImmediate(TurnFlusher.#run, this);
  }

  static #run(flusher: TurnFlusher): void {
    flusher.#scheduled = false;
    const waiting = flusher.#waiting;
    flusher.#waiting = [];
    for (const outbox of waiting) outbox.flush();
    flusher.#measure();
  }

  /** Updates `busy` from the share of a core the process used in the last window. */
  #measure(): void {
    const now = performance.now();
    const span = now - this.#windowStart;
    if (span < BUSY_WINDOW_MS) return;
    const cpu = process.cpuUsage(this.#cpuAtStart);
    const share = (cpu.user + cpu.system) / 1000 / span;
    // Hysteresis: batching makes the server cheaper, which must not switch it off.
    this.#busy = share > (this.#busy ? BUSY_LEAVE_SHARE : BUSY_ENTER_SHARE);
    this.#windowStart = now;
    this.#cpuAtStart = process.cpuUsage();
  }
}

/** How often the process's CPU use is measured, in ms. */
const BUSY_WINDOW_MS = 100;
/** Share of a core above which writes are batched over a timer... */
const BUSY_ENTER_SHARE = 0.6;
/** ...and below which they are not any more. */
const BUSY_LEAVE_SHARE = 0.4;

/** The flusher the server's connections share. */
export const TURN_FLUSHER: TurnFlusher = new TurnFlusher();

/**
 * Shared parts (views into others' buffers) a queue may hold before they are
 * copied into one of its own: bounds what a slow reader's queue keeps alive.
 */
const MAX_SHARED_PARTS = 8;

/** Bytes queued that are written without waiting for the scheduler. */
const FLUSH_AT_ONCE_BYTES = 16 * 1024;

/** A bounded, coalescing send queue with exactly one writer. */
export class Outbox {
  #writer: ByteWriter;
  #scheduler: FlushScheduler;
  #limit: number;
  #onFailure: (why: OutboxFailure, error?: unknown) => void;
  /** Parts waiting, in order, before the run below. */
  #queue: Uint8Array[] = [];
  /**
   * The last bytes pushed and those adjacent to them, kept as where they are
   * until written (a view made for each push was a tenth of the server's time).
   */
  #run: Uint8Array | null = null;
  #runBuffer: ArrayBufferLike | null = null;
  #runEnd = 0;
  /** Parts at the front of the queue that are private copies made by #compact. */
  #compacted = 0;
  #queued = 0;
  #failed = false;
  /** A write is in flight. */
  #writing = false;
  /** The scheduler has been asked for a flush and not called it yet. */
  #requested = false;
  /** Made when first needed: most outboxes never have anyone waiting. */
  #drained: (() => void)[] | null = null;

  /** Creates an outbox that writes to `writer`. */
  constructor(writer: ByteWriter, options: OutboxOptions = {}) {
    this.#writer = writer;
    this.#scheduler = options.scheduler ?? WRITE_NOW;
    this.#limit = options.limit ?? DEFAULT_QUEUE_LIMIT;
    this.#onFailure = options.onFailure ?? (() => {});
  }

  /** Bytes waiting to be written. */
  get queued(): number {
    return this.#queued;
  }

  /** Separate parts waiting to be written (what a write would have to copy together). */
  get parts(): number {
    return this.#queue.length + (this.#run === null ? 0 : 1);
  }

  /** Whether the outbox has stopped delivering (overflow or write error). */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Queues bytes; never blocks and never reorders. Returns false when the
   * outbox has failed, now or before, and the bytes were dropped.
   */
  push(bytes: Uint8Array): boolean {
    if (this.#failed) return false;
    // One item longer than the limit still goes to a peer with nothing
    // waiting: the limit is how far a peer may fall behind, and a big
    // history frame (or an 8 KB message) under a small --queue-limit would
    // otherwise drop a reader who is keeping up.
    if (this.#queued > 0 && this.#queued + bytes.length > this.#limit) {
      this.#fail("overflow");
      return false;
    }
    if (
      this.#run !== null && bytes.byteOffset === this.#runEnd && bytes.buffer === this.#runBuffer
    ) {
      // The next bytes of the same buffer: the run grows instead of the queue.
      this.#runEnd += bytes.byteLength;
    } else {
      this.#sealRun();
      if (this.#queue.length - this.#compacted >= MAX_SHARED_PARTS) this.#compact();
      this.#run = bytes;
      this.#runBuffer = bytes.buffer;
      this.#runEnd = bytes.byteOffset + bytes.byteLength;
    }
    this.#queued += bytes.length;
    // A burst big enough to fill a write goes now: waiting for the end of
    // the turn would only let it grow towards the limit.
    if (this.#queued >= FLUSH_AT_ONCE_BYTES && !this.#writing) this.flush();
    else this.#request();
    return true;
  }

  /** Moves the run into the queue, as one view of its buffer. */
  #sealRun(): void {
    const run = this.#run;
    if (run === null) return;
    const length = this.#runEnd - run.byteOffset;
    this.#queue.push(
      length === run.byteLength ? run : new Uint8Array(this.#runBuffer!, run.byteOffset, length),
    );
    this.#run = null;
    this.#runBuffer = null;
  }

  /**
   * Copies the shared parts queued behind a write that is taking long (a slow
   * reader) into one buffer of their own. Each part is a view that keeps its
   * whole shared buffer alive; without this, a queue of small events from many
   * buffers could hold far more memory than its limit counts.
   */
  #compact(): void {
    const queue = this.#queue;
    const parts = queue.splice(this.#compacted);
    let total = 0;
    for (const part of parts) total += part.length;
    queue.push(concatBytes(parts, total));
    this.#compacted = queue.length;
  }

  /** Resolves when everything queued so far was written (or the outbox failed). */
  drained(): Promise<void> {
    if (this.#queued === 0 || this.#failed) return Promise.resolve();
    return new Promise((resolve) => (this.#drained ??= []).push(resolve));
  }

  /**
   * Writes everything queued, unless a write is in flight (what queues up
   * meanwhile goes in the next one). Called by the scheduler.
   */
  flush(): void {
    this.#requested = false;
    if (this.#writing || this.#failed || this.#queued === 0) return;
    this.#sealRun();
    const parts = this.#queue;
    const total = this.#queued;
    this.#queue = [];
    this.#compacted = 0;
    this.#writing = true;
    void this.#write(parts.length === 1 ? parts[0] : concatBytes(parts, total), total);
  }

  #request(): void {
    if (this.#writing || this.#requested) return;
    this.#requested = true;
    this.#scheduler.request(this);
  }

  async #write(bytes: Uint8Array, total: number): Promise<void> {
    try {
      let offset = 0;
      while (offset < bytes.length) {
        offset += await this.#writer.write(offset === 0 ? bytes : bytes.subarray(offset));
      }
    } catch (error) {
      this.#writing = false;
      this.#fail("write_error", error);
      return;
    }
    this.#writing = false;
    if (this.#failed) return;
    this.#queued -= total;
    if (this.#queued > 0) this.#request();
    else this.#settle();
  }

  #fail(why: OutboxFailure, error?: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#queue = [];
    this.#run = null;
    this.#runBuffer = null;
    this.#compacted = 0;
    this.#queued = 0;
    this.#settle();
    this.#onFailure(why, error);
  }

  #settle(): void {
    const waiting = this.#drained;
    this.#drained = null;
    for (const resolve of waiting ?? []) resolve();
  }
}
