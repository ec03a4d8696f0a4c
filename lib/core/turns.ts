/**
 * Long work done in steps (a replay's pages, a login's kept mail): as many
 * steps in a turn of the event loop as fit in a small time budget, the rest
 * in later turns. One step a turn kept every turn short, but each turn
 * waits for a timer (1 to 4 ms), and a replay of 10,000 messages in twenty
 * turns took half again as long as in one; steps of 1 to 3 ms run several
 * to a turn, and the turns stay as short.
 *
 * @module
 */

/** How long one turn's steps may take, in ms: about what one step took alone. */
export const TURN_BUDGET_MS = 5;

/** How steps are paced. */
export interface Pace {
  /** Runs `turn` in a later turn of the event loop. */
  next: (turn: () => void) => void;
  /**
   * A clock in ms (monotonic) that times a turn's steps; without one, a
   * step a turn.
   */
  clock?: () => number;
  /** How long one turn's steps may take, in ms. @default TURN_BUDGET_MS */
  budget?: number;
  /** Whether to go on: asked before each step (false: it stops, unfinished). @default always */
  going?: () => boolean;
}

/**
 * Runs `step` until it returns true (the work is over) or `pace.going`
 * says to stop: the first steps now, then, once a turn's steps have taken
 * `pace.budget` or another as long as the last would pass it, the next in a
 * later turn (`pace.next`).
 */
export function inTurns(step: () => boolean, pace: Pace): void {
  const budget = pace.budget ?? TURN_BUDGET_MS;
  const turn = (): void => {
    const clock = pace.clock;
    const start = clock?.() ?? 0;
    let last = start;
    for (;;) {
      if (pace.going && !pace.going()) return;
      if (step()) return;
      if (!clock) break;
      const now = clock();
      // The next step is taken to last as long as this one did: the turn stays within the budget.
      if (now - start + (now - last) > budget) break;
      last = now;
    }
    pace.next(turn);
  };
  turn();
}
