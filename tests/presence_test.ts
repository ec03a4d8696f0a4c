/**
 * The rules of `/away`, `/ignore` and `/whois` in the core: who is told
 * what, what an ignored person's words reach, what `/whois` reveals of
 * rooms, and an account's ignore list kept in a store. Hub and Inbox only:
 * no sockets.
 *
 * Commands go through `handleLine`, as people type them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Hub, type HubOptions } from "../lib/core/hub.ts";
import type { ChatEvent } from "../lib/core/events.ts";
import { MAX_IGNORED } from "../lib/core/ignore_list.ts";
import type { Member } from "../lib/core/room.ts";
import { MAX_PAGE_READS } from "../lib/core/room_history.ts";
import { Store } from "../lib/store/sqlite_store.ts";
import { until } from "./_helpers.ts";
import { Inbox } from "./_inbox.ts";

const T0 = Date.UTC(2026, 11, 6, 12, 0);

function setUp(options: HubOptions = {}) {
  let now = T0;
  const hub = new Hub({ flood: null, churn: null, now: () => now, ...options });
  const inboxes: Inbox[] = [];
  // Each starts with an empty inbox, and nobody keeps the news of a join.
  const join = (name: string, account = false) => {
    const inbox = new Inbox();
    const member = hub.register(name, inbox, {
      peer: "127.0.0.1:1",
      address: "127.0.0.1",
      account,
    });
    inboxes.push(inbox);
    for (const each of inboxes) each.clear();
    return { member, inbox, name, type: (line: string) => hub.handleLine(member, line) };
  };
  return { hub, join, later: (ms: number) => now += ms };
}

type User = { member: Member; inbox: Inbox };

/** What `user` got, as `type: detail` strings, and forgets it. */
function got(user: User): string[] {
  const lines = user.inbox.events.map(describe);
  user.inbox.clear();
  return lines;
}

function describe(event: ChatEvent): string {
  switch (event.type) {
    case "message":
      return `message ${event.from}: ${event.text}`;
    case "private":
      return `private ${event.from} -> ${event.to}: ${event.text}`;
    case "error":
      return `error ${event.code}`;
    case "history":
      return `history ${event.messages.map((m) => m.text).join(" | ")}`;
    case "missed":
      return `missed ${event.messages.map((m) => m.text).join(" | ")}`;
    default:
      return event.type;
  }
}

