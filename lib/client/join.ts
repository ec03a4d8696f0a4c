/**
 * `chat join`: the client people chat in.
 *
 * When stdin and stdout are terminals, it is interactive: it asks for a name
 * if none was given (and again if the server refuses it), keeps the input
 * line at the bottom while the conversation scrolls above (PageUp scrolls back), completes names
 * and commands with Tab, shows each room in its own view (room_views.ts) with a status line of
 * the others (Alt+1..9, Ctrl+N/Ctrl+P switch), reconnects by itself when the connection drops (what
 * was said meanwhile is replayed once; a line stays pending until the server answers it, and is
 * sent once back; history sent again shows only what was not shown), waits up to RESTART_WAIT_MS
 * for a server that shut
 * down on purpose to come back, counting down on the prompt, and leaves
 * cleanly on Ctrl+C, Ctrl+D, `/quit` or `exit`.
 *
 * Otherwise it is a pipe: each line of stdin is sent as typed, what arrives
 * is printed as plain lines without escape codes, and it leaves at the end of
 * input. A refused name is then an error, not a question.
 *
 * Whatever the server says is checked and cleaned before it is shown: a
 * frame that does not follow the protocol is skipped (and counted on stderr
 * at the end), and its words (refusals, goodbyes, names, messages) lose any
 * escape sequence or control character, on stdout and stderr alike.
 *
 * A name that belongs to an account needs its password. In a terminal it is
 * asked for when the server says so, without echo (nothing typed shows, as
 * with sudo), again after a wrong one, three times at most; CHAT_PASSWORD,
 * if set, is tried first. A pipe gives CHAT_PASSWORD, or fails with advice.
 * The password is never printed, kept in the input history, or sent before
 * the server asks for it.
 *
 * With `--tls` (or `--ca FILE`, a certificate to trust) it connects with TLS.
 *
 * Exit codes (see ExitCode): 0 when the user left or the server shut down
 * on purpose (and, in a terminal, did not come back in time), 1 when the connection was lost (pipe mode) or the server closed
 * it for another reason, or the `--ca` file cannot be read, 2 for no name in
 * pipe mode, 3 when the server cannot be reached (TLS problems included), 4
 * when it refuses us (name, password, too many failed logins, full room,
 * protocol version).
 *
 * @module
 */

import { ExitCode } from "../cli/exit_codes.ts";
import type { JoinSettings } from "../cli/settings.ts";
import { ChatClient, type ClientUpdate, ConnectError, isQuitLine } from "./client.ts";
import {
  type ChatEvent,
  ErrorCode,
  type MessageEvent,
  type ReplayEvent,
  type WelcomeEvent,
} from "../core/events.ts";
import { lowerFirst } from "../core/errors.ts";
import { stripUnsafe } from "../core/sanitize.ts";
import { fileReason } from "../cli/files.ts";
import { type Key, KeyDecoder } from "./keys.ts";
import { COMMAND_NAMES, completeWord, type EditorAction, LineEditor } from "./line_editor.ts";
import { MAX_LINE_BYTES } from "../protocol/limits.ts";
import { PacedQueue } from "./paced_queue.ts";
import {
  gapLines,
  type Line,
  lineWidth,
  paint,
  promptLine,
  renderEvent,
  type RenderMode,
  statusLine,
  terminalTitle,
} from "./render.ts";
import { markRoom, roomPrompt } from "./room_view.ts";
import { ROOM_COMMANDS, RoomViews } from "./room_views.ts";
import { statusBar } from "./room_status.ts";
import { type InputState, Screen, titleSequence } from "./screen.ts";
import { NameColors, paletteFor } from "./name_colors.ts";
import {
  isInteractive,
  noColor,
  stdinLines,
  Terminal,
  terminalEnv,
  writeErr,
  writeOut,
} from "./terminal.ts";
import { VERSION } from "../version.ts";

/** How long to wait for the server's goodbye after asking to leave, in ms. */
const LEAVE_TIMEOUT_MS = 1_500;

/** How long after an ESC byte the rest of an escape sequence may come, in ms. */
const ESCAPE_WAIT_MS = 50;

/** Passwords a person may try before the client gives up (the server counts too). */
const PASSWORD_TRIES = 3;

/** How long a person's client waits for a server that stopped on purpose to come back, in ms. */
const RESTART_WAIT_MS = 120_000;

/** How often the countdown to the next attempt to come back is redrawn, in ms. */
const COUNTDOWN_TICK_MS = 250;

/** Lines entered while offline that wait to be sent; more stay in the input. */
const MAX_QUEUED = 20;

/** How long a line may wait for the server's answer before the prompt says it is unsent, in ms. */
const UNSENT_SHOWN_MS = 1_500;

/** The terminal bell. */
const BELL = "\x07";

/** Messages remembered as shown, so that history after a reconnect skips them. */
const SHOWN_KEPT = 5_000;

