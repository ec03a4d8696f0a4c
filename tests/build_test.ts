/**
 * Tests of the release build (tools/build.ts): target list, file names,
 * checksums, the one-line errors, and real compiles.
 *
 * The Deno runtime that `deno compile` wraps the program in (`denort`) cannot
 * be downloaded here, so the real compiles use the full `deno` binary as a
 * stand-in (`DENORT_BIN`): its output is not a working standalone program, but
 * it holds exactly what deno embeds, which is what these tests read.
 *
 * @module
 */

import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import {
  artifactName,
  checksumsFile,
  checkTag,
  compileArgs,
  declaredNpmPackages,
  embeddedPaths,
  explainFailure,
  fileWorkers,
  fileWorkersIn,
  hostTarget,
  NPM_EMBED_DIR,
  NPM_PACKAGES,
  PERMISSION_SET,
  TARGETS,
  unexpectedEmbeds,
} from "../tools/build.ts";
import { readEmbedded } from "../tools/inspect.ts";
import { checkpointWorkerSource } from "../lib/store/checkpoint_worker.ts";

const ROOT = new URL("..", import.meta.url);
const DENO = Deno.execPath();
/** The permissions the Makefile runs the build with (BUILD_PERMS). */
const BUILD_PERMS = ["--allow-read", "--allow-write", "--allow-run", "--allow-env"];

