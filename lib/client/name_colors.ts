/**
 * Which colour each person's name gets in `chat join`, for one session.
 *
 * The palettes leave out the colours that mean a kind of line: red
 * (errors, leaves), yellow (notices, the client's own status lines),
 * magenta (private messages); your own name is bold in the terminal's
 * default colour, so it is none of them either. A name gets its colour at
 * first sight: the colour fewest people present hold, so that people in
 * the room together look different for as long as the palette allows; a
 * hash of the name only breaks ties, so the same room tends to look the
 * same next time. A name keeps its colour for the session, through leaving
 * and coming back, and a rename passes it on to the new name.
 *
 * @module
 */

import type { ChatEvent } from "../core/events.ts";
import type { Line } from "./render.ts";

/**
 * Name colours for any terminal, as SGR codes: green, blue and cyan, dark
 * and bright. Red, yellow and magenta mean a kind of line (see the module doc).
 */
export const BASIC_NAME_COLORS: readonly string[] = ["36", "32", "94", "96", "92", "34"];

/**
 * Name colours for 256-colour terminals: blues, greens, teals, violets and
 * tans of the 6x6x6 cube, far enough from red, yellow and magenta.
 */
export const EXTENDED_NAME_COLORS: readonly string[] = [
  33, // dodger blue
  42, // spring green
  141, // violet
  37, // teal
  180, // tan
  81, // sky blue
  76, // green
  105, // slate blue
  150, // pale green
  67, // steel blue
  116, // pale turquoise
  72, // sea green
].map((n) => `38;5;${n}`);

/**
 * The palette for a terminal: the larger one when TERM or COLORTERM says the
 * terminal has 256 colours or more, else the 16-colour one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BASIC_NAME_COLORS, EXTENDED_NAME_COLORS, paletteFor } from "./name_colors.ts";
 * assert.equal(paletteFor({ TERM: "xterm-256color" }), EXTENDED_NAME_COLORS);
 * assert.equal(paletteFor({ TERM: "xterm" }), BASIC_NAME_COLORS);
 * ```
 */
export function paletteFor(env: { TERM?: string; COLORTERM?: string }): readonly string[] {
  const many = /256col|direct/i.test(env.TERM ?? "") ||
    /^(truecolor|24bit)$/i.test(env.COLORTERM ?? "");
  return many ? EXTENDED_NAME_COLORS : BASIC_NAME_COLORS;
}

/** The key a name is known by: Alice and alice are one person, as the server has it. */
function fold(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}

/** FNV-1a of the folded name: where a name starts looking for a free colour. */
function hash(name: string): number {
  let value = 0x811c9dc5;
  for (const char of fold(name)) {
    value ^= char.codePointAt(0)!;
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/**
 * The colours given out in one session, and who is present to hold them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NameColors } from "./name_colors.ts";
 * const colors = new NameColors(["31", "32"]);
 * colors.arrive("Bob");
 * colors.arrive("Carol");
 * assert.notEqual(colors.of("Bob"), colors.of("Carol"));
 * colors.rename("Bob", "Robert");
 * assert.equal(colors.of("Robert"), colors.of("Bob"));
 * ```
 */
export class NameColors {
  #palette: readonly string[];
  // Folded name -> index into the palette, for every name seen this session.
  #given = new Map<string, number>();
  // Folded names of the people present now.
  #present = new Set<string>();

  /** A session picking from `palette` (SGR codes). */
  constructor(palette: readonly string[] = BASIC_NAME_COLORS) {
    this.#palette = palette;
  }

  /** The SGR code of `name`'s colour, giving it one at first sight. */
  of(name: string): string {
    const key = fold(name);
    let index = this.#given.get(key);
    if (index === undefined) {
      index = this.#pick(name);
      this.#given.set(key, index);
    }
    return this.#palette[index];
  }

  /** `name` is in the room now: its colour counts as taken. */
  arrive(name: string): void {
    this.of(name);
    this.#present.add(fold(name));
  }

  /** `name` left: its colour is free for newcomers, and still its own if it comes back. */
  depart(name: string): void {
    this.#present.delete(fold(name));
  }

  /** `from` is now called `to`, and keeps its colour. */
  rename(from: string, to: string): void {
    const index = this.#given.get(fold(from)) ?? this.#pick(to);
    this.#given.set(fold(to), index);
    if (this.#present.delete(fold(from))) this.#present.add(fold(to));
  }

  /**
   * Follows who is present from the events of the room; `me`, the viewer,
   * whose own name is not drawn in a palette colour, takes none.
   */
  follow(event: ChatEvent, me: string): void {
    const arrive = (name: string) => {
      if (name !== me) this.arrive(name);
    };
    switch (event.type) {
      case "welcome":
      case "users": {
        this.#present.clear();
        const names = event.type === "welcome" ? event.users : event.names;
        names.forEach(arrive);
        break;
      }
      case "join":
        arrive(event.name);
        break;
      case "leave":
        this.depart(event.name);
        break;
      case "rename":
        this.rename(event.from, event.to);
        if (event.to === me) this.depart(me);
        break;
    }
  }

  /**
   * `lines` with each other person's name given its colour, now: a line
   * keeps the colours it was printed with, whatever happens to the names later.
   */
  colorLines(lines: Line[]): Line[] {
    return lines.map((line) => ({
      ...line,
      spans: line.spans.map((span) =>
        span.name !== undefined && (span.tone === "name" || span.tone === "private")
          ? { ...span, color: this.of(span.name) }
          : span
      ),
    }));
  }

  // The least-held colour among the people present; the name's hash breaks ties.
  #pick(name: string): number {
    const held = new Array<number>(this.#palette.length).fill(0);
    for (const key of this.#present) {
      const index = this.#given.get(key);
      if (index !== undefined) held[index]++;
    }
    const start = hash(name) % this.#palette.length;
    let best = start;
    for (let step = 1; step < this.#palette.length; step++) {
      const index = (start + step) % this.#palette.length;
      if (held[index] < held[best]) best = index;
    }
    return best;
  }
}
