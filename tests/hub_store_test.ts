/**
 * Tests of the chat core with persistence and accounts (lib/hub.ts with a
 * store): history and ids across restarts, `/history` and the `history`
 * frame, messages the store refuses, private messages kept for an account
 * while its owner is away, and the rules of `auth`.
 *
 * A real {@link Store} in a temporary directory where what is on disk
 * matters; a {@link FakeStore} where a failure must be staged. The hub never
 * hashes passwords (the front end checks them), so none of this runs scrypt.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type AuthMode, DEFAULT_RECALL, Hub, type HubStore } from "../lib/core/hub.ts";
import { MAX_MESSAGE_LENGTH } from "../lib/core/limits.ts";
import type { Member } from "../lib/core/room.ts";
import {
  type NewMessage,
  type NewPrivate,
  type Refusal,
  type StoredMessage,
  type StoredPrivate,
  type StoredUser,
  type Waiting,
} from "../lib/core/store.ts";
import { MAX_PAGE, Store, StoreError } from "../lib/store/sqlite_store.ts";
import { nameKey } from "../lib/core/names.ts";
import { MAILBOX_LIMITS, MAX_FRAME_MESSAGE_BYTES } from "../lib/core/limits.ts";
import { refusal } from "./_helpers.ts";
import { Inbox } from "./_inbox.ts";
import type { Sink } from "../lib/core/events.ts";

const T0 = Date.UTC(2026, 10, 25, 12, 3);

/** Runs `body` with a store in a fresh temporary directory, closed and removed afterwards. */
async function withStore(body: (store: Store, dir: string) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-hub-" });
  // Each append commits at once, so that a test sees it at once; group commit: store_group_test.ts.
  const store = Store.open(dir, { groupCommit: false });
  try {
    body(store, dir);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A hub over `store` with a fixed clock and no flood control, logging into `log`. */
function hubOver(
  store: HubStore,
  options: { auth?: AuthMode; history?: number; log?: string[] } = {},
): Hub {
  const log = options.log ?? [];
  return new Hub({
    store,
    auth: options.auth,
    history: options.history,
    now: () => T0,
    flood: null,
    churn: null,
    log: (line) => log.push(line),
  });
}

/** Registers `name` on `hub` with a new inbox. */
function join(
  hub: Hub,
  name: string,
  origin: { account?: boolean; resume?: string } = {},
): { member: Member; inbox: Inbox } {
  const inbox = new Inbox();
  return { member: hub.register(name, inbox, { peer: "127.0.0.1:1", ...origin }), inbox };
}

/** A store in memory whose failures a test stages; it records every call. */
class FakeStore implements HubStore {
  messages: StoredMessage[] = [];
  privates: StoredPrivate[] = [];
  users = new Map<string, StoredUser>();
  /** Refused private messages, by recipient key, then by sender ("" for the rest). */
  refused = new Map<string, Map<string, number>>();
  lastId = 0;
  /** Set to make the next calls of that method throw it. */
  failing: Partial<Record<keyof HubStore, unknown>> = {};
  calls: string[] = [];

  #check(method: keyof HubStore): void {
    this.calls.push(method);
    if (method in this.failing) throw this.failing[method];
  }

  addUser(name: string): void {
    this.users.set(nameKey(name), { name, key: nameKey(name), hash: "$fake$", created: T0 });
  }

  appendMessage(message: NewMessage): number {
    this.#check("appendMessage");
    const id = message.id ?? this.lastId + 1;
    this.messages.push({ ...message, id, action: message.action ?? false });
    return this.lastId = id;
  }

  recentMessages(room: string, limit: number, before?: number): StoredMessage[] {
    this.#check("recentMessages");
    const older = this.messages.filter((m) => m.room === room && m.id < (before ?? Infinity));
    return older.slice(-limit);
  }

  appendPrivate(message: NewPrivate): number {
    this.#check("appendPrivate");
    const id = message.id ?? this.lastId + 1;
    this.privates.push({ ...message, id });
    return this.lastId = id;
  }

  undelivered(name: string, limit = MAX_PAGE, after = 0): StoredPrivate[] {
    this.#check("undelivered");
    return this.privates.filter((p) =>
      !p.delivered && p.id > after && nameKey(p.to) === nameKey(name)
    ).slice(0, limit);
  }

  waiting(name: string, sender = ""): Waiting {
    this.#check("waiting");
    const mine = this.privates.filter((p) => !p.delivered && nameKey(p.to) === nameKey(name));
    const bytes = (list: StoredPrivate[]) =>
      list.reduce((sum, p) => sum + new TextEncoder().encode(p.text).length, 0);
    const fromSender = mine.filter((p) => p.from === sender);
    const fromStrangers = mine.filter((p) => !this.users.has(nameKey(p.from)));
    return {
      messages: mine.length,
      bytes: bytes(mine),
      fromSender: fromSender.length,
      bytesFromSender: bytes(fromSender),
      fromStrangers: fromStrangers.length,
      bytesFromStrangers: bytes(fromStrangers),
    };
  }

  countRefused(name: string, sender: string): void {
    this.#check("countRefused");
    const counts = this.refused.get(nameKey(name)) ?? new Map<string, number>();
    this.refused.set(nameKey(name), counts);
    const named = [...counts.keys()].filter((from) => from !== "").length;
    const from = counts.has(sender) || named < MAILBOX_LIMITS.refusedSenders ? sender : "";
    counts.set(from, (counts.get(from) ?? 0) + 1);
  }

  takeRefused(name: string): Refusal[] {
    this.#check("takeRefused");
    const counts = this.refused.get(nameKey(name)) ?? new Map<string, number>();
    this.refused.delete(nameKey(name));
    const named = [...counts].filter(([from]) => from !== "");
    const others = [...counts].filter(([from]) => from === "");
    return [...named, ...others].map(([from, messages]) => ({ from, messages }));
  }

  markDelivered(name: string, upTo: number): number {
    this.#check("markDelivered");
    let marked = 0;
    for (const p of this.privates) {
      if (!p.delivered && nameKey(p.to) === nameKey(name) && p.id <= upTo) {
        p.delivered = true;
        marked++;
      }
    }
    return marked;
  }

  getUser(name: string): StoredUser | undefined {
    this.#check("getUser");
    return this.users.get(nameKey(name));
  }
}

const texts = (events: { text: string }[]) => events.map((e) => e.text);

// ---- persistence ------------------------------------------------------------

Deno.test("a restarted hub keeps the room's history, and ids keep increasing", async () => {
  await withStore((first, dir) => {
    const hub = hubOver(first, { history: 10 });
    const alice = join(hub, "Alice");
    hub.say(alice.member, "one");
    hub.act(alice.member, "waves");
    join(hub, "Bob");
    hub.whisper(alice.member, "Bob", "psst");
    const before = alice.inbox.events.flatMap((e) =>
      e.type === "message" || e.type === "private" ? [e.id] : []
    );
    assert.deepEqual(before, [1, 2, 3]);
    first.close();

    const second = Store.open(dir, { groupCommit: false });
    try {
      const restarted = hubOver(second, { history: 10 });
      const carol = join(restarted, "Carol");
      assert.deepEqual(carol.inbox.of("history")[0].messages, [
        { type: "message", id: 1, time: T0, room: "lobby", from: "Alice", text: "one" },
        {
          type: "message",
          id: 2,
          time: T0,
          room: "lobby",
          from: "Alice",
          text: "waves",
          action: true,
        },
      ]);
      restarted.say(carol.member, "after the restart");
      assert.equal(carol.inbox.of("message")[0].id, 4, "after the private message's 3");
      assert.deepEqual(texts(second.recentMessages("lobby", 10)), [
        "one",
        "waves",
        "after the restart",
      ]);
    } finally {
      second.close();
    }
  });
});

Deno.test("messages are on disk before anyone sees them, the sender included", () => {
  const store = new FakeStore();
  const hub = hubOver(store);
  const stored: boolean[] = [];
  const watcher: Sink = {
    send: (event) => {
      if (event.type === "message") stored.push(store.messages.some((m) => m.id === event.id));
      if (event.type === "private") stored.push(store.privates.some((p) => p.id === event.id));
    },
  };
  const alice = hub.register("Alice", watcher);
  hub.register("Bob", watcher);
  hub.say(alice, "hello");
  hub.whisper(alice, "bob", "psst");
  assert.deepEqual(stored, [true, true, true, true], "two room copies, two private copies");
  assert.deepEqual(store.privates.map((p) => [p.to, p.delivered]), [["Bob", true]]);
});

Deno.test("a message the store cannot save is not sent; the sender is told, the log says why", () => {
  const store = new FakeStore();
  const log: string[] = [];
  const hub = hubOver(store, { log });
  const alice = join(hub, "Alice");
  const bob = join(hub, "Bob");
  bob.inbox.clear();
  store.failing.appendMessage = new StoreError("cannot save to /data/chat.db (disk is full)");
  store.failing.appendPrivate = new Error("anything at all");
  hub.say(alice.member, "lost?");
  hub.act(alice.member, "sighs");
  hub.whisper(alice.member, "Bob", "secret");
  const notSaved = {
    type: "error",
    code: "not_saved",
    message: "Message not sent: the server could not save it",
  };
  assert.deepEqual(alice.inbox.events.slice(-3), [notSaved, notSaved, notSaved]);
  assert.deepEqual(bob.inbox.events, [], "nothing reached the room or the recipient");
  assert.deepEqual(log.slice(-1), [
    "not saved: message from Alice in #lobby: cannot save to /data/chat.db (disk is full); " +
    "more refusals are counted until storing works again",
  ]);
  store.failing = {};
  hub.say(alice.member, "back");
  assert.deepEqual(texts(bob.inbox.of("message")), ["back"]);
  assert.ok(bob.inbox.of("message")[0].id > 0);
  assert.deepEqual(texts(store.messages), ["back"]);
  assert.deepEqual(log.slice(-2), [
    "storing works again after 3 messages were refused",
    "<Alice> back",
  ]);
});

Deno.test("a full disk is logged once, then counted once a minute, then its end", () => {
  const store = new FakeStore();
  const log: string[] = [];
  let now = T0;
  const hub = new Hub({
    store,
    auth: "names",
    now: () => now,
    flood: null,
    churn: null,
    log: (line) => log.push(line),
  });
  const alice = join(hub, "Alice");
  join(hub, "Bob");
  const said = (tries: number) => {
    for (let i = 0; i < tries; i++) hub.say(alice.member, `message ${i}`);
  };
  const full = new StoreError("cannot save to /data/chat.db (disk is full)");
  const start = log.length;
  store.failing = { appendMessage: full, appendPrivate: full };
  said(290);
  now += 59_999;
  hub.whisper(alice.member, "Bob", "psst");
  now += 1;
  said(289);
  now += 60_000;
  said(1);
  store.failing = {};
  hub.say(alice.member, "back");
  hub.say(alice.member, "and again");
  assert.deepEqual(log.slice(start), [
    "not saved: message from Alice in #lobby: cannot save to /data/chat.db (disk is full); " +
    "more refusals are counted until storing works again",
    "still not saving: 292 messages refused so far; the last: cannot save to /data/chat.db " +
    "(disk is full)",
    "still not saving: 581 messages refused so far; the last: cannot save to /data/chat.db " +
    "(disk is full)",
    "storing works again after 581 messages were refused",
    "<Alice> back",
    "<Alice> and again",
  ]);
  store.failing.appendMessage = full;
  said(1);
  store.failing = {};
  hub.say(alice.member, "fine");
  assert.deepEqual(log.slice(-3), [
    "not saved: message from Alice in #lobby: cannot save to /data/chat.db (disk is full); " +
    "more refusals are counted until storing works again",
    "storing works again after 1 message was refused",
    "<Alice> fine",
  ]);

  // Kept for an away account: its lookups work on a full disk, only a kept message ends it.
  store.addUser("Carol");
  store.failing.appendPrivate = full;
  hub.whisper(alice.member, "Carol", "one");
  hub.whisper(alice.member, "Carol", "two");
  store.failing = {};
  hub.whisper(alice.member, "Carol", "three");
  assert.deepEqual(log.slice(-3, -1), [
    "not saved: private message from Alice: cannot save to /data/chat.db (disk is full); " +
    "more refusals are counted until storing works again",
    "storing works again after 2 messages were refused",
  ]);
  assert.match(log.at(-1) ?? "", /^private Alice -> Carol/);
});

// ---- history ----------------------------------------------------------------

Deno.test("a joiner is shown the stored history; rooms keep none in memory", () => {
  const store = new FakeStore();
  for (let i = 1; i <= 5; i++) {
    store.appendMessage({ time: T0, room: "lobby", from: "Old", text: `m${i}` });
  }
  store.appendMessage({ time: T0, room: "elsewhere", from: "Old", text: "not here" });
  const hub = hubOver(store, { history: 3 });
  const ann = join(hub, "Ann");
  assert.deepEqual(texts(ann.inbox.of("history")[0].messages), ["m3", "m4", "m5"]);
  hub.say(ann.member, "new");
  store.messages = store.messages.filter((m) => m.text !== "new");
  const bo = join(hub, "Bo");
  assert.deepEqual(
    texts(bo.inbox.of("history")[0].messages),
    ["m3", "m4", "m5"],
    "read from the store, not a copy in memory",
  );
  const quiet = hubOver(new FakeStore(), { history: 0 });
  const cy = join(quiet, "Cy");
  assert.deepEqual(cy.inbox.of("history"), [], "--history 0 shows joiners nothing");
});

Deno.test("/history works with a store even when joiners see none, 20 by default", () => {
  const store = new FakeStore();
  for (let i = 1; i <= 30; i++) {
    store.appendMessage({ time: T0, room: "lobby", from: "Old", text: `m${i}` });
  }
  const hub = hubOver(store);
  const ann = join(hub, "Ann");
  hub.handleLine(ann.member, "/history");
  const shown = ann.inbox.of("history")[0].messages;
  assert.equal(shown.length, DEFAULT_RECALL);
  assert.equal(shown.at(-1)?.text, "m30");
  hub.handleLine(ann.member, "/history 3");
  assert.deepEqual(texts(ann.inbox.of("history")[1].messages), ["m28", "m29", "m30"]);
  const withHistory = hubOver(store, { history: 4 });
  const bo = join(withHistory, "Bo");
  withHistory.handleLine(bo.member, "/history");
  assert.equal(bo.inbox.of("history").at(-1)?.messages.length, 4, "the --history value");
});

Deno.test("history() pages back with before, to an empty page at the start", async () => {
  await withStore((store) => {
    const hub = hubOver(store);
    const ann = join(hub, "Ann");
    for (let i = 1; i <= 25; i++) hub.say(ann.member, `m${i}`);
    ann.inbox.clear();
    hub.history(ann.member, 10);
    hub.history(ann.member, 10, 16);
    hub.history(ann.member, 10, 6);
    hub.history(ann.member, 10, 1);
    hub.history(ann.member, undefined, 22);
    const pages = ann.inbox.of("history").map((h) => h.messages.map((m) => m.id));
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);
    assert.deepEqual(pages, [range(16, 25), range(6, 15), range(1, 5), [], range(2, 21)]);
    assert.equal(ann.inbox.events.length, 5, "no errors");
  });
});

