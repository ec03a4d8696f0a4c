/**
 * Ignoring: what someone says stops reaching the one who ignores them.
 *
 * A member ignores names (`/ignore Bob`), compared by their {@link nameKey}
 * (so `B0B` ignores `Bob`), online or not. Their room messages, `/me`
 * actions and private messages are not delivered to the one who ignores
 * them, nor shown in history or among the private messages kept for an
 * account; joins, leaves and renames still are. The ignored person is not
 * told, and a private message to someone who ignores them gets its usual
 * receipt: nothing leaks that they are ignored. Someone ignored who changes
 * their name is ignored under the new one too. An account holder's list is
 * kept with the account (the store's `IgnoreBook`), for the next login.
 *
 * Delivery decides per recipient: a member who ignores nobody has no list
 * (`null`), so a room's fan-out costs one property test per member.
 *
 * @module
 */

import { ChatError } from "./errors.ts";
import { ErrorCode, type IgnoringEvent } from "./events.ts";
import { IgnoreList, MAX_IGNORED } from "./ignore_list.ts";
import { checkName, nameKey } from "./names.ts";
import type { Member } from "./room.ts";
import { stripUnsafe } from "./sanitize.ts";

/** Whether `member` ignores the name `from` (what they say is not delivered to them). */
export function ignores(member: Member, from: string): boolean {
  return member.ignoring !== null && member.ignoring.hasKey(nameKey(from));
}

/**
 * `/ignore NAME`: `member` stops seeing what `name` says; returns whether
 * the list changed (it needs keeping). `online` gives the name as someone
 * online writes it, kept rather than as typed.
 *
 * @throws {ChatError} `name_invalid` (not a name, or their own) or
 * `bad_arguments` when the list is full.
 */
export function ignore(
  member: Member,
  name: string,
  online: (name: string) => string | undefined = () => undefined,
): boolean {
  const typed = name.trim().replace(/^@/, "");
  const checked = checkName(typed);
  if (!checked.ok) {
    throw new ChatError(ErrorCode.NameInvalid, `${shown(typed)} is not a name: ${checked.reason}`);
  }
  if (nameKey(checked.name) === member.key) {
    throw new ChatError(ErrorCode.NameInvalid, "You cannot ignore yourself");
  }
  const list = member.ignoring ?? new IgnoreList();
  if (list.hasKey(nameKey(checked.name))) {
    member.sink.send(ignoringEvent(list));
    return false;
  }
  if (list.size >= MAX_IGNORED) {
    throw new ChatError(
      ErrorCode.BadArguments,
      `You ignore ${MAX_IGNORED} names, the most one may; /unignore one first`,
    );
  }
  const added = online(checked.name) ?? checked.name;
  list.add(added);
  member.ignoring = list;
  member.sink.send(ignoringEvent(list, { added }));
  return true;
}

/**
 * `/unignore NAME`: `member` sees what `name` says again; returns whether
 * the list changed.
 *
 * @throws {ChatError} `no_such_user` when they did not ignore that name.
 */
export function unignore(member: Member, name: string): boolean {
  const typed = name.trim().replace(/^@/, "");
  const removed = member.ignoring?.remove(nameKey(typed));
  if (removed === undefined) {
    throw new ChatError(ErrorCode.NoSuchUser, `You do not ignore ${shown(typed)}`);
  }
  if (member.ignoring?.size === 0) member.ignoring = null;
  member.sink.send(ignoringEvent(member.ignoring, { removed }));
  return true;
}

/**
 * After a rename from `oldKey` to `next`: when `member` ignores the old
 * name, they ignore the new one too (a new name is no way out of it), room
 * permitting; returns whether their list changed.
 */
export function followRename(member: Member, oldKey: string, next: string): boolean {
  const list = member.ignoring;
  if (!list?.hasKey(oldKey) || list.hasKey(nameKey(next)) || list.size >= MAX_IGNORED) return false;
  return list.add(next);
}

/** The `ignoring` event: whom `list` ignores, and what just changed. */
export function ignoringEvent(
  list: IgnoreList | null,
  change: { added?: string; removed?: string } = {},
): IgnoringEvent {
  return { type: "ignoring", names: list?.names() ?? [], ...change };
}

/** A name someone typed, short and safe to echo. */
function shown(typed: string): string {
  return [...stripUnsafe(typed)].slice(0, 40).join("");
}
