/**
 * `chat cert NAME...`: writes a self-signed certificate and its key for a
 * chat server (see certs.ts), and says how to use them.
 *
 * The key is written readable by its owner only (mode 0600; on Windows the
 * file inherits the folder's permissions), and neither file replaces an
 * existing one without `--force`: a new key would silently lock out every
 * client that trusts the old certificate.
 *
 * @module
 */

import { join } from "node:path";
import { ExitCode } from "./exit_codes.ts";
import type { CertSettings } from "./settings.ts";
import { CertNameError, makeCertificate, sortNames } from "../auth/certs.ts";
import { errorMessage, lowerFirst } from "../core/errors.ts";

/** The certificate's file name. */
export const CERT_FILE = "chat-cert.pem";

/** The private key's file name. */
export const KEY_FILE = "chat-key.pem";

/** Where `chat cert` writes its messages; the process's streams by default. */
export interface CertIO {
  /** Prints a result line (stdout). */
  out(line: string): void;
  /** Prints an error line (stderr). */
  err(line: string): void;
  /** The time to date the certificate from. */
  now(): Date;
}

const DEFAULT_IO: CertIO = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  now: () => new Date(),
};

/** Runs `chat cert` with `settings`; resolves to the exit code. */
export async function certCommand(
  settings: CertSettings,
  io: CertIO = DEFAULT_IO,
): Promise<number> {
  let names;
  try {
    names = sortNames(settings.names);
  } catch (error) {
    if (!(error instanceof CertNameError)) throw error;
    io.err(`chat: ${error.message}\nRun 'chat cert --help' for usage.`);
    return ExitCode.Usage;
  }
  const certPath = join(settings.out, CERT_FILE);
  const keyPath = join(settings.out, KEY_FILE);
  try {
    if (!settings.force) {
      for (const path of [certPath, keyPath]) {
        if (await exists(path)) {
          io.err(
            `chat: ${path} already exists; --force replaces it (clients that trust the ` +
              `old certificate must then be given the new one), --out DIR writes elsewhere`,
          );
          return ExitCode.Failure;
        }
      }
    }
    await Deno.mkdir(settings.out, { recursive: true }).catch((error) => {
      throw new Error(`cannot create ${settings.out} (${reason(error)})`);
    });
    const made = await makeCertificate({
      names: names.dns.concat(names.ip),
      days: settings.days,
      now: io.now(),
    });
    await writeNew(keyPath, made.key, 0o600, settings.force);
    try {
      await writeNew(certPath, made.cert, 0o644, settings.force);
    } catch (error) {
      // A key without its certificate is of no use: leave nothing half done.
      await Deno.remove(keyPath).catch(() => {});
      throw error;
    }
    const all = [...made.names.dns, ...made.names.ip];
    const until = made.notAfter.toISOString().slice(0, 10);
    io.out(`wrote ${certPath}: a certificate for ${all.join(", ")}, valid until ${until}`);
    io.out(`wrote ${keyPath}: its private key, readable by you only; keep it on the server`);
    io.out(`Serve with: chat serve --tls-cert ${certPath} --tls-key ${keyPath}`);
    io.out(
      `Join with:  chat join ${all[0]} --ca ${certPath}   (give each client a copy of it)`,
    );
    return ExitCode.Ok;
  } catch (error) {
    io.err(`chat: ${errorMessage(error)}`);
    return ExitCode.Failure;
  }
}

/** Writes `text` to a new file `path` with `mode`, replacing an old one only when `force`. */
async function writeNew(path: string, text: string, mode: number, force: boolean): Promise<void> {
  if (force) await Deno.remove(path).catch(() => {});
  try {
    await Deno.writeTextFile(path, text, { mode, createNew: true });
  } catch (error) {
    throw new Error(`cannot write ${path} (${reason(error)})`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new Error(`cannot check ${path} (${reason(error)})`);
  }
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.AlreadyExists) return "it already exists";
  if (error instanceof Deno.errors.NotFound) return "a folder on the way is missing";
  return lowerFirst(errorMessage(error).replace(/ \(os error \d+\).*$/, ""));
}