/** Joins a chat server from this terminal (or pipe); resolves to the exit code. */
export async function join(settings: JoinSettings): Promise<number> {
  const interactive = isInteractive();
  if (!interactive && settings.name === undefined) {
    writeErr(
      "chat: --name is needed when input or output is not a terminal (or set CHAT_NAME)\n" +
        "Run 'chat join --help' for usage.\n",
    );
    return ExitCode.Usage;
  }
  let caCerts: string[] | undefined;
  if (settings.ca !== undefined) {
    const ca = await readCertificate(settings.ca);
    if (!ca.ok) {
      writeErr(`chat: cannot read --ca ${settings.ca} (${ca.problem})\n`);
      return ExitCode.Failure;
    }
    caCerts = [ca.pem];
  }
  const tls = settings.tls || caCerts !== undefined;
  const client = new ChatClient({
    host: settings.host,
    port: settings.port,
    client: `chat/${VERSION}`,
    // A person waits out a restart; a script ends at the shutdown, as its caller expects.
    ...(interactive ? { restartWaitMs: RESTART_WAIT_MS } : {}),
    ...(tls ? { tls: caCerts ? { caCerts } : {} } : {}),
  });
  try {
    await client.connect();
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    writeErr(`chat: cannot connect to ${client.address} (${said(error.reason)})\n`);
    return ExitCode.CannotConnect;
  }
  try {
    const code = interactive
      ? await new InteractiveJoin(client, settings, noColor() ? "mono" : "color").run()
      : await pipeJoin(client, settings.name!, settings.password);
    writeErr(skippedLine(client));
    return code;
  } finally {
    client.close();
  }
}

/**
 * Text from the server (or shaped by it, such as a certificate's names in a
 * TLS reason), made safe to print and to follow a colon: escape sequences
 * and control characters removed. Each piece is cleaned on its own, so that
 * an escape sequence left open cannot swallow the words after it.
 */
function said(text: string): string {
  return lowerFirst(stripUnsafe(text));
}

/** What stderr is told about frames from the server that were skipped; "" when none were. */
function skippedLine(client: ChatClient): string {
  const { count, first } = client.skipped;
  if (count === 0) return "";
  return `chat: skipped ${count} ${count === 1 ? "frame" : "frames"} from ${client.address} ` +
    `that did not follow the protocol (the first: ${said(first)})\n`;
}

/** A certificate file's PEM text, or why it cannot be used. */
type ReadCertificate = { ok: true; pem: string } | { ok: false; problem: string };

/**
 * Reads the `--ca` file: PEM certificates, each checked to decode, so that a
 * wrong file (a key, a truncated copy) is named now rather than as a TLS
 * failure later.
 */
export async function readCertificate(path: string): Promise<ReadCertificate> {
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (error) {
    return { ok: false, problem: fileReason(error) };
  }
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) {
    const problem = /PRIVATE KEY-----/.test(pem)
      ? "a private key, not a certificate: give the certificate ('chat cert' wrote both)"
      : "not a PEM certificate";
    return { ok: false, problem };
  }
  for (const [, body] of blocks) {
    try {
      // DER starts with a SEQUENCE tag.
      if (atob(body.replace(/\s+/g, "")).charCodeAt(0) !== 0x30) throw new Error("not DER");
    } catch {
      return { ok: false, problem: "a damaged PEM certificate" };
    }
  }
  return { ok: true, pem };
}

/** A refusal as one line: `cannot join HOST:PORT: the name Bob is taken`. */
function refusal(address: string, message: string): string {
  return `chat: cannot join ${address}: ${said(message)}\n`;
}

// The end of the conversation: which exit code, and what to say on stderr.
function ending(update: ClientUpdate & { kind: "end" }, address: string, leaving: boolean) {
  const bye = update.bye;
  if (update.code) {
    // Refused after a drop: the password changed, too many failed logins...
    return {
      code: ExitCode.Refused,
      message: `chat: ${address} refused to let you back in: ${said(update.reason)}\n`,
    };
  }
  if (bye?.code === "quit" || bye?.code === "shutdown" || (!bye && leaving)) {
    return { code: ExitCode.Ok, message: "" };
  }
  if (bye) {
    // Kicked, flooding, replaced...: the server's reason, as one line.
    return { code: ExitCode.Failure, message: `chat: ${said(bye.reason)} (${address})\n` };
  }
  return { code: ExitCode.Failure, message: `chat: lost the connection to ${address}\n` };
}

/**
 * Pipe mode: stdin lines out, plain lines in; leaves at the end of input.
 * `password` (CHAT_PASSWORD) is given once, if the server asks for one.
 */
async function pipeJoin(
  client: ChatClient,
  name: string,
  password: string | undefined,
): Promise<number> {
  let answer;
  try {
    answer = await client.register(name);
    if (!answer.ok && answer.code === ErrorCode.PasswordRequired) {
      if (password === undefined) {
        // "The name Bob belongs to an account: give its password": say how a script gives it.
        const why = stripUnsafe(answer.message).replace(/:[^:]*$/, "");
        const whose = why.includes(name) ? "its password" : `the password of ${name}`;
        writeErr(refusal(client.address, `${why}; set CHAT_PASSWORD to ${whose}`));
        return ExitCode.Refused;
      }
      answer = await client.register(name, password);
    }
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    writeErr(`chat: cannot join ${client.address} (${said(error.reason)})\n`);
    return ExitCode.CannotConnect;
  }
  if (!answer.ok) {
    if (answer.code === "shutdown") {
      writeErr(`chat: ${client.address} is shutting down\n`);
      return ExitCode.Ok;
    }
    writeErr(refusal(client.address, answer.message));
    return ExitCode.Refused;
  }
  printPlain(answer.welcome, client.name, client.room);
  let leaving = false;
  // One line at a time, each at the pace the server allows: a file piped in arrives whole.
  const queue = new PacedQueue(
    1,
    (line) => client.deliver(line.text, line.cid),
    () => {},
    undefined,
    Infinity,
  );
  const sending = (async () => {
    for await (const line of stdinLines(MAX_LINE_BYTES)) {
      if (isQuitLine(line)) {
        client.input(line);
        return;
      }
      queue.push({ text: line, cid: client.nextCid() });
      await queue.drain();
      // Still there: the connection went before the server answered it.
      if (queue.length > 0) return;
    }
    leaving = true;
    client.quit();
  })();
  sending.catch(() => {});
  try {
    for await (const update of client.updates(false)) {
      if (update.kind === "event") printPlain(update.event, client.name, client.room);
      if (update.kind === "end") {
        const end = ending(update, client.address, leaving);
        writeErr(end.message);
        return end.code;
      }
    }
    return ExitCode.Ok;
  } finally {
    queue.stop();
  }
}

