/**
 * The folders are the architecture: this test reads every import in lib/
 * and main.ts and fails when one breaks the rules of docs/ARCHITECTURE.md.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url);

/**
 * Which folders of lib/ each folder may import from (besides itself). The
 * order is the layering: a folder imports only from folders above it in the
 * list, which keeps the folders free of circles.
 */
const MAY_IMPORT: Record<string, string[]> = {
  core: [],
  io: [],
  protocol: ["core", "io"],
  store: ["core", "version"],
  auth: ["core"],
  server: ["core", "io", "protocol", "auth"],
  cli: ["core", "io", "protocol", "server", "store", "auth", "version"],
  client: ["core", "io", "protocol", "cli", "version"],
  web: ["core", "io", "protocol", "server", "auth"],
  serve: ["core", "io", "protocol", "server", "store", "auth", "cli", "web", "version"],
};

/**
 * What the client may take from the core: the vocabulary of the wire (the
 * events the server sends, its error codes) and how text is made safe to
 * show; never the core's machinery (hub, rooms, commands, stores).
 */
const CLIENT_MAY_USE_FROM_CORE = ["core/events.ts", "core/errors.ts", "core/sanitize.ts"];

/** One import: who imports what (paths relative to lib/, or "main.ts"). */
interface Edge {
  from: string;
  to: string;
}

/** Every lib/ file, relative to lib/. */
async function libFiles(dir = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(`lib/${dir}`, ROOT))) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory) files.push(...await libFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

/**
 * The code of a module without its comments, so that the examples in doc
 * comments (which import what they show) are not taken for imports.
 */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** The specifiers a module imports or re-exports, statically or dynamically. */
function specifiers(source: string): string[] {
  const code = withoutComments(source);
  const found: string[] = [];
  for (const match of code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/gm)) {
    found.push(match[1]);
  }
  for (const match of code.matchAll(/\bimport\s*\(\s*"([^"]+)"\s*\)/g)) found.push(match[1]);
  for (const match of code.matchAll(/^\s*import\s*"([^"]+)"/gm)) found.push(match[1]);
  return found;
}

/** Resolves a relative specifier of `from` (relative to lib/) to a path relative to lib/. */
function resolve(from: string, specifier: string): string {
  const url = new URL(specifier, new URL(`lib/${from}`, ROOT));
  const lib = new URL("lib/", ROOT).href;
  return url.href.startsWith(lib) ? url.href.slice(lib.length) : `../${url.href}`;
}

/** The folder of a lib/ path: "core" for core/hub.ts, "version" for a root file. */
function folder(path: string): string {
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : path.replace(/\.ts$/, "");
}

async function readGraph(): Promise<{ edges: Edge[]; sources: Map<string, string> }> {
  const edges: Edge[] = [];
  const sources = new Map<string, string>();
  for (const file of await libFiles()) {
    const source = await Deno.readTextFile(new URL(`lib/${file}`, ROOT));
    sources.set(file, source);
    for (const specifier of specifiers(source)) {
      edges.push({
        from: file,
        to: specifier.startsWith(".") ? resolve(file, specifier) : specifier,
      });
    }
  }
  return { edges, sources };
}

const { edges, sources } = await readGraph();

Deno.test("the graph reader finds imports, and skips those in doc examples", () => {
  assert.deepEqual(
    specifiers(
      [
        "/**",
        " * ```ts",
        ' * import { x } from "./example.ts";',
        " * ```",
        " */",
        'import { a } from "./a.ts";',
        'import type {\n  B,\n} from "../b/b.ts";',
        'export { c } from "./c.ts";',
        'const d = await import("./d.ts");',
        '// import { e } from "./e.ts";',
      ].join("\n"),
    ),
    ["./a.ts", "../b/b.ts", "./c.ts", "./d.ts"],
  );
  // The real graph is read: the hub imports its rooms.
  assert.ok(edges.some((e) => e.from === "core/hub.ts" && e.to === "core/room.ts"));
});

Deno.test("every lib/ file sits in a folder of the architecture (or is lib/version.ts)", () => {
  const known = new Set([...Object.keys(MAY_IMPORT), "version"]);
  const strays = [...sources.keys()].filter((file) => !known.has(folder(file)));
  assert.deepEqual(strays, [], "files outside the folders docs/ARCHITECTURE.md describes");
});

Deno.test("lib/core/ imports nothing outside itself and calls no Deno API", () => {
  const outside = edges.filter((e) => folder(e.from) === "core" && folder(e.to) !== "core")
    .map((e) => `${e.from} imports ${e.to}`);
  assert.deepEqual(outside, []);
  const runtime = [...sources].filter(([file]) => folder(file) === "core")
    .filter(([, source]) => /\bDeno\./.test(withoutComments(source)))
    .map(([file]) => file);
  assert.deepEqual(runtime, [], "core modules that call Deno.*");
});

Deno.test("each folder imports only the folders below it", () => {
  const broken = edges
    // Packages (node:, npm: and deno.json's imports) are not folders of ours.
    .filter((e) => sources.has(e.to) && folder(e.from) !== folder(e.to))
    .filter((e) => !(MAY_IMPORT[folder(e.from)] ?? []).includes(folder(e.to)))
    .map((e) => `${e.from} imports ${e.to}`);
  assert.deepEqual(broken, []);
});

Deno.test("the client takes the wire format from the core, not its machinery", () => {
  const broken = edges
    .filter((e) => folder(e.from) === "client" && folder(e.to) === "core")
    .filter((e) => !CLIENT_MAY_USE_FROM_CORE.includes(e.to))
    .map((e) => `${e.from} imports ${e.to}`);
  assert.deepEqual(broken, []);
});

Deno.test("the folders' rules have no circle, and no module imports itself back", () => {
  // The table itself: each folder may import only folders listed before it.
  const order = Object.keys(MAY_IMPORT);
  for (const [name, allowed] of Object.entries(MAY_IMPORT)) {
    for (const other of allowed.filter((o) => o !== "version")) {
      assert.ok(order.indexOf(other) < order.indexOf(name), `${name} may import ${other}`);
    }
  }
  // Modules: a depth-first search for a circle of imports, types included.
  const next = new Map<string, string[]>();
  for (const e of edges.filter((e) => sources.has(e.to))) {
    next.set(e.from, [...next.get(e.from) ?? [], e.to]);
  }
  const state = new Map<string, "open" | "done">();
  const circles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      circles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "open");
    for (const to of next.get(file) ?? []) visit(to, [...path, file]);
    state.set(file, "done");
  };
  for (const file of sources.keys()) visit(file, []);
  assert.deepEqual(circles, []);
});
