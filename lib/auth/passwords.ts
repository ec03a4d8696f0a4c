/**
 * Passwords: how they are hashed and checked, and how guessing is slowed down.
 *
 * A password is never stored, only a salted scrypt hash of it, written in the
 * PHC string format that other tools read (passlib's `$scrypt$`):
 *
 * ```text
 * $scrypt$ln=15,r=8,p=1$<salt, base64>$<hash, base64>
 * ```
 *
 * The cost parameters travel with each hash, so they can be raised later
 * without breaking the hashes already stored ({@link needsRehash} says which
 * to renew at the next good login). Hashing runs on a worker thread (Node's
 * asynchronous `scrypt`), so a login never stalls the server's other users.
 *
 * {@link LoginThrottle} slows down guessing: each address and each name gets a
 * few free failures, then must wait longer after each further one.
 *
 * @module
 */

import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt's cost parameters: CPU and memory cost 2^ln, block size r, parallelism p. */
export interface ScryptParams {
  /** log2 of N, the CPU and memory cost. */
  ln: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
}

/**
 * The cost of new hashes: N = 2^15, r = 8, p = 1, which takes 32 MiB and about
 * 140 ms on the machine the tests run on. That is twice Node's default
 * (2^14); more would make a class of thirty logging in at once wait seconds
 * on a small server, and online guessing is bounded by {@link LoginThrottle}
 * anyway. Stored hashes keep their own parameters, so this can rise later.
 */
export const SCRYPT_PARAMS: Readonly<ScryptParams> = { ln: 15, r: 8, p: 1 };

/** Bytes of random salt per hash. */
export const SALT_BYTES = 16;

/** Bytes of scrypt output kept. */
export const HASH_BYTES = 32;

/** Shortest password accepted for an account (NIST SP 800-63B's minimum). */
export const MIN_PASSWORD_LENGTH = 8;

/** Longest password accepted, in characters: far past any real one, short of abuse. */
export const MAX_PASSWORD_LENGTH = 1024;

