/**
 * What `chat serve` prints about its web page: the addresses to open in a
 * browser, as its `chat join` lines give them, and in a terminal one of them
 * as a QR code, for a class to scan from the projector with their phones.
 *
 * @module
 */

import { renderUnicodeCompact } from "uqr";
import { certificateNames, coveredBy } from "./cert_names.ts";
import { lanAddresses } from "./lan_addresses.ts";

/**
 * The URLs of the web page served on `addr` that others can open: the names
 * of --web-name (`names`, what people are meant to type), each LAN address
 * (or the one address listened on), then this machine's own. With
 * TLS (`cert`, the PEM given to --tls-cert), HTTPS, and only the hosts the
 * certificate is for: a browser refuses the others outright.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { webUrls } from "./web_hints.ts";
 * const urls = webUrls({ transport: "tcp", hostname: "127.0.0.1", port: 7778 });
 * assert.deepEqual(urls, { remote: [], local: "http://localhost:7778/" });
 * ```
 */
export function webUrls(
  addr: Deno.NetAddr,
  cert?: string,
  names: readonly string[] = [],
): { remote: string[]; local: string | undefined } {
  const scheme = cert === undefined ? "http" : "https";
  const certNames = cert === undefined ? undefined : certificateNames(cert);
  const covered = (host: string) => certNames === undefined || coveredBy(certNames, host);
  const url = (host: string) =>
    `${scheme}://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${addr.port}/`;
  const wildcard = addr.hostname === "0.0.0.0" || addr.hostname === "::";
  const loopback = wildcard || addr.hostname === "127.0.0.1" || addr.hostname === "::1";
  const addresses = wildcard ? lanAddresses() : loopback ? [] : [addr.hostname];
  // A name given that is also an address here is listed once.
  const remote = [...new Set([...names, ...addresses])].filter(covered);
  const local = loopback ? ["localhost", "127.0.0.1"].find(covered) : undefined;
  return { remote: remote.map(url), local: local === undefined ? undefined : url(local) };
}

/**
 * The lines `chat serve` prints about its web page (none without one):
 * where to open it (the --web-name `names` first), and with `qr` (its
 * console is a terminal) the first address others can use as a QR code.
 */
export function webHints(
  addr: Deno.NetAddr | null,
  cert: string | undefined,
  qr: boolean,
  names: readonly string[] = [],
): string[] {
  if (addr === null) return [];
  const { remote, local } = webUrls(addr, cert, names);
  const lines: string[] = [];
  if (remote.length === 0 && local === undefined) {
    lines.push(
      `The web page is on port ${addr.port}, but its certificate is for none of this ` +
        "machine's names and addresses: open it at a name the certificate is for",
    );
    return lines;
  }
  lines.push("Or open in a browser:");
  for (const url of remote) lines.push(`  ${url}`);
  if (local !== undefined) lines.push(`  ${local}   (from this machine)`);
  if (cert !== undefined) {
    lines.push("  (browsers warn about a certificate they do not know: accept it once)");
  }
  if (qr && remote.length > 0) {
    lines.push(...qrCode(remote[0]).map((row) => `  ${row}`));
  }
  return lines;
}

/**
 * `text` as a QR code in block characters, two rows of modules per line,
 * with the quiet zone around it drawn light (for a terminal's dark background).
 */
export function qrCode(text: string): string[] {
  const rows: string = renderUnicodeCompact(text, { border: 2 });
  return rows.split("\n").filter((row) => row !== "");
}