Deno.test("history() without a store pages back through the room's memory", () => {
  const hub = new Hub({ now: () => T0, flood: null, history: 2 });
  const ann = join(hub, "Ann");
  for (let i = 1; i <= 10; i++) hub.say(ann.member, `m${i}`);
  hub.history(ann.member, 3, 8);
  hub.history(ann.member, 5);
  hub.history(ann.member, 5, 1);
  const pages = ann.inbox.of("history").map((h) => texts(h.messages));
  assert.deepEqual(pages, [["m5", "m6", "m7"], ["m6", "m7", "m8", "m9", "m10"], []]);
  const off = new Hub({ now: () => T0 });
  const bo = join(off, "Bo");
  off.history(bo.member, 5);
  assert.deepEqual(bo.inbox.last(), {
    type: "error",
    code: "bad_arguments",
    message: "This server keeps no history",
  });
});

Deno.test("hostile history requests are refused cleanly, without reading the store", () => {
  const store = new FakeStore();
  const hub = hubOver(store);
  const ann = join(hub, "Ann");
  const typed = [
    "0",
    "-1",
    "1001",
    "2.5",
    "1e3",
    "0x10",
    "NaN",
    "Infinity",
    "-0",
    "+5",
    "5 5",
    "１０",
    "9".repeat(20_000),
    "00000000000000000000001",
  ];
  for (const args of typed) {
    hub.handleLine(ann.member, `/history ${args}`);
    assert.deepEqual(ann.inbox.last(), {
      type: "error",
      code: "bad_arguments",
      message: "Usage: /history [N], N a whole number from 1 to 1000",
    }, args.slice(0, 30));
  }
  const counts: unknown[] = [0, -1, 1001, 2.5, NaN, Infinity, -Infinity, 1e300, "5", null, {}];
  for (const count of counts) {
    hub.history(ann.member, count as number);
    assert.deepEqual(ann.inbox.last(), {
      type: "error",
      code: "bad_arguments",
      message: 'History "count" must be a whole number from 1 to 1000',
    }, String(count));
  }
  const befores: unknown[] = [0, -5, 1.5, NaN, Infinity, 2 ** 53, "10", []];
  for (const before of befores) {
    hub.history(ann.member, 10, before as number);
    assert.deepEqual(ann.inbox.last(), {
      type: "error",
      code: "bad_arguments",
      message: 'History "before" must be a message id, a whole number above 0',
    }, String(before));
  }
  assert.deepEqual(ann.inbox.of("history"), []);
  assert.ok(!store.calls.includes("recentMessages"), "nothing bad reached the store");
  hub.handleLine(ann.member, "/history 1000");
  hub.history(ann.member, 1000, Number.MAX_SAFE_INTEGER);
  assert.equal(ann.inbox.of("history").length, 2, "the limits themselves are fine");
});

