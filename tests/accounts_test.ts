import assert from "node:assert/strict";
import {
  Gatekeeper,
  type GatekeeperOptions,
  MAX_LOGINS_PER_ADDRESS,
} from "../lib/auth/gatekeeper.ts";
import { nameKey } from "../lib/core/names.ts";
import {
  hashPassword,
  MAX_PASSWORD_LENGTH,
  needsRehash,
  parseHash,
  type ThrottleLimits,
  verifyPassword,
} from "../lib/auth/passwords.ts";
import type { StoredUser } from "../lib/core/store.ts";
import { until, within } from "./_helpers.ts";

/** Cheap scrypt parameters: fast tests (and hashes that need a rehash). */
const CHEAP = { ln: 10, r: 8, p: 1 };

/** An in-memory account store with the methods a Gatekeeper uses. */
class FakeStore {
  users = new Map<string, StoredUser>();
  failReads = false;
  failWrites = false;

  async add(name: string, password: string): Promise<void> {
    const hash = await hashPassword(password, CHEAP);
    this.users.set(nameKey(name), { name, key: nameKey(name), hash, created: 0 });
  }

  getUser(name: string): StoredUser | undefined {
    if (this.failReads) throw new Error("disk I/O error");
    const user = this.users.get(nameKey(name));
    return user && { ...user };
  }

  setPassword(name: string, hash: string): boolean {
    if (this.failWrites) throw new Error("database is locked");
    const user = this.users.get(nameKey(name));
    if (!user) return false;
    user.hash = hash;
    return true;
  }
}

const LIMITS: ThrottleLimits = {
  address: { free: 3, baseMs: 1000, maxMs: 60_000 },
  name: { free: 100, baseMs: 1000, maxMs: 60_000 },
  forgetMs: 3_600_000,
};

/** A gatekeeper over a store with Bob (password "correct horse"), a fixed clock, and a counting verifier. */
async function setUp(options: Partial<GatekeeperOptions> = {}) {
  const store = new FakeStore();
  await store.add("Bob", "correct horse");
  const clock = { now: 0 };
  const log: string[] = [];
  let hashed = 0;
  const gatekeeper = new Gatekeeper({
    store,
    mode: "names",
    log: (line) => log.push(line),
    now: () => clock.now,
    throttle: LIMITS,
    verify: (password, stored) => {
      hashed++;
      return verifyPassword(password, stored);
    },
    rehashParams: CHEAP,
    ...options,
  });
  return { store, clock, log, gatekeeper, hashed: () => hashed };
}

Deno.test("Gatekeeper admits the right password and names the account when refusing", async () => {
  const { gatekeeper } = await setUp();
  assert.deepEqual(await gatekeeper.login("bob", "correct horse", "10.0.0.1"), { ok: true });
  assert.deepEqual(await gatekeeper.login("BOB", "wrong horse", "10.0.0.1"), {
    ok: false,
    code: "wrong_password",
    message: "Wrong password for Bob",
  });
  assert.equal(
    gatekeeper.passwordRequired("bob"),
    "The name Bob belongs to an account: give its password",
  );
  await gatekeeper.settled();
});

Deno.test("Gatekeeper in required mode says the same for an unknown name and a wrong password", async () => {
  const { gatekeeper, hashed } = await setUp({ mode: "required" });
  const unknown = await gatekeeper.login("Mallory", "correct horse", "10.0.0.1");
  const wrong = await gatekeeper.login("Bob", "wrong horse", "10.0.0.1");
  assert.deepEqual(unknown, {
    ok: false,
    code: "wrong_password",
    message: "Wrong name or password",
  });
  assert.deepEqual(wrong, unknown);
  assert.equal(hashed(), 2, "an unknown name is hashed too (against a stand-in), as long");
  assert.equal(gatekeeper.passwordRequired("Mallory"), gatekeeper.passwordRequired("Bob"));
});

