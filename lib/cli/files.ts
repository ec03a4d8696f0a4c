/**
 * Why a file named on the command line could not be read, as a person would
 * say it: `chat: cannot read --ca chat-cert.pem (no such file)`.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";

/** The reason `error` (from reading a file) gives, in a few lowercase words. */
export function fileReason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.IsADirectory) return "a directory";
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return "permission denied";
  }
  return errorMessage(error).replace(/\s*\(os error \d+\)$/, "").toLowerCase();
}