Deno.test("/away sets a message confirmed to the member alone; /back and /away alone end it", () => {
  const { join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  ann.type("/away  gone for lunch ");
  assert.deepEqual(ann.inbox.events, [
    { type: "away", name: "Ann", text: "gone for lunch", since: T0 },
  ]);
  assert.deepEqual(bob.inbox.events, [], "the room is not told");
  ann.inbox.clear();
  ann.type("/back");
  assert.deepEqual(ann.inbox.events, [{ type: "away", name: "Ann" }]);
  ann.inbox.clear();
  ann.type("/away lunch");
  ann.type("/away");
  assert.deepEqual(ann.inbox.events.at(-1), { type: "away", name: "Ann" });
  assert.equal(ann.member.away, null);
});

Deno.test("/who marks who is away, in any room", () => {
  const { join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  bob.type("/away lunch");
  ann.type("/who");
  assert.deepEqual(ann.inbox.last(), {
    type: "users",
    room: "lobby",
    names: ["Ann", "Bob"],
    away: ["Bob"],
  });
  ann.type("/join #team");
  bob.type("/join #team");
  ann.inbox.clear();
  ann.type("/who #team");
  assert.deepEqual(ann.inbox.last(), {
    type: "users",
    room: "team",
    names: ["Ann", "Bob"],
    ops: ["Ann"],
    away: ["Bob"],
  });
  bob.type("/back");
  ann.type("/who");
  const users = ann.inbox.last();
  assert.ok(users?.type === "users" && users.away === undefined, "nobody away: no list");
});

Deno.test("a private message to someone away is delivered, and its sender reads the away message", () => {
  const { join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  bob.type("/away in a meeting");
  bob.inbox.clear();
  ann.type("/msg Bob are you there?");
  assert.deepEqual(got(bob), ["private Ann -> Bob: are you there?"]);
  assert.deepEqual(ann.inbox.events.map((e) => e.type), ["private", "away"]);
  assert.deepEqual(ann.inbox.last(), {
    type: "away",
    name: "Bob",
    text: "in a meeting",
    since: T0,
  });
});

Deno.test("an away message is cleaned and has a limit", () => {
  const { join } = setUp();
  const ann = join("Ann");
  ann.type(`/away ${"x".repeat(201)}`);
  assert.deepEqual(got(ann), ["error message_too_long"]);
  assert.equal(ann.member.away, null);
  ann.type("/away \x1b[31mred\x07");
  const away = ann.inbox.last();
  assert.ok(away?.type === "away" && away.text === "red", JSON.stringify(away));
});

Deno.test("/ignore hides room messages, /me and private messages from the one who ignores, and the other is not told", () => {
  const { join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  const cy = join("Cy");
  ann.type("/ignore bob");
  assert.deepEqual(ann.inbox.events, [{ type: "ignoring", names: ["Bob"], added: "Bob" }]);
  ann.inbox.clear();
  bob.type("hello all");
  bob.type("/me waves");
  bob.type("/msg Ann psst");
  assert.deepEqual(got(ann), [], "Ann sees none of it");
  assert.deepEqual(got(cy), ["message Bob: hello all", "message Bob: waves"]);
  assert.deepEqual(
    got(bob),
    ["message Bob: hello all", "message Bob: waves", "private Bob -> Ann: psst"],
    "Bob's receipts are as usual: nothing tells him",
  );
  cy.type("still here");
  assert.deepEqual(got(ann), ["message Cy: still here"], "others still reach Ann");
  ann.type("/unignore BOB");
  assert.deepEqual(ann.inbox.events, [{ type: "ignoring", names: [], removed: "Bob" }]);
  ann.inbox.clear();
  bob.type("back again");
  assert.deepEqual(got(ann), ["message Bob: back again"]);
  assert.equal(ann.member.ignoring, null, "an empty list costs delivery nothing");
});

Deno.test("/ignore works by name key: look-alikes, names not online, and a later comer", () => {
  const { join } = setUp();
  const ann = join("Ann");
  ann.type("/ignore B0B");
  ann.type("/ignore @Eve");
  ann.type("/ignore");
  assert.deepEqual(ann.inbox.last(), { type: "ignoring", names: ["B0B", "Eve"] });
  ann.inbox.clear();
  const bob = join("Bob");
  bob.type("hi Ann");
  bob.type("/msg Ann hi");
  assert.deepEqual(got(ann), [], "not what he says");
  ann.type("/ignore bob");
  assert.deepEqual(ann.inbox.events, [{ type: "ignoring", names: ["B0B", "Eve"] }], "already");
});

Deno.test("/ignore refuses yourself, what is no name, a full list, and /unignore a name not ignored", () => {
  const { join } = setUp();
  const ann = join("Ann");
  ann.type("/ignore ANN");
  ann.type("/ignore no/such");
  ann.type("/unignore Bob");
  ann.type("/unignore");
  assert.deepEqual(got(ann), [
    "error name_invalid",
    "error name_invalid",
    "error no_such_user",
    "error bad_arguments",
  ]);
  for (let i = 0; i < MAX_IGNORED; i++) ann.type(`/ignore user${i}x`);
  ann.inbox.clear();
  ann.type("/ignore onemore");
  const refused = ann.inbox.last();
  assert.ok(refused?.type === "error" && refused.message.includes(`${MAX_IGNORED}`));
  assert.equal(ann.member.ignoring?.size, MAX_IGNORED);
});

Deno.test("someone ignored who changes their name is ignored under the new one too", () => {
  const { join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  ann.type("/ignore Bob");
  bob.type("/nick Robert");
  ann.inbox.clear();
  bob.type("you cannot escape me");
  bob.type("/msg Ann nor here");
  assert.deepEqual(got(ann), []);
  assert.deepEqual(ann.member.ignoring?.names(), ["Bob", "Robert"]);
});

Deno.test("history shown to someone leaves out the names they ignore", () => {
  const { join } = setUp({ history: 10 });
  const ann = join("Ann");
  const bob = join("Bob");
  ann.type("first");
  bob.type("second");
  ann.type("third");
  const cy = join("Cy");
  cy.type("/ignore Ann");
  cy.inbox.clear();
  cy.type("/history");
  assert.deepEqual(got(cy), ["history second"]);
});

Deno.test("a history page reads past the names one ignores: full while there is more, empty only at the start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-presence-" });
  const store = Store.open(dir);
  try {
    for (const options of [{ history: 50 }, { store }]) {
      const { hub, join } = setUp(options);
      const ann = join("Ann");
      const bob = join("Bob");
      const cy = join("Cy");
      cy.type("first from Cy");
      cy.type("second from Cy");
      for (let i = 0; i < 7; i++) bob.type(`bob ${i}`);
      // A store sends each message once its group is written: then it is in the history.
      await until(() => bob.inbox.of("message").length === 9, "Bob's echoes");
      ann.type("/ignore Bob");
      ann.inbox.clear();
      hub.history(ann.member, 5);
      assert.deepEqual(got(ann), ["history first from Cy | second from Cy"], "two pages deep");
      hub.history(ann.member, 3);
      assert.deepEqual(got(ann), ["history first from Cy | second from Cy"], "three reads");
      hub.history(ann.member, 5, 1);
      assert.deepEqual(got(ann), ["history "], "nothing before the first message");
    }
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a history page stops reading past ignored names after a few pages, and says where to go on", () => {
  const { hub, join } = setUp({ history: 1000 });
  const ann = join("Ann");
  const bob = join("Bob");
  ann.type("the start");
  for (let i = 0; i < 30; i++) bob.type(`bob ${i}`);
  ann.type("/ignore Bob");
  ann.inbox.clear();
  hub.history(ann.member, 5);
  const [page] = ann.inbox.of("history");
  assert.deepEqual(page.messages, []);
  const bobs = bob.inbox.of("message").map((m) => m.id);
  assert.equal(page.before, bobs.at(-25), `MAX_PAGE_READS (${MAX_PAGE_READS}) pages of 5 read`);
  ann.inbox.clear();
  hub.history(ann.member, 5, page.before);
  const [next] = ann.inbox.of("history");
  assert.deepEqual(next.messages.map((m) => m.text), ["the start"]);
  assert.equal(next.before, undefined);
});

Deno.test("/ignore holds across a resumed connection", () => {
  const { hub, join } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  ann.type("/ignore Bob");
  ann.type("/away lunch");
  const inbox = new Inbox();
  const again = hub.register("Ann", inbox, { resume: ann.member.resume });
  bob.type("are you there?");
  assert.ok(!inbox.events.some((e) => e.type === "message"), "still ignored");
  assert.equal(again.away?.text, "lunch", "still away");
});

Deno.test("/whois tells since when, idle time, away, and the rooms one may know of", () => {
  const { join, later } = setUp();
  const ann = join("Ann");
  const bob = join("Bob");
  bob.type("/join #secret");
  bob.type("/private");
  bob.type("/join #open");
  bob.type("/join #shared");
  bob.type("/private");
  bob.type("/invite Ann");
  ann.type("/join #shared");
  later(60_000);
  bob.type("said something");
  later(5 * 60_000);
  bob.type("/away lunch");
  ann.inbox.clear();
  ann.type("/whois bob");
  assert.deepEqual(ann.inbox.events, [{
    type: "whois",
    name: "Bob",
    online: true,
    since: T0,
    idle: 5 * 60_000,
    away: "lunch",
    awaySince: T0 + 6 * 60_000,
    rooms: ["lobby", "open", "shared"],
    ops: ["open", "shared"],
  }], "not #secret: private, and Ann is not in it");
  ann.inbox.clear();
  ann.type("/whois Nobody");
  ann.type("/whois");
  assert.deepEqual(got(ann), ["error no_such_user", "error bad_arguments"]);
});

Deno.test("/whois of an account says so, online or not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-presence-" });
  const store = Store.open(dir);
  try {
    store.addUser("Bob", "hash", T0);
    const { join } = setUp({ store, auth: "names" });
    const ann = join("Ann");
    ann.type("/whois BOB");
    assert.deepEqual(ann.inbox.last(), {
      type: "whois",
      name: "Bob",
      online: false,
      account: true,
    });
    join("Bob", true);
    ann.type("/whois bob");
    const whois = ann.inbox.last();
    assert.ok(whois?.type === "whois" && whois.online && whois.account === true);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an account's ignore list is kept in the store: the next login ignores the same names, kept mail too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-presence-" });
  try {
    let store = Store.open(dir);
    store.addUser("Ann", "hash", T0);
    let { join, hub } = setUp({ store, auth: "names" });
    const ann = join("Ann", true);
    ann.type("/ignore Bob");
    ann.type("/ignore Eve");
    ann.type("/unignore eve");
    hub.leave(ann.member, "quit");
    const bob = join("Bob");
    bob.type("/msg Ann kept while you were away");
    const cy = join("Cy");
    cy.type("/msg Ann from Cy");
    store.close();

    store = Store.open(dir);
    ({ join } = setUp({ store, auth: "names" }));
    const again = join("Ann", true);
    assert.deepEqual(store.ignoredBy("ann"), ["Bob"]);
    assert.deepEqual(again.member.ignoring?.names(), ["Bob"]);
    const later = join("Bob");
    later.type("hello");
    assert.deepEqual(got(again), []);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kept private messages from a name the account ignores are not shown at login", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-presence-" });
  const store = Store.open(dir);
  try {
    store.addUser("Ann", "hash", T0);
    store.setIgnored("Ann", ["Bob"]);
    const { hub, join } = setUp({ store, auth: "names" });
    const bob = join("Bob");
    const cy = join("Cy");
    bob.type("/msg Ann from Bob");
    cy.type("/msg Ann from Cy");
    const inbox = new Inbox();
    hub.register("Ann", inbox, { account: true });
    assert.deepEqual(inbox.of("missed").map(describe), ["missed from Cy"]);
    assert.deepEqual(store.undelivered("Ann", 10), [], "all marked delivered");
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the store keeps an ignore list per account, and forgets it with the account", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-presence-" });
  try {
    let store = Store.open(dir);
    store.addUser("Ann", "hash", T0);
    assert.deepEqual(store.ignoredBy("ann"), []);
    store.setIgnored("Ann", ["Bob", "小明"]);
    store.close();
    store = Store.open(dir);
    assert.deepEqual(
      store.ignoredBy("ANN"),
      ["Bob", "小明"],
      "by the account's key, after reopening",
    );
    store.setIgnored("Ann", []);
    assert.deepEqual(store.ignoredBy("Ann"), []);
    store.setIgnored("Ann", ["Eve"]);
    store.deleteUser("Ann");
    store.addUser("Ann", "hash", T0);
    assert.deepEqual(store.ignoredBy("Ann"), [], "a new owner of the name starts with none");
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
