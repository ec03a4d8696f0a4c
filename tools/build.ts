/**
 * Builds chat's standalone executables with `deno compile`.
 *
 * ```sh
 * make compile             # dist/chat for this machine
 * make dist                # every target, plus dist/SHA256SUMS
 * make dist TAG=v1.2.3     # a release: the tag must be deno.json's version
 * deno run -RWE --allow-run tools/build.ts dist --target aarch64-apple-darwin --out-dir out
 * ```
 *
 * `dist` names each executable `chat-<version>-<target>[.exe]`, the version
 * coming from deno.json, and writes their SHA-256 sums in the format
 * `sha256sum -c` reads. Every executable gets exactly the "chat" permission
 * set of deno.json, and `--no-prompt`, so it never asks for more at run time.
 *
 * `deno compile` downloads the runtime it wraps the program in (`denort`) from
 * dl.deno.land for each target; `DENORT_BIN` names one to use instead (deno
 * then uses it for every target). When the runtime is missing, the build says
 * so in one line and exits 1. After each compile the build reads the list of
 * embedded files that deno prints and refuses anything beyond our own code
 * and the npm packages deno.json's import map declares, at their exact
 * versions (a `node_modules` folder nearby, say, or a package that came
 * along with them). It also refuses to build when our code starts a worker
 * from a file, which deno would leave out (see {@link fileWorkers}).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { resolve } from "node:path";
import config from "../deno.json" with { type: "json" };
import { VERSION } from "../lib/version.ts";

/** Every target `deno compile --target` supports, in release order. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
  "aarch64-pc-windows-msvc",
] as const;

/** A platform chat is built for, as `deno compile --target` names it. */
export type Target = typeof TARGETS[number];

/** The name of the permission set in deno.json that the executables get. */
export const PERMISSION_SET = "chat";

/**
 * Top-level entries the executables may embed, relative to the repository:
 * our own code, and deno.json, which lib/version.ts imports for the version.
 * Anything else (a `node_modules` nearby, `.tools/`, tests) is a mistake.
 */
export const EMBED_ALLOWED: readonly string[] = ["deno.json", "lib", "main.ts"];

/** The name of the checksums file written next to the executables. */
export const CHECKSUMS_FILE = "SHA256SUMS";

/** A build failure, with a message for a person; the CLI prints it as one line. */
export class BuildError extends Error {
  /** Creates a build error saying what went wrong. */
  constructor(message: string) {
    super(message);
    this.name = "BuildError";
  }
}

/** The build's command line was wrong (exit code 2, as for chat itself). */
class UsageError extends BuildError {}

/** Whether `target` is a Windows one, whose executables end in `.exe`. */
export function isWindows(target: Target): boolean {
  return target.includes("-windows-");
}

/** The target of the machine running this, or a {@link BuildError} if deno cannot compile for it. */
export function hostTarget(target: string = Deno.build.target): Target {
  const found = TARGETS.find((t) => t === target);
  if (!found) throw new BuildError(`deno compile cannot build for this machine (${target})`);
  return found;
}

/**
 * The release file name of the executable for `target`.
 *
 * @example
 * ```ts
 * import { artifactName } from "./build.ts";
 * const name = artifactName("1.2.3", "x86_64-pc-windows-msvc");
 * console.assert(name === "chat-1.2.3-x86_64-pc-windows-msvc.exe");
 * ```
 */
export function artifactName(version: string, target: Target): string {
  return `chat-${version}-${target}${isWindows(target) ? ".exe" : ""}`;
}

/**
 * Checks a release tag against the version: tag `v1.2.3` releases version
 * 1.2.3, so that the file names and `chat --version` say what the release says.
 *
 * @throws {BuildError} when they differ.
 */
export function checkTag(tag: string, version: string): void {
  if (tag !== `v${version}`) {
    throw new BuildError(
      `tag '${tag}' does not match version ${version} in deno.json; tag v${version} or change the version`,
    );
  }
}

/**
 * The contents of a checksums file for `sums` (file name to SHA-256 in hex),
 * one `<hash>  <name>` line per file, sorted by name: what `sha256sum -c` reads.
 */
export function checksumsFile(sums: ReadonlyMap<string, string>): string {
  return [...sums.keys()].sort().map((name) => `${sums.get(name)}  ${name}\n`).join("");
}

/** The SHA-256 of the file at `path`, in lowercase hex, read in chunks (executables are ~100 MB). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * The arguments to `deno` that compile `entry` for `target` into `output`:
 * the "chat" permission set, no prompts, and this repository's deno.json.
 */
