/**
 * The token bucket behind flood control and join churn (lib/token_bucket.ts),
 * with the time passed in: exact refill, the burst cap, and buckets by key.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TokenBucket, TokenBuckets } from "../lib/core/token_bucket.ts";

/** Takes tokens from `bucket` at `now` until it refuses; returns how many it gave. */
function drain(bucket: { take(now: number): boolean }, now: number): number {
  let taken = 0;
  while (bucket.take(now)) {
    taken++;
    assert.ok(taken <= 10_000, "the bucket never ran dry");
  }
  return taken;
}

Deno.test("a new bucket gives its whole burst at once, then nothing more at that moment", () => {
  const bucket = new TokenBucket(20, 5, 1_000);
  assert.equal(drain(bucket, 1_000), 20);
  assert.equal(bucket.take(1_000), false);
});

Deno.test("an empty bucket refills at exactly its rate: floor(rate * t / 1000) tokens after t ms", () => {
  for (const [rate, elapsed] of [[5, 200], [5, 999], [5, 1_000], [5, 1_399], [2, 3_250]]) {
    const bucket = new TokenBucket(100, rate, 0);
    drain(bucket, 0);
    assert.equal(
      drain(bucket, elapsed),
      Math.floor((rate * elapsed) / 1000),
      `rate ${rate}/s after ${elapsed} ms`,
    );
  }
  // Step by step: a token at 200 ms and not a millisecond before, at 5 a second.
  const bucket = new TokenBucket(3, 5, 10_000);
  drain(bucket, 10_000);
  assert.equal(bucket.take(10_199), false);
  assert.equal(bucket.take(10_200), true);
  assert.equal(bucket.take(10_200), false);
  // The refusal at 10_199 cost nothing: the next token is due 200 ms after the last.
  assert.equal(bucket.take(10_399), false);
  assert.equal(bucket.take(10_400), true);
});

Deno.test("a fractional rate refills as slowly as it says: 0.5 a second is one token in 2 s", () => {
  const bucket = new TokenBucket(1, 0.5, 0);
  assert.equal(bucket.take(0), true);
  assert.equal(bucket.take(1_999), false);
  assert.equal(bucket.take(2_000), true);
});

Deno.test("however long a bucket idles, it holds at most its burst", () => {
  const bucket = new TokenBucket(20, 5, 0);
  drain(bucket, 0);
  // An hour of refill would be 18,000 tokens: the burst caps it.
  assert.equal(drain(bucket, 3_600_000), 20);
  assert.equal(bucket.isFull(3_600_000), false);
  assert.equal(bucket.isFull(3_600_000 + 4_000), true, "20 tokens at 5 a second: 4 s");
  // A full bucket left alone stays full, no more.
  const idle = new TokenBucket(3, 1, 0);
  assert.equal(drain(idle, 10_000_000), 3);
});

Deno.test("a clock that goes back refills nothing and takes nothing away", () => {
  const bucket = new TokenBucket(2, 1, 5_000);
  drain(bucket, 5_000);
  assert.equal(bucket.take(1_000), false, "no tokens from time going backwards");
  assert.equal(bucket.take(2_000), true, "one second after the earlier time, one token");
});

Deno.test("TokenBuckets keeps one bucket per key: one key's flood does not cost another", () => {
  const buckets = new TokenBuckets(3, 1);
  assert.equal(drain({ take: (now) => buckets.take("10.0.0.1", now) }, 0), 3);
  assert.equal(buckets.take("10.0.0.2", 0), true, "a new key starts full");
  assert.equal(drain({ take: (now) => buckets.take("10.0.0.2", now) }, 0), 2);
  assert.equal(buckets.size, 2);
  // Each refills at the rate, on its own.
  assert.equal(buckets.take("10.0.0.1", 999), false);
  assert.equal(buckets.take("10.0.0.1", 1_000), true);
  assert.equal(buckets.take("10.0.0.1", 1_000), false);
  assert.equal(drain({ take: (now) => buckets.take("10.0.0.2", now) }, 60_000), 3, "burst cap");
});

Deno.test("TokenBuckets forgets full buckets past its memory, never one still refilling", () => {
  const buckets = new TokenBuckets(2, 1, 2);
  buckets.take("a", 0);
  buckets.take("b", 0);
  assert.equal(buckets.size, 2);
  // At 1 s both are full again: a third key makes room by forgetting them.
  buckets.take("c", 1_000);
  assert.equal(buckets.size, 1);
  // Now two keys are mid-refill: a new one is remembered beside them.
  buckets.take("d", 1_000);
  assert.equal(buckets.take("c", 1_000), true);
  assert.equal(buckets.take("c", 1_000), false, "c is empty and refilling");
  buckets.take("e", 1_000);
  assert.equal(buckets.size, 3, "c and d were not forgotten");
  assert.equal(buckets.take("c", 1_000), false, "c still owes its refill");
  // A forgotten key comes back full: what it spent was long refilled anyway.
  assert.equal(drain({ take: (now) => buckets.take("a", now) }, 1_000), 2);
});
