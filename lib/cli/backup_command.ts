/**
 * `chat backup --data DIR FILE`: a consistent copy of a server's data
 * directory, made while `chat serve --data DIR` runs if need be.
 *
 * The copy is one SQLite file (SQLite's online backup): the data as it was
 * when the backup began, whatever the server writes meanwhile. Restoring
 * is putting it back as `DIR/chat.db` (README, "Backups"). Every failure is
 * one line on stderr and exit 1; usage errors (exit 2) are caught earlier,
 * by the command line.
 *
 * @module
 */

import { dirname } from "node:path";
import { ExitCode } from "./exit_codes.ts";
import { fileReason } from "./files.ts";
import type { BackupSettings } from "./settings.ts";
import { Store, StoreError } from "../store/sqlite_store.ts";

/** What `chat backup` talks to; the process's streams and clock by default. */
export interface BackupIO {
  /** Prints the result line (stdout). */
  out(line: string): void;
  /** Prints an error line (stderr). */
  err(line: string): void;
  /** A clock in milliseconds, to say how long it took. */
  now(): number;
}

const DEFAULT_IO: BackupIO = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  now: () => performance.now(),
};

/**
 * Runs `chat backup` with `settings`; returns the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backupCommand } from "./backup_command.ts";
 * import { Store } from "../store/sqlite_store.ts";
 * const data = await Deno.makeTempDir();
 * Store.open(data).close();
 * const file = `${data}/copy.db`;
 * const out: string[] = [];
 * const io = { out: (l: string) => out.push(l), err: () => {}, now: () => 0 };
 * assert.equal(await backupCommand({ data, file }, io), 0);
 * assert.match(out[0], /^backed up .* to .*copy\.db \(\d+ KB in 0\.0 s\)$/);
 * await Deno.remove(data, { recursive: true });
 * ```
 */
export async function backupCommand(
  settings: BackupSettings,
  io: BackupIO = DEFAULT_IO,
): Promise<number> {
  const started = io.now();
  let store: Store | undefined;
  try {
    store = Store.open(settings.data, { create: false, groupCommit: false });
    // "backups/chat-2026-12-06.db" on a first run: the folder is made, as a person expects.
    const folder = dirname(settings.file);
    try {
      await Deno.mkdir(folder, { recursive: true });
    } catch (error) {
      io.err(`chat: cannot make the folder ${folder} for ${settings.file} (${fileReason(error)})`);
      return ExitCode.Failure;
    }
    const bytes = await store.backup(settings.file);
    const seconds = ((io.now() - started) / 1000).toFixed(1);
    io.out(`backed up ${settings.data} to ${settings.file} (${size(bytes)} in ${seconds} s)`);
    return ExitCode.Ok;
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    io.err(`chat: ${error.message}`);
    return ExitCode.Failure;
  } finally {
    store?.close();
  }
}

/** Bytes in KB or MB, for a person. */
function size(bytes: number): string {
  return bytes < 1_000_000 ? `${Math.ceil(bytes / 1000)} KB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
