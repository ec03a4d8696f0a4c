/**
 * The web page's files (lib/web/page/), read once when the server starts.
 * They are embedded in the executables (`deno compile --include`, see
 * tools/build.ts), where they are read the same way.
 *
 * @module
 */

/** One file the page is made of: its bytes and content type. */
export interface PageFile {
  body: Uint8Array;
  type: string;
}

/** The page's files by URL path, and the one the root serves. */
export const PAGE_FILES: Readonly<Record<string, string>> = {
  "/": "index.html",
  "/app.js": "app.js",
  "/style.css": "style.css",
  "/icon.svg": "icon.svg",
};

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** Reads the page's files, by URL path. */
export function readPageFiles(): Map<string, PageFile> {
  const files = new Map<string, PageFile>();
  for (const [path, name] of Object.entries(PAGE_FILES)) {
    const body = Deno.readFileSync(new URL(`./page/${name}`, import.meta.url));
    files.set(path, { body, type: TYPES[name.split(".").pop()!] });
  }
  return files;
}
