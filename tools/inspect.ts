/**
 * Reads what `deno compile` embedded in an executable: its permissions and the
 * files of its virtual file system.
 *
 * ```sh
 * deno run -R tools/inspect.ts dist/chat
 * ```
 *
 * Deno 2.9 stores, inside the executable, the magic bytes `d3n0l4nd`, then
 * length-prefixed sections: metadata (JSON, with the baked-in permissions),
 * the npm snapshot, remote modules, and the virtual file system's headers
 * (JSON, a tree of `{"Dir":{"n":name,"e":[...]}}` and `{"File":{"n":name}}`).
 * This is Deno's internal format, so the reader checks what it finds and
 * fails loudly rather than guess; the tests pin it to the Deno the Makefile
 * installs.
 *
 * @module
 */

/** Permissions baked into an executable, as deno records them (null: not granted). */
export interface BakedPermissions {
  /** `--allow-net`: [] for all hosts. */
  "allow_net": string[] | null;
  /** `--allow-env`: [] for all variables. */
  "allow_env": string[] | null;
  /** `--allow-sys`: [] for all APIs. */
  "allow_sys": string[] | null;
  /** `--allow-read`: [] for all paths. */
  "allow_read": string[] | null;
  /** `--allow-write`: [] for all paths. */
  "allow_write": string[] | null;
  /** `--allow-run`: [] for all programs. */
  "allow_run": string[] | null;
  /** `--allow-ffi`: [] for all libraries. */
  "allow_ffi": string[] | null;
  /** `--deny-import`: [] for all hosts. */
  "deny_import": string[] | null;
  /** Whether the executable may prompt for more. */
  prompt: boolean;
}

/** What an executable embeds. */
export interface Embedded {
  /** Deno's metadata record; `permissions` is the part we check. */
  metadata: { permissions: BakedPermissions; "entrypoint_key"?: string } & Record<string, unknown>;
  /** Paths of the embedded files, `/`-separated, relative to the embedded root, sorted. */
  files: string[];
}

const MAGIC = new TextEncoder().encode("d3n0l4nd");
/** No real section is this big; a larger "length" means we are not at a section. */
const MAX_SECTION = 64 * 1024 * 1024;

/**
 * Finds and decodes the embedded metadata and file list in `bytes`, the
 * contents of a compiled executable.
 *
 * @throws {Error} when `bytes` holds no data deno compile would have written.
 */
export function readEmbedded(bytes: Uint8Array): Embedded {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder();
  /** A length-prefixed section at `at` whose content starts with `first`, or undefined. */
  const section = (at: number, first: string) => {
    if (at + 8 >= bytes.length) return undefined;
    const length = Number(view.getBigUint64(at, true));
    const start = at + 8;
    if (length === 0 || length > MAX_SECTION || start + length > bytes.length) return undefined;
    if (bytes[start] !== first.charCodeAt(0)) return undefined;
    return { start, end: start + length };
  };

  for (let at = indexOf(bytes, MAGIC, 0); at >= 0; at = indexOf(bytes, MAGIC, at + 1)) {
    const meta = section(at + MAGIC.length, "{");
    if (!meta) continue;
    let metadata;
    try {
      metadata = JSON.parse(decoder.decode(bytes.subarray(meta.start, meta.end)));
    } catch {
      continue;
    }
    if (typeof metadata?.permissions !== "object") continue;
    // The virtual file system's headers follow the npm snapshot and the remote
    // modules; their layout varies, so look for the first section that parses.
    const limit = Math.min(bytes.length, meta.end + MAX_SECTION);
    for (let p = meta.end; p < limit; p++) {
      if (bytes[p + 8] !== 0x5b /* [ */) continue;
      const vfs = section(p, "[");
      if (!vfs) continue;
      try {
        const tree = JSON.parse(decoder.decode(bytes.subarray(vfs.start, vfs.end)));
        return { metadata, files: flatten(tree, "").sort() };
      } catch {
        continue;
      }
    }
    throw new Error("found deno compile's metadata but not its file list");
  }
  throw new Error("no deno compile data found (not a compiled executable?)");
}

type VfsEntry =
  | { Dir: { n: string; e: VfsEntry[] } }
  | { File: { n: string } }
  | { Symlink: { n: string } };

function flatten(entries: VfsEntry[], prefix: string): string[] {
  if (!Array.isArray(entries)) throw new Error("the embedded file list is not a list");
  return entries.flatMap((entry): string[] => {
    if ("Dir" in entry) return flatten(entry.Dir.e, `${prefix}${entry.Dir.n}/`);
    if ("File" in entry) return [`${prefix}${entry.File.n}`];
    if ("Symlink" in entry) return [`${prefix}${entry.Symlink.n}`];
    throw new Error(`unknown entry in the embedded file list: ${JSON.stringify(entry)}`);
  });
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  for (let i = haystack.indexOf(first, from); i >= 0; i = haystack.indexOf(first, i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    let match = true;
    for (let j = 1; j < needle.length && match; j++) match = haystack[i + j] === needle[j];
    if (match) return i;
  }
  return -1;
}

if (import.meta.main) {
  const [path] = Deno.args;
  if (!path) {
    console.error("Usage: deno run -R tools/inspect.ts EXECUTABLE");
    Deno.exit(2);
  }
  try {
    const { metadata, files } = readEmbedded(await Deno.readFile(path));
    const granted = Object.entries(metadata.permissions)
      .filter(([key, value]) => /^(allow|deny)_/.test(key) && value !== null)
      .map(([key, value]) => `${key}=${(value as string[]).join(",") || "all"}`);
    console.log(`permissions: ${granted.join(" ")} prompt=${metadata.permissions.prompt}`);
    console.log(`files (${files.length}):`);
    for (const file of files) console.log(`  ${file}`);
  } catch (error) {
    console.error(`inspect: ${path}: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
