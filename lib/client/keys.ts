/**
 * Turns the bytes a terminal sends in raw mode into keys.
 *
 * Terminals encode keys as UTF-8 text, control bytes (Ctrl+A is 0x01) and
 * escape sequences (the left arrow is `ESC [ D`, or `ESC O D` in application
 * mode); Alt+key arrives as ESC followed by the key. Pasted text arrives
 * between `ESC [ 200 ~` and `ESC [ 201 ~` when bracketed paste is on, so it
 * can be inserted as text instead of being typed (a newline in it must not
 * send the line). A read can end in the middle of any of these; the decoder
 * keeps the unfinished part for the next read.
 *
 * @module
 */

/** Keys with a meaning for the line editor. */
export type KeyName =
  | "enter"
  | "tab"
  | "shift+tab"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "up"
  | "down"
  | "home"
  | "end"
  | "page_up"
  | "page_down"
  | "word_left"
  | "word_right"
  | "delete_word_left"
  | "delete_word_right"
  | "escape"
  | "ctrl+a"
  | "ctrl+b"
  | "ctrl+c"
  | "ctrl+d"
  | "ctrl+e"
  | "ctrl+f"
  | "ctrl+k"
  | "ctrl+l"
  | "ctrl+n"
  | "ctrl+p"
  | "ctrl+t"
  | "ctrl+u"
  | "ctrl+w"
  | "ctrl+y"
  | "ctrl+z"
  | "alt+1"
  | "alt+2"
  | "alt+3"
  | "alt+4"
  | "alt+5"
  | "alt+6"
  | "alt+7"
  | "alt+8"
  | "alt+9"
  | "alt+left"
  | "alt+right";

/** One decoded key: typed text, pasted text, or a named key. */
export type Key =
  | { kind: "text"; text: string }
  | { kind: "paste"; text: string }
  | { kind: "key"; name: KeyName };

const ESC = "\x1b";
const PASTE_END = "\x1b[201~";

const CONTROL: Record<string, KeyName> = {
  "\x01": "ctrl+a",
  "\x02": "ctrl+b",
  "\x03": "ctrl+c",
  "\x04": "ctrl+d",
  "\x05": "ctrl+e",
  "\x06": "ctrl+f",
  "\x08": "backspace",
  "\x09": "tab",
  "\x0a": "enter",
  "\x0b": "ctrl+k",
  "\x0c": "ctrl+l",
  "\x0d": "enter",
  "\x0e": "ctrl+n",
  "\x10": "ctrl+p",
  "\x14": "ctrl+t",
  "\x15": "ctrl+u",
  "\x17": "ctrl+w",
  "\x19": "ctrl+y",
  "\x1a": "ctrl+z",
  "\x7f": "backspace",
};

// CSI/SS3 final bytes without parameters (or with a modifier parameter).
const FINAL: Record<string, KeyName> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
  Z: "shift+tab",
};

// `ESC [ n ~` keys.
const TILDE: Record<string, KeyName> = {
  "1": "home",
  "3": "delete",
  "4": "end",
  "5": "page_up",
  "6": "page_down",
  "7": "home",
  "8": "end",
};

// Alt+key, sent as ESC then the key.
const ALT: Record<string, KeyName> = {
  b: "word_left",
  f: "word_right",
  d: "delete_word_right",
  "\x7f": "delete_word_left",
  "\x08": "delete_word_left",
};

/** Decodes raw terminal input into keys, across reads. */
export class KeyDecoder {
  #utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
  #pending = "";
  #paste: string | null = null;

