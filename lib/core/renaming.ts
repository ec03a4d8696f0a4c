/**
 * Renaming: which new name a user may take. The name rules of registering
 * hold, and where accounts count, names stay with their accounts.
 *
 * @module
 */

import { banMessage } from "./bans.ts";
import { ChatError } from "./errors.ts";
import { ErrorCode } from "./events.ts";
import { checkName, takenMessage } from "./names.ts";
import type { Registration } from "./registration.ts";
import type { Member } from "./room.ts";
import type { StoredBan } from "./store.ts";

/** What a rename is checked against: the account rules and who holds which name. */
export type RenameRules = Pick<Registration, "auth" | "find" | "needsPassword">;

/**
 * The name `member` may change to: `name`, checked. Where accounts count,
 * an account holder's name is their account's and stays, and nobody takes
 * a name that has an account. A banned name (or a look-alike of it: `banned`
 * finds bans by name key) is refused as registering under it is, with the
 * same words.
 *
 * @throws {ChatError} `not_allowed`, `name_invalid`, `name_taken`, `banned`
 * or `bad_arguments` (the name they have already).
 */
export function checkRename(
  member: Member,
  name: string,
  rules: RenameRules,
  banned: (name: string) => StoredBan | undefined = () => undefined,
): string {
  if (rules.auth === "required" || (rules.auth !== "off" && member.account)) {
    throw new ChatError(
      ErrorCode.NotAllowed,
      "Your name is your account here; it cannot change",
    );
  }
  const checked = checkName(name);
  if (!checked.ok) throw new ChatError(ErrorCode.NameInvalid, checked.reason);
  const holder = rules.find(checked.name);
  if (holder && holder !== member) {
    throw new ChatError(ErrorCode.NameTaken, takenMessage(checked.name, holder.name));
  }
  if (checked.name === member.name) {
    throw new ChatError(ErrorCode.BadArguments, `You are already called ${member.name}`);
  }
  const ban = banned(checked.name);
  if (ban) throw new ChatError(ErrorCode.Banned, banMessage(ban));
  if (rules.needsPassword(checked.name)) {
    throw new ChatError(
      ErrorCode.NameTaken,
      `The name ${checked.name} belongs to an account; only its owner can use it`,
    );
  }
  return checked.name;
}