export function compileArgs(
  options: { target: Target; output: string; config: string; entry: string },
): string[] {
  return [
    "compile",
    // -q would hide the list of embedded files, which the build checks; the
    // experimental-feature warning of -P is filtered out of the output instead.
    `--config=${options.config}`,
    `--permission-set=${PERMISSION_SET}`,
    "--no-prompt",
    `--target=${options.target}`,
    `--output=${options.output}`,
    options.entry,
  ];
}

/** Where `deno compile` puts npm packages in an executable's file system. */
export const NPM_EMBED_DIR = ".deno_compile_node_modules";

/**
 * The npm packages of an import map (`npm:NAME@VERSION` values), by name.
 * Each must name an exact version: deno.json has no lock file, so the
 * version in the import map is all that pins the code we embed.
 *
 * @throws {BuildError} for an npm import without an exact version.
 *
 * @example
 * ```ts
 * import { declaredNpmPackages } from "./build.ts";
 * const npm = declaredNpmPackages({ "node-forge": "npm:node-forge@1.4.3", "x": "./x.ts" });
 * console.assert(npm.get("node-forge") === "1.4.3" && npm.size === 1);
 * ```
 */
export function declaredNpmPackages(
  imports: Readonly<Record<string, string>> | undefined,
): Map<string, string> {
  const packages = new Map<string, string>();
  for (const [alias, target] of Object.entries(imports ?? {})) {
    if (!target.startsWith("npm:")) continue;
    const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)@(\d+\.\d+\.\d+(?:-[\w.]+)?)(?:\/.*)?$/.exec(
      target,
    );
    if (!match) {
      throw new BuildError(
        `deno.json imports '${alias}' as ${target}: name an exact version (npm:NAME@1.2.3)`,
      );
    }
    packages.set(match[1], match[2]);
  }
  return packages;
}

/** The npm packages deno.json declares, which the executables may embed. */
export const NPM_PACKAGES: ReadonlyMap<string, string> = declaredNpmPackages(config.imports);

/**
 * The entries of the "Embedded Files" tree that `deno compile` prints, as
 * paths from the root: files, and folders whose contents deno shows
 * collapsed (`lib/*` gives `lib`). Undefined when the output has no such tree.
 */
export function embeddedPaths(output: string): string[] | undefined {
  const lines = output.split(/\r?\n/);
  const start = lines.findIndex((line) => line.trim() === "Embedded Files");
  if (start < 0) return undefined;
  const paths: string[] = [];
  const folders: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^(Files|Metadata|Remote modules):/.test(line)) break;
    // Each level of depth is two characters ("│ " or "  ") before the branch:
    // "├── name (size)" for a file or collapsed folder, "└─┬ name (size)" for an open one.
    const entry = /^((?:[│ ] )*)[├└]─([─┬]) (.+?) \([^)]*\)$/.exec(line);
    if (!entry) continue;
    const depth = entry[1].length / 2;
    const name = entry[3].replace(/\/\*$/, "");
    folders.length = depth;
    if (entry[2] === "┬") folders.push(name);
    else paths.push([...folders, name].join("/"));
  }
  return paths;
}

/**
 * What in `embedded` (paths from {@link embeddedPaths}) is neither our own
 * code ({@link EMBED_ALLOWED}) nor one of the `npm` packages at its version,
 * one description per offender.
 */
export function unexpectedEmbeds(
  embedded: readonly string[],
  npm: ReadonlyMap<string, string> = NPM_PACKAGES,
): string[] {
  const found = new Set<string>();
  for (const path of embedded) {
    const parts = path.split("/");
    if (EMBED_ALLOWED.includes(parts[0])) continue;
    if (parts[0] !== NPM_EMBED_DIR) {
      found.add(parts[0]);
      continue;
    }
    // .deno_compile_node_modules/<registry>/[@scope/]name/version/...
    const rest = parts.slice(2);
    const scoped = rest[0]?.startsWith("@");
    const name = scoped ? rest.slice(0, 2).join("/") : rest[0];
    const version = rest[scoped ? 2 : 1];
    if (!name || (scoped && rest.length < 2)) found.add(`${path} (npm packages not listed)`);
    else if (!npm.has(name)) found.add(`npm package ${name}`);
    else if (version !== undefined && version !== npm.get(name)) {
      found.add(`npm package ${name}@${version}`);
    }
  }
  return [...found];
}

