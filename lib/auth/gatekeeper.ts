/**
 * Logging in to an account: the server's side of a password check.
 *
 * The {@link Gatekeeper} stands between a session and the password hashes.
 * It asks the {@link LoginThrottle} before any hashing, so guessing costs
 * the guesser time and the server nothing; it checks the password in
 * constant time (an unknown name against a stand-in hash, so the time taken
 * does not tell which names exist); and it caps how many checks run at once,
 * because each takes 32 MiB and about 100 ms of a thread: a crowd logging in
 * at once waits a moment in a short queue, and past that is told the server
 * is busy, instead of the server running out of memory.
 *
 * A good login with a hash made with weaker parameters than today's is
 * rehashed and stored, in the background, holding its place among the
 * checks.
 *
 * Like the hub, this module has no sockets; it reads and writes accounts
 * through the core's account port ({@link AccountBook}).
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import { ErrorCode } from "../core/events.ts";
import { nameKey } from "../core/names.ts";
import {
  DEFAULT_THROTTLE,
  hashPassword,
  LoginThrottle,
  MAX_PASSWORD_LENGTH,
  needsRehash,
  SCRYPT_PARAMS,
  type ScryptParams,
  type ThrottleLimits,
  verifyPassword,
} from "./passwords.ts";
import type { AccountBook } from "../core/store.ts";

/** The part of the store a gatekeeper uses: the accounts. */
export type AccountStore = AccountBook;

/**
 * Password checks running at once, at most: scrypt runs on the runtime's
 * thread pool, four threads by default, and each check holds 32 MiB.
 */
export const MAX_CONCURRENT_LOGINS = 4;

/**
 * Logins waiting for a check, at most: a class of thirty logging in at once
 * all wait (about a second), a script opening hundreds is told to come back.
 */
export const MAX_QUEUED_LOGINS = 64;

/**
 * Logins from one address running or waiting at once, at most: a class
 * behind one NAT logging in together waits its turn (clients retry when
 * told the server is busy), and one client cannot take every place.
 */
export const MAX_LOGINS_PER_ADDRESS = 4;

/** Longest name a login is checked for; no account has a longer one. */
const MAX_LOGIN_NAME = 64;

const BUSY: LoginVerdict = {
  ok: false,
  code: ErrorCode.Busy,
  message: "The server is busy checking passwords; try again in a moment",
};

/** How the server admits account holders; see the hub's AuthMode. */
export type LoginMode = "names" | "required";

/** Settings of a {@link Gatekeeper}. */
export interface GatekeeperOptions {
  /** Where the accounts are. */
  store: AccountStore;
  /**
   * "names": only registered names need a password, and a refusal names the
   * account. "required": everyone needs one, and a refusal never says whether
   * the name exists.
   */
  mode: LoginMode;
  /** Receives one line per refused login and per problem, for the operator. */
  log?: (line: string) => void;
  /** The clock for the throttle, in milliseconds. @default Date.now */
  now?: () => number;
  /** How failed logins are slowed down. @default DEFAULT_THROTTLE */
  throttle?: ThrottleLimits;
  /** Checks running at once. @default MAX_CONCURRENT_LOGINS */
  maxConcurrent?: number;
  /** Logins waiting beyond those. @default MAX_QUEUED_LOGINS */
  maxQueued?: number;
  /** Checks a password against a stored hash (tests slow it down). @default verifyPassword */
  verify?: (password: string, stored: string | undefined) => Promise<boolean>;
  /** Parameters of the hash that replaces an outdated one. @default SCRYPT_PARAMS */
  rehashParams?: ScryptParams;
}

/** The answer to a login: in, or refused with a code and a sentence for a person. */
export type LoginVerdict = { ok: true } | { ok: false; code: ErrorCode; message: string };

/** Checks account passwords for the sessions of one server. */
export class Gatekeeper {
  #store: AccountStore;
  #mode: LoginMode;
  #log: (line: string) => void;
  #now: () => number;
  #throttle: LoginThrottle;
  #maxConcurrent: number;
  #maxQueued: number;
  #verify: (password: string, stored: string | undefined) => Promise<boolean>;
  #rehashParams: ScryptParams;
  #active = 0;
  #queue: (() => void)[] = [];
  /** Logins running or waiting, per address. */
  #perAddress = new Map<string, number>();
  #work = new Set<Promise<unknown>>();

  /** A gatekeeper for `options.store`'s accounts. */
  constructor(options: GatekeeperOptions) {
    this.#store = options.store;
    this.#mode = options.mode;
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? Date.now;
    this.#throttle = new LoginThrottle(options.throttle ?? DEFAULT_THROTTLE);
    this.#maxConcurrent = Math.max(1, options.maxConcurrent ?? MAX_CONCURRENT_LOGINS);
    this.#maxQueued = Math.max(0, options.maxQueued ?? MAX_QUEUED_LOGINS);
    this.#verify = options.verify ?? verifyPassword;
    this.#rehashParams = options.rehashParams ?? SCRYPT_PARAMS;
  }

  /** How the server admits account holders. */
  get mode(): LoginMode {
    return this.#mode;
  }

  /** Password checks (and rehashes) running now. */
  get active(): number {
    return this.#active;
  }

  /** Logins waiting for a check. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * What to tell someone who gave `name` without a password. In "names" mode
   * it names the account; in "required" mode it is the same for every name.
   */
  passwordRequired(name: string): string {
    if (this.#mode === "required") {
      return "This server admits account holders only: give your name and password";
    }
    return `The name ${this.#accountName(name)} belongs to an account: give its password`;
  }

