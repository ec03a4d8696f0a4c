/**
 * Being away: a member says they are not at the keyboard (`/away gone for
 * lunch`), and says so no more with `/away` alone or `/back`.
 *
 * Who is away shows in `/who` (the `away` list of `users`) and `/whois`;
 * someone who sends them a private message is told (an `away` event with
 * the message, as IRC's 301 reply). Setting it and ending it is confirmed
 * to the member alone: the room is not told, as on IRC.
 *
 * @module
 */

import { ChatError } from "./errors.ts";
import { type AwayEvent, ErrorCode } from "./events.ts";
import type { Member } from "./room.ts";
import { cleanMessage, codePointLength } from "./sanitize.ts";

/** Longest away message, in code points. */
export const MAX_AWAY_LENGTH = 200;

/**
 * Marks `member` away with `text`, or back when `text` is blank, and
 * confirms it to them.
 *
 * @throws {ChatError} `message_too_long`.
 */
export function setAway(member: Member, text: string, now: number): void {
  const clean = cleanMessage(text).trim();
  const length = codePointLength(clean);
  if (length > MAX_AWAY_LENGTH) {
    throw new ChatError(
      ErrorCode.MessageTooLong,
      `Away message not set: ${length} characters, the limit is ${MAX_AWAY_LENGTH}`,
    );
  }
  member.away = clean ? { text: clean, since: now } : null;
  member.sink.send(awayEvent(member));
}

/** The `away` event that says whether `member` is away (with `text` and `since`) or back. */
export function awayEvent(member: Member): AwayEvent {
  const away = member.away;
  return away
    ? { type: "away", name: member.name, text: away.text, since: away.since }
    : { type: "away", name: member.name };
}

/** The names of `members` who are away, in their order. */
export function awayNames(members: Iterable<Member>): string[] {
  const names: string[] = [];
  for (const member of members) if (member.away) names.push(member.name);
  return names;
}