/**
 * The `new Worker(...)` calls of a module's `source` that start a worker from
 * anything but `workerModuleUrl(...)` (lib/store/checkpoint_worker.ts): a
 * `data:` URL of source held in a module. `deno compile` embeds only the
 * modules imported statically, so a worker module given by its file (`new
 * URL("./x.ts", import.meta.url)`) would be missing from the executables,
 * and the server would find out only when it starts one.
 *
 * @example
 * ```ts
 * import { fileWorkers } from "./build.ts";
 * const calls = fileWorkers(`new Worker(new URL("./w.ts", import.meta.url));
 *   new Worker(workerModuleUrl(source), { type: "module" });`);
 * console.assert(calls.length === 1 && calls[0] === 'new Worker(new URL("./w.ts"');
 * ```
 */
export function fileWorkers(source: string): string[] {
  return [...source.matchAll(/new\s+Worker\s*\(\s*([^,)]*)/g)]
    .filter((call) => !call[1].startsWith("workerModuleUrl("))
    .map((call) => call[0].replace(/\s+/g, " "));
}

/** {@link fileWorkers} of our code in `root` (main.ts and lib/), as "file: call". */
export async function fileWorkersIn(root: URL): Promise<string[]> {
  const found: string[] = [];
  const scan = async (path: string) => {
    const url = new URL(path, root);
    if ((await Deno.stat(url)).isDirectory) {
      for await (const entry of Deno.readDir(url)) await scan(`${path}/${entry.name}`);
    } else if (/\.[jt]s$/.test(path)) {
      for (const call of fileWorkers(await Deno.readTextFile(url))) found.push(`${path}: ${call}`);
    }
  };
  for (const path of ["main.ts", "lib"]) await scan(path);
  return found;
}

/** Why a `deno compile` for `target` failed, in one line, from its output. */
export function explainFailure(
  target: Target,
  output: string,
  denortBin: string | undefined,
): string {
  const causes = output.split(/\r?\n/)
    .map((line) => /^\s*\d+: (.+)$/.exec(line)?.[1])
    .filter((cause): cause is string => cause !== undefined && cause !== "<unknown>");
  const reason = causes.at(-1)?.replace(/ \(os error \d+\)$/, "");
  const because = reason ? ` (${reason})` : "";
  const prefix = `cannot build ${target}:`;
  if (denortBin !== undefined && /Could not find denort/i.test(output)) {
    return `${prefix} DENORT_BIN is ${denortBin}, which does not exist`;
  }
  if (denortBin !== undefined && /Writing binary bytes|Invalid object/i.test(output)) {
    return `${prefix} DENORT_BIN (${denortBin}) is not a Deno runtime for this target${because}`;
  }
  if (/Setting up base binary|denort-[\w-]+\.zip/.test(output)) {
    return `${prefix} the Deno runtime for it could not be downloaded from dl.deno.land${because};` +
      ` set DENORT_BIN to a denort binary for ${target}`;
  }
  return `${prefix} deno compile failed (see its messages above)`;
}

/** What a successful compile produced. */
export interface Built {
  /** The target compiled for. */
  target: Target;
  /** Path of the executable. */
  path: string;
  /** Its size in bytes. */
  size: number;
  /** Entries embedded in it, as deno printed them (see {@link embeddedPaths}). */
  embedded: string[];
}

/**
 * Compiles main.ts for `target` into `output` and checks what it embeds.
 *
 * @throws {BuildError} when our code starts a worker from a file, deno
 * compile fails, or it embeds more than our code;
 * deno's own messages are printed first unless the failure is explained in full.
 */
export async function compile(target: Target, output: string): Promise<Built> {
  const workers = await fileWorkersIn(new URL("..", import.meta.url));
  if (workers.length > 0) {
    throw new BuildError(
      `cannot build ${target}: ${workers.join("; ")} starts a worker from a file, which ` +
        `the executable would not hold; give it workerModuleUrl(source) instead`,
    );
  }
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    // deno runs in the repository, so that deno.json and main.ts are found
    // wherever the build is started from.
    args: compileArgs({ target, output: resolve(output), config: "deno.json", entry: "main.ts" }),
    cwd: new URL("..", import.meta.url),
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  const messages = text.split("\n")
    .filter((line) => !/^Warning Permissions in the config file is an experimental/.test(line))
    .join("\n");
  if (code !== 0) {
    const explained = explainFailure(target, messages, Deno.env.get("DENORT_BIN"));
    if (explained.endsWith("(see its messages above)")) console.error(withoutBacktrace(messages));
    throw new BuildError(explained);
  }
  const embedded = embeddedPaths(messages);
  if (embedded === undefined) {
    await Deno.remove(output).catch(() => {});
    throw new BuildError(`cannot check what ${output} embeds: deno compile listed no files`);
  }
  const extra = unexpectedEmbeds(embedded);
  if (extra.length > 0) {
    await Deno.remove(output);
    const ours = [...EMBED_ALLOWED, ...[...NPM_PACKAGES].map(([name, v]) => `npm:${name}@${v}`)];
    throw new BuildError(
      `refusing ${output}: it embeds ${extra.join(", ")} besides our code (${ours.join(", ")})`,
    );
  }
  return { target, path: output, size: (await Deno.stat(output)).size, embedded };
}

