/**
 * What the README promises about commands and exit codes, checked against
 * the code: every way to type a room command is in its "In the room" table,
 * and what it says about `make` and exit codes is what `make` does.
 *
 * @module
 */

import assert from "node:assert/strict";
import { COMMANDS } from "../lib/core/commands.ts";
import { ROOT } from "./_chat_command.ts";
import { within } from "./_helpers.ts";
import { closedPort } from "./chat_helpers.ts";

const README = await Deno.readTextFile(new URL("README.md", ROOT));

/** The text of the README section under `heading`, up to the next heading. */
function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `no section ${heading}`);
  const end = README.indexOf("\n#", start + heading.length + 2);
  return README.slice(start, end < 0 ? undefined : end);
}

Deno.test("the README's room table names every command and alias, /bye among them", () => {
  const table = section("### In the room");
  const missing = COMMANDS.names().filter((name) => !table.includes(`\`/${name}`));
  assert.deepEqual(missing, []);
});

Deno.test("the README says make exits 2 when chat fails, and make join does so", async () => {
  const codes = section("### Other commands and exit codes");
  assert.match(codes, /`make`[^\n]*exits with 2/);

  // A join to a closed port exits 3 on its own; through make, 2.
  const make = new Deno.Command("make", {
    args: ["-s", "join", `ARGS=--name Ann 127.0.0.1:${closedPort()}`, `DENO=${Deno.execPath()}`],
    cwd: ROOT,
    env: { CHAT_HOST: "", CHAT_PORT: "", CHAT_NAME: "", CHAT_PASSWORD: "", CHAT_CA: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stderr } = await within(make.output(), () => "make join hung");
  const said = new TextDecoder().decode(stderr);
  assert.equal(code, 2, said);
  assert.match(said, /^chat: cannot connect to 127\.0\.0\.1:\d+/m);
  assert.match(said, /\bjoin\] Error 3$/m);
});
