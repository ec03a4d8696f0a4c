/**
 * A token bucket: a burst allowance that refills at a steady rate. Used for
 * flood control (messages per user) and join churn (joins per address).
 *
 * Pure: the caller passes the time, so tests need no clock.
 *
 * @module
 */

/** A burst of `capacity` tokens, refilled at `ratePerSecond`. */
export class TokenBucket {
  #capacity: number;
  #ratePerMs: number;
  #tokens: number;
  #updated: number;

  /** Creates a full bucket at time `now` (milliseconds). */
  constructor(capacity: number, ratePerSecond: number, now: number) {
    this.#capacity = capacity;
    this.#ratePerMs = ratePerSecond / 1000;
    this.#tokens = capacity;
    this.#updated = now;
  }

  /**
   * Takes one token if there is one.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TokenBucket } from "./token_bucket.ts";
   * const bucket = new TokenBucket(2, 1, 0);
   * assert.ok(bucket.take(0) && bucket.take(0) && !bucket.take(0));
   * assert.ok(bucket.take(1000));
   * ```
   */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * How long after `now` a token will be there, in whole ms: 0 when one is.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TokenBucket } from "./token_bucket.ts";
   * const bucket = new TokenBucket(1, 4, 0);
   * assert.equal(bucket.waitMs(0), 0);
   * bucket.take(0);
   * assert.equal(bucket.waitMs(100), 150);
   * ```
   */
  waitMs(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#ratePerMs);
  }

  /** Whether the bucket has refilled completely by `now` (so it can be forgotten). */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.#capacity;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#updated);
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#ratePerMs);
    this.#updated = now;
  }
}

/**
 * Token buckets by key (an address, say), created full on first use. Past
 * `memory` keys, buckets that have refilled completely are forgotten, so a
 * stream of new keys cannot grow it without bound.
 */
export class TokenBuckets {
  #capacity: number;
  #rate: number;
  #memory: number;
  #buckets = new Map<string, TokenBucket>();

  /** Buckets of `capacity` tokens refilled at `ratePerSecond`, for about `memory` keys. */
  constructor(capacity: number, ratePerSecond: number, memory = 4096) {
    this.#capacity = capacity;
    this.#rate = ratePerSecond;
    this.#memory = memory;
  }

  /** Takes one token from the bucket of `key`. */
  take(key: string, now: number): boolean {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= this.#memory) this.#forgetFull(now);
      bucket = new TokenBucket(this.#capacity, this.#rate, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  /** How long after `now` the bucket of `key` will have a token, in whole ms. */
  waitMs(key: string, now: number): number {
    return this.#buckets.get(key)?.waitMs(now) ?? 0;
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.#buckets.size;
  }

  #forgetFull(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.isFull(now)) this.#buckets.delete(key);
    }
    // Everyone is busy: double the memory rather than scan again at once.
    if (this.#buckets.size >= this.#memory) this.#memory *= 2;
  }
}
