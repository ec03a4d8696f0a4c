/**
 * A hub for tests of delivery in the core: no flood or churn control, a
 * clock stopped at {@link T0}, and users whose events land in an {@link Inbox}.
 *
 * @module
 */

import { Hub, type HubOptions, type Origin } from "../lib/core/hub.ts";
import type { Member } from "../lib/core/room.ts";
import { Inbox } from "./_inbox.ts";

/** The time the hub's clock shows, unless `options.now` says otherwise. */
export const T0 = Date.UTC(2026, 11, 6, 22, 0);

/** A registered user and what they were sent. */
export interface TestUser {
  member: Member;
  inbox: Inbox;
}

/** A hub with `options`, and `join(name, origin)`: registers a user with an inbox. */
export function deliveryHub(
  options: HubOptions = {},
): { hub: Hub; join: (name: string, origin?: Origin) => TestUser } {
  const hub = new Hub({ flood: null, churn: null, now: () => T0, ...options });
  const join = (name: string, origin: Origin = {}): TestUser => {
    const inbox = new Inbox();
    const member = hub.register(name, inbox, { peer: "127.0.0.1:1", ...origin });
    return { member, inbox };
  };
  return { hub, join };
}
