/**
 * Peers' addresses: how the log shows them, and which peers count as "the
 * same address" for limits per address.
 *
 * An IPv4 address is itself. An IPv6 host usually owns a whole /64 and can
 * pick any address in it, so limits key on the /64 prefix; an IPv4 address
 * mapped into IPv6 (`::ffff:10.0.0.5`) is the IPv4 address.
 *
 * @module
 */

/**
 * The key under which connections from `hostname` are counted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressKey } from "./address.ts";
 * assert.equal(addressKey("10.0.0.5"), "10.0.0.5");
 * assert.equal(addressKey("::ffff:10.0.0.5"), "10.0.0.5");
 * assert.equal(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
 * ```
 */
export function addressKey(hostname: string): string {
  if (!hostname.includes(":")) return hostname;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(hostname);
  if (mapped) return mapped[1];
  const groups = expandIPv6(hostname.replace(/%.*$/, ""));
  if (!groups) return hostname;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

/** The eight groups of an IPv6 address, or null if it is not one. */
function expandIPv6(address: string): string[] | null {
  const halves = address.toLowerCase().split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...Array(missing).fill("0"), ...tail];
  return groups.every((g) => /^[0-9a-f]{1,4}$/.test(g)) ? groups : null;
}

/**
 * Formats an address as `host:port`, with brackets around IPv6 hosts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatAddress } from "./address.ts";
 * assert.equal(formatAddress({ transport: "tcp", hostname: "10.0.0.5", port: 7777 }), "10.0.0.5:7777");
 * assert.equal(formatAddress({ transport: "tcp", hostname: "::1", port: 7777 }), "[::1]:7777");
 * ```
 */
export function formatAddress(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return addr.transport;
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}
