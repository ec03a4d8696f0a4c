/**
 * Joining and resuming: who may register under which name.
 *
 * A name must be valid and free, unless the newcomer holds the `resume`
 * token of the connection that has it (a connection that was lost but not
 * yet noticed). Where accounts count, a name that has one needs its
 * password: the front end checks it (the hub never hashes) and says so.
 *
 * @module
 */

import { ChatError, errorMessage } from "./errors.ts";
import { ErrorCode } from "./events.ts";
import { checkName, takenMessage } from "./names.ts";
import type { Member } from "./room.ts";
import { cleanMessage } from "./sanitize.ts";
import type { AccountBook } from "./store.ts";

/**
 * Who needs a password: nobody (`off`, accounts are ignored), the owners of
 * names that have an account (`names`), or everyone, so that only account
 * holders get in (`required`).
 */
export type AuthMode = "off" | "names" | "required";

/** A registration that may go ahead: the checked name, and the member it takes over, if any. */
export interface Admission {
  /** The name as checked (NFC, trimmed). */
  name: string;
  /** The member whose `resume` token the newcomer holds; it is replaced, not joined. */
  holder: Member | undefined;
}

/** Settings of {@link Registration}. */
export interface RegistrationOptions {
  /** Which names need a password; anything but "off" needs a `store`. @default "off" */
  auth?: AuthMode;
  /** Where accounts are looked up. */
  store: Pick<AccountBook, "getUser"> | null;
  /** The member registered under a name (compared by its key), if any. */
  find: (name: string) => Member | undefined;
  /** Receives one line per refusal or failed look-up, for the operator. */
  log: (line: string) => void;
}

/** The rules of registering: names, resume tokens and account passwords. */
export class Registration {
  /** Which names need a password. */
  readonly auth: AuthMode;
  #store: Pick<AccountBook, "getUser"> | null;
  #find: (name: string) => Member | undefined;
  #log: (line: string) => void;

  /**
   * Rules over the members that `find` finds.
   *
   * @throws {TypeError} when `auth` is not "off" but there is no `store`.
   */
  constructor(options: RegistrationOptions) {
    this.#store = options.store;
    this.auth = options.auth ?? "off";
    if (this.auth !== "off" && !this.#store) {
      throw new TypeError(`Accounts (auth "${this.auth}") need a store`);
    }
    this.#find = options.find;
    this.#log = options.log;
  }

  /** The member registered under `name`, if any. */
  find(name: string): Member | undefined {
    return this.#find(name);
  }

  /**
   * Whether `name` needs its account password to register: always where
   * only account holders get in (`auth: "required"`), when the name has an
   * account with `auth: "names"`, never with `auth: "off"`. When the store
   * cannot be read, it does (a name is not handed out unchecked).
   */
  needsPassword(name: string): boolean {
    if (this.auth === "off") return false;
    if (this.auth === "required") return true;
    try {
      return this.#store?.getUser(name.trim()) !== undefined;
    } catch (error) {
      this.#log(`cannot look up the account ${cleanName(name)}: ${errorMessage(error)}`);
      return true;
    }
  }

  /**
   * Whether a `hello` with this `resume` token would take `name` back. The
   * token was issued to a connection that got in (with its password, if it
   * needed one), so the front end need not ask for the password again; the
   * resumed member keeps the account flag of the one it replaces.
   */
  canResume(name: string, token: string | undefined): boolean {
    if (!token) return false;
    const checked = checkName(name);
    if (!checked.ok) return false;
    const holder = this.#find(checked.name);
    return holder !== undefined && sameSecret(token, holder.resume);
  }

  /**
   * Checks that `name` may register from `peer` (for the log): it is valid,
   * its password was checked when it needs one, and it is free or taken back
   * with its `resume` token. Whether the hub has room is the hub's to say.
   *
   * @throws {ChatError} `name_invalid`, `password_required` or `name_taken`.
   */
  admit(
    name: string,
    origin: { resume?: string; account?: boolean },
    peer: string,
  ): Admission {
    const checked = checkName(name);
    if (!checked.ok) {
      this.#log(`refused name from ${peer}: ${checked.reason}`);
      throw new ChatError(ErrorCode.NameInvalid, checked.reason);
    }
    const found = this.#find(checked.name);
    const holder = found && origin.resume && sameSecret(origin.resume, found.resume)
      ? found
      : undefined;
    if (!origin.account && !holder && this.needsPassword(checked.name)) {
      this.#log(`refused ${checked.name} from ${peer}: no password`);
      throw new ChatError(
        ErrorCode.PasswordRequired,
        this.auth === "required"
          ? "This server admits account holders only: give your name and password"
          : `The name ${checked.name} belongs to an account: give its password`,
      );
    }
    if (found && !holder) {
      this.#log(`refused name ${checked.name} from ${peer}: taken`);
      throw new ChatError(ErrorCode.NameTaken, takenMessage(checked.name, found.name));
    }
    return { name: checked.name, holder };
  }

  /**
   * The name an account holder is shown by: the account's, as registered
   * (`bob` logs in as `Bob`), or `name` when that cannot be read.
   */
  accountName(name: string, account: boolean): string {
    if (!account || !this.#store) return name;
    try {
      return this.#store.getUser(name)?.name ?? name;
    } catch (error) {
      this.#log(`cannot look up the account ${name}: ${errorMessage(error)}`);
      return name;
    }
  }
}

/** A name someone typed, safe and short enough for the log. */
function cleanName(name: string): string {
  return [...cleanMessage(name)].slice(0, 40).join("");
}

/** Compares two secrets in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