  /**
   * Checks `password` for the account `name`, tried from `address` (an
   * address key, see addressKey). Never throws: every refusal is a verdict
   * whose message can be shown as it is.
   */
  async login(name: string, password: string, address: string): Promise<LoginVerdict> {
    const mine = this.#perAddress.get(address) ?? 0;
    if (mine >= MAX_LOGINS_PER_ADDRESS) return BUSY;
    this.#perAddress.set(address, mine + 1);
    try {
      return await this.#track(this.#login(name, password, address));
    } finally {
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(address, left);
      else this.#perAddress.delete(address);
    }
  }

  /** Resolves when no check or rehash is running or waiting (for shutdown and tests). */
  async settled(): Promise<void> {
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
  }

  async #login(name: string, password: string, address: string): Promise<LoginVerdict> {
    if (name.length > MAX_LOGIN_NAME) {
      // No such account, and no such key worth remembering: counted for the address only.
      this.#throttle.failed(address, "", this.#now());
      return this.#refusal();
    }
    const key = nameKey(name);
    // Asked before queueing too, so a throttled guess costs nothing at all.
    const early = this.#throttled(address, key);
    if (early) return early;
    if (this.#active >= this.#maxConcurrent && this.#queue.length >= this.#maxQueued) {
      this.#log(`login refused from ${address}: ${this.#active} checks running and the queue full`);
      return BUSY;
    }
    await this.#acquire();
    let rehashing = false;
    try {
      // Failures recorded while this one waited count too.
      const throttled = this.#throttled(address, key);
      if (throttled) return throttled;
      if (tooLong(password)) {
        // No stored password can be this long (see passwordProblem): wrong, and not worth hashing.
        return this.#failed(name, key, address, "password too long");
      }
      let user;
      try {
        user = this.#store.getUser(name);
      } catch (error) {
        this.#log(`login of ${quoted(name)} could not read the account: ${errorMessage(error)}`);
        return BUSY;
      }
      let good: boolean;
      try {
        good = await this.#verify(password, user?.hash);
      } catch (error) {
        this.#log(`login of ${quoted(name)} could not check the password: ${errorMessage(error)}`);
        good = false;
      }
      if (!good || !user) return this.#failed(name, key, address, "wrong password");
      this.#throttle.succeeded(address, key, this.#now());
      if (needsRehash(user.hash)) {
        rehashing = true;
        void this.#track(this.#rehash(user.name, password, user.hash));
      }
      return { ok: true };
    } finally {
      // A rehash keeps the place until it is done: it costs what a check costs.
      if (!rehashing) this.#release();
    }
  }

  /** Replaces an outdated hash; logs a failure, never throws. Releases its place when done. */
  async #rehash(name: string, password: string, old: string): Promise<void> {
    try {
      const hash = await hashPassword(password, this.#rehashParams);
      // The password may have been changed meanwhile (`chat user passwd`): keep that one.
      if (this.#store.getUser(name)?.hash !== old) return;
      if (this.#store.setPassword(name, hash)) this.#log(`rehashed the password of ${name}`);
    } catch (error) {
      this.#log(`could not rehash the password of ${name}: ${errorMessage(error)}`);
    } finally {
      this.#release();
    }
  }

  #failed(name: string, key: string, address: string, why: string): LoginVerdict {
    this.#throttle.failed(address, key, this.#now());
    this.#log(`login refused for ${quoted(name)} from ${address}: ${why}`);
    return this.#refusal(name);
  }

  /** A wrong password, said so that "required" mode never tells whether the name exists. */
  #refusal(name?: string): LoginVerdict {
    const message = this.#mode === "required" || name === undefined
      ? "Wrong name or password"
      : `Wrong password for ${this.#accountName(name)}`;
    return { ok: false, code: ErrorCode.WrongPassword, message };
  }

  #throttled(address: string, key: string): LoginVerdict | null {
    const verdict = this.#throttle.check(address, key, this.#now());
    if (verdict.ok) return null;
    const seconds = Math.ceil(verdict.retryAfterMs / 1000);
    this.#log(`login throttled from ${address}: wait ${seconds} s`);
    return {
      ok: false,
      code: ErrorCode.Throttled,
      message: `Too many failed logins; try again in ${seconds} second${seconds === 1 ? "" : "s"}`,
    };
  }

  /** The account's name as registered, or `name` as given when it cannot be read. */
  #accountName(name: string): string {
    try {
      return this.#store.getUser(name)?.name ?? name;
    } catch {
      return name;
    }
  }

  #acquire(): Promise<void> {
    if (this.#active < this.#maxConcurrent) {
      this.#active++;
      return Promise.resolve();
    }
    // The place is handed over by #release, so #active stays counted.
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#active--;
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#work.add(promise);
    promise.finally(() => this.#work.delete(promise)).catch(() => {});
    return promise;
  }
}

/** Whether `password` is longer than any password can be, counted in characters. */
function tooLong(password: string): boolean {
  // Each character is one or two UTF-16 units: skip the count when the length decides.
  if (password.length <= MAX_PASSWORD_LENGTH) return false;
  if (password.length > 2 * MAX_PASSWORD_LENGTH) return true;
  return [...password.normalize("NFC")].length > MAX_PASSWORD_LENGTH;
}

/** A name as the log shows it: quoted and escaped, since it may be anything a peer sent. */
function quoted(name: string): string {
  return JSON.stringify(name.length > 40 ? name.slice(0, 40) + "…" : name);
}
