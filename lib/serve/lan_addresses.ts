/**
 * This machine's addresses on the network, which others reach it by.
 *
 * @module
 */

/** The IPv4 addresses of this machine's interfaces, loopback left out; none without --allow-sys. */
export function lanAddresses(): string[] {
  try {
    return Deno.networkInterfaces()
      .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
      .map((i) => i.address);
  } catch {
    // Without --allow-sys the operator still gets the localhost line.
    return [];
  }
}
