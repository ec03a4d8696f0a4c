/**
 * Flood and churn control: how fast a user may act, and how often an
 * address may join before its joins stop being announced.
 *
 * Each user has a token bucket for their actions, and everyone behind one
 * address shares a larger one. Refused actions are counted, and a user who
 * keeps flooding is to be disconnected. Joins from an address that keeps
 * joining are let in but not announced: such a user is quiet.
 *
 * Right after logging in, a user may enter again the rooms a restarted server
 * forgot without paying for it: up to a user's room limit of joins, before
 * any other action is counted, and only when their login was announced (the
 * address is not churning), so that an address gets no more of them than
 * its announced logins could each hold rooms.
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
  /** Joins of rooms they may still make without a token: their rejoins after logging in. */
  rejoins: number;
}

/** The flood and churn state of every user of one hub. */
export class FloodControl {
  #now: () => number;
  #flood: FloodLimits;
  #churnBuckets: TokenBuckets | null;
  #addressBuckets: TokenBuckets | null;
  #standing = new WeakMap<Member, Standing>();
  #rejoins: number;

  /**
   * Flood control per user and churn control per address, on the clock
   * `now`: the defaults when a limit is not given, none when it is null.
   * A newcomer may make `rejoins` joins uncounted (see {@link rejoin}).
   */
  constructor(
    now: () => number,
    flood: FloodLimits | null = DEFAULT_FLOOD,
    churn: ChurnLimits | null = DEFAULT_CHURN,
    rejoins = 0,
  ) {
    this.#now = now;
    this.#rejoins = rejoins;
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
   * included, but no rejoins: the rooms were not forgotten. A newcomer takes
   * a join token for their address, and is quiet when it has joined too
   * often lately; one who is not may rejoin rooms uncounted.
   */
  enter(member: Member, now: number, previous?: Member): void {
    const standing = previous && this.#standing.get(previous);
    if (standing) {
      standing.rejoins = 0;
      this.#standing.set(member, standing);
      return;
    }
    const quiet = !this.#takeJoin(member.address, now);
    this.#standing.set(member, {
      bucket: this.#flood.rate > 0
        ? new TokenBucket(this.#flood.burst, this.#flood.rate, now)
        : null,
      refusedSince: now,
      refused: 0,
      quiet,
      rejoins: quiet ? 0 : this.#rejoins,
    });
  }

  /**
   * Takes one of the member's uncounted rejoins, for a join of a room that
   * exists: true when they had one left (nothing else was counted since
   * they logged in), so the join needs no {@link admit}.
   */
  rejoin(member: Member): boolean {
    const standing = this.#standing.get(member);
    if (!standing || standing.rejoins <= 0) return false;
    standing.rejoins--;
    return true;
  }

  /** Whether `member` joined while their address was churning, so that the room was not told. */
  isQuiet(member: Member): boolean {
    return this.#standing.get(member)?.quiet === true;
  }

  /**
   * Takes a token for the member's action: true when it may go ahead. Ends
   * the member's uncounted rejoins (see {@link rejoin}), unless it is a join
   * itself (`joining`: of a room gone with the restart, made anew).
   * Refuses with a "slow down" error, or returns false for a member who
   * keeps flooding, whom the caller disconnects.
   *
   * @throws {ChatError} `flood` when the action is refused.
   */
  admit(member: Member, joining = false): boolean {
    const standing = this.#standing.get(member);
    if (!standing) return true;
    // Rejoins come first after a login: a counted action ends them.
    if (!joining) standing.rejoins = 0;
    if (!standing.bucket) return true;
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
