/**
 * How the property-based tests (fast-check) run: with a fixed seed, so that a
 * run is repeatable and a failure can be replayed, and with few enough runs
 * that each file takes seconds on a busy machine.
 *
 * `CHAT_PROPS_SEED=N` replays a failure (fast-check prints its seed and path);
 * `CHAT_PROPS_SEED=random` explores new cases; `CHAT_PROPS_RUNS=10` runs each
 * property ten times as often, for a longer search.
 *
 * @module
 */

import fc from "fast-check";

/** The seed every property starts from unless CHAT_PROPS_SEED says otherwise. */
export const DEFAULT_SEED = 15;

/** The seed and the multiplier of the number of runs, from the environment. */
function settings(): { seed: number | undefined; scale: number } {
  const seed = Deno.env.get("CHAT_PROPS_SEED");
  const runs = Number(Deno.env.get("CHAT_PROPS_RUNS") ?? "1");
  return {
    seed: seed === "random" ? undefined : seed ? Number(seed) : DEFAULT_SEED,
    scale: Number.isFinite(runs) && runs > 0 ? runs : 1,
  };
}

/**
 * Checks `property` over `numRuns` cases (times CHAT_PROPS_RUNS); a failure
 * throws fast-check's report: the shrunk counterexample, its seed and path.
 */
export function checkProperty<T>(
  property: fc.IProperty<T>,
  numRuns: number,
): void {
  const { seed, scale } = settings();
  const parameters = {
    numRuns: Math.ceil(numRuns * scale),
    ...(seed !== undefined ? { seed } : {}),
  };
  fc.assert(property, parameters);
}
