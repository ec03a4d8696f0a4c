/**
 * CommitGroup (lib/store/commit_group.ts) with a transaction the test
 * drives: the writes of a turn share one commit at its end, nobody hears
 * back before it, answers keep the order the writes were asked in, and a
 * failed group is refused whole.
 *
 * @module
 */

import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { CommitGroup } from "../lib/store/commit_group.ts";

/** A group whose commits the test records, and fails when told. */
function recorded() {
  const commits: string[][] = [];
  const heard: string[] = [];
  let writing: string[] = [];
  const state = { fail: false };
  const group = new CommitGroup((writes) => {
    writing = [];
    writes();
    // Owners hear nothing before the commit is done.
    assert.deepEqual(heard.filter((h) => writing.includes(h)), []);
    if (state.fail) throw new Error("disk is full");
    commits.push(writing);
  });
  const ask = (what: string) =>
    group.add(() => {
      writing.push(what);
      return what;
    }, (done) =>
      heard.push(done), (error) =>
      heard.push(`${what}: ${(error as Error).message}`));
  return { group, commits, heard, ask, state };
}

Deno.test("CommitGroup commits what was asked in a turn in one transaction at its end, then answers in order", async () => {
  const { commits, heard, ask } = recorded();
  for (const what of ["a", "b", "c"]) ask(what);
  assert.deepEqual(commits, [], "nothing before the end of the turn");
  // Immediates run in the order they were asked for: the group's first.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(commits, [["a", "b", "c"]]);
  assert.deepEqual(heard, ["a", "b", "c"]);
});

Deno.test("CommitGroup refuses a whole group whose commit fails, and keeps the next", () => {
  const { group, commits, heard, ask, state } = recorded();
  state.fail = true;
  ask("a");
  ask("b");
  group.commit();
  state.fail = false;
  ask("c");
  group.commit();
  assert.deepEqual(commits, [["c"]]);
  assert.deepEqual(heard, ["a: disk is full", "b: disk is full", "c"]);
});