Deno.test("a history the store cannot read costs the joiner their history, not their join", () => {
  const store = new FakeStore();
  const log: string[] = [];
  const hub = hubOver(store, { history: 5, log });
  store.failing.recentMessages = new StoreError("chat.db is damaged");
  const ann = join(hub, "Ann");
  assert.deepEqual(ann.inbox.events.map((e) => e.type), ["welcome"]);
  hub.handleLine(ann.member, "/history");
  assert.deepEqual(ann.inbox.last(), {
    type: "error",
    code: "not_saved",
    message: "History not shown: the server could not read it",
  });
  assert.deepEqual(log.filter((line) => line.startsWith("cannot")), [
    "cannot read the history of #lobby: chat.db is damaged",
    "cannot read the history of #lobby: chat.db is damaged",
  ]);
});

// ---- accounts ---------------------------------------------------------------

Deno.test("a hub with accounts needs a store", () => {
  assert.throws(() => new Hub({ auth: "names" }), TypeError);
  assert.throws(() => new Hub({ auth: "required" }), TypeError);
});

Deno.test("needsPassword() follows the auth mode", () => {
  const store = new FakeStore();
  store.addUser("Bob");
  const cases: [AuthMode, string, boolean][] = [
    ["off", "Bob", false],
    ["names", "Bob", true],
    ["names", "BOB", true],
    ["names", " ｂｏｂ ", true],
    ["names", "Zed", false],
    ["required", "Bob", true],
    ["required", "Zed", true],
  ];
  for (const [auth, name, want] of cases) {
    assert.equal(hubOver(store, { auth }).needsPassword(name), want, `${auth} ${name}`);
  }
  const log: string[] = [];
  const broken = hubOver(store, { auth: "names", log });
  store.failing.getUser = new StoreError("chat.db is locked");
  assert.equal(broken.needsPassword("Zed"), true, "unchecked names are not handed out");
  assert.deepEqual(log, ["cannot look up the account Zed: chat.db is locked"]);
});

