/**
 * The one writer of a connection: a bounded queue drained by a single pump.
 *
 * Deno may interleave the bytes of concurrent `write` calls and a write may be
 * partial, so nothing but the pump writes to the connection. Whatever queued
 * up while a write was in flight goes out in one write (coalescing). A peer
 * that stops reading makes its queue grow; past the limit the outbox gives up
 * on it, and nobody else ever waits for it.
 *
 * @module
 */

import { concatBytes } from "./bytes.ts";
import { DEFAULT_QUEUE_LIMIT } from "./defaults.ts";

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
}

/** A bounded, coalescing send queue with exactly one writer. */
export class Outbox {
  #writer: ByteWriter;
  #limit: number;
  #onFailure: (why: OutboxFailure, error?: unknown) => void;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #failed = false;
  #pumping = false;
  #drained: (() => void)[] = [];

  /** Creates an outbox that writes to `writer`. */
  constructor(writer: ByteWriter, options: OutboxOptions = {}) {
    this.#writer = writer;
    this.#limit = options.limit ?? DEFAULT_QUEUE_LIMIT;
    this.#onFailure = options.onFailure ?? (() => {});
  }

  /** Bytes waiting to be written. */
  get queued(): number {
    return this.#queued;
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
    if (this.#queued + bytes.length > this.#limit) {
      this.#fail("overflow");
      return false;
    }
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (!this.#pumping) this.#pump();
    return true;
  }

  /** Resolves when everything queued so far was written (or the outbox failed). */
  drained(): Promise<void> {
    if (this.#queued === 0 || this.#failed) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#failed) {
        const parts = this.#queue;
        const total = this.#queued;
        this.#queue = [];
        const bytes = parts.length === 1 ? parts[0] : concatBytes(parts, total);
        let offset = 0;
        while (offset < bytes.length) {
          offset += await this.#writer.write(bytes.subarray(offset));
        }
        if (this.#failed) break;
        this.#queued -= total;
      }
    } catch (error) {
      this.#fail("write_error", error);
    } finally {
      this.#pumping = false;
    }
    if (this.#queue.length === 0 || this.#failed) this.#settle();
  }

  #fail(why: OutboxFailure, error?: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#queue = [];
    this.#queued = 0;
    this.#settle();
    this.#onFailure(why, error);
  }

  #settle(): void {
    for (const resolve of this.#drained.splice(0)) resolve();
  }
}