function printPlain(event: ChatEvent, me: string, room: string): void {
  const lines = markRoom(renderEvent(event, { me, now: Date.now(), hints: false }), event, room);
  const text = lines.map((line) => paint(line, "plain") + "\n").join("");
  // Refusals of what a bot sent go to stderr, so stdout stays the conversation.
  if (event.type === "error") writeErr(text);
  else writeOut(text);
}

/** What tells a message apart, across a restart of a server whose ids start again. */
function shownKey(message: MessageEvent): string {
  return `${message.id} ${message.time} ${message.room}`;
}

/** The interactive client: one terminal, one conversation. */
class InteractiveJoin {
  #client: ChatClient;
  #name: string | undefined;
  // CHAT_PASSWORD: tried once, before asking.
  #password: string | undefined;
  #term = new Terminal();
  #screen: Screen;
  #names = new NameColors(paletteFor(terminalEnv()));
  #chat: LineEditor;
  #nameEditor = new LineEditor();
  #editor: LineEditor;
  #decoder = new KeyDecoder();
  // The answer to the prompt on the input line (a name, a password), while one is asked.
  #answer: ((text: string | null) => void) | null = null;
  // The input is a password: drawn as nothing at all.
  #secret = false;
  #leaving = false;
  #leaveTimer: ReturnType<typeof setTimeout> | undefined;
  #escapeTimer: ReturnType<typeof setTimeout> | undefined;
  #title = "";
  #farewell = "";
  #lastRetry = "";
  #joined = false;
  #typedAhead: string[] = [];
  // Lines entered and not answered yet (all of them, when the server follows delivery).
  #queued: PacedQueue;
  // A line has waited for its answer long enough for the prompt to say so; the timer until then.
  #overdue = false;
  #overdueTimer: ReturnType<typeof setTimeout> | undefined;
  // Messages shown (`shownKey`), and whether the next event follows a reconnect's welcome.
  #shown = new Set<string>();
  #rejoined = false;
  // While the server is stopped on purpose: when the client gives up, and when it tries next.
  #restartUntil: number | null = null;
  #retryAt = 0;
  #countdown: ReturnType<typeof setInterval> | undefined;
  // The offline prompt last drawn, as text.
  #promptText = "";
  // Each room's conversation, and the status line of the others (as last drawn).
  #views: RoomViews;
  #statusText = "";
  // Lines of your leaving the room on screen: shown in the room you land in.
  #held: Line[] = [];
  // Rooms joined again after a reconnect: their history shows only what was not shown.
  #refill = new Set<string>();