Deno.test("Gatekeeper throttles an address after its free failures, without hashing", async () => {
  const { gatekeeper, clock, hashed, log } = await setUp();
  for (let i = 0; i < 4; i++) {
    assert.equal((await gatekeeper.login("Bob", `guess ${i}`, "10.0.0.1")).ok, false);
  }
  const before = hashed();
  const refused = await gatekeeper.login("Bob", "correct horse", "10.0.0.1");
  assert.deepEqual(refused, {
    ok: false,
    code: "throttled",
    message: "Too many failed logins; try again in 1 second",
  });
  assert.equal(hashed(), before, "a throttled try costs no hashing");
  assert.ok(log.some((line) => line.includes("login throttled from 10.0.0.1")));

  assert.equal((await gatekeeper.login("Bob", "correct horse", "10.0.0.2")).ok, true);
  clock.now += 1000;
  assert.equal((await gatekeeper.login("Bob", "guess 5", "10.0.0.1")).ok, false);
  assert.match(
    (await gatekeeper.login("Bob", "correct horse", "10.0.0.1") as { message: string }).message,
    /try again in 2 seconds/,
    "the wait doubles",
  );
  await gatekeeper.settled();
});

Deno.test("Gatekeeper throttles a name guessed from many addresses", async () => {
  const { gatekeeper, hashed } = await setUp({
    throttle: {
      ...LIMITS,
      address: { free: 100, baseMs: 1000, maxMs: 60_000 },
      name: LIMITS.address,
    },
  });
  for (let i = 0; i < 4; i++) await gatekeeper.login("Bob", "guess", `10.0.0.${i}`);
  const before = hashed();
  assert.equal(
    (await gatekeeper.login("bob", "correct horse", "10.0.0.99") as { code: string }).code,
    "throttled",
  );
  assert.equal(hashed(), before);
  assert.equal(
    (await gatekeeper.login("Carol", "anything", "10.0.0.99") as { code: string }).code,
    "wrong_password",
  );
});

Deno.test("Gatekeeper refuses an over-long password without hashing it", async () => {
  const { gatekeeper, hashed } = await setUp();
  const verdict = await gatekeeper.login("Bob", "x".repeat(MAX_PASSWORD_LENGTH + 1), "10.0.0.1");
  assert.equal((verdict as { code: string }).code, "wrong_password");
  assert.equal(hashed(), 0);
  // Characters, not UTF-16 units, are counted: 1024 emoji are a possible password.
  await gatekeeper.login("Bob", "😀".repeat(MAX_PASSWORD_LENGTH), "10.0.0.1");
  assert.equal(hashed(), 1);
});

Deno.test("Gatekeeper runs at most maxConcurrent checks, queues a few and turns the rest away", async () => {
  const pending: PromiseWithResolvers<boolean>[] = [];
  const { gatekeeper } = await setUp({
    maxConcurrent: 2,
    maxQueued: 1,
    verify: () => {
      const check = Promise.withResolvers<boolean>();
      pending.push(check);
      return check.promise;
    },
  });
  const logins = [1, 2, 3].map((i) => gatekeeper.login("Bob", "guess", `10.0.0.${i}`));
  await Promise.resolve();
  const busy = await gatekeeper.login("Bob", "guess", "10.0.0.4");
  assert.deepEqual(busy, {
    ok: false,
    code: "busy",
    message: "The server is busy checking passwords; try again in a moment",
  });
  assert.deepEqual([pending.length, gatekeeper.active, gatekeeper.queued], [2, 2, 1]);
  pending[0].resolve(false);
  await within(logins[0], () => "the first login got no verdict after its check failed");
  await until(
    () => pending.length >= 3,
    () => `the queued login's check to start (${pending.length} of 3 checks started)`,
  );
  assert.deepEqual([gatekeeper.active, gatekeeper.queued], [2, 0], "the queued one took the place");
  pending[1].resolve(false);
  pending[2].resolve(false);
  await within(Promise.all(logins), () => "not all three logins got a verdict");
  assert.deepEqual([gatekeeper.active, gatekeeper.queued], [0, 0]);
});