Deno.test("register() refuses an account's name without its password", () => {
  const store = new FakeStore();
  store.addUser("Bob");
  const hub = hubOver(store, { auth: "names" });
  for (const name of ["Bob", "bob", "ＢＯＢ"]) {
    const error = refusal(() => join(hub, name));
    assert.equal(error.code, "password_required", name);
  }
  assert.equal(
    refusal(() => join(hub, "bob")).message,
    "The name bob belongs to an account: give its password",
  );
  const zed = join(hub, "Zed");
  assert.equal(zed.inbox.of("welcome")[0].account, undefined, "other names need no password");
  const bob = join(hub, "bob", { account: true });
  const welcome = bob.inbox.of("welcome")[0];
  assert.equal(welcome.name, "Bob", "an account holder goes by the account's spelling");
  assert.equal(welcome.account, true);
  assert.equal(bob.member.account, true);
  assert.equal(zed.member.account, false);
  assert.equal(refusal(() => join(hub, "Bob", { account: true })).code, "name_taken");

  const required = hubOver(store, { auth: "required" });
  const error = refusal(() => join(required, "Zed"));
  assert.equal(error.code, "password_required");
  assert.equal(
    error.message,
    "This server admits account holders only: give your name and password",
  );
  assert.equal(join(required, "Zed", { account: true }).member.account, true);
});

Deno.test("a resume keeps the account flag, needs no password, and resends nothing", () => {
  const store = new FakeStore();
  store.addUser("Bob");
  let tokens = 0;
  const hub = new Hub({
    store,
    auth: "names",
    now: () => T0,
    token: () => `token-${++tokens}`,
  });
  const first = join(hub, "Bob", { account: true });
  const token = first.inbox.of("welcome")[0].resume;
  assert.equal(hub.canResume("bob", token), true);
  assert.equal(hub.canResume("bob", "token-9"), false);
  assert.equal(hub.canResume("bob", undefined), false);
  assert.equal(hub.canResume("Zed", token), false, "a token is for its own name only");
  assert.equal(hub.canResume("bad name", token), false);
  // Staged as if kept while the first connection was online but lost.
  store.appendPrivate({ time: T0, from: "Ann", to: "Bob", text: "kept", delivered: false });
  const second = join(hub, "BOB", { resume: token });
  assert.equal(second.member.account, true);
  assert.equal(second.inbox.of("welcome")[0].account, true);
  assert.equal(second.inbox.of("welcome")[0].name, "Bob");
  assert.deepEqual(second.inbox.of("missed"), [], "a resume is not a login");
  assert.equal(refusal(() => join(hub, "bob", { resume: "token-9" })).code, "password_required");
});

Deno.test("/nick: account names stay, and nobody takes a name that has an account", () => {
  const store = new FakeStore();
  store.addUser("Bob");
  store.addUser("Carol");
  const hub = hubOver(store, { auth: "names" });
  const bob = join(hub, "Bob", { account: true });
  const zed = join(hub, "Zed");
  hub.handleLine(bob.member, "/nick Robert");
  assert.deepEqual(bob.inbox.last(), {
    type: "error",
    code: "not_allowed",
    message: "Your name is your account here; it cannot change",
  });
  hub.handleLine(zed.member, "/nick carol");
  assert.deepEqual(zed.inbox.last(), {
    type: "error",
    code: "name_taken",
    message: "The name carol belongs to an account; only its owner can use it",
  });
  hub.handleLine(zed.member, "/nick Zeta");
  assert.equal(zed.inbox.last()?.type, "rename", "other names are free");

  const required = hubOver(store, { auth: "required" });
  const carol = join(required, "Carol", { account: true });
  required.rename(carol.member, "Caroline");
  assert.deepEqual(carol.inbox.of("error").map((e) => e.code), ["not_allowed"]);

  const off = hubOver(store, { auth: "off" });
  const ann = join(off, "Ann");
  off.handleLine(ann.member, "/nick Bob");
  assert.equal(ann.inbox.last()?.type, "rename", "without accounts, names are first come");
});

// ---- private messages kept for an account ------------------------------------

