/**
 * `/whois NAME`: what one may know of someone. Online: since when they are
 * here, how long since they last said something, whether they are away
 * (and their message), whether the name is an account, and which of their
 * rooms the asker may know of: public ones, and private ones the asker is
 * in too (operators marked). Offline: only whether the name is an account.
 *
 * Enough for an IRC front end's WHOIS replies (311, 312, 317, 318, 319, 301).
 *
 * @module
 */

import { ChatError } from "./errors.ts";
import { ErrorCode, type WhoisEvent } from "./events.ts";
import type { Member } from "./room.ts";
import { stripUnsafe } from "./sanitize.ts";

/** What a whois needs of the hub. */
export interface WhoisSources {
  /** The member online under a name, if any. */
  find: (name: string) => Member | undefined;
  /** The name of the account `name` belongs to (as registered), if any. */
  account: (name: string) => string | undefined;
  /** The time now, in ms since the epoch. */
  now: number;
}

/**
 * The `whois` event that tells `asker` about `name`.
 *
 * @throws {ChatError} `no_such_user` when nobody has that name online and
 * it is no account.
 */
export function whois(asker: Member, name: string, sources: WhoisSources): WhoisEvent {
  const typed = name.trim().replace(/^@/, "");
  const target = sources.find(typed);
  if (!target) {
    const account = typed ? sources.account(typed) : undefined;
    if (account === undefined) {
      const shown = [...stripUnsafe(typed)].slice(0, 40).join("");
      throw new ChatError(ErrorCode.NoSuchUser, `Nobody called ${shown} is here`);
    }
    return { type: "whois", name: account, online: false, account: true };
  }
  const rooms: string[] = [];
  const ops: string[] = [];
  for (const room of target.rooms) {
    if (room.private && !room.has(asker)) continue;
    rooms.push(room.name);
    if (room.isOp(target)) ops.push(room.name);
  }
  const account = target.account || sources.account(target.name) !== undefined;
  return {
    type: "whois",
    name: target.name,
    online: true,
    ...(account ? { account: true as const } : {}),
    since: target.since,
    idle: Math.max(0, sources.now - target.active),
    ...(target.away ? { away: target.away.text, awaySince: target.away.since } : {}),
    rooms,
    ...(ops.length > 0 ? { ops } : {}),
  };
}
