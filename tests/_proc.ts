/**
 * What /proc says of this test process's sockets, read by a child process:
 * Deno lets only --allow-all read /proc, and the tests run with less.
 *
 * @module
 */

/** This process's sockets as /proc lists them; each table row split into its fields. */
export interface ProcSockets {
  /** Inodes of the sockets among this process's descriptors. */
  inodes: Set<string>;
  /** Rows of net/unix: Unix-domain sockets (inode in field 6). */
  unix: string[][];
  /** Rows of net/tcp and net/tcp6 (local address 1, remote 2, state 3, inode 9). */
  tcp: string[][];
}

/** Reads this process's sockets from /proc; null where it cannot tell (no /proc, no sh). */
export async function procSockets(): Promise<ProcSockets | null> {
  // ls fails when a descriptor closes while it looks: the others are listed all the same.
  const script = 'cd "/proc/$1" || exit 1; ls -l fd/ 2>/dev/null; echo =unix; cat net/unix; ' +
    "echo =tcp; cat net/tcp; cat net/tcp6 2>/dev/null; true";
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("sh", {
      args: ["-c", script, "sh", String(Deno.pid)],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch {
    return null; // No sh.
  }
  const [links, unix, tcp] = new TextDecoder().decode(output.stdout).split(/^=\w+$/m);
  if (!output.success || tcp === undefined) return null;
  const rows = (table: string) =>
    table.trim().split("\n").slice(1).filter((row) => row.trim() && !row.includes("local_address"))
      .map((row) => row.trim().split(/\s+/));
  return {
    inodes: new Set([...links.matchAll(/ -> socket:\[(\d+)\]$/gm)].map((m) => m[1])),
    unix: rows(unix),
    tcp: rows(tcp),
  };
}

/** The port of an address as /proc writes it (`0100007F:1E61`). */
export function procPort(address: string): number {
  return parseInt(address.split(":")[1], 16);
}

/**
 * The TCP ports this process listens on, as `ss -ltn` shows them to any
 * local user (state 0A is LISTEN).
 */
export function listeningPorts(sockets: ProcSockets): number[] {
  return sockets.tcp.filter(([, , , state, , , , , , inode]) =>
    state === "0A" && sockets.inodes.has(inode)
  ).map(([, local]) => procPort(local));
}

/**
 * This process's connected TCP sockets whose local port is `port`: a
 * server's side of its connections on that port (its listener left out).
 */
export function socketsOnPort(sockets: ProcSockets, port: number): number {
  return sockets.tcp.filter(([, local, , state, , , , , , inode]) =>
    state !== "0A" && sockets.inodes.has(inode) && procPort(local) === port
  ).length;
}