  constructor(client: ChatClient, settings: JoinSettings, mode: RenderMode) {
    this.#client = client;
    this.#name = settings.name;
    this.#password = settings.password;
    const size = this.#term.size();
    this.#screen = new Screen(size.columns, size.rows, mode);
    this.#views = new RoomViews(this.#screen.scrollback);
    this.#chat = this.#chatEditor();
    this.#editor = this.#chat;
    this.#queued = new PacedQueue(
      MAX_QUEUED,
      (line) => client.deliver(line.text, line.cid, line.room),
      (text, reason) => {
        const why = lowerFirst(stripUnsafe(reason));
        this.#print([
          statusLine(`"${stripUnsafe(text)}" was not sent: ${why}`, Date.now(), "error"),
        ]);
      },
      () => this.#onAnswered(),
      undefined,
      // A line typed in a room not back yet waits for it alone.
      (line) => line.room === undefined || !client.awaitsRejoin(line.room),
      // Rooms joined again take the allowance for a while: a line is not given up meanwhile.
      () => client.rejoinsUnderWay,
    );
  }

  #chatEditor(): LineEditor {
    return new LineEditor((text, cursor) =>
      completeWord(
        text,
        cursor,
        this.#client.users.filter((n) => n !== this.#client.name),
        [...COMMAND_NAMES, ...ROOM_COMMANDS],
        this.#views.names,
      )
    );
  }

  async run(): Promise<number> {
    this.#term.start();
    try {
      this.#term.onResize((size) => {
        // The status line is laid out for the new width; resize draws it with the rest.
        const status = this.#statusBar(size.columns);
        this.#statusText = status === null ? "" : JSON.stringify(status);
        this.#screen.setStatus(status, this.#input());
        this.#write(this.#screen.resize(size.columns, size.rows, this.#input()));
      });
      this.#term.onStopSignal(() => this.#leave());
      void this.#readKeys();
      const registered = await this.#register();
      if (registered !== null) return registered;
      return await this.#follow();
    } finally {
      this.#queued.stop();
      clearTimeout(this.#overdueTimer);
      clearTimeout(this.#leaveTimer);
      clearTimeout(this.#escapeTimer);
      clearInterval(this.#countdown);
      this.#write(this.#screen.close());
      this.#term.stop();
      if (this.#farewell) writeErr(this.#farewell);
    }
  }

  /**
   * Asks for a name until the server takes one, and for the password of a
   * name that belongs to an account; null when registered, else the exit code.
   */
  async #register(): Promise<number | null> {
    let name = this.#name;
    let password: string | undefined;
    let wrong = 0;
    if (name === undefined) {
      this.#print([statusLine(`Connected to ${this.#client.address}`, Date.now())]);
    }
    while (true) {
      if (name === undefined) {
        const typed = await this.#askName();
        if (typed === null) return ExitCode.Ok;
        name = typed;
      }
      this.#screen.setPrompt(promptLine(name, true));
      let answer;
      try {
        answer = await this.#client.register(name, password);
      } catch (error) {
        if (!(error instanceof ConnectError)) throw error;
        if (this.#leaving) return ExitCode.Ok;
        this.#farewell = `chat: cannot join ${this.#client.address} (${said(error.reason)})\n`;
        return ExitCode.CannotConnect;
      }
      if (answer.ok) {
        this.#editor = this.#chat;
        this.#joined = true;
        this.#views.welcome(answer.welcome);
        this.#screen.setPrompt(this.#onlinePrompt());
        this.#names.follow(answer.welcome, this.#client.name);
        this.#print(renderEvent(answer.welcome, this.#context()));
        this.#drawStatus();
        this.#updateTitle();
        // Lines typed ahead, while the server had not answered yet, go now, as if typed now:
        // pending until answered, and sent again if the link drops first.
        for (const line of this.#typedAhead.splice(0)) this.#send(line);
        return null;
      }
      if (this.#leaving) return ExitCode.Ok;
      if (answer.code === "shutdown") {
        // The server went away on purpose while the name was being typed.
        this.#farewell = `chat: ${this.#client.address} is shutting down\n`;
        return ExitCode.Ok;
      }
      const code = answer.code;
      if (code === ErrorCode.PasswordRequired || code === ErrorCode.WrongPassword) {
        if (code === ErrorCode.WrongPassword && ++wrong >= PASSWORD_TRIES) {
          this.#farewell = refusal(this.#client.address, answer.message);
          return ExitCode.Refused;
        }
        const tone = code === ErrorCode.WrongPassword ? "error" : "status";
        this.#print([statusLine(stripUnsafe(answer.message), Date.now(), tone)]);
        if (this.#password !== undefined) {
          password = this.#password;
          this.#password = undefined;
          continue;
        }
        const typed = await this.#askPassword(name);
        if (typed === null) return ExitCode.Ok;
        password = typed;
        continue;
      }
      if (!answer.retry) {
        // Too many failed logins, a full room...: the server's words.
        this.#farewell = refusal(this.#client.address, answer.message);
        return ExitCode.Refused;
      }
      this.#print([
        statusLine(
          `${stripUnsafe(answer.message)}. Please choose another name.`,
          Date.now(),
          "error",
        ),
      ]);
      name = undefined;
      password = undefined;
      wrong = 0;
    }
  }

  #askName(): Promise<string | null> {
    return this.#ask(this.#nameEditor, "Your name: ", false);
  }

  /**
   * Asks for the password of `name`, showing nothing of what is typed. Lines
   * typed ahead are dropped, not sent once joined: they may be this very
   * password, typed before the prompt showed. So is the chat editor, whose
   * history they went into.
   */
  #askPassword(name: string): Promise<string | null> {
    this.#typedAhead = [];
    this.#chat = this.#chatEditor();
    // A fresh editor each time: no history to recall a password from.
    return this.#ask(new LineEditor(), `Password for ${name}: `, true);
  }

  /** Shows `prompt` on the input line and edits the answer with `editor`. */
  #ask(editor: LineEditor, prompt: string, secret: boolean): Promise<string | null> {
    this.#editor = editor;
    this.#secret = secret;
    this.#screen.setPrompt({ spans: [{ text: prompt, tone: "prompt" }] });
    this.#write(this.#screen.drawInput(this.#input()));
    return new Promise((resolve) => this.#answer = resolve);
  }

  // Follows the room until the end; resolves to the exit code.
  async #follow(): Promise<number> {
    const address = this.#client.address;
    for await (const update of this.#client.updates(true)) {
      switch (update.kind) {
        case "event":
          this.#onEvent(update.event);
          break;
        case "lost":
          this.#lastRetry = "";
          this.#setOverdue(false);
          this.#retryAt = update.nextAt;
          if (update.until !== undefined) {
            this.#restartUntil = update.until;
            this.#countdown = setInterval(() => this.#drawOffline(), COUNTDOWN_TICK_MS);
          }
          this.#drawOffline();
          this.#print([
            statusLine(
              update.until !== undefined
                ? `${address} is stopping or restarting; will try to rejoin for ` +
                  `${RESTART_WAIT_MS / 60_000} minutes (Ctrl+C to give up)`
                : `Lost the connection to ${address}; reconnecting...`,
              Date.now(),
            ),
          ]);
          this.#updateTitle();
          this.#noteUnanswered();
          break;
        case "retrying":
          this.#retryAt = update.nextAt;
          this.#drawOffline();
          if (update.reason !== this.#lastRetry) {
            this.#lastRetry = update.reason;
            // The server answered but refused (the name taken by someone
            // else after a restart, say): that is not "cannot reach".
            const reason = stripUnsafe(update.reason);
            const text = update.refused
              ? `${address} refused to let you back in: ${reason}; will keep trying (/quit to give up)`
              : `Cannot reach ${address} (${reason}); will keep trying`;
            this.#print([statusLine(text, Date.now())]);
          }
          break;
        case "back":
          this.#stopCountdown();
          // Who is here now, for the colours of newcomers.
          this.#names.follow(update.welcome, this.#client.name);
          this.#rejoined = true;
          // Rooms a restarted server forgot are joined again, the one on screen last.
          this.#client.rejoin(this.#refillAgain(update.welcome));
          this.#drawStatus();
          this.#screen.setPrompt(this.#onlinePrompt());
          this.#print([
            statusLine(
              `Reconnected to ${address} as ${stripUnsafe(this.#client.name)}`,
              Date.now(),
              "join",
            ),
          ]);
          this.#updateTitle();
          // Lines entered while offline (or not answered before the drop) go now, in order,
          // after what was missed, as fast as the server takes them.
          this.#drain();
          break;
        case "end": {
          const waited = this.#restartUntil !== null;
          this.#stopCountdown();
          const end = ending(update, address, this.#leaving);
          this.#farewell = end.message;
          if (waited && !this.#leaving && update.bye?.code === "shutdown") {
            this.#farewell = `chat: ${address} did not come back within ` +
              `${RESTART_WAIT_MS / 60_000} minutes; giving up\n`;
          } else if (waited && update.code) {
            this.#farewell = `chat: ${address} is back but refused to let you in: ` +
              `${said(update.reason)}\n`;
          }
          const unsent = this.#queued.length;
          if (unsent > 0) {
            this.#farewell += `chat: ${unsent} ${unsent === 1 ? "line" : "lines"} ` +
              "entered were not sent (or not confirmed)\n";
          }
          if (end.code === ExitCode.Ok && (update.bye?.code !== "shutdown" || this.#leaving)) {
            this.#print([statusLine(`You left ${address}`, Date.now())]);
          }
          return end.code;
        }
      }
    }
    return ExitCode.Ok;
  }

  /** The rooms to join again after `welcome` (see RoomViews.welcome), to refill once back. */
  #refillAgain(welcome: WelcomeEvent): string[] {
    const again = this.#views.welcome(welcome);
    for (const room of again) this.#refill.add(room);
    return again;
  }

  /**
   * The offline prompt: while a stopped server is awaited, with the
   * countdown to the next attempt. Redrawn only when its text changes.
   */
  #drawOffline(): void {
    const name = this.#client.name;
    let prompt = promptLine(name, false);
    if (this.#restartUntil !== null) {
      const left = Math.ceil((this.#retryAt - Date.now()) / 1000);
      const when = left > 0 ? `in ${left} s` : "now";
      prompt = promptLine(name, false, `server stopped; trying again ${when} — Ctrl+C to give up`);
      // The prompt gets half the row at most: a narrow window gets the short form, name kept.
      if (lineWidth(prompt) > Math.floor(this.#screen.columns / 2)) {
        prompt = promptLine(name, false, `stopped; retry ${when}`);
      }
    }
    const text = prompt.spans.map((span) => span.text).join("");
    if (text === this.#promptText) return;
    this.#promptText = text;
    this.#screen.setPrompt(prompt);
    this.#write(this.#screen.drawInput(this.#input()));
  }

  #stopCountdown(): void {
    clearInterval(this.#countdown);
    this.#countdown = undefined;
    this.#restartUntil = null;
    this.#promptText = "";
  }

  #onEvent(event: ChatEvent): void {
    if (event.type === "replay") {
      this.#onReplay(event);
      return;
    }
    if (event.type === "error" && event.room !== undefined && this.#refill.delete(event.room)) {
      this.#notRejoined(event.room, event.message);
      this.#drain();
      return;
    }
    // A room joined again is back (`current` alone for one we were in): the lines typed there go.
    if (
      (event.type === "join" && event.name === this.#client.name) || event.type === "current"
    ) this.#drain();
    // History resent with a reconnect's welcome: only what this screen has not shown.
    const rejoined = this.#rejoined;
    this.#rejoined = false;
    const refill = event.type === "history" && this.#refill.delete(event.room);
    if (event.type === "current") this.#refill.delete(event.room);
    if (event.type === "history" && (rejoined || refill)) {
      const unseen = event.messages.filter((m) => !this.#shown.has(shownKey(m)));
      if (unseen.length === 0) return;
      event = { ...event, messages: unseen };
    }
    if (event.type === "message") this.#remember([event]);
    if (event.type === "history") this.#remember(event.messages);
    if (event.type === "rename" && event.to === this.#client.name) {
      this.#screen.setPrompt(this.#onlinePrompt());
    }
    this.#names.follow(event, this.#client.name);
    const show = this.#views.follow(event, this.#client.name);
    // The room on screen and the prompt say where you are; a line saying it too is noise.
    const lines = event.type === "current" ? [] : renderEvent(event, this.#context());
    if (lines.length > 0) {
      const room = this.#views.place(event, lines);
      if (room === null) this.#held.push(...lines);
      else if (room === this.#views.shown) this.#print(markRoom(lines, event, room));
      else {
        const marked = this.#names.colorLines(markRoom(lines, event, room));
        this.#views.view(room).append(marked, this.#screen.columns - 1);
        // Your name said in another room rings as it would here; the status line says where.
        if (marked.some((line) => line.bell)) this.#write(BELL);
      }
    }
    if (show !== null) this.#showRoom(show);
    if (["current", "part", "join"].includes(event.type)) {
      this.#screen.setPrompt(this.#onlinePrompt());
      this.#write(this.#screen.drawInput(this.#input()));
    }
    this.#drawStatus();
    if (["join", "leave", "rename", "users"].includes(event.type)) this.#updateTitle();
  }

  /**
   * What was said while away: each message as it would have been shown
   * live, in its room's view, then a line for each room (and for private
   * messages) where some of it is no longer kept.
   */
  #onReplay(replay: ReplayEvent): void {
    // It comes instead of history; a history after it (a new stream's) is still the reconnect's.
    const rejoined = this.#rejoined;
    for (const message of replay.messages) this.#onEvent(message);
    this.#rejoined = rejoined;
    for (const room of replay.gaps ?? []) {
      const lines = gapLines(room, Date.now());
      if (room === this.#views.shown || !this.#views.list.get(room)) this.#print(lines);
      else this.#views.view(room).append(lines, this.#screen.columns - 1);
    }
    if (replay.privateGap) this.#print(gapLines(null, Date.now()));
  }

  /**
   * A room the server would not let us back into after a reconnect (it is
   * private now, say): one line says so, where the person is looking. Its
   * view stays readable while on screen, marked as left; another goes.
   */
  #notRejoined(room: string, reason: string): void {
    const why = `could not join it again: ${lowerFirst(stripUnsafe(reason))}`;
    this.#print([statusLine(`#${stripUnsafe(room)}: ${why}`, Date.now(), "error")]);
    this.#notSentIn(room);
    if (room === this.#views.shown) this.#views.list.markLeft(room, why);
    else this.#views.list.remove(room);
    this.#screen.setPrompt(this.#onlinePrompt());
    this.#write(this.#screen.drawInput(this.#input()));
    this.#drawStatus();
  }

  /** Puts `room`'s view on screen, and the lines held for it. */
  #showRoom(room: string): void {
    this.#views.list.show(room);
    this.#screen.setPrompt(this.#onlinePrompt());
    this.#write(this.#screen.show(this.#views.view(room), this.#input()));
    if (this.#held.length > 0) this.#print(this.#held.splice(0));
    this.#drawStatus();
  }

  /**
   * A key asked for `room`: on screen now, and the server's current room
   * too (a `join` of a room you are in only makes it current). A room you
   * were put out of is only shown: joining it would enter it again.
   */
  #switchRoom(room: string | undefined): void {
    if (room === undefined || room === this.#views.shown) return;
    const left = Boolean(this.#views.list.get(room)?.left);
    // While rooms are joined again, a switch is only shown (lines name their room): a `/join`
    // would compete with those joins for the flood allowance.
    const asked = !left && !this.#client.rejoinsUnderWay && this.#client.input(`/join #${room}`);
    this.#views.switchTo(room, asked);
    this.#showRoom(room);
  }

  /** The status line for a window `columns` wide; null while there is one room. */
  #statusBar(columns: number) {
    if (!this.#views.several) return null;
    return statusBar(this.#views.list.rooms, this.#views.shown, columns - 1);
  }

  #drawStatus(): void {
    const status = this.#statusBar(this.#screen.columns);
    const text = status === null ? "" : JSON.stringify(status);
    if (text === this.#statusText) return;
    this.#statusText = text;
    this.#write(this.#screen.setStatus(status, this.#input()));
  }

  // The keys that switch rooms, while there are several (else they edit, as before).
  #roomKey(key: Key): string | undefined | null {
    if (key.kind !== "key" || !this.#joined || this.#answer || !this.#views.several) return null;
    const list = this.#views.list;
    const digit = /^alt\+([1-9])$/.exec(key.name);
    if (digit) return list.nth(Number(digit[1]));
    if (key.name === "ctrl+n" || key.name === "alt+right") return list.next(1);
    if (key.name === "ctrl+p" || key.name === "alt+left") return list.next(-1);
    return null;
  }

  #remember(messages: MessageEvent[]): void {
    for (const message of messages) this.#shown.add(shownKey(message));
    // The oldest go first: a reconnect's history holds only the latest messages.
    for (const key of this.#shown) {
      if (this.#shown.size <= SHOWN_KEPT) break;
      this.#shown.delete(key);
    }
  }

  async #readKeys(): Promise<void> {
    for await (const chunk of this.#term.input()) {
      clearTimeout(this.#escapeTimer);
      for (const key of this.#decoder.feed(chunk)) this.#onKey(key);
      // A lone ESC is the Escape key only if nothing follows it soon.
      if (this.#decoder.pending) {
        this.#escapeTimer = setTimeout(() => {
          for (const key of this.#decoder.flush()) this.#onKey(key);
        }, ESCAPE_WAIT_MS);
      }
    }
    // The terminal went away: nobody is left to type.
    this.#leave();
  }

  // PageUp and PageDown scroll the conversation; End also returns to its bottom; the rest edit.
  #onKey(key: Key): void {
    const room = this.#roomKey(key);
    if (room !== null) {
      this.#switchRoom(room);
    } else if (key.kind === "key" && key.name === "page_up") {
      this.#write(this.#screen.pageUp(this.#input()));
    } else if (key.kind === "key" && key.name === "page_down") {
      this.#write(this.#screen.pageDown(this.#input()));
    } else {
      if (key.kind === "key" && key.name === "end") {
        this.#write(this.#screen.toBottom(this.#input()));
      }
      this.#onAction(this.#editor.handle(key));
    }
  }

  #onAction(action: EditorAction): void {
    switch (action.kind) {
      case "edit":
        this.#write(this.#screen.drawInput(this.#input()));
        break;
      case "clear_screen":
        this.#write(this.#screen.clear(this.#input()));
        break;
      case "quit":
        if (this.#answer) this.#answerPrompt(null);
        else this.#leave();
        break;
      case "submit":
        // Whoever sends a line wants to see the answer.
        this.#write(this.#screen.toBottom(this.#input()));
        if (!this.#answer) this.#send(action.text);
        else if (!this.#secret) this.#answerPrompt(action.text.trim());
        // An empty password is no attempt: the prompt stays.
        else if (action.text !== "") this.#answerPrompt(action.text);
        break;
    }
  }

  #answerPrompt(text: string | null): void {
    const answer = this.#answer!;
    this.#answer = null;
    this.#secret = false;
    this.#write(this.#screen.close());
    this.#editor = this.#chat;
    // Never the answer itself, which may be a password: #register sets the prompt.
    this.#screen.setPrompt({ spans: [] });
    answer(text);
  }

  #send(text: string): void {
    // A reconnect's history came with its welcome, before anything typed now
    // is answered: a history after this is one the person asked for, shown whole.
    this.#rejoined = false;
    const why = this.#views.leftWhy;
    if (why !== null && !text.trimStart().startsWith("/")) {
      // Said in a room you are no longer in, it would go to another: kept, and said why.
      this.#chat.setText(text);
      const room = stripUnsafe(this.#views.shown);
      this.#print([
        statusLine(
          `You are not in #${room} any more (${why}): /join #${room} to go back, ` +
            "or switch rooms (Alt+1..9, Ctrl+N)",
          Date.now(),
          "error",
        ),
      ]);
      return;
    }
    // The room on screen, that the line is typed in (after leaving it, the server's current one):
    // rooms joined again after a restart, or a switch on its way, cannot send it elsewhere.
    const room = why === null && this.#views.shown !== "" ? this.#views.shown : undefined;
    if (room !== undefined && this.#ownRejoin(text, room)) return;
    // While lines typed offline are still going out, a new one waits its turn. A server that
    // follows delivery answers each line: it then stays pending until answered.
    const direct = this.#queued.length === 0 && (!this.#client.delivers || isQuitLine(text)) &&
      (room === undefined || !this.#client.awaitsRejoin(room));
    if (direct && this.#client.input(text, isQuitLine(text) ? undefined : room)) {
      this.#write(this.#screen.drawInput(this.#input()));
      return;
    }
    if (!this.#joined) {
      this.#typedAhead.push(text);
      this.#write(this.#screen.drawInput(this.#input()));
      return;
    }
    if (isQuitLine(text)) {
      this.#leave();
      return;
    }
    if (!this.#queued.push({ text, cid: this.#client.nextCid(), room })) {
      // Enough waits already: keep the line, so nothing typed is lost.
      this.#chat.setText(text);
      this.#print([
        statusLine(
          this.#client.online
            ? `${MAX_QUEUED} lines wait to be sent; press Enter again once they are`
            : `Not connected, and ${MAX_QUEUED} lines wait to be sent; press Enter again once reconnected`,
          Date.now(),
          "error",
        ),
      ]);
      return;
    }
    // Offline: the line is sent once back, as in any messenger; the input is free meanwhile.
    this.#write(this.#screen.drawInput(this.#input()));
    if (this.#client.online) {
      if (room !== undefined && this.#client.awaitsRejoin(room)) {
        // Else only "1 unsent" would tell why it waits.
        const where = `#${stripUnsafe(room)}`;
        this.#print([
          statusLine(
            `${where} is not back yet: "${stripUnsafe(text)}" goes once it is`,
            Date.now(),
          ),
        ]);
      }
      this.#drain();
      return;
    }
    this.#print([
      statusLine(`Not connected: "${stripUnsafe(text)}" will be sent once reconnected`, Date.now()),
    ]);
  }

  /**
   * A `/part` or `/join` of a room still to be joined again after a
   * restart: the person's word wins over the retries. A part is done here
   * (the server has not let us in yet), a join only shows the room (the
   * retries bring it back); true when so handled.
   */
  #ownRejoin(text: string, room: string): boolean {
    const command = /^\/(part|leave|join)(?:\s+(\S+))?/i.exec(text.trim());
    if (!command) return false;
    const named = command[2]?.startsWith("#") ? command[2].slice(1) : undefined;
    const parting = command[1].toLowerCase() !== "join";
    const target = named ?? (parting ? room : undefined);
    if (target === undefined || !this.#client.awaitsRejoin(target)) return false;
    if (!parting) {
      // The retries bring it back, and the lines typed there then: the join is only shown, as a
      // switch is (sent now, it would compete with them for the flood allowance, and go first).
      this.#switchRoom(target);
      this.#write(this.#screen.drawInput(this.#input()));
      return true;
    }
    this.#client.forgetRejoin(target);
    this.#refill.delete(target);
    if (target === this.#views.shown) this.#views.list.markLeft(target, "you left it");
    else this.#views.list.remove(target);
    this.#print([statusLine(`You left #${stripUnsafe(target)}`, Date.now(), "leave")]);
    this.#notSentIn(target);
    this.#screen.setPrompt(this.#onlinePrompt());
    this.#write(this.#screen.drawInput(this.#input()));
    this.#drawStatus();
    return true;
  }

  /**
   * The lines typed in `room` while it was to be joined again, which it will
   * not be: they are not sent (the server would refuse them), and each is
   * shown whole, to be copied elsewhere.
   */
  #notSentIn(room: string): void {
    const lines = this.#queued.take((line) => line.room === room);
    if (lines.length === 0) return;
    this.#print(lines.map((line) =>
      statusLine(
        `"${stripUnsafe(line.text)}" was not sent: you are not in #${stripUnsafe(room)}`,
        Date.now(),
        "error",
      )
    ));
    this.#onAnswered();
  }

  /** Sends the lines that wait; the prompt says so if an answer is long in coming. */
  #drain(): void {
    if (this.#queued.length === 0) return;
    if (this.#overdueTimer === undefined) this.#armOverdue();
    void this.#queued.drain();
  }

  // The next line's answer is awaited from now: the prompt tells if it is long in coming.
  #armOverdue(): void {
    clearTimeout(this.#overdueTimer);
    this.#overdueTimer = setTimeout(() => {
      this.#overdueTimer = undefined;
      if (this.#queued.length > 0 && this.#client.online) this.#setOverdue(true);
    }, UNSENT_SHOWN_MS);
  }

  /** A line was answered: once none waits, the prompt no longer counts them. */
  #onAnswered(): void {
    if (this.#queued.length > 0) {
      // The count goes down; or, not shown yet, the next line gets its own time.
      if (this.#overdue) this.#setOverdue(true);
      else this.#armOverdue();
      return;
    }
    clearTimeout(this.#overdueTimer);
    this.#overdueTimer = undefined;
    this.#setOverdue(false);
  }

  #setOverdue(overdue: boolean): void {
    const was = this.#overdue;
    this.#overdue = overdue;
    if (!this.#client.online || (!was && !overdue)) return;
    this.#screen.setPrompt(this.#onlinePrompt());
    this.#write(this.#screen.drawInput(this.#input()));
  }

  /**
   * How many lines wait for the server's answer for longer than they should,
   * for the prompt ("2 unsent"); "" when none does. Offline, lines say so.
   */
  #unsentNote(): string {
    const count = this.#queued.length;
    if (count === 0 || !this.#client.online || !this.#overdue) return "";
    return `${count} unsent`;
  }

  /**
   * After a drop: a line whose answer did not come may or may not have
   * arrived; it is sent again once back, and the server posts it once.
   */
  #noteUnanswered(): void {
    const lines = this.#queued.lines;
    if (lines.length === 0) return;
    const what = lines.length === 1
      ? `"${stripUnsafe(lines[0].text)}" is`
      : `${lines.length} lines are`;
    this.#print([
      statusLine(`${what} not confirmed yet; will be sent once reconnected`, Date.now()),
    ]);
  }

  #leave(): void {
    if (this.#answer) {
      this.#answerPrompt(null);
      return;
    }
    if (this.#leaving) {
      // Asked twice: do not wait for the server any longer.
      this.#client.close();
      return;
    }
    this.#leaving = true;
    this.#client.quit();
    this.#leaveTimer = setTimeout(() => this.#client.close(), LEAVE_TIMEOUT_MS);
  }

  /** The prompt while connected: our name, after the room on screen once there are others. */
  #onlinePrompt() {
    const unsent = this.#unsentNote();
    const prompt = unsent
      ? promptLine(this.#client.name, false, unsent)
      : promptLine(this.#client.name, true);
    if (!this.#client.roaming && !this.#views.several) return prompt;
    const left = this.#views.leftWhy !== null ? " (left)" : "";
    return roomPrompt(prompt, (this.#views.shown || this.#client.room) + left);
  }

  #context() {
    return { me: this.#client.name, now: Date.now() };
  }

  #input(): InputState {
    if (this.#secret) return { text: "", cursor: 0 };
    return { text: this.#editor.text, cursor: this.#editor.cursor };
  }

  #print(lines: Line[]): void {
    this.#write(this.#screen.print(this.#names.colorLines(lines), this.#input()));
  }

  #updateTitle(): void {
    const online = this.#client.online ? "" : " (offline)";
    const title = terminalTitle(this.#client.name, this.#client.address, this.#client.userCount) +
      online;
    if (title === this.#title) return;
    this.#title = title;
    this.#write(titleSequence(title));
  }

  #write(text: string): void {
    this.#term.write(text);
  }
}