Deno.test("Gatekeeper lets one address run or queue a few logins at once, and no more", async () => {
  const pending: PromiseWithResolvers<boolean>[] = [];
  const { gatekeeper } = await setUp({
    throttle: { ...LIMITS, address: { free: 100, baseMs: 1000, maxMs: 60_000 } },
    verify: () => {
      const check = Promise.withResolvers<boolean>();
      pending.push(check);
      return check.promise;
    },
  });
  const mine = Array.from(
    { length: MAX_LOGINS_PER_ADDRESS },
    () => gatekeeper.login("Bob", "guess", "10.0.0.1"),
  );
  assert.deepEqual(
    await gatekeeper.login("Bob", "guess", "10.0.0.1"),
    {
      ok: false,
      code: "busy",
      message: "The server is busy checking passwords; try again in a moment",
    },
  );
  // Another address still gets a place.
  const other = gatekeeper.login("Bob", "correct horse", "10.0.0.2");
  await until(
    () => pending.length >= MAX_LOGINS_PER_ADDRESS,
    () => `the checks of 10.0.0.1's logins to start (${pending.length} started)`,
  );
  for (const check of pending) check.resolve(false);
  await within(Promise.all(mine), () => "10.0.0.1's logins got no verdicts");
  await until(
    () => pending.length >= MAX_LOGINS_PER_ADDRESS + 1,
    () => `the check of 10.0.0.2's login to start (${pending.length} started)`,
  );
  pending.at(-1)!.resolve(true);
  assert.deepEqual(await within(other, () => "10.0.0.2's login got no verdict"), { ok: true });
  // Places are given back.
  const again = gatekeeper.login("Bob", "guess", "10.0.0.1");
  await until(
    () => pending.length >= MAX_LOGINS_PER_ADDRESS + 2,
    () => `the check of 10.0.0.1's next login to start (${pending.length} started)`,
  );
  pending.at(-1)!.resolve(false);
  assert.equal((await within(again, () => "10.0.0.1's next login got no verdict")).ok, false);
  // Bob's good login renews his outdated hash in the background.
  await within(gatekeeper.settled(), () => "the background rehash of Bob's password never settled");
});

Deno.test("Gatekeeper refuses an absurdly long name without hashing or remembering it", async () => {
  const { gatekeeper, hashed } = await setUp({ mode: "required" });
  const verdict = await gatekeeper.login("x".repeat(30_000), "some password", "10.0.0.1");
  assert.deepEqual(verdict, {
    ok: false,
    code: "wrong_password",
    message: "Wrong name or password",
  });
  assert.equal(hashed(), 0);
});

Deno.test("Gatekeeper replaces an outdated hash after a good login", async () => {
  const { gatekeeper, store, log } = await setUp({ rehashParams: undefined });
  const old = store.getUser("Bob")!.hash;
  assert.ok(needsRehash(old));
  assert.equal((await gatekeeper.login("Bob", "correct horse", "10.0.0.1")).ok, true);
  await gatekeeper.settled();
  const renewed = store.getUser("Bob")!.hash;
  assert.notEqual(renewed, old);
  assert.ok(!needsRehash(renewed), `today's parameters: ${parseHash(renewed)?.params.ln}`);
  assert.ok(await verifyPassword("correct horse", renewed));
  assert.ok(log.includes("rehashed the password of Bob"));
  assert.equal(gatekeeper.active, 0, "the rehash gave its place back");
});

Deno.test("Gatekeeper keeps a password changed while it rehashed, and survives a failed write", async () => {
  const { gatekeeper, store, log } = await setUp();
  assert.equal((await gatekeeper.login("Bob", "correct horse", "10.0.0.1")).ok, true);
  // `chat user passwd` from another process, while the rehash runs.
  const changed = await hashPassword("new password", CHEAP);
  store.users.get(nameKey("Bob"))!.hash = changed;
  await gatekeeper.settled();
  assert.equal(store.getUser("Bob")!.hash, changed);

  store.failWrites = true;
  assert.equal((await gatekeeper.login("Bob", "new password", "10.0.0.1")).ok, true);
  await gatekeeper.settled();
  assert.ok(
    log.some((line) => line.includes("could not rehash the password of Bob: database is locked")),
  );
  assert.equal(gatekeeper.active, 0);
});

Deno.test("Gatekeeper says it is busy, without counting a failure, when the accounts cannot be read", async () => {
  const { gatekeeper, store, log } = await setUp();
  store.failReads = true;
  const verdict = await gatekeeper.login("Bob", "correct horse", "10.0.0.1");
  assert.deepEqual(verdict, {
    ok: false,
    code: "busy",
    message: "The server is busy checking passwords; try again in a moment",
  });
  assert.ok(log.some((line) => line.includes("could not read the account: disk I/O error")));
  store.failReads = false;
  assert.equal(
    (await gatekeeper.login("Bob", "correct horse", "10.0.0.1")).ok,
    true,
    "not counted",
  );
  await gatekeeper.settled();
});