  /** Decodes one read's bytes; keeps an unfinished sequence for the next call. */
  feed(bytes: Uint8Array): Key[] {
    return this.feedText(this.#utf8.decode(bytes, { stream: true }));
  }

  /** Decodes input that is already text (for tests, and after UTF-8 decoding). */
  feedText(input: string): Key[] {
    const text = this.#pending + input;
    this.#pending = "";
    const keys: Key[] = [];
    let typed = "";
    const flushTyped = () => {
      if (typed) keys.push({ kind: "text", text: typed });
      typed = "";
    };
    let i = 0;
    while (i < text.length) {
      if (this.#paste !== null) {
        const end = text.indexOf(PASTE_END, i);
        if (end === -1) {
          // Keep a possible start of the end marker for the next read.
          const keep = partialSuffix(text, PASTE_END);
          this.#paste += text.slice(i, text.length - keep);
          this.#pending = text.slice(text.length - keep);
          return keys;
        }
        keys.push({ kind: "paste", text: this.#paste + text.slice(i, end) });
        this.#paste = null;
        i = end + PASTE_END.length;
        continue;
      }
      const char = text[i];
      if (char === ESC) {
        const sequence = parseEscape(text, i);
        if (sequence === "incomplete") {
          flushTyped();
          this.#pending = text.slice(i);
          return keys;
        }
        flushTyped();
        if (sequence.paste) {
          this.#paste = "";
        } else if (sequence.key) {
          keys.push({ kind: "key", name: sequence.key });
        }
        i += sequence.length;
        continue;
      }
      const control = CONTROL[char];
      if (control) {
        flushTyped();
        keys.push({ kind: "key", name: control });
        // A CR LF pair (some terminals, and pasted Windows text) is one Enter.
        i += char === "\r" && text[i + 1] === "\n" ? 2 : 1;
        continue;
      }
      if (char >= " ") typed += char;
      i++;
    }
    flushTyped();
    return keys;
  }

  /**
   * Ends a pending lone ESC: the caller calls this when no more input came
   * shortly after it, which is how a real Escape key press looks.
   */
  flush(): Key[] {
    if (this.#pending === ESC) {
      this.#pending = "";
      return [{ kind: "key", name: "escape" }];
    }
    return [];
  }

  /** Whether a sequence is waiting for more bytes. */
  get pending(): boolean {
    return this.#pending !== "";
  }
}

type Escape = { length: number; key?: KeyName; paste?: true };

// Parses the escape sequence starting at `at`; "incomplete" when the text ends in it.
function parseEscape(text: string, at: number): Escape | "incomplete" {
  const next = text[at + 1];
  if (next === undefined) return "incomplete";
  if (next === "[" || next === "O") {
    let end = at + 2;
    while (end < text.length && /[0-9;:<=>?]/.test(text[end])) end++;
    if (end >= text.length) return "incomplete";
    const params = text.slice(at + 2, end);
    const final = text[end];
    const length = end - at + 1;
    if (next === "[" && final === "~") {
      if (params === "200") return { length, paste: true };
      const [code, modifier] = params.split(";");
      const key = TILDE[code];
      if (key === "delete" && modifier && modifier !== "1") {
        return { length, key: "delete_word_right" };
      }
      return key ? { length, key } : { length };
    }
    const key = FINAL[final];
    if (!key) return { length };
    const modifier = Number(params.split(";")[1] ?? "1");
    // Ctrl (5) with an arrow moves by word, as in most editors; Alt (3) switches rooms.
    if (modifier === 5 && key === "left") return { length, key: "word_left" };
    if (modifier === 5 && key === "right") return { length, key: "word_right" };
    if (modifier === 3 && key === "left") return { length, key: "alt+left" };
    if (modifier === 3 && key === "right") return { length, key: "alt+right" };
    return { length, key };
  }
  if (next === ESC) return { length: 1, key: "escape" };
  const alt = ALT[next];
  if (alt) return { length: 2, key: alt };
  if (next >= "1" && next <= "9") return { length: 2, key: `alt+${next}` as KeyName };
  // Alt with any other key: the key alone is what the editor can use.
  return { length: 1 };
}

// Length of the longest suffix of `text` that is a proper prefix of `marker`.
function partialSuffix(text: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(marker.slice(0, n))) return n;
  }
  return 0;
}