Deno.test("a private message to an away account is kept, and delivered once at its login", async () => {
  await withStore((store) => {
    store.addUser("Bob", "$fake$", T0);
    store.addUser("Carol", "$fake$", T0);
    const log: string[] = [];
    const hub = hubOver(store, { auth: "names", log });
    const ann = join(hub, "Ann");
    hub.handleLine(ann.member, "/msg bob are you there?");
    hub.handleLine(ann.member, "@BOB call me");
    hub.handleLine(ann.member, "/msg Carol for Carol only");
    hub.handleLine(ann.member, "/msg Zed hello?");
    assert.deepEqual(ann.inbox.of("private"), [
      {
        type: "private",
        id: 1,
        time: T0,
        from: "Ann",
        to: "Bob",
        text: "are you there?",
        offline: true,
      },
      { type: "private", id: 2, time: T0, from: "Ann", to: "Bob", text: "call me", offline: true },
      {
        type: "private",
        id: 3,
        time: T0,
        from: "Ann",
        to: "Carol",
        text: "for Carol only",
        offline: true,
      },
    ]);
    assert.deepEqual(ann.inbox.last(), {
      type: "error",
      code: "no_such_user",
      message: "No user named Zed is here",
    });
    assert.ok(log.includes("private Ann -> Bob, kept: away (7 chars)"));
    assert.ok(!log.some((line) => line.includes("call me")), "the operator does not read them");

    const bob = join(hub, "bob", { account: true });
    assert.deepEqual(bob.inbox.events.map((e) => e.type), ["welcome", "missed"]);
    assert.deepEqual(bob.inbox.of("missed")[0].messages, [
      { type: "private", id: 1, time: T0, from: "Ann", to: "Bob", text: "are you there?" },
      { type: "private", id: 2, time: T0, from: "Ann", to: "Bob", text: "call me" },
    ]);
    assert.ok(log.includes("delivered 2 kept private messages to Bob"));
    hub.leave(bob.member, "quit");
    const again = join(hub, "Bob", { account: true });
    assert.deepEqual(again.inbox.of("missed"), [], "delivered once");
    const carol = join(hub, "Carol", { account: true });
    assert.deepEqual(texts(carol.inbox.of("missed")[0].messages), ["for Carol only"]);
    assert.deepEqual(store.undelivered("Bob"), []);
    assert.deepEqual(store.undelivered("Carol"), []);
  });
});

Deno.test("kept private messages come after the history, in pages of 1000", async () => {
  await withStore((store) => {
    store.addUser("Bob", "$fake$", T0);
    store.appendMessage({ time: T0, room: "lobby", from: "Ann", text: "earlier" });
    for (let i = 1; i <= MAX_PAGE + 1; i++) {
      store.appendPrivate({ time: T0, from: "Ann", to: "bob", text: `p${i}`, delivered: false });
    }
    const hub = hubOver(store, { auth: "names", history: 5 });
    const bob = join(hub, "Bob", { account: true });
    assert.deepEqual(bob.inbox.events.map((e) => e.type), [
      "welcome",
      "history",
      "missed",
      "missed",
    ]);
    const pages = bob.inbox.of("missed").map((m) => m.messages);
    assert.deepEqual(pages.map((page) => page.length), [MAX_PAGE, 1]);
    assert.equal(pages[0][0].text, "p1");
    assert.equal(pages[1][0].text, `p${MAX_PAGE + 1}`);
    assert.deepEqual(store.undelivered("Bob"), []);
  });
});

Deno.test("a store failure while delivering kept messages is logged; the login goes on", () => {
  const store = new FakeStore();
  store.addUser("Bob");
  store.appendPrivate({ time: T0, from: "Ann", to: "Bob", text: "kept", delivered: false });
  const log: string[] = [];
  const hub = hubOver(store, { auth: "names", log });
  store.failing.markDelivered = new StoreError("disk is full");
  const bob = join(hub, "Bob", { account: true });
  assert.deepEqual(bob.inbox.events.map((e) => e.type), ["welcome", "missed"]);
  assert.ok(log.includes("cannot deliver the private messages kept for Bob: disk is full"));
  assert.equal(hub.userCount, 1);
  // A store that never marks them must not loop: it stops after one page.
  const stuck = new FakeStore();
  stuck.addUser("Cy");
  stuck.appendPrivate({ time: T0, from: "Ann", to: "Cy", text: "stuck", delivered: false });
  stuck.markDelivered = () => 0;
  const other = hubOver(stuck, { auth: "names" });
  assert.equal(join(other, "Cy", { account: true }).inbox.of("missed").length, 1);
});

Deno.test("a store that cannot count refusals costs the count, not the refusal, and is logged once", () => {
  const store = new FakeStore();
  store.addUser("Bob");
  for (let i = 0; i < MAILBOX_LIMITS.fromOneSender; i++) {
    store.appendPrivate({ time: T0, from: "Ann", to: "Bob", text: `${i}`, delivered: false });
  }
  const log: string[] = [];
  const hub = hubOver(store, { auth: "names", log });
  const ann = join(hub, "Ann");
  store.failing.countRefused = new StoreError("disk is full");
  hub.whisper(ann.member, "Bob", "one");
  hub.whisper(ann.member, "Bob", "two");
  assert.deepEqual(ann.inbox.of("error").map((e) => e.code), ["not_allowed", "not_allowed"]);
  assert.deepEqual(log.filter((line) => line.startsWith("cannot count")), [
    "cannot count private messages refused for want of room: disk is full",
  ]);
  store.failing = { takeRefused: new StoreError("disk is full") };
  const bob = join(hub, "Bob", { account: true });
  assert.deepEqual(bob.inbox.events.map((e) => e.type), ["welcome", "missed"]);
  assert.ok(log.includes("cannot read the refusals counted for Bob: disk is full"));
});

/** What a sender is told when the message would pass their share of Bob's mailbox. */
const SHARE_FULL = "Bob is away and your private messages waiting for them would pass your share " +
  "of their mailbox (16 KiB); this one was not kept";
/** ... when senders without an account have filled their half of it. */
const STRANGERS_FULL = "Bob is away and their mailbox has no more room for private messages " +
  "from people without an account; this one was not kept";
