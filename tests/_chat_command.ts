/**
 * How tests run chat as a user would: the executable named by `CHAT_EXE` (a
 * compiled one: CI sets it after `make compile`), or else main.ts under deno
 * with what the executables get, the "chat" permission set and no prompts.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { PERMISSION_SET } from "../tools/build.ts";

/** The repository root, where chat runs. */
export const ROOT: URL = new URL("..", import.meta.url);

/** The compiled executable under test, if any, as an absolute path. */
export const CHAT_EXE: string | undefined = Deno.env.get("CHAT_EXE")
  ? resolve(Deno.env.get("CHAT_EXE")!)
  : undefined;

/** The program and arguments that run `chat <args>`. */
export function chatCommand(args: string[]): [string, ...string[]] {
  if (CHAT_EXE) return [CHAT_EXE, ...args];
  return [
    Deno.execPath(),
    "run",
    // -q: no notice that permission sets in deno.json are experimental.
    "-q",
    `--permission-set=${PERMISSION_SET}`,
    "--no-prompt",
    // Absolute, so that tests can run chat in a directory of their own.
    `--config=${fromFileUrl(new URL("deno.json", ROOT))}`,
    fromFileUrl(new URL("main.ts", ROOT)),
    ...args,
  ];
}
