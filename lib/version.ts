/**
 * The program's version, read from deno.json so that it lives in one place.
 *
 * @module
 */

import config from "../deno.json" with { type: "json" };

/** The version of this build of chat, as in deno.json. */
export const VERSION: string = config.version;