/** ... when it is full. */
const MAILBOX_FULL = "Bob is away and their mailbox is full; this one was not kept";

Deno.test("an away account's mailbox has limits: per sender, in all, and in bytes", async () => {
  await withStore((store) => {
    store.addUser("Bob", "$fake$", T0);
    const hub = hubOver(store, { auth: "names" });
    const ann = join(hub, "Ann");
    for (let i = 0; i < MAILBOX_LIMITS.fromOneSender; i++) hub.whisper(ann.member, "bob", `a${i}`);
    assert.equal(ann.inbox.of("private").length, MAILBOX_LIMITS.fromOneSender);
    hub.whisper(ann.member, "bob", "one too many");
    const refusals = () => ann.inbox.of("error").map((e) => [e.code, e.message]);
    assert.deepEqual(refusals(), [[
      "not_allowed",
      `Bob is away and has ${MAILBOX_LIMITS.fromOneSender} private messages from you waiting ` +
      "already; this one was not kept",
    ]]);
    // Others still get through, each until their own share of the bytes.
    const cy = join(hub, "Cy");
    const long = "x".repeat(MAX_MESSAGE_LENGTH);
    let kept = 0;
    while (cy.inbox.of("error").length === 0) {
      hub.whisper(cy.member, "bob", long);
      kept = cy.inbox.of("private").length;
    }
    assert.deepEqual(cy.inbox.of("error").map((e) => e.message), [SHARE_FULL]);
    assert.equal(kept, Math.floor(MAILBOX_LIMITS.bytesFromOneSender / MAX_MESSAGE_LENGTH));
    // Once read, the mailbox takes messages again.
    const bob = join(hub, "Bob", { account: true });
    const missed = bob.inbox.of("missed").flatMap((m) => m.messages);
    assert.equal(missed.length, MAILBOX_LIMITS.fromOneSender + kept);
    hub.leave(bob.member, "quit");
    hub.whisper(ann.member, "bob", "after reading");
    assert.equal(ann.inbox.of("private").at(-1)?.text, "after reading");
    hub.whisper(cy.member, "bob", long);
    assert.equal(cy.inbox.of("private").at(-1)?.text, long);
  });
});

Deno.test("a stranger's flood leaves room in an away account's mailbox for everyone else", async () => {
  await withStore((store) => {
    store.addUser("Bob", "$fake$", T0);
    store.addUser("Dave", "$fake$", T0);
    const log: string[] = [];
    const hub = hubOver(store, { auth: "names", log });
    // Issue 10: 2,000 emoji are 8,000 bytes; sixteen of them filled the mailbox.
    const mallory = join(hub, "mallory");
    const bomb = "\u{1F600}".repeat(MAX_MESSAGE_LENGTH);
    for (let i = 0; i < 16; i++) hub.whisper(mallory.member, "Bob", bomb);
    for (let i = 0; i < 20; i++) hub.whisper(mallory.member, "Bob", "x".repeat(MAX_MESSAGE_LENGTH));
    const keptFromMallory = mallory.inbox.of("private").length;
    assert.equal(keptFromMallory, 2, "two bombs fill her share of 16 KiB");
    assert.equal(mallory.inbox.of("error").length, 34);
    assert.deepEqual(
      new Set(mallory.inbox.of("error").map((e) => e.message)),
      new Set([SHARE_FULL]),
    );
    // Friends, with an account or without, still get through.
    const carol = join(hub, "Carol");
    const letter = "Are you all right? Call me when you read this. ".repeat(32);
    hub.whisper(carol.member, "Bob", letter);
    assert.deepEqual(carol.inbox.of("error"), []);
    assert.equal(carol.inbox.of("private")[0].offline, true);
    const dave = join(hub, "Dave", { account: true });
    hub.whisper(dave.member, "bob", "see you tomorrow");
    assert.deepEqual(dave.inbox.of("error"), []);
    // Bob reads what was kept, and is told what was not, once.
    const bob = join(hub, "Bob", { account: true });
    assert.deepEqual(bob.inbox.events.map((e) => e.type), ["welcome", "missed", "info"]);
    const missed = bob.inbox.of("missed").flatMap((m) => m.messages);
    assert.deepEqual(missed.map((m) => m.from), ["mallory", "mallory", "Carol", "Dave"]);
    assert.deepEqual(bob.inbox.of("info"), [{
      type: "info",
      text: "34 private messages from mallory were not kept while you were away: " +
        "your mailbox had no room for them",
    }]);
    assert.ok(log.includes("told Bob of 34 private messages not kept"));
    hub.leave(bob.member, "quit");
    assert.deepEqual(join(hub, "Bob", { account: true }).inbox.of("info"), [], "told once");
  });
});

Deno.test("one sender's share of an away account's mailbox is exactly 16 KiB of text", async () => {
  await withStore((store) => {
    store.addUser("Bob", "$fake$", T0);
    const hub = hubOver(store, { auth: "names" });
    const ann = join(hub, "Ann");
    const share = MAILBOX_LIMITS.bytesFromOneSender;
    const mine = () => store.waiting("Bob", "Ann").bytesFromSender;
    const full = Math.floor((share - 2) / MAX_MESSAGE_LENGTH);
    for (let i = 0; i < full; i++) hub.whisper(ann.member, "bob", "x".repeat(MAX_MESSAGE_LENGTH));
    hub.whisper(ann.member, "bob", "x".repeat(share - 2 - mine()));
    assert.equal(mine(), share - 2);
    // Two characters, three bytes: one byte over her share.
    hub.whisper(ann.member, "bob", "\u00e9x");
    // One character, two bytes: exactly her share.
    hub.whisper(ann.member, "bob", "\u00e9");
    assert.equal(mine(), share);
    hub.whisper(ann.member, "bob", "x");
    assert.deepEqual(ann.inbox.of("error").map((e) => e.message), [SHARE_FULL, SHARE_FULL]);
    assert.equal(ann.inbox.of("private").at(-1)?.text, "\u00e9");
    assert.equal(store.waiting("Bob", "Ann").fromSender, full + 2);
  });
});

