/**
 * The names the web page answers to. A browser checks a WebSocket's
 * `Origin` and a page's reads against the name it typed, never the address
 * the name led to: a site whose DNS name is rebound to this server's LAN
 * address (DNS rebinding) is, to the browser, that site, and its script
 * could read the page and join the chat. The browser still sends that name
 * in `Host`, so the page and its WebSocket are served only to a `Host` that
 * is an address, localhost, this machine's name, or a name the operator or
 * the certificate gives.
 *
 * @module
 */

/**
 * The host name of a `Host` header (`chat.lan:7778`, `[::1]:7778`), lower
 * case, in ASCII (punycode) and without a trailing dot; undefined when it
 * is no host at all.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostName } from "./host_names.ts";
 * assert.equal(hostName("Chat.LAN.:7778"), "chat.lan");
 * assert.equal(hostName("[::1]:7778"), "[::1]");
 * assert.equal(hostName("bad host"), undefined);
 * ```
 */
export function hostName(host: string): string | undefined {
  try {
    const name = new URL(`http://${host}/`).hostname;
    return name === "" ? undefined : name.replace(/\.$/, "");
  } catch {
    return undefined;
  }
}

/**
 * This machine's own names: its host name, and with `.local` as mDNS
 * (Avahi, Bonjour) announces it; none without the `sys` permission.
 */
export function machineNames(): string[] {
  let name: string;
  try {
    name = Deno.hostname();
  } catch {
    return [];
  }
  const full = hostName(name);
  if (full === undefined) return [];
  const short = full.split(".")[0];
  return [...new Set([full, short, `${short}.local`])];
}

/**
 * Whether the page answers to a `Host` header: an IP address (no name to
 * rebind), `localhost` and names under it (browsers keep those on this
 * machine), or one of `names` (exact, or `*.school.lan` for one label under
 * school.lan, as in a certificate).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { servesHost } from "./host_names.ts";
 * assert.equal(servesHost("192.168.1.20:7778", []), true);
 * assert.equal(servesHost("[fe80::1]:7778", []), true);
 * assert.equal(servesHost("app.localhost:7778", []), true);
 * assert.equal(servesHost("room1.school.lan", ["*.school.lan"]), true);
 * assert.equal(servesHost("evil.example:7778", ["chat.lan"]), false);
 * ```
 */
export function servesHost(host: string, names: readonly string[]): boolean {
  const name = hostName(host);
  if (name === undefined) return false;
  if (name.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(name)) return true;
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  return names.some((allowed) => {
    if (!allowed.startsWith("*.")) return allowed === name;
    // A wildcard stands for exactly one whole label, as in a certificate.
    const dot = name.indexOf(".");
    return dot > 0 && name.slice(dot) === allowed.slice(1);
  });
}
