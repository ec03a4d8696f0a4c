/**
 * A chat server started by the benchmark (`load.ts --spawn`): `deno run
 * main.ts serve` on 127.0.0.1 and a free port, whose port is read from its
 * log line "listening on 127.0.0.1:PORT".
 *
 * Its log is read all along, not left in the pipe: a server that logs every
 * message would otherwise block on a full pipe and the benchmark would
 * measure that instead. Reading it costs the generator a little CPU, counted
 * with the generator's; the lines that matter for a run (drops of slow
 * members, errors) are counted.
 *
 * @module
 */

/** Settings of a spawned server. */
export interface SpawnOptions {
  /** The `main.ts` to run: this checkout's, or another one's to compare with. */
  main: string;
  /** `--max-users` for the server. */
  maxUsers: number;
  /** Extra arguments after `serve ...` (for flags such as a future `--flood-rate`). */
  extraArgs: string[];
  /** Directory for a V8 CPU profile (`--cpu-prof`), written when the server stops. */
  profileDir?: string;
  /** How long to wait for the "listening on" line, in ms. */
  startTimeoutMs: number;
  /** CPUs to run the server on (`taskset -c` list), or undefined for any. */
  cpus?: string;
  /** Serve the web page (on a free port) and wait for it; without, `--no-web`. */
  web?: boolean;
  /** Hears every line of the server's log, for a caller that keeps some. */
  onLine?: (line: string) => void;
}

/** What the server logged during the run, by kind. */
export interface ServerLogCounts {
  /** Lines in all. */
  lines: number;
  /** `drop ...` lines: members disconnected (too slow, write failed, no name in time). */
  drops: number;
  /** `error ...` and `accept failed` lines. */
  errors: number;
}

const LISTENING = /listening on (\S+):(\d+)/;
const WEB_PAGE = /web page on (\S+):(\d+)/;

/** A running server process that this benchmark started and will stop. */
export class ServerProcess {
  /** The server's process id, for /proc. */
  readonly pid: number;
  /** The port it listens on. */
  readonly port: number;
  /** The web page's port, when it serves one. */
  webPort = 0;
  /** Counts of interesting log lines so far. */
  readonly log: ServerLogCounts;
  #child: Deno.ChildProcess;
  #stderrTail: string[];
  #stopped = false;
  #firstDrop: { at: number | null };

  private constructor(
    child: Deno.ChildProcess,
    port: number,
    log: ServerLogCounts,
    stderrTail: string[],
    firstDrop: { at: number | null },
  ) {
    this.#firstDrop = firstDrop;
    this.#child = child;
    this.pid = child.pid;
    this.port = port;
    this.log = log;
    this.#stderrTail = stderrTail;
  }

  /**
   * Starts `deno run main.ts serve --host 127.0.0.1 --port 0` and waits for it
   * to listen.
   *
   * @throws {Error} when the server exits or does not listen in time; the
   * message carries the end of its stderr.
   */
  static async start(options: SpawnOptions): Promise<ServerProcess> {
    const args = [
      "run",
      // Loopback only: the benchmark never opens anything to the network.
      "--allow-net=127.0.0.1",
      "--allow-env",
      // Files only for --data and --tls-* given in extraArgs.
      "--allow-read",
      "--allow-write",
      ...(options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : []),
      options.main,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--max-users",
      String(options.maxUsers),
      ...(options.web ? ["--web-port", "0"] : ["--no-web"]),
      ...options.extraArgs,
    ];
    // taskset execs the server in its own process, so the pid stays the server's.
    const [program, programArgs] = pinned(options.cpus, args);
    const child = new Deno.Command(program, {
      args: programArgs,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const log: ServerLogCounts = { lines: 0, drops: 0, errors: 0 };
    const stderrTail: string[] = [];
    const firstDrop: { at: number | null } = { at: null };
    const listening = Promise.withResolvers<number>();
    const web = Promise.withResolvers<number>();
    void readLines(child.stdout, (line) => {
      options.onLine?.(line);
      log.lines++;
      if (line.includes("] drop ")) {
        log.drops++;
        firstDrop.at ??= performance.now();
      } else if (line.includes("] error ") || line.includes("accept failed")) log.errors++;
      const match = LISTENING.exec(line);
      if (match) listening.resolve(Number(match[2]));
      const page = WEB_PAGE.exec(line);
      if (page) web.resolve(Number(page[2]));
    });
    void readLines(child.stderr, (line) => {
      stderrTail.push(line);
      if (stderrTail.length > 20) stderrTail.shift();
    });
    void child.status.then((status) =>
      [listening, web].forEach((waiting) =>
        waiting.reject(
          new Error(
            `server exited (code ${status.code}): ${stderrTail.join(" | ") || "no output"}`,
          ),
        )
      )
    );
    web.promise.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`server did not listen within ${options.startTimeoutMs} ms`)),
        options.startTimeoutMs,
      );
    });
    try {
      const port = await Promise.race([listening.promise, timeout]);
      const server = new ServerProcess(child, port, log, stderrTail, firstDrop);
      if (options.web) server.webPort = await Promise.race([web.promise, timeout]);
      return server;
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch {
        // It exited already.
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** When the server first logged a drop, `performance.now()` ms (null: none yet). */
  get firstDropAt(): number | null {
    return this.#firstDrop.at;
  }

  /** The last lines the server wrote to stderr. */
  get stderrTail(): string[] {
    return [...this.#stderrTail];
  }

  /** Resolves when the process has exited. */
  get exited(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }

  /** Sends a signal, ignoring a process that is already gone. */
  signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
  }

  /**
   * Stops the server with SIGTERM (its clean shutdown, which also writes a
   * CPU profile), and with SIGKILL if it has not exited after `graceMs`.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#child.status.then(() => false),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), graceMs)),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.signal("SIGKILL");
      await this.#child.status;
    }
  }
}

/** The command to run `deno ARGS` on `cpus` (via `taskset -c`), or on any CPU. */
export function pinned(cpus: string | undefined, args: string[]): [string, string[]] {
  return cpus ? ["taskset", ["-c", cpus, Deno.execPath(), ...args]] : [Deno.execPath(), args];
}

/** Calls `onLine` with each line of `stream` until it ends. */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buffered = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (buffered + chunk).split("\n");
      buffered = lines.pop()!;
      for (const line of lines) onLine(line);
    }
  } catch {
    // The process was killed mid-line; what was read is all there is.
  }
  if (buffered) onLine(buffered);
}