Deno.test("senders without an account share half of an away account's mailbox, to the byte and message", async () => {
  await withStore((store) => {
    store.addUser("Bob", "$fake$", T0);
    store.addUser("Dave", "$fake$", T0);
    const hub = hubOver(store, { auth: "names" });
    const dave = join(hub, "Dave", { account: true });
    // Four strangers at their share of 16 KiB fill the strangers' 64 KiB exactly.
    const shares = MAILBOX_LIMITS.bytesFromStrangers / MAILBOX_LIMITS.bytesFromOneSender;
    assert.equal(shares, 4);
    for (let k = 0; k < shares; k++) {
      const stranger = join(hub, `stranger${"abcd"[k]}`);
      let left = MAILBOX_LIMITS.bytesFromOneSender;
      while (left > 0) {
        const text = "x".repeat(Math.min(left, MAX_MESSAGE_LENGTH));
        hub.whisper(stranger.member, "bob", text);
        left -= text.length;
      }
      assert.deepEqual(stranger.inbox.of("error"), []);
    }
    assert.equal(store.waiting("Bob", "").bytesFromStrangers, MAILBOX_LIMITS.bytesFromStrangers);
    const eve = join(hub, "eve");
    hub.whisper(eve.member, "bob", "x");
    assert.deepEqual(eve.inbox.of("error").map((e) => e.message), [STRANGERS_FULL]);
    // An account holder still gets through.
    hub.whisper(dave.member, "bob", "x".repeat(MAX_MESSAGE_LENGTH));
    assert.deepEqual(dave.inbox.of("error"), []);
  });
  await withStore((store) => {
    store.addUser("Bob", "$fake$", T0);
    store.addUser("Dave", "$fake$", T0);
    const hub = hubOver(store, { auth: "names" });
    const dave = join(hub, "Dave", { account: true });
    // Five strangers at their 100 messages fill the strangers' 500.
    const senders = MAILBOX_LIMITS.fromStrangers / MAILBOX_LIMITS.fromOneSender;
    for (let k = 0; k < senders; k++) {
      const stranger = join(hub, `stranger${"abcde"[k]}`);
      for (let i = 0; i < MAILBOX_LIMITS.fromOneSender; i++) {
        hub.whisper(stranger.member, "bob", ".");
      }
      assert.deepEqual(stranger.inbox.of("error"), []);
    }
    assert.equal(store.waiting("Bob", "").fromStrangers, MAILBOX_LIMITS.fromStrangers);
    const eve = join(hub, "eve");
    hub.whisper(eve.member, "bob", "x");
    assert.deepEqual(eve.inbox.of("error").map((e) => e.message), [STRANGERS_FULL]);
    hub.whisper(dave.member, "bob", "x");
    assert.deepEqual(dave.inbox.of("error"), []);
  });
});

Deno.test("an away account's mailbox takes exactly 1000 messages in all, whoever sends them", async () => {
  await withStore((store) => {
    store.addUser("Bob", "$fake$", T0);
    const hub = hubOver(store, { auth: "names" });
    // Ten account holders at their own limit of 100 each fill it: short texts, far below the byte limit.
    const senders = MAILBOX_LIMITS.messages / MAILBOX_LIMITS.fromOneSender;
    const members = Array.from({ length: senders }, (_, k) => {
      store.addUser(`Sender${k}`, "$fake$", T0);
      return join(hub, `Sender${k}`, { account: true });
    });
    for (const [k, sender] of members.entries()) {
      for (let i = 0; i < MAILBOX_LIMITS.fromOneSender; i++) {
        hub.whisper(sender.member, "bob", `${k}.${i}`);
      }
      assert.deepEqual(sender.inbox.of("error"), [], `Sender${k} was refused`);
    }
    assert.equal(store.waiting("Bob", "").messages, MAILBOX_LIMITS.messages);
    assert.ok(store.waiting("Bob", "").bytes < MAILBOX_LIMITS.bytes);
    // One more, from someone who has sent nothing yet: the mailbox is full.
    store.addUser("Zed", "$fake$", T0);
    const zed = join(hub, "Zed", { account: true });
    hub.whisper(zed.member, "bob", "one too many");
    assert.deepEqual(zed.inbox.of("private"), []);
    assert.deepEqual(zed.inbox.of("error").map((e) => [e.code, e.message]), [[
      "not_allowed",
      MAILBOX_FULL,
    ]]);
    assert.equal(store.waiting("Bob", "").messages, MAILBOX_LIMITS.messages);
    const bob = join(hub, "Bob", { account: true });
    const missed = bob.inbox.of("missed").flatMap((m) => m.messages);
    assert.equal(missed.length, MAILBOX_LIMITS.messages);
    assert.deepEqual([missed[0].text, missed.at(-1)?.text], ["0.0", `${senders - 1}.99`]);
    assert.deepEqual(bob.inbox.of("info").map((e) => e.text), [
      "1 private message from Zed was not kept while you were away: " +
      "your mailbox had no room for it",
    ]);
  });
});

Deno.test("an away account's mailbox takes text up to exactly 128 KiB, counted in bytes", async () => {
  await withStore((store) => {
    store.addUser("Bob", "$fake$", T0);
    const hub = hubOver(store, { auth: "names" });
    const bytes = () => store.waiting("Bob", "").bytes;
    // Eight account holders at their share of 16 KiB make 128 KiB: the last two bytes short.
    assert.equal(MAILBOX_LIMITS.bytes / MAILBOX_LIMITS.bytesFromOneSender, 8);
    for (let k = 0; k < 8; k++) {
      store.addUser(`Sender${k}`, "$fake$", T0);
      const sender = join(hub, `Sender${k}`, { account: true });
      let left = MAILBOX_LIMITS.bytesFromOneSender - (k === 7 ? 2 : 0);
      while (left > 0) {
        const text = "x".repeat(Math.min(left, MAX_MESSAGE_LENGTH));
        hub.whisper(sender.member, "bob", text);
        left -= text.length;
      }
      assert.deepEqual(sender.inbox.of("error"), []);
    }
    assert.equal(bytes(), MAILBOX_LIMITS.bytes - 2);
    store.addUser("Cy", "$fake$", T0);
    const cy = join(hub, "Cy", { account: true });
    // Two characters, three bytes: one byte too many, whoever sends it.
    hub.whisper(cy.member, "bob", "\u00e9x");
    assert.deepEqual(cy.inbox.of("error").map((e) => e.message), [MAILBOX_FULL]);
    // One character, two bytes: exactly full.
    hub.whisper(cy.member, "bob", "\u00e9");
    assert.equal(cy.inbox.of("private").at(-1)?.text, "\u00e9");
    assert.equal(bytes(), MAILBOX_LIMITS.bytes);
    hub.whisper(cy.member, "bob", "x");
    assert.deepEqual(cy.inbox.of("error").map((e) => e.message), [MAILBOX_FULL, MAILBOX_FULL]);
    assert.equal(bytes(), MAILBOX_LIMITS.bytes);
  });
});

