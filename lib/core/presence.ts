/**
 * Presence, for the hub: being away (`away.ts`), ignoring (`ignoring.ts`)
 * with the lists of account holders kept in the store, and `/whois`
 * (`whois.ts`). The hub finds the members; this decides what they are told
 * and what is kept.
 *
 * @module
 */

import { setAway } from "./away.ts";
import { errorMessage } from "./errors.ts";
import { IgnoreList } from "./ignore_list.ts";
import { followRename, ignore, ignoringEvent, unignore } from "./ignoring.ts";
import { nameKey } from "./names.ts";
import type { Member } from "./room.ts";
import { cleanMessage } from "./sanitize.ts";
import type { AccountBook, IgnoreBook } from "./store.ts";
import { whois } from "./whois.ts";

/** Settings of {@link Presence}. */
export interface PresenceOptions {
  /** Accounts, and the ignore lists kept with them; null keeps lists for the session only. */
  store: (Pick<AccountBook, "getUser"> & Partial<IgnoreBook>) | null;
  /** The member online under a name, if any. */
  find: (name: string) => Member | undefined;
  /** Everyone online. */
  members: () => Iterable<Member>;
  /** The clock, in ms since the epoch. */
  now: () => number;
  /** Receives one line per failure of the store, for the operator. */
  log: (line: string) => void;
}

/** Away, ignoring and whois, for the members of one hub. */
export class Presence {
  #options: PresenceOptions;

  /** Presence over `options.store`. */
  constructor(options: PresenceOptions) {
    this.#options = options;
  }

  /**
   * Sets up a newly registered `member`: a resumed connection keeps what
   * the one it replaces had (`holder`); an account holder gets the ignore
   * list kept with the account.
   */
  arrived(member: Member, holder: Member | undefined): void {
    if (holder) {
      member.since = holder.since;
      member.active = holder.active;
      member.away = holder.away;
      member.ignoring = holder.ignoring;
    } else if (member.account) {
      member.ignoring = this.#ignoredBy(member);
    }
  }

  /** `/away [text]`, see {@link setAway}. */
  away(member: Member, text: string): void {
    setAway(member, text, this.#options.now());
  }

  /** `/ignore NAME`, see {@link ignore}; kept with an account. */
  ignore(member: Member, name: string): void {
    if (ignore(member, name, (typed) => this.#options.find(typed)?.name)) this.#keep(member);
  }

  /** `/unignore NAME`, see {@link unignore}; kept with an account. */
  unignore(member: Member, name: string): void {
    if (unignore(member, name)) this.#keep(member);
  }

  /** `/ignore` alone: tells the member whom they ignore. */
  list(member: Member): void {
    member.sink.send(ignoringEvent(member.ignoring));
  }

  /** `member` was called `old`: those who ignored that name ignore the new one too. */
  renamed(member: Member, old: string): void {
    // Nobody ignores themselves (ignore() refuses it): a name they ignored and now bear goes
    // from their list, or they would no longer see the echo of what they say.
    if (member.ignoring?.remove(member.key) !== undefined) {
      if (member.ignoring.size === 0) member.ignoring = null;
      this.#keep(member);
    }
    const oldKey = nameKey(old);
    for (const other of this.#options.members()) {
      if (followRename(other, oldKey, member.name)) this.#keep(other);
    }
  }

  /** `/whois NAME`, see {@link whois}. */
  whois(member: Member, name: string): void {
    member.sink.send(whois(member, name, {
      find: this.#options.find,
      account: (typed) => this.#accountName(typed),
      now: this.#options.now(),
    }));
  }

  /** The name of the account `name` belongs to, if any (none without a store, or when it fails). */
  #accountName(name: string): string | undefined {
    try {
      return this.#options.store?.getUser(name)?.name;
    } catch (error) {
      const shown = [...cleanMessage(name)].slice(0, 40).join("");
      this.#options.log(`cannot look up the account ${shown}: ${errorMessage(error)}`);
      return undefined;
    }
  }

  /** The ignore list kept with `member`'s account; null when none (or it cannot be read). */
  #ignoredBy(member: Member): IgnoreList | null {
    const store = this.#options.store;
    if (!store?.ignoredBy) return null;
    try {
      const list = new IgnoreList(store.ignoredBy(member.name));
      return list.size > 0 ? list : null;
    } catch (error) {
      this.#options.log(`cannot read whom ${member.name} ignores: ${errorMessage(error)}`);
      return null;
    }
  }

  /** Keeps an account holder's ignore list with the account; they hear when it cannot be. */
  #keep(member: Member): void {
    const store = this.#options.store;
    if (!member.account || !store?.setIgnored) return;
    try {
      store.setIgnored(member.name, member.ignoring?.names() ?? []);
    } catch (error) {
      this.#options.log(`cannot store whom ${member.name} ignores: ${errorMessage(error)}`);
      member.sink.send({
        type: "info",
        text: "The server could not keep this with your account: it holds for this session only",
      });
    }
  }
}