/** Output of one process run. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs deno with `args` in the repository; `env` entries set to undefined are removed. */
async function deno(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd: string | URL = ROOT,
): Promise<Run> {
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...Deno.env.toObject(), NO_COLOR: "1", ...env })) {
    if (value !== undefined) merged[key] = value;
  }
  const { code, stdout, stderr } = await new Deno.Command(DENO, {
    args,
    cwd,
    env: merged,
    clearEnv: true,
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** Runs the build script as `make compile` and `make dist` do. */
function build(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return deno(["run", ...BUILD_PERMS, "tools/build.ts", ...args], env);
}

// ---- pure parts -------------------------------------------------------------

Deno.test("TARGETS lists exactly the targets deno compile --target accepts", async () => {
  const { code, stderr } = await deno(["compile", "--target", "no-such-target", "main.ts"]);
  assert.notEqual(code, 0);
  const possible = /possible values: (.+)/.exec(stderr)?.[1];
  assert.ok(possible, `deno compile did not list its targets:\n${stderr}`);
  assert.deepEqual([...TARGETS].sort(), possible.split(", ").map((t) => t.trim()).sort());
});

Deno.test("artifactName() names executables chat-<version>-<target>, with .exe for Windows", () => {
  const cases: [string, (typeof TARGETS)[number], string][] = [
    ["0.1.0", "x86_64-unknown-linux-gnu", "chat-0.1.0-x86_64-unknown-linux-gnu"],
    ["0.1.0", "aarch64-unknown-linux-gnu", "chat-0.1.0-aarch64-unknown-linux-gnu"],
    ["0.1.0", "x86_64-apple-darwin", "chat-0.1.0-x86_64-apple-darwin"],
    ["0.1.0", "aarch64-apple-darwin", "chat-0.1.0-aarch64-apple-darwin"],
    ["0.1.0", "x86_64-pc-windows-msvc", "chat-0.1.0-x86_64-pc-windows-msvc.exe"],
    ["1.10.2", "aarch64-pc-windows-msvc", "chat-1.10.2-aarch64-pc-windows-msvc.exe"],
  ];
  for (const [version, target, want] of cases) assert.equal(artifactName(version, target), want);
});

Deno.test("checksumsFile() writes '<sha256>  <name>' lines sorted by name", () => {
  const a = "a".repeat(64);
  const b = "b".repeat(64);
  const sums = new Map([["chat-0.1.0-x86_64-pc-windows-msvc.exe", b], [
    "chat-0.1.0-aarch64-apple-darwin",
    a,
  ]]);
  assert.equal(
    checksumsFile(sums),
    `${a}  chat-0.1.0-aarch64-apple-darwin\n${b}  chat-0.1.0-x86_64-pc-windows-msvc.exe\n`,
  );
  assert.equal(checksumsFile(new Map()), "");
});

Deno.test("checkTag() accepts v<version> and refuses any other tag", () => {
  checkTag("v0.1.0", "0.1.0");
  for (const tag of ["0.1.0", "v0.1.1", "v0.1.0-rc1", "release"]) {
    assert.throws(() => checkTag(tag, "0.1.0"), /does not match version 0\.1\.0/, tag);
  }
});

Deno.test("hostTarget() maps this machine to a target and refuses unknown ones", () => {
  assert.ok(TARGETS.includes(hostTarget()));
  assert.equal(hostTarget("aarch64-apple-darwin"), "aarch64-apple-darwin");
  assert.throws(() => hostTarget("riscv64gc-unknown-linux-gnu"), /cannot build for this machine/);
});

Deno.test("compileArgs() bakes in the chat permission set and no prompts", () => {
  const args = compileArgs({
    target: "x86_64-apple-darwin",
    output: "/out/chat",
    config: "deno.json",
    entry: "main.ts",
  });
  assert.ok(args.includes(`--permission-set=${PERMISSION_SET}`));
  assert.ok(args.includes("--no-prompt"));
  assert.ok(args.includes("--config=deno.json"));
  assert.ok(args.includes("--target=x86_64-apple-darwin"));
  assert.ok(args.includes("--output=/out/chat"));
  assert.equal(args[0], "compile");
  assert.equal(args.at(-1), "main.ts");
  assert.ok(!args.some((a) => /^--allow-|^-A$|--no-config/.test(a)), args.join(" "));
  assert.ok(PERMISSION_SET in config.permissions, "deno.json lacks the permission set");
});

/** What deno compile prints, without colours, for a collapsed and an expanded tree. */
const COLLAPSED = `Check main.ts
Compile main.ts to dist/chat

Embedded Files

chat
├── deno.json (1.14KB)
├── lib/* (171.22KB)
└── main.ts (3.92KB)

Files: 180KB
Metadata: 1.55KB
`;
const EXPANDED = `Embedded Files

chat
├── deno.json (1.26KB)
├─┬ lib (172.76KB)
│ ├── bytes.ts (998B)
│ └── version.ts (687B)
├─┬ node_modules (2MB)
│ └─┬ foo (2MB)
│   └── index.js (2MB)
└── main.ts (5.92KB)

Files: 183.67KB
`;

/** The tree with the npm package we declare, collapsed, and with others, expanded. */
const WITH_NPM = `Embedded Files

chat
├── .deno_compile_node_modules/localhost/node-forge/1.4.3/* (1.63MB - 1.63MB unique)
├── deno.json (1.5KB)
├── lib/* (300KB)
└── main.ts (2.6KB)

Files: 1.93MB
`;
const WITH_OTHER_NPM = `Embedded Files

chat
├─┬ .deno_compile_node_modules (4.27MB - 4.27MB unique)
│ └─┬ localhost (4.27MB - 4.27MB unique)
│   ├─┬ @types (2.53MB - 2.53MB unique)
│   │ ├── node/* (2.47MB - 2.47MB unique)
│   │ └── node-forge/* (62.24KB - 61.11KB unique)
│   ├── node-forge/1.4.2/* (1.63MB - 1.63MB unique)
│   └── undici-types/8.9.0/* (118.64KB - 118.12KB unique)
├── lib/* (424B)
└── main.ts (436B)

Files: 4.29MB
`;

Deno.test("embeddedPaths() reads deno's collapsed and expanded file trees as paths", () => {
  assert.deepEqual(embeddedPaths(COLLAPSED), ["deno.json", "lib", "main.ts"]);
  assert.deepEqual(embeddedPaths(EXPANDED), [
    "deno.json",
    "lib/bytes.ts",
    "lib/version.ts",
    "node_modules/foo/index.js",
    "main.ts",
  ]);
  assert.deepEqual(embeddedPaths(WITH_OTHER_NPM), [
    ".deno_compile_node_modules/localhost/@types/node",
    ".deno_compile_node_modules/localhost/@types/node-forge",
    ".deno_compile_node_modules/localhost/node-forge/1.4.2",
    ".deno_compile_node_modules/localhost/undici-types/8.9.0",
    "lib",
    "main.ts",
  ]);
  assert.equal(embeddedPaths("Check main.ts\n"), undefined);
});

Deno.test("unexpectedEmbeds() allows only main.ts, deno.json, lib and the declared npm packages", () => {
  assert.deepEqual(unexpectedEmbeds(embeddedPaths(COLLAPSED) ?? []), []);
  assert.deepEqual(unexpectedEmbeds(embeddedPaths(WITH_NPM) ?? []), []);
  assert.deepEqual(unexpectedEmbeds(embeddedPaths(EXPANDED) ?? []), ["node_modules"]);
  assert.deepEqual(unexpectedEmbeds(embeddedPaths(WITH_OTHER_NPM) ?? []), [
    "npm package @types/node",
    "npm package @types/node-forge",
    "npm package node-forge@1.4.2",
    "npm package undici-types",
  ]);
  // A package deno.json does not declare is refused, even one we used to.
  assert.deepEqual(unexpectedEmbeds(embeddedPaths(WITH_NPM) ?? [], new Map()), [
    "npm package node-forge",
  ]);
  assert.deepEqual(unexpectedEmbeds([NPM_EMBED_DIR]), [
    `${NPM_EMBED_DIR} (npm packages not listed)`,
  ]);
  assert.deepEqual(unexpectedEmbeds([".tools", "package.json", "tests"]), [
    ".tools",
    "package.json",
    "tests",
  ]);
});

Deno.test("declaredNpmPackages() reads deno.json's npm imports and wants exact versions", () => {
  assert.deepEqual(
    [...declaredNpmPackages({ a: "npm:@scope/pkg@2.0.0-rc.1/sub", b: "jsr:@std/fs", c: "./c.ts" })],
    [["@scope/pkg", "2.0.0-rc.1"]],
  );
  for (const target of ["npm:node-forge", "npm:node-forge@^1.4.3", "npm:node-forge@1"]) {
    assert.throws(
      () => declaredNpmPackages({ forge: target }),
      /^BuildError: deno\.json imports 'forge' as .*: name an exact version \(npm:NAME@1\.2\.3\)$/,
      target,
    );
  }
});

/** deno compile's output when dl.deno.land cannot be reached. */
const NO_DOWNLOAD = `Compile main.ts to dist/chat
Download https://dl.deno.land/release/v2.9.6/denort-x86_64-apple-darwin.zip
error: Writing deno compile executable to temporary file 'dist/chat.tmp-24ac56bb3574c8fc'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-apple-darwin.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
    3: dns error
    4: failed to lookup address information: Name or service not known

Stack backtrace:
   0: <unknown>
`;

Deno.test("explainFailure() explains a runtime that cannot be downloaded or is wrong, in one line", () => {
  assert.equal(
    explainFailure("x86_64-apple-darwin", NO_DOWNLOAD, undefined),
    "cannot build x86_64-apple-darwin: the Deno runtime for it could not be downloaded from " +
      "dl.deno.land (failed to lookup address information: Name or service not known); " +
      "set DENORT_BIN to a denort binary for x86_64-apple-darwin",
  );
  const missing = "error: Writing deno compile executable\n\nCaused by:\n" +
    "    0: Could not find denort at '/no/denort'\n    1: No such file or directory (os error 2)\n";
  assert.equal(
    explainFailure("x86_64-unknown-linux-gnu", missing, "/no/denort"),
    "cannot build x86_64-unknown-linux-gnu: DENORT_BIN is /no/denort, which does not exist",
  );
  const wrong = "error: Writing deno compile executable\n\nCaused by:\n" +
    "    0: Writing binary bytes\n    1: Invalid object: Failed to parse PE\n";
  assert.equal(
    explainFailure("x86_64-pc-windows-msvc", wrong, "/bin/deno"),
    "cannot build x86_64-pc-windows-msvc: DENORT_BIN (/bin/deno) is not a Deno runtime for " +
      "this target (Invalid object: Failed to parse PE)",
  );
  assert.match(
    explainFailure("x86_64-pc-windows-msvc", "error: TS2322 [ERROR]: nope", undefined),
    /deno compile failed \(see its messages above\)$/,
  );
});

Deno.test("readEmbedded() refuses data that deno compile did not write", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  assert.throws(() => readEmbedded(bytes("just text")), /no deno compile data found/);
  // The magic bytes alone, without a length-prefixed metadata section, are not enough.
  assert.throws(() => readEmbedded(bytes("d3n0l4nd{}d3n0l4nd")), /no deno compile data found/);
});

Deno.test("the build refuses a worker started from a file, which the executables would not hold", async () => {
  assert.deepEqual(
    fileWorkers(`const w = new Worker(new URL("./w.ts", import.meta.url), { type: "module" });
      new Worker("./other.js"); new Worker(workerModuleUrl(source), { type: "module" });`),
    ['new Worker(new URL("./w.ts"', 'new Worker("./other.js"'],
  );
  // Ours: each worker runs a data: URL, whose module imports only what Deno has built in.
  assert.deepEqual(await fileWorkersIn(ROOT), []);
  const source = checkpointWorkerSource({ path: "/data/chat.db", intervalMs: 1, limitPages: 1 });
  const imports = [...source.matchAll(/\bimport\b[^"'`]*["'`]([^"'`]+)["'`]/g)].map((m) => m[1]);
  assert.deepEqual(imports, ["node:sqlite"]);
});

// ---- real compiles ------------------------------------------------------------

/**
 * Local files of main.ts's module graph, relative to the repository, as deno
 * info sees them: those reached by code, as a module imported only for its
 * types (`import type`) is not part of the program and is not embedded.
 */
async function moduleGraph(): Promise<{ files: string[]; npmPackages: unknown }> {
  const { code, stdout, stderr } = await deno(["info", "--json", "main.ts"]);
  assert.equal(code, 0, stderr);
  const info = JSON.parse(stdout) as {
    roots: string[];
    modules: { specifier: string; dependencies?: { code?: { specifier: string } }[] }[];
    npmPackages: Record<string, unknown>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const reached = new Set<string>(info.roots);
  for (const specifier of reached) {
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dependency.code) reached.add(dependency.code.specifier);
    }
  }
  const root = ROOT.href;
  const files = [...reached]
    .filter((s) => s.startsWith(root))
    .map((s) => decodeURIComponent(s.slice(root.length)))
    .sort();
  return { files, npmPackages: info.npmPackages };
}

