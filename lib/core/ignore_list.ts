/**
 * The names one member ignores, by their keys (see `ignoring.ts` for the rules).
 *
 * @module
 */

import { checkName, nameKey } from "./names.ts";

/** Most names one member may ignore. */
export const MAX_IGNORED = 100;

/** The names one member ignores: key to the name as they wrote it, in the order added. */
export class IgnoreList {
  #names = new Map<string, string>();

  /** A list of `names` (as kept with an account); invalid ones are dropped, the first MAX_IGNORED kept. */
  constructor(names: Iterable<string> = []) {
    for (const name of names) {
      const checked = checkName(name);
      if (checked.ok && this.#names.size < MAX_IGNORED) {
        this.#names.set(nameKey(checked.name), checked.name);
      }
    }
  }

  /** How many names it holds. */
  get size(): number {
    return this.#names.size;
  }

  /** Whether the name of this key is ignored. */
  hasKey(key: string): boolean {
    return this.#names.has(key);
  }

  /** Adds a name (checked already); false when it was there. */
  add(name: string): boolean {
    const key = nameKey(name);
    if (this.#names.has(key)) return false;
    this.#names.set(key, name);
    return true;
  }

  /** Removes the name of this key; the name as it was written, or undefined when it was not there. */
  remove(key: string): string | undefined {
    const name = this.#names.get(key);
    this.#names.delete(key);
    return name;
  }

  /** The names, in the order they were added. */
  names(): string[] {
    return [...this.#names.values()];
  }
}
