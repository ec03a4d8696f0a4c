/**
 * `chat --version` and `chat --help`, run as a user runs them: a real process
 * with the executables' permission set and no prompts (or the executable
 * itself, see _chat_command.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { VERSION } from "../lib/version.ts";
import { type ChatRun, ROOT, runChat } from "./_chat_command.ts";

function chat(...args: string[]): Promise<ChatRun> {
  return runChat(args);
}

/** Paths (from the repository root, with "/") of the files in `dir`, in its subfolders too. */
async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${dir}/`, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await filesUnder(path));
    else files.push(path);
  }
  return files;
}

Deno.test("the version comes from deno.json and nowhere else", async () => {
  assert.match(config.version, /^\d+\.\d+\.\d+(-[\w.]+)?$/);
  assert.equal(VERSION, config.version);
  // No source file spells the version out: bumping deno.json is the whole release edit.
  const files = [...await filesUnder("lib"), ...await filesUnder("tools")];
  // The search reaches the file that reads the version, wherever lib/ keeps it.
  assert.ok(
    files.some((path) => path.endsWith("/version.ts")),
    `no version.ts among the files searched:\n${files.join("\n")}`,
  );
  for (const path of files) {
    const text = await Deno.readTextFile(new URL(path, ROOT));
    assert.ok(!text.includes(`"${config.version}"`), `${path} spells the version`);
  }
  const main = await Deno.readTextFile(new URL("main.ts", ROOT));
  assert.ok(!main.includes(`"${config.version}"`), "main.ts spells the version");
});

Deno.test("chat --version, -V, -v and version print 'chat <version>' and exit 0", async () => {
  for (const flag of ["--version", "-V", "-v", "version"]) {
    const run = await chat(flag);
    assert.deepEqual(run, { code: 0, stdout: `chat ${config.version}\n`, stderr: "" }, flag);
  }
});

Deno.test("chat --help prints the text in tests/help.txt and exits 0", async () => {
  const want = await Deno.readTextFile(new URL("help.txt", import.meta.url));
  for (const args of [["--help"], ["help"], []]) {
    const run = await chat(...args);
    assert.deepEqual(run, { code: 0, stdout: want, stderr: "" }, args.join(" "));
  }
});