function withoutBacktrace(messages: string): string {
  return messages.replace(/\n*Stack backtrace:\n(?:\s+\d+: .*\n?)*/g, "\n").trimEnd();
}

/** Size in megabytes for a person. */
function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Options of the build command line. */
interface Options {
  command: "compile" | "dist";
  outDir: string;
  targets: Target[];
  tag: string | undefined;
}

const USAGE = `Usage: deno run -RWE --allow-run tools/build.ts compile|dist [options]

  compile         build DIR/chat for this machine
  dist            build chat-<version>-<target>[.exe] for every target, and DIR/${CHECKSUMS_FILE}

  --out-dir DIR   where to write (default: dist)
  --target T      build only for T (repeatable); targets: ${TARGETS.join(", ")}
  --tag vX.Y.Z    the release tag, which must be v + deno.json's version

Set DENORT_BIN to build with a given Deno runtime instead of downloading one.`;

function parseOptions(args: string[]): Options {
  const [command, ...rest] = args;
  if (command !== "compile" && command !== "dist") {
    throw new UsageError(`expected 'compile' or 'dist'\n${USAGE}`);
  }
  const options: Options = { command, outDir: "dist", targets: [], tag: undefined };
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = rest[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? rest[++i];
      if (v === undefined) throw new UsageError(`option '${flag}' needs a value`);
      return v;
    };
    if (flag === "--out-dir") options.outDir = value();
    else if (flag === "--tag") options.tag = value();
    else if (flag === "--target") {
      const target = value();
      const known = TARGETS.find((t) => t === target);
      if (!known) {
        throw new UsageError(`unknown target '${target}'; targets: ${TARGETS.join(", ")}`);
      }
      options.targets.push(known);
    } else throw new UsageError(`unknown option '${rest[i]}'\n${USAGE}`);
  }
  return options;
}

/** Runs the build command line; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  // The output directory, when this build made it: a failed build leaves no empty one behind.
  let made: string | undefined;
  try {
    const options = parseOptions(args);
    if (options.tag !== undefined) checkTag(options.tag, VERSION);
    const existed = await Deno.stat(options.outDir).then(() => true, () => false);
    await Deno.mkdir(options.outDir, { recursive: true });
    if (!existed) made = options.outDir;
    const denortBin = Deno.env.get("DENORT_BIN");
    if (denortBin !== undefined) {
      console.error(`chat: using DENORT_BIN=${denortBin} as the Deno runtime for every target`);
    }
    if (options.command === "compile") {
      const target = options.targets[0] ?? hostTarget();
      const output = `${options.outDir}/chat${isWindows(target) ? ".exe" : ""}`;
      const built = await compile(target, output);
      console.log(`built ${built.path} (${megabytes(built.size)}, chat ${VERSION}, ${target})`);
      return 0;
    }
    // A checksums file left from an earlier build must not pass for this one's.
    await Deno.remove(`${options.outDir}/${CHECKSUMS_FILE}`).catch(() => {});
    const sums = new Map<string, string>();
    const failures: string[] = [];
    for (const target of options.targets.length ? options.targets : TARGETS) {
      const name = artifactName(VERSION, target);
      try {
        const built = await compile(target, `${options.outDir}/${name}`);
        sums.set(name, await sha256File(built.path));
        console.log(`built ${built.path} (${megabytes(built.size)})`);
      } catch (error) {
        if (!(error instanceof BuildError)) throw error;
        console.error(`chat: ${error.message}`);
        failures.push(target);
      }
    }
    if (failures.length > 0) {
      // A partial release is worse than none: no checksums file until all are built.
      throw new BuildError(
        `${failures.length} of ${failures.length + sums.size} targets failed; ` +
          `${CHECKSUMS_FILE} not written`,
      );
    }
    await Deno.writeTextFile(`${options.outDir}/${CHECKSUMS_FILE}`, checksumsFile(sums));
    const files = sums.size === 1 ? "1 file" : `${sums.size} files`;
    console.log(`wrote ${options.outDir}/${CHECKSUMS_FILE} (${files})`);
    return 0;
  } catch (error) {
    // One line, whatever went wrong (an unwritable output directory, say).
    console.error(`chat: ${error instanceof Error ? error.message : String(error)}`);
    // Not recursive: what a failed `dist` did build stays.
    if (made !== undefined) await Deno.remove(made).catch(() => {});
    return error instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