Deno.test("make compile's build embeds exactly our module graph and the chat permission set", async () => {
  const out = await Deno.makeTempDir({ prefix: "chat-build-" });
  try {
    const run = await build(["compile", "--out-dir", out], { DENORT_BIN: DENO });
    assert.equal(run.code, 0, run.stderr);
    const target = hostTarget();
    const exe = `${out}/chat${target.includes("windows") ? ".exe" : ""}`;
    assert.match(
      run.stdout,
      new RegExp(`^built .*chat.* \\(\\d+\\.\\d MB, chat ${config.version}`),
    );

    const size = (await Deno.stat(exe)).size;
    // The stand-in runtime is the full deno (~96 MB); our code adds well under 1 MB.
    assert.ok(size > 50e6 && size < 250e6, `size ${size}`);

    const embedded = readEmbedded(await Deno.readFile(exe));
    const graph = await moduleGraph();
    const ours = embedded.files.filter((f) => !f.startsWith(`${NPM_EMBED_DIR}/`));
    assert.deepEqual(ours, graph.files, "embedded files differ from the module graph");
    assert.ok(ours.includes("lib/serve/serve.ts") && ours.includes("lib/client/join.ts"));
    // The checkpoint worker travels as a module too, its source run from a data: URL.
    assert.ok(ours.includes("lib/store/checkpoint_worker.ts"));
    // The web page travels as a module, its files' text in it.
    assert.ok(ours.includes("lib/web/page_files.ts"));
    assert.ok(!ours.some((f) => /node_modules|^\.tools\/|^tests\//.test(f)));
    // npm: the packages of deno.json that the program uses (the tests' own, such as
    // puppeteer-core, stay out), at their versions, and nothing they'd pull in.
    const declared = [...NPM_PACKAGES].map(([name, version]) => `${name}@${version}`);
    const used = Object.keys(graph.npmPackages as object).sort();
    assert.ok(used.every((p) => declared.includes(p)), `undeclared: ${used}`);
    assert.ok(used.includes("node-forge@1.4.3") && used.includes("uqr@0.1.3"), used.join(", "));
    const npmFiles = embedded.files.filter((f) => f.startsWith(`${NPM_EMBED_DIR}/`));
    const packages = new Set(npmFiles.map((f) => f.split("/").slice(2, 4).join("@")));
    assert.deepEqual([...packages].sort(), used);
    assert.equal(embedded.metadata.entrypoint_key, "main.ts");

    // The baked-in permissions are deno.json's set, with no prompts and no imports.
    const set: Record<string, unknown> = config.permissions[PERMISSION_SET];
    const baked: Record<string, unknown> = { ...embedded.metadata.permissions };
    for (const kind of ["net", "env", "sys", "read", "write", "run", "ffi"]) {
      // deno records "all" as [] and "not granted" as null.
      const want = set[kind] === undefined ? null : set[kind] === true ? [] : set[kind];
      assert.deepEqual(baked[`allow_${kind}`], want, `allow_${kind}`);
    }
    assert.deepEqual(baked.deny_import, []);
    assert.equal(baked.prompt, false);
    assert.deepEqual(Object.keys(set).sort(), ["env", "import", "net", "read", "sys", "write"]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("make dist's build names each executable and writes SHA256SUMS that sha256sum -c accepts", async () => {
  const out = await Deno.makeTempDir({ prefix: "chat-dist-" });
  try {
    // Only this system's targets (both architectures): the stand-in runtime
    // is an executable of this system, which deno cannot rewrite for another.
    const system = hostTarget().split("-").slice(1).join("-");
    const targets = TARGETS.filter((t) => t.endsWith(system));
    assert.equal(targets.length, 2);
    const run = await build(
      ["dist", "--out-dir", out, ...targets.flatMap((t) => ["--target", t])],
      { DENORT_BIN: DENO },
    );
    assert.equal(run.code, 0, run.stderr);
    const names = targets.map((t) => artifactName(config.version, t));
    const listing = [];
    for await (const entry of Deno.readDir(out)) listing.push(entry.name);
    assert.deepEqual(listing.sort(), [...names, "SHA256SUMS"].sort());

    const sums = await Deno.readTextFile(`${out}/SHA256SUMS`);
    assert.deepEqual(sums.trimEnd().split("\n").map((line) => line.split("  ")[1]), names.sort());
    // As a user checks them: sha256sum on Linux, shasum on macOS.
    const [tool, ...toolArgs] = Deno.build.os === "darwin"
      ? ["shasum", "-a", "256", "-c", "SHA256SUMS"]
      : ["sha256sum", "-c", "SHA256SUMS"];
    const check = await new Deno.Command(tool, { args: toolArgs, cwd: out }).output();
    const said = new TextDecoder().decode(check.stdout);
    assert.equal(check.code, 0, said);
    for (const name of names) assert.match(said, new RegExp(`${name}: OK`));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("the build says in one line when the runtime cannot be downloaded, and writes no SHA256SUMS", async () => {
  const out = await Deno.makeTempDir({ prefix: "chat-offline-" });
  // A fresh cache holds no runtime, and a proxy on a closed port refuses the download.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = listener.addr.port;
  listener.close();
  try {
    await Deno.writeTextFile(`${out}/SHA256SUMS`, "stale, from an earlier build\n");
    const run = await build(["dist", "--out-dir", out, "--target", "x86_64-apple-darwin"], {
      DENORT_BIN: undefined,
      DENO_DIR: `${out}/deno-dir`,
      HTTPS_PROXY: `http://127.0.0.1:${closedPort}`,
      https_proxy: undefined,
      NO_PROXY: undefined,
      no_proxy: undefined,
    });
    assert.equal(run.code, 1);
    const lines = run.stderr.trimEnd().split("\n");
    assert.match(
      lines[0],
      /^chat: cannot build x86_64-apple-darwin: the Deno runtime for it could not be downloaded from dl\.deno\.land \(.+\); set DENORT_BIN to a denort binary for x86_64-apple-darwin$/,
    );
    assert.equal(lines[1], "chat: 1 of 1 targets failed; SHA256SUMS not written");
    assert.equal(lines.length, 2, run.stderr);
    await assert.rejects(Deno.stat(`${out}/SHA256SUMS`), Deno.errors.NotFound);

    const missing = await build(["compile", "--out-dir", out], { DENORT_BIN: `${out}/no-denort` });
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^chat: cannot build \S+: DENORT_BIN is .*no-denort, which does not exist$/m,
    );
    assert.doesNotMatch(missing.stderr + run.stderr, /Stack backtrace|Caused by|^\s+at /m);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a failed build leaves no empty output directory it made", async () => {
  const out = await Deno.makeTempDir({ prefix: "chat-failed-" });
  try {
    const fresh = `${out}/dist`;
    const run = await build(["compile", "--out-dir", fresh], { DENORT_BIN: `${out}/no-denort` });
    assert.equal(run.code, 1, run.stderr);
    await assert.rejects(Deno.stat(fresh), Deno.errors.NotFound);
    // A directory that was there before stays.
    const again = await build(["compile", "--out-dir", out], { DENORT_BIN: `${out}/no-denort` });
    assert.equal(again.code, 1, again.stderr);
    assert.ok((await Deno.stat(out)).isDirectory);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("the build refuses an executable that embeds more than our code", async () => {
  // A copy of the repository with a package.json and node_modules next to
  // main.ts: deno embeds the package.json, and the build must refuse the result.
  const copy = await Deno.makeTempDir({ prefix: "chat-copy-" });
  try {
    for (const path of ["main.ts", "deno.json", "lib", "tools"]) {
      await copyTree(new URL(path, ROOT), `${copy}/${path}`);
    }
    await Deno.writeTextFile(`${copy}/package.json`, "{}\n");
    await Deno.mkdir(`${copy}/node_modules/foo`, { recursive: true });
    await Deno.writeTextFile(`${copy}/node_modules/foo/index.js`, "export {};\n");
    const run = await deno(
      ["run", ...BUILD_PERMS, "tools/build.ts", "compile", "--out-dir", "dist"],
      { DENORT_BIN: DENO },
      copy,
    );
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /^chat: refusing .*chat: it embeds package\.json besides our code/m);
    await assert.rejects(Deno.stat(`${copy}/dist/chat`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});

async function copyTree(from: URL, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isFile) return await Deno.copyFile(from, to);
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    await copyTree(new URL(`${from.href}/${entry.name}`), `${to}/${entry.name}`);
  }
}
