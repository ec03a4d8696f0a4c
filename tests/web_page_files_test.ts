import assert from "node:assert/strict";
import { PAGE_FILES } from "../lib/web/page_files.ts";
import { PAGE, SOURCE_DIR } from "../tools/gen_page.ts";

Deno.test("the page's files the server holds are lib/web/page/'s as they are (else run make page)", async () => {
  assert.deepEqual(Object.keys(PAGE_FILES), Object.keys(PAGE));
  for (const [path, { file, type }] of Object.entries(PAGE)) {
    const text = await Deno.readTextFile(new URL(file, SOURCE_DIR));
    assert.equal(PAGE_FILES[path].type, type, path);
    assert.ok(
      PAGE_FILES[path].text === text,
      `lib/web/page_files.ts has an old ${file}: run make page`,
    );
  }
});

Deno.test("every file of lib/web/page/ is served and embedded (else add it to tools/gen_page.ts)", async () => {
  const served = new Set(Object.values(PAGE).map(({ file }) => file));
  // check.json type-checks the page's script; it is no part of the page.
  const missing: string[] = [];
  for await (const entry of Deno.readDir(SOURCE_DIR)) {
    if (entry.isFile && entry.name !== "check.json" && !served.has(entry.name)) {
      missing.push(entry.name);
    }
  }
  assert.deepEqual(missing, []);
});
