/**
 * Flood and churn control: how fast a user may act, and how often an
 * address may join before its joins stop being announced.
 *
 * Each user has a token bucket for their actions, and everyone behind one
 * address shares a larger one. Refused actions are counted, and a user who
 * keeps flooding is to be disconnected. Joins from an address that keeps
 * joining are let in but not announced: such a user is quiet.
 *
 * @module
 */

import { ChatError } from "./errors.ts";
import { ErrorCode } from "./events.ts";
import { type ChurnLimits, DEFAULT_CHURN, DEFAULT_FLOOD, type FloodLimits } from "./limits.ts";
import { plural } from "./plural.ts";
import type { Member } from "./room.ts";
import { TokenBucket, TokenBuckets } from "./token_bucket.ts";

/** Everyone behind one address together may send this many times one user's flood limits. */
const ADDRESS_FLOOD_FACTOR = 3;

const NO_FLOOD_LIMIT: FloodLimits = { burst: 0, rate: 0, kickAfter: 0 };
const NO_CHURN_LIMIT: ChurnLimits = { burst: 0, rate: 0 };

/** The window in which refused actions are counted towards a kick. */
const FLOOD_WINDOW_MS = 10_000;

/** What flood control tracks about a user: flood state, quietness. */
interface Standing {
  bucket: TokenBucket | null;
  refusedSince: number;
  refused: number;
  /** Joined while their address was churning: their join and leave are not announced. */
  quiet: boolean;
}

/** The flood and churn state of every user of one hub. */
export class FloodControl {
  #now: () => number;
  #flood: FloodLimits;
  #churnBuckets: TokenBuckets | null;
  #addressBuckets: TokenBuckets | null;
  #standing = new WeakMap<Member, Standing>();

  /**
   * Flood control per user and churn control per address, on the clock
   * `now`: the defaults when a limit is not given, none when it is null.
   */
  constructor(
    now: () => number,
    flood: FloodLimits | null = DEFAULT_FLOOD,
    churn: ChurnLimits | null = DEFAULT_CHURN,
  ) {
    this.#now = now;
    this.#flood = flood ?? NO_FLOOD_LIMIT;
    const joins = churn ?? NO_CHURN_LIMIT;
    this.#churnBuckets = joins.rate > 0 ? new TokenBuckets(joins.burst, joins.rate) : null;
    this.#addressBuckets = this.#flood.rate > 0
      ? new TokenBuckets(
        this.#flood.burst * ADDRESS_FLOOD_FACTOR,
        this.#flood.rate * ADDRESS_FLOOD_FACTOR,
      )
      : null;
  }

  /**
   * Starts counting for `member`, who joins at `now`. A member that replaces
   * `previous` (a resumed connection) takes over its standing, quietness
   * included; a newcomer takes a join token for their address, and is quiet
   * when it has joined too often lately.
   */
  enter(member: Member, now: number, previous?: Member): void {
    const standing = previous && this.#standing.get(previous);
    this.#standing.set(
      member,
      standing ?? {
        bucket: this.#flood.rate > 0
          ? new TokenBucket(this.#flood.burst, this.#flood.rate, now)
          : null,
        refusedSince: now,
        refused: 0,
        quiet: !this.#takeJoin(member.address, now),
      },
    );
  }

  /** Whether `member` joined while their address was churning, so that the room was not told. */
  isQuiet(member: Member): boolean {
    return this.#standing.get(member)?.quiet === true;
  }

  /**
   * Takes a token for the member's action: true when it may go ahead.
   * Refuses with a "slow down" error, or returns false for a member who
   * keeps flooding, whom the caller disconnects.
   *
   * @throws {ChatError} `flood` when the action is refused.
   */
  admit(member: Member): boolean {
    const standing = this.#standing.get(member);
    if (!standing?.bucket) return true;
    const now = this.#now();
    // Both the user's own bucket and their address's shared one must allow it,
    // so that many users behind one address cannot multiply the flood.
    if (standing.bucket.take(now) && (this.#addressBuckets?.take(member.address, now) ?? true)) {
      return true;
    }
    if (now - standing.refusedSince > FLOOD_WINDOW_MS) {
      standing.refusedSince = now;
      standing.refused = 0;
    }
    if (++standing.refused >= this.#flood.kickAfter) return false;
    // So that a client can send it again once it will be accepted, without guessing.
    const wait = Math.max(
      standing.bucket.waitMs(now),
      this.#addressBuckets?.waitMs(member.address, now) ?? 0,
    );
    throw new ChatError(
      ErrorCode.Flood,
      `Slow down: at most ${plural(this.#flood.rate, "message")} per second; that one was not sent`,
      wait,
    );
  }

  /** Takes a join token for `address`; false when it has joined too often lately. */
  #takeJoin(address: string, now: number): boolean {
    return this.#churnBuckets?.take(address, now) ?? true;
  }
}