// Parameters read from a stored hash are bounded, so a damaged or hostile
// database cannot make one check take gigabytes or minutes.
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Why a proposed password cannot be used, or undefined when it can. */
export function passwordProblem(password: string): string | undefined {
  const length = [...password.normalize("NFC")].length;
  if (length < MIN_PASSWORD_LENGTH) {
    return `A password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  }
  if (length > MAX_PASSWORD_LENGTH) {
    return `A password can be at most ${MAX_PASSWORD_LENGTH} characters long`;
  }
  return undefined;
}

/**
 * Hashes `password` with a fresh random salt; resolves to the PHC string to store.
 *
 * The password is NFC-normalized first, so an é typed as one character or as
 * e + accent (as some systems send it) is the same password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashPassword, verifyPassword } from "./passwords.ts";
 * const stored = await hashPassword("correct horse", { ln: 10, r: 8, p: 1 });
 * assert.match(stored, /^\$scrypt\$ln=10,r=8,p=1\$/);
 * assert.ok(await verifyPassword("correct horse", stored));
 * assert.ok(!(await verifyPassword("Correct horse", stored)));
 * ```
 */
export async function hashPassword(
  password: string,
  params: ScryptParams = SCRYPT_PARAMS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params, HASH_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${base64(salt)}$${base64(hash)}`;
}

/**
 * Whether `password` matches `stored` (a string from {@link hashPassword}),
 * compared in constant time. A missing or unreadable `stored` is checked
 * against a stand-in hash all the same and is never a match: asking about a
 * name nobody registered takes as long as asking about a real one, so the
 * time taken does not tell which names exist.
 */
export async function verifyPassword(
  password: string,
  stored: string | undefined,
): Promise<boolean> {
  const parsed = stored === undefined ? undefined : parseHash(stored);
  if (!parsed) {
    await derive(password, DUMMY_SALT, SCRYPT_PARAMS, HASH_BYTES);
    return false;
  }
  const hash = await derive(password, parsed.salt, parsed.params, parsed.hash.length);
  return timingSafeEqual(hash, parsed.hash);
}

/** Whether `stored` was made with weaker parameters than {@link SCRYPT_PARAMS} (or is unreadable). */
export function needsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  if (!parsed) return true;
  const { ln, r, p } = parsed.params;
  return ln < SCRYPT_PARAMS.ln || r < SCRYPT_PARAMS.r || p < SCRYPT_PARAMS.p ||
    parsed.hash.length < HASH_BYTES;
}

/** The parts of a stored hash, or undefined when it is not one this module can check. */
export function parseHash(
  stored: string,
): { params: ScryptParams; salt: Uint8Array; hash: Uint8Array } | undefined {
  const match = PHC.exec(stored);
  if (!match) return undefined;
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (ln < 1 || ln > MAX_LN || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return undefined;
  const salt = fromBase64(match[4]);
  const hash = fromBase64(match[5]);
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return undefined;
  return { params: { ln, r, p }, salt, hash };
}

const DUMMY_SALT = new Uint8Array(SALT_BYTES);

function derive(
  password: string,
  salt: Uint8Array,
  params: ScryptParams,
  length: number,
): Promise<Uint8Array> {
  const N = 2 ** params.ln;
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize("NFC"),
      salt,
      length,
      // scrypt needs 128 * N * r bytes; Node refuses past maxmem (32 MiB by default).
      { N, r: params.r, p: params.p, maxmem: 256 * N * params.r },
      (error, key) => error ? reject(error) : resolve(new Uint8Array(key)),
    );
  });
}

/** Standard base64 without padding, as PHC strings write it. */
function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

function fromBase64(text: string): Uint8Array {
  try {
    const padded = text + "=".repeat((4 - text.length % 4) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  } catch {
    return new Uint8Array();
  }
}

// ---- throttling ---------------------------------------------------------------

/** How failures of one kind (per address, or per name) are slowed down. */
export interface BackoffLimits {
  /** Failures allowed before any wait. */
  free: number;
  /** Wait after the first failure past the free ones; it doubles with each further failure. */
  baseMs: number;
  /** Longest wait. */
  maxMs: number;
}

/** Limits of a {@link LoginThrottle}. */
export interface ThrottleLimits {
  /** Per address (use `addressKey`, so an IPv6 /64 counts as one). */
  address: BackoffLimits;
  /** Per account name (use `nameKey`). */
  name: BackoffLimits;
  /** A key with no failure for this long starts afresh. */
  forgetMs: number;
}

/**
 * The default limits. A name gets 5 free failures (typos), then waits 1 s,
 * 2 s, 4 s... up to 5 minutes between guesses, which bounds guessing at one
 * name to a few hundred tries a day. An address gets more free failures (a
 * class behind one NAT mistypes too) with the same backoff. A quiet hour
 * forgets everything.
 */
export const DEFAULT_THROTTLE: Readonly<ThrottleLimits> = {
  address: { free: 30, baseMs: 1_000, maxMs: 300_000 },
  name: { free: 5, baseMs: 1_000, maxMs: 300_000 },
  forgetMs: 3_600_000,
};

/** The answer of {@link LoginThrottle.check}: go ahead, or wait this long first. */
export type ThrottleVerdict = { ok: true } | { ok: false; retryAfterMs: number };

interface Failures {
  count: number;
  last: number;
}

/**
 * Counts failed logins per address and per name, and says when the next try
 * may come. Pure: the caller passes the time, so tests need no clock.
 *
 * Ask {@link check} before checking a password (a refused try costs no
 * hashing), then report the outcome with {@link failed} or {@link succeeded}.
 * An address that logged in to a name lately is not held back by that
 * name's failures (only by its own), so guessing at someone's name from
 * elsewhere does not lock its owner out.
 * A success forgets the name's failures but not the address's, so an attacker
 * who owns one account cannot wipe their record by logging into it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LoginThrottle } from "./passwords.ts";
 * const limits = {
 *   address: { free: 10, baseMs: 1000, maxMs: 60_000 },
 *   name: { free: 2, baseMs: 1000, maxMs: 60_000 },
 *   forgetMs: 3_600_000,
 * };
 * const throttle = new LoginThrottle(limits);
 * throttle.failed("10.0.0.5", "bob", 0);
 * throttle.failed("10.0.0.5", "bob", 0);
 * assert.ok(throttle.check("10.0.0.5", "bob", 0).ok);
 * throttle.failed("10.0.0.5", "bob", 0);
 * assert.deepEqual(throttle.check("10.0.0.5", "bob", 0), { ok: false, retryAfterMs: 1000 });
 * assert.ok(throttle.check("10.0.0.5", "bob", 1000).ok);
 * assert.ok(throttle.check("10.0.0.5", "alice", 0).ok);
 * ```
 */
export class LoginThrottle {
  #limits: ThrottleLimits;
  #addresses = new Map<string, Failures>();
  #names = new Map<string, Failures>();
  /** `address name` pairs that logged in lately, with when. */
  #trusted = new Map<string, number>();
  #memory: number;

  /** A throttle with `limits`, remembering about `memory` keys of each kind before pruning. */
  constructor(limits: ThrottleLimits = DEFAULT_THROTTLE, memory = 10_000) {
    this.#limits = limits;
    this.#memory = memory;
  }

  /** Whether a login for `name` from `address` may be tried at `now`, or how long to wait. */
  check(address: string, name: string, now: number): ThrottleVerdict {
    const since = this.#trusted.get(`${address} ${name}`);
    const trusted = since !== undefined && now - since < this.#limits.forgetMs;
    const wait = Math.max(
      this.#wait(this.#addresses, address, this.#limits.address, now),
      trusted ? 0 : this.#wait(this.#names, name, this.#limits.name, now),
    );
    return wait > 0 ? { ok: false, retryAfterMs: wait } : { ok: true };
  }

  /** Records a wrong password (or unknown name) for `name` from `address` at `now`. */
  failed(address: string, name: string, now: number): void {
    this.#count(this.#addresses, address, now);
    this.#count(this.#names, name, now);
  }

  /** Records a good login: the name's failures are forgotten, the address's are not. */
  succeeded(address: string, name: string, now: number): void {
    this.#names.delete(name);
    if (this.#trusted.size >= this.#memory) {
      for (const [pair, since] of this.#trusted) {
        if (now - since >= this.#limits.forgetMs) this.#trusted.delete(pair);
      }
      // All recent: the oldest goes (a Map keeps insertion order).
      if (this.#trusted.size >= this.#memory) {
        this.#trusted.delete(this.#trusted.keys().next().value!);
      }
    }
    this.#trusted.delete(`${address} ${name}`);
    this.#trusted.set(`${address} ${name}`, now);
  }

  /** How many addresses and names are remembered (for tests of the memory bound). */
  get size(): { addresses: number; names: number } {
    return { addresses: this.#addresses.size, names: this.#names.size };
  }

  #wait(map: Map<string, Failures>, key: string, limits: BackoffLimits, now: number): number {
    const record = map.get(key);
    if (!record) return 0;
    if (now - record.last >= this.#limits.forgetMs) {
      map.delete(key);
      return 0;
    }
    const over = record.count - limits.free;
    if (over <= 0) return 0;
    // 2^over overflows to Infinity long before it matters; min() caps it.
    const delay = Math.min(limits.maxMs, limits.baseMs * 2 ** (over - 1));
    return Math.max(0, record.last + delay - now);
  }

  #count(map: Map<string, Failures>, key: string, now: number): void {
    const record = map.get(key);
    if (record && now - record.last < this.#limits.forgetMs) {
      record.count++;
      record.last = now;
      return;
    }
    if (!record && map.size >= this.#memory) this.#prune(map, now);
    map.set(key, { count: 1, last: now });
  }

  /** Forgets keys quiet for `forgetMs`; if all are recent, lets the memory grow rather than rescan. */
  #prune(map: Map<string, Failures>, now: number): void {
    for (const [key, record] of map) {
      if (now - record.last >= this.#limits.forgetMs) map.delete(key);
    }
    if (map.size >= this.#memory) this.#memory *= 2;
  }
}
