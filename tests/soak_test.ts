/**
 * A seconds-long soak run (bench/soak.ts, `make soak` for the long one):
 * members behind fault proxies talk, move between rooms, drop silently and
 * resume; each must then have been shown every message of its rooms once, in
 * order, and every line it said must have been posted once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runSoak, SOAK_DEFAULTS } from "../bench/soak.ts";

for (const data of [false, true]) {
  Deno.test(`a short soak ${data ? "with" : "without"} --data: drops and resumes lose and repeat nothing`, async () => {
    const result = await runSoak({
      ...SOAK_DEFAULTS,
      members: 6,
      rooms: 3,
      durationS: 4,
      rate: 5,
      dropEveryS: 2,
      data,
      quiet: true,
      serverMain: new URL("../main.ts", import.meta.url).pathname,
    });
    assert.deepEqual(result.problems, []);
    assert.ok(result.drops > 0 && result.reconnects > 0, JSON.stringify(result));
    assert.ok(result.checked > 0 && result.said > 0, JSON.stringify(result));
  });
}