Deno.test("refusals are counted per sender on disk, the first 20 by name, and told once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-hub-" });
  try {
    let store = Store.open(dir, { groupCommit: false });
    store.addUser("Bob", "$fake$", T0);
    const hub = hubOver(store, { auth: "names" });
    // Fill what strangers may send, then have 22 more try once each, one of them twice.
    const senders = MAILBOX_LIMITS.fromStrangers / MAILBOX_LIMITS.fromOneSender;
    for (let k = 0; k < senders; k++) {
      const stranger = join(hub, `filler${"abcde"[k]}`);
      for (let i = 0; i < MAILBOX_LIMITS.fromOneSender; i++) {
        hub.whisper(stranger.member, "bob", ".");
      }
    }
    const late = Array.from({ length: 22 }, (_, k) => join(hub, `late${k + 1}`));
    for (const sender of late) hub.whisper(sender.member, "bob", "hello?");
    hub.whisper(late[0].member, "bob", "hello??");
    hub.whisper(late[21].member, "bob", "hello??");
    assert.ok(late.every((sender) => sender.inbox.of("error").length > 0));
    store.close();
    // A restart keeps the count.
    store = Store.open(dir, { groupCommit: false });
    const after = hubOver(store, { auth: "names" });
    const bob = join(after, "Bob", { account: true });
    const told = bob.inbox.of("info").map((e) => e.text);
    const line = (n: number, from: string) =>
      `${n === 1 ? "1 private message" : `${n} private messages`} from ${from} ` +
      `${n === 1 ? "was" : "were"} not kept while you were away: ` +
      `your mailbox had no room for ${n === 1 ? "it" : "them"}`;
    assert.deepEqual(told, [
      line(2, "late1"),
      ...Array.from({ length: 19 }, (_, k) => line(1, `late${k + 2}`)),
      line(3, "other senders"),
    ]);
    assert.deepEqual(store.takeRefused("Bob"), []);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history and missed frames of long messages stay within MAX_FRAME_MESSAGE_BYTES", async () => {
  await withStore((store) => {
    store.addUser("Bob", "$fake$", T0);
    const long = (i: number) =>
      `${i} ${'"quoted" 日本語 '.repeat(150)}`.slice(0, MAX_MESSAGE_LENGTH);
    for (let i = 0; i < 600; i++) {
      store.appendMessage({ time: T0, room: "lobby", from: "Ann", text: long(i) });
      store.appendPrivate({ time: T0, from: "Ann", to: "Bob", text: long(i), delivered: false });
    }
    const hub = hubOver(store, { auth: "names", history: 600 });
    const bob = join(hub, "Bob", { account: true });
    const bytes = (messages: unknown[]) =>
      messages.reduce(
        (sum: number, m) => sum + new TextEncoder().encode(JSON.stringify(m)).length + 1,
        0,
      );
    const [history] = bob.inbox.of("history");
    assert.ok(bytes(history.messages) <= MAX_FRAME_MESSAGE_BYTES);
    assert.ok(history.messages.length > 10 && history.messages.length < 600);
    // The newest are shown; paging back with `before` reaches the first.
    assert.equal(history.messages.at(-1)?.text, long(599));
    const pages = bob.inbox.of("missed");
    assert.ok(pages.length > 1);
    for (const page of pages) assert.ok(bytes(page.messages) <= MAX_FRAME_MESSAGE_BYTES);
    assert.deepEqual(
      pages.flatMap((p) => p.messages).map((m) => m.text),
      Array.from({ length: 600 }, (_, i) => long(i)),
    );
    assert.equal(store.waiting("Bob").messages, 0);
    let before = history.messages[0].id;
    let seen = history.messages.length;
    while (true) {
      hub.history(bob.member, 1000, before);
      const page = bob.inbox.of("history").at(-1)!.messages;
      if (page.length === 0) break;
      assert.ok(bytes(page) <= MAX_FRAME_MESSAGE_BYTES);
      seen += page.length;
      before = page[0].id;
    }
    assert.equal(seen, 600);
  });
});

Deno.test("an online recipient gets a private message at once, stored as delivered", () => {
  const store = new FakeStore();
  store.addUser("Bob");
  const hub = hubOver(store, { auth: "names" });
  const ann = join(hub, "Ann");
  const bob = join(hub, "Bob", { account: true });
  hub.whisper(ann.member, "bob", "hi");
  assert.deepEqual(texts(bob.inbox.of("private")), ["hi"]);
  assert.equal(ann.inbox.of("private")[0].offline, undefined);
  assert.deepEqual(store.privates.map((p) => p.delivered), [true]);
  hub.leave(bob.member, "quit");
  assert.deepEqual(join(hub, "Bob", { account: true }).inbox.of("missed"), []);
});

Deno.test("without accounts, a private message to a registered name that is away is refused", () => {
  const store = new FakeStore();
  store.addUser("Bob");
  const hub = hubOver(store, { auth: "off" });
  const ann = join(hub, "Ann");
  hub.handleLine(ann.member, "/msg Bob hello");
  assert.deepEqual(ann.inbox.last(), {
    type: "error",
    code: "no_such_user",
    message: "No user named Bob is here",
  });
  assert.deepEqual(store.privates, []);
  assert.ok(!store.calls.includes("getUser"), "accounts are not even looked up");
});
