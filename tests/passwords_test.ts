/**
 * Tests of lib/passwords.ts: scrypt hashes in PHC form, constant-time checks,
 * and the login throttle (with explicit times, no clock).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  hashPassword,
  LoginThrottle,
  needsRehash,
  parseHash,
  passwordProblem,
  SCRYPT_PARAMS,
  type ThrottleLimits,
  verifyPassword,
} from "../lib/auth/passwords.ts";

/** Cheap parameters, so that the tests that are not about cost run fast. */
const CHEAP = { ln: 10, r: 8, p: 1 };

Deno.test("hashPassword() writes $scrypt$ln=15,r=8,p=1$salt$hash with a fresh 16-byte salt", async () => {
  const a = await hashPassword("correct horse battery");
  const b = await hashPassword("correct horse battery");
  assert.match(a, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.notEqual(a, b, "two hashes of one password must differ (salt)");
  const parsed = parseHash(a);
  assert.ok(parsed);
  assert.deepEqual(parsed.params, SCRYPT_PARAMS);
  assert.equal(parsed.salt.length, 16);
  assert.equal(parsed.hash.length, 32);
  assert.ok(!a.includes("correct"));
});

Deno.test("verifyPassword() accepts the password and nothing else", async () => {
  const stored = await hashPassword("Zoë's secret 小明", CHEAP);
  assert.ok(await verifyPassword("Zoë's secret 小明", stored));
  // The same text with é decomposed (e + U+0301) is the same password.
  assert.ok(await verifyPassword("Zoe\u0308's secret 小明", stored));
  for (const wrong of ["", "zoë's secret 小明", "Zoë's secret 小明 ", "Zoë's secret"]) {
    assert.ok(!(await verifyPassword(wrong, stored)), JSON.stringify(wrong));
  }
});

Deno.test("verifyPassword() checks with the parameters stored in the hash", async () => {
  const old = await hashPassword("an older password", { ln: 11, r: 4, p: 2 });
  assert.ok(await verifyPassword("an older password", old));
  assert.ok(needsRehash(old));
  assert.ok(!needsRehash(await hashPassword("a new password")));
});

Deno.test("verifyPassword() refuses missing, damaged and hostile hashes without throwing", async () => {
  const good = await hashPassword("the password", CHEAP);
  const cases = [
    undefined,
    "",
    "plaintext",
    "$scrypt$ln=10,r=8,p=1$c2FsdA$",
    good.replace("$scrypt$", "$argon2id$"),
    // Costs a damaged or hostile database could ask for: refused, not computed.
    good.replace("ln=10", "ln=40"),
    good.replace("r=8", "r=99"),
    good.replace("p=1", "p=0"),
    good.slice(0, -10),
  ];
  for (const stored of cases) {
    assert.equal(await verifyPassword("the password", stored), false, String(stored));
  }
});

Deno.test("verifyPassword() takes as long for an unknown name as for a wrong password", async () => {
  const stored = await hashPassword("the password");
  const time = async (hash: string | undefined) => {
    const start = performance.now();
    await verifyPassword("a guess", hash);
    return performance.now() - start;
  };
  await time(stored); // warm up
  const known = await time(stored);
  const unknown = await time(undefined);
  // Both run scrypt at the default cost; an unknown name answered at once would be 100 times
  // faster. The margin is wide so that a busy machine does not fail the test.
  assert.ok(unknown > known / 4, `known ${known} ms, unknown ${unknown} ms`);
});

Deno.test("passwordProblem() wants 8 to 1024 characters, counted as characters", () => {
  assert.equal(passwordProblem("1234567"), "A password needs at least 8 characters");
  assert.equal(passwordProblem("12345678"), undefined);
  assert.equal(passwordProblem("小明小明小明小明"), undefined); // 8 characters, 24 bytes
  assert.equal(passwordProblem("👍🏽👍🏽👍🏽👍🏽"), undefined);
  assert.match(passwordProblem("x".repeat(1025)) ?? "", /at most 1024 characters/);
});

// ---- the throttle -------------------------------------------------------------

const LIMITS: ThrottleLimits = {
  address: { free: 6, baseMs: 1_000, maxMs: 8_000 },
  name: { free: 3, baseMs: 1_000, maxMs: 8_000 },
  forgetMs: 60_000,
};

Deno.test("LoginThrottle gives a name free failures, then doubles the wait up to the cap", () => {
  const throttle = new LoginThrottle(LIMITS);
  const waits: number[] = [];
  // A different address each time: only the name's record counts.
  for (let i = 0; i < 8; i++) {
    const verdict = throttle.check(`10.0.0.${i}`, "bob", 0);
    waits.push(verdict.ok ? 0 : verdict.retryAfterMs);
    throttle.failed(`10.0.0.${i}`, "bob", 0);
  }
  assert.deepEqual(waits, [0, 0, 0, 0, 1000, 2000, 4000, 8000]);
  assert.deepEqual(throttle.check("10.0.0.9", "bob", 0), { ok: false, retryAfterMs: 8000 });
  // The cap holds however long the attack goes on.
  for (let i = 0; i < 100; i++) throttle.failed(`10.1.0.${i}`, "bob", 0);
  assert.deepEqual(throttle.check("10.0.0.9", "bob", 0), { ok: false, retryAfterMs: 8000 });
  assert.deepEqual(throttle.check("10.0.0.9", "bob", 5000), { ok: false, retryAfterMs: 3000 });
  assert.ok(throttle.check("10.0.0.9", "bob", 8000).ok);
  assert.ok(throttle.check("10.0.0.9", "alice", 0).ok, "other names are not slowed down");
});

Deno.test("LoginThrottle slows down an address that tries many names", () => {
  const throttle = new LoginThrottle(LIMITS);
  for (let i = 0; i < 7; i++) throttle.failed("10.0.0.5", `user${i}`, 0);
  assert.deepEqual(throttle.check("10.0.0.5", "fresh", 0), { ok: false, retryAfterMs: 1000 });
  assert.ok(throttle.check("10.0.0.6", "fresh", 0).ok, "other addresses are not slowed down");
});

Deno.test("LoginThrottle forgets a name's failures on success, an address's only with time", () => {
  const throttle = new LoginThrottle(LIMITS);
  for (let i = 0; i < 7; i++) throttle.failed("10.0.0.5", "bob", 0);
  assert.ok(!throttle.check("10.0.0.9", "bob", 0).ok);
  throttle.succeeded("10.0.0.5", "bob", 0);
  assert.ok(throttle.check("10.0.0.9", "bob", 0).ok, "the name is free again");
  // An attacker's own good login does not clear the address.
  assert.ok(!throttle.check("10.0.0.5", "carol", 0).ok);
  assert.ok(throttle.check("10.0.0.5", "carol", LIMITS.forgetMs).ok, "a quiet spell clears it");
  assert.equal(throttle.size.addresses, 0);
});

Deno.test("LoginThrottle does not lock a name's owner out where they logged in before", () => {
  const throttle = new LoginThrottle(LIMITS);
  throttle.succeeded("10.0.0.5", "teacher", 0);
  // Someone elsewhere guesses at the name until it is held back...
  for (let i = 0; i < 20; i++) throttle.failed("10.9.9.9", "teacher", 1);
  assert.ok(!throttle.check("10.0.0.7", "teacher", 1).ok, "for everyone else");
  // ...but not for the address its owner logged in from.
  assert.ok(throttle.check("10.0.0.5", "teacher", 1).ok);
  throttle.failed("10.9.9.9", "teacher", LIMITS.forgetMs);
  for (let i = 0; i < 20; i++) throttle.failed("10.9.9.9", "teacher", LIMITS.forgetMs);
  assert.ok(!throttle.check("10.0.0.5", "teacher", LIMITS.forgetMs).ok, "trust is forgotten");
});

Deno.test("LoginThrottle's memory stays bounded under a stream of new names", () => {
  const throttle = new LoginThrottle(LIMITS, 100);
  for (let i = 0; i < 1000; i++) {
    // Each burst is old news by the next one, so pruning can drop it.
    throttle.failed(`10.0.${i >> 8}.${i & 255}`, `name${i}`, i * LIMITS.forgetMs);
  }
  assert.ok(throttle.size.names <= 100, `${throttle.size.names} names remembered`);
  assert.ok(throttle.size.addresses <= 100, `${throttle.size.addresses} addresses remembered`);
});
