/**
 * `chat join`: placeholder until the terminal client lands.
 *
 * @module
 */

import type { JoinSettings } from "./cli.ts";

/** Joins a chat server from this terminal; resolves to the exit code. */
export function join(settings: JoinSettings): Promise<number> {
  console.error(`chat: join ${settings.host}:${settings.port} is not built yet`);
  return Promise.resolve(1);
}
