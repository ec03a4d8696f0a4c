/**
 * A latency histogram that is cheap to record into, small to send between
 * processes, and exact to merge: log-linear buckets (like HdrHistogram) with
 * 64 sub-buckets per power of two, so every value is kept within 1.6 %.
 *
 * Values are whole microseconds. Below 128 µs each value has its own bucket;
 * above, bucket width grows with the value. Worker processes record into their
 * own histogram and send it to the coordinator as a sparse list, which adds
 * them up; percentiles over the sum are the percentiles of all deliveries.
 *
 * @module
 */

// 128 exact buckets, then 64 per power of two up to 2^31 µs (about 36 minutes).
const EXACT = 128;
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
const BUCKETS = EXACT + (31 - SUB_BITS) * SUB;
const MAX_VALUE = 2 ** 31 - 1;

/** A histogram as sent between processes: non-empty buckets and the exact extremes. */
export interface HistogramData {
  /** `[bucket index, count]` for each non-empty bucket. */
  buckets: [number, number][];
  /** Number of values recorded. */
  count: number;
  /** Sum of the values, for the mean. */
  sum: number;
  /** Smallest value recorded (0 when empty). */
  min: number;
  /** Largest value recorded (0 when empty). */
  max: number;
}

/** Percentiles of a histogram, in milliseconds (null when it is empty). */
export interface LatencySummary {
  /** Number of values. */
  count: number;
  /** Median. */
  p50: number | null;
  /** 90th percentile. */
  p90: number | null;
  /** 99th percentile. */
  p99: number | null;
  /** 99.9th percentile. */
  p999: number | null;
  /** Largest value, exact. */
  max: number | null;
  /** Mean. */
  mean: number | null;
}

/** Index of the bucket that holds `value` (whole µs, clamped to the range). */
export function bucketOf(value: number): number {
  const v = value < 0 ? 0 : value > MAX_VALUE ? MAX_VALUE : value | 0;
  if (v < EXACT) return v;
  const shift = 31 - Math.clz32(v) - SUB_BITS;
  return EXACT + (shift - 1) * SUB + ((v >>> shift) - SUB);
}

/** The middle of bucket `index`: the value a percentile in it is reported as. */
export function bucketValue(index: number): number {
  if (index < EXACT) return index;
  const shift = Math.floor((index - EXACT) / SUB) + 1;
  const sub = (index - EXACT) % SUB + SUB;
  return (sub << shift) + ((1 << shift) - 1) / 2;
}

/**
 * Recorded latencies in whole microseconds.
 *
 * @example
 * ```ts
 * import { Histogram } from "./histogram.ts";
 * const h = new Histogram();
 * for (let v = 1; v <= 1000; v++) h.record(v);
 * const p50 = h.percentile(0.5);
 * console.assert(Math.abs(p50 - 500) / 500 < 0.02);
 * ```
 */
export class Histogram {
  #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;

  /** Number of values recorded. */
  get count(): number {
    return this.#count;
  }

  /** Largest value recorded, exact (0 when empty). */
  get max(): number {
    return this.#max;
  }

  /** Adds one value, in µs; negative values (clock skew) count as 0. */
  record(value: number): void {
    const v = value < 0 ? 0 : value;
    this.#counts[bucketOf(v)]++;
    this.#count++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /** Adds every value of another histogram (sent by a worker). */
  merge(data: HistogramData): void {
    for (const [index, count] of data.buckets) this.#counts[index] += count;
    if (data.count === 0) return;
    this.#count += data.count;
    this.#sum += data.sum;
    if (data.min < this.#min) this.#min = data.min;
    if (data.max > this.#max) this.#max = data.max;
  }

  /** The value below which a fraction `q` (0..1) of the values lie, in µs. */
  percentile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(bucketValue(i), this.#max);
    }
    return this.#max;
  }

  /** The histogram as plain data, for sending to another process. */
  toData(): HistogramData {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#counts[i] > 0) buckets.push([i, this.#counts[i]]);
    }
    return {
      buckets,
      count: this.#count,
      sum: this.#sum,
      min: this.#count ? this.#min : 0,
      max: this.#max,
    };
  }

  /** Percentiles in milliseconds, rounded to the microsecond. */
  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    const empty = this.#count === 0;
    return {
      count: this.#count,
      p50: empty ? null : ms(this.percentile(0.5)),
      p90: empty ? null : ms(this.percentile(0.9)),
      p99: empty ? null : ms(this.percentile(0.99)),
      p999: empty ? null : ms(this.percentile(0.999)),
      max: empty ? null : ms(this.#max),
      mean: empty ? null : ms(this.#sum / this.#count),
    };
  }
}
