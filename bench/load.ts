/**
 * The load generator for `chat serve` (issue 5): drives a running server over
 * real TCP with many simulated users spread over several worker processes,
 * shows progress on stderr and prints one JSON result line on stdout.
 *
 * ```sh
 * deno run -A bench/load.ts \
 *   --spawn --workload fanout --members 500 --senders 50 --rate 10 --duration 10
 * ```
 *
 * Workloads (`--workload`):
 * - `fanout`: `--members` users in the room, `--senders` of them each sending
 *   `--rate` messages a second for `--duration` seconds. `--stalled K` makes
 *   K members stop reading after they join (the slow-member scenario).
 * - `saturation`: each sender keeps `--window` messages unacknowledged; its
 *   own echo is the acknowledgement, so the server runs as fast as it can.
 * - `idle`: `--connections` users register and stay silent for `--duration`
 *   seconds; reports the server's memory per connection.
 * - `storm`: `--connections` users connect at once; reports how long until
 *   each got `welcome`, and how many were refused.
 * - `rooms`: `--members` users, each in `--rooms-per-member` of `--rooms`
 *   rooms (all rooms the same size), `--senders` of them each sending
 *   `--rate` messages a second to their rooms in turn (issue 13).
 *
 * `--tls` serves TLS (a certificate made for the run) and connects the
 * users with TLS; the idle workload then tells descriptors per connection.
 *
 * The server is either started here (`--spawn`: `deno run main.ts serve` on
 * 127.0.0.1 and a free port, stopped at the end) or already running
 * (`--port`, and `--pid` for its CPU and memory from /proc). Only loopback
 * addresses are accepted. See docs/PERFORMANCE.md for the figures and what
 * bounds them.
 *
 * Exit codes: 0 the run worked, 1 the generator or the run broke (no
 * deliveries, a worker died, setup timed out; with `--strict` also any loss,
 * refusal or dropped member), 2 usage error, 130 interrupted.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Histogram } from "./histogram.ts";
import {
  type Command,
  type Counters,
  nowUs,
  type Report,
  type Transport,
  type WorkerConfig,
  type WorkerResult,
  type Workload,
} from "./ipc.ts";
import {
  checkProcAccess,
  initClockTicks,
  loadAverage,
  type ProcSample,
  readCpuSeconds,
  sampleProcess,
} from "./proc.ts";
import { pinned, readLines, ServerProcess } from "./server_process.ts";

/** Usage text for `--help`. */
export const USAGE = `Usage: deno run -A bench/load.ts [OPTIONS]

Load generator for chat serve. Prints one JSON result line on stdout. It needs -A
because Deno allows reading /proc (CPU and memory figures) only with --allow-all;
its worker processes get network access to 127.0.0.1 only.

Workload:
  --workload W            fanout | saturation | idle | storm | rooms (default fanout)
  --members N             users in the room (fanout, saturation)    (default 100)
  --senders S             how many of them send                     (default 10)
  --rate R                messages/s per sender (fanout)            (default 10)
  --window W              unacknowledged messages per sender
                          (saturation)                              (default 16)
  --connections C         connections (idle, storm)                 (default 1000)
  --rooms R               rooms (rooms)                             (default 150)
  --rooms-per-member M    rooms each member joins (rooms)           (default 3)
  --stalled K             members that stop reading after joining   (default 0)
  --size B                padding characters per message            (default 0)
  --acks                  members say acks in hello and ack the newest id once a
                          second: the server keeps a delivery window for each
  --duration T            seconds of sending / holding; the storm's
                          limit for everyone to join                (default 10)

Server:
  --spawn                 start "deno run main.ts serve" on 127.0.0.1 and a free port
  --max-users N           the spawned server's --max-users (default: enough for the run)
  --tls                   the spawned server serves TLS with a certificate made for the
                          run, and every user connects with TLS
  --keep-limits           keep the spawned server's protections; without it the
                          benchmark passes --max-per-ip 0 --flood-rate 0, since all its
                          users come from 127.0.0.1 and a saturating sender floods
  --server-arg ARG        extra argument for the spawned server (repeat for more),
                          e.g. --server-arg=--queue-limit=256K
  --server-main PATH      main.ts of the spawned server (default: this checkout's),
                          to measure another checkout (git worktree) for comparison
  --profile DIR           spawned server writes a V8 CPU profile into DIR on exit
  --transport T           tcp | ws: members join over TCP, or over the web
                          page's WebSocket (not with --stalled)     (default tcp)
  --web-port PORT         the web page's port, when not --spawn        (default 7778)
  --host HOST             server address, loopback only                (default 127.0.0.1)
  --port PORT             server port, when not --spawn                 (default 7777)
  --pid PID               server process, for CPU and memory from /proc

Generator:
  --workers N             worker processes                          (default 2)
  --pin S:W               run the spawned server on CPUs S and the workers on CPUs W
                          (taskset lists, e.g. 0:1), so they do not take turns on a core
  --worker-profile DIR    workers write V8 CPU profiles into DIR (is the generator the limit?)
  --connect-concurrency N registrations in flight per worker (not storm) (default 64)
  --drain S               seconds to wait for deliveries after sending stops (default 5)
  --setup-timeout S       seconds allowed for all users to register (default 120)
  --name-prefix P         member names are P<worker>_<i>            (default b)
  --label TEXT            copied into the result, to tell runs apart
  --strict                exit 1 on any loss, refusal or unexpected disconnect
  --quiet                 no progress display
  --help                  this text
`;

/** The benchmark's settings, from the command line. */
export interface Options {
  /** Which workload to run. */
  workload: Workload;
  /** Room size (fanout, saturation). */
  members: number;
  /** Senders among the members. */
  senders: number;
  /** Messages per second per sender. */
  rate: number;
  /** Unacknowledged messages per sender (saturation). */
  window: number;
  /** Connections (idle, storm). */
  connections: number;
  /** Rooms (rooms). */
  rooms: number;
  /** Rooms each member joins (rooms). */
  roomsPerMember: number;
  /** Members that stop reading. */
  stalled: number;
  /** Members acknowledge what they are shown (`acks`), so the server keeps their windows. */
  acks: boolean;
  /** Padding per message. */
  size: number;
  /** Seconds of the measured phase. */
  duration: number;
  /** Start the server here. */
  spawn: boolean;
  /** Serve and connect with TLS. */
  tls: boolean;
  /** `--max-users` of a spawned server (0: derived from the run). */
  maxUsers: number;
  /** Extra arguments for a spawned server. */
  serverArgs: string[];
  /** Leave the spawned server's per-address and flood limits as they are. */
  keepLimits: boolean;
  /** The spawned server's main.ts. */
  serverMain: string;
  /** CPU profile directory of a spawned server. */
  profile: string | undefined;
  /** Server host (loopback). */
  host: string;
  /** Server port (ignored with --spawn). */
  port: number;
  /** How members connect. */
  transport: Transport;
  /** The web page's port (ignored with --spawn). */
  webPort: number;
  /** Server pid for /proc (null: unknown). */
  pid: number | null;
  /** Worker processes. */
  workers: number;
  /** CPUs of the spawned server and of the workers (`taskset -c` lists). */
  pin: { server: string; workers: string } | undefined;
  /** CPU profile directory of the workers. */
  workerProfile: string | undefined;
  /** Registrations in flight per worker. */
  connectConcurrency: number;
  /** Seconds to wait for the last deliveries. */
  drain: number;
  /** Seconds allowed for setup. */
  setupTimeout: number;
  /** Member name prefix. */
  namePrefix: string;
  /** Free text for the result. */
  label: string | undefined;
  /** Treat loss and refusals as failure. */
  strict: boolean;
  /** No progress display. */
  quiet: boolean;
}

/** A command line the benchmark cannot run; exit code 2. */
export class UsageError extends Error {
  /** Creates the error with a message that names the bad value. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const WORKLOADS: readonly Workload[] = ["fanout", "saturation", "idle", "storm", "rooms"];

/** Whether the workload sends messages that fan out to members (and counts deliveries). */
function fansOut(workload: Workload): boolean {
  return workload === "fanout" || workload === "saturation" || workload === "rooms";
}

/** Parses the command line; `null` means `--help` was asked for. */
export function parseOptions(args: string[]): Options | null {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        workload: { type: "string", default: "fanout" },
        members: { type: "string", default: "100" },
        rooms: { type: "string", default: "150" },
        "rooms-per-member": { type: "string", default: "3" },
        senders: { type: "string", default: "10" },
        rate: { type: "string", default: "10" },
        window: { type: "string", default: "16" },
        connections: { type: "string", default: "1000" },
        stalled: { type: "string", default: "0" },
        acks: { type: "boolean", default: false },
        size: { type: "string", default: "0" },
        duration: { type: "string", default: "10" },
        spawn: { type: "boolean", default: false },
        tls: { type: "boolean", default: false },
        "max-users": { type: "string", default: "0" },
        "server-arg": { type: "string", multiple: true, default: [] },
        "server-main": { type: "string" },
        "keep-limits": { type: "boolean", default: false },
        profile: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: "7777" },
        transport: { type: "string", default: "tcp" },
        "web-port": { type: "string", default: "7778" },
        pid: { type: "string" },
        workers: { type: "string", default: "2" },
        "worker-profile": { type: "string" },
        pin: { type: "string" },
        "connect-concurrency": { type: "string", default: "64" },
        drain: { type: "string", default: "5" },
        "setup-timeout": { type: "string", default: "120" },
        "name-prefix": { type: "string", default: "b" },
        label: { type: "string" },
        strict: { type: "boolean", default: false },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  if (v.help) return null;
  const workload = v.workload as Workload;
  if (!WORKLOADS.includes(workload)) {
    throw new UsageError(`Unknown workload: ${v.workload} (expected ${WORKLOADS.join(", ")})`);
  }
  const options: Options = {
    workload,
    members: integer(v.members, "--members", 1),
    senders: integer(v.senders, "--senders", 0),
    rate: number(v.rate, "--rate"),
    window: integer(v.window, "--window", 1),
    connections: integer(v.connections, "--connections", 1),
    rooms: integer(v.rooms, "--rooms", 1),
    roomsPerMember: integer(v["rooms-per-member"], "--rooms-per-member", 1),
    stalled: integer(v.stalled, "--stalled", 0),
    acks: v.acks,
    size: integer(v.size, "--size", 0),
    duration: number(v.duration, "--duration"),
    spawn: v.spawn,
    tls: v.tls,
    maxUsers: integer(v["max-users"], "--max-users", 0),
    serverArgs: v["server-arg"],
    keepLimits: v["keep-limits"],
    serverMain: v["server-main"] ?? new URL("../main.ts", import.meta.url).pathname,
    profile: v.profile,
    host: loopbackHost(v.host),
    port: integer(v.port, "--port", 1),
    transport: v.transport as Transport,
    webPort: integer(v["web-port"], "--web-port", 1),
    pid: v.pid === undefined ? null : integer(v.pid, "--pid", 1),
    workers: integer(v.workers, "--workers", 1),
    workerProfile: v["worker-profile"],
    pin: v.pin === undefined ? undefined : cpuPinning(v.pin),
    connectConcurrency: integer(v["connect-concurrency"], "--connect-concurrency", 1),
    drain: number(v.drain, "--drain"),
    setupTimeout: number(v["setup-timeout"], "--setup-timeout"),
    namePrefix: v["name-prefix"],
    label: v.label,
    strict: v.strict,
    quiet: v.quiet,
  };
  if (options.spawn && options.pid !== null) {
    throw new UsageError("--spawn and --pid exclude each other: --spawn knows the pid");
  }
  if (options.transport !== "tcp" && options.transport !== "ws") {
    throw new UsageError(`Unknown transport: ${options.transport} (expected tcp or ws)`);
  }
  if (options.transport === "ws" && options.stalled > 0) {
    throw new UsageError("--stalled needs --transport tcp (a WebSocket client reads on its own)");
  }
  if (options.profile && !options.spawn) throw new UsageError("--profile needs --spawn");
  if (options.pin && !options.spawn) throw new UsageError("--pin needs --spawn");
  if (options.tls && !options.spawn) throw new UsageError("--tls needs --spawn");
  if ((options.serverArgs.length > 0 || v["server-main"] || options.keepLimits) && !options.spawn) {
    throw new UsageError("--server-arg, --server-main and --keep-limits need --spawn");
  }
  if (!/^[A-Za-z][A-Za-z0-9]{0,7}$/.test(options.namePrefix)) {
    throw new UsageError(`--name-prefix must be 1 to 8 letters or digits: ${options.namePrefix}`);
  }
  if (options.workload === "rooms") {
    const slots = options.members * options.roomsPerMember;
    if (slots % options.rooms !== 0 || options.roomsPerMember > options.rooms) {
      throw new UsageError(
        "--members times --rooms-per-member must fill --rooms evenly (1000 x 3 = 150 rooms of 20)",
      );
    }
    if (options.stalled > 0) throw new UsageError("--stalled is for fanout and saturation");
  }
  if (fansOut(options.workload)) {
    if (options.senders < 1) throw new UsageError("--senders must be at least 1");
    if (options.senders + options.stalled > options.members) {
      throw new UsageError(
        `--senders (${options.senders}) plus --stalled (${options.stalled}) exceed --members (${options.members})`,
      );
    }
  }
  options.workers = Math.min(options.workers, connectionsOf(options));
  return options;
}

function integer(text: string, flag: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`${flag} must be a whole number of at least ${min}: ${text}`);
  }
  return value;
}

function number(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new UsageError(`${flag} must be a positive number: ${text}`);
  }
  return value;
}

// The generator opens thousands of connections: never towards another machine.
function loopbackHost(host: string): string {
  if (host === "localhost") return "127.0.0.1";
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return host;
  throw new UsageError(`--host must be a loopback address such as 127.0.0.1: ${host}`);
}

function cpuPinning(text: string): { server: string; workers: string } {
  const match = /^([\d,-]+):([\d,-]+)$/.exec(text);
  if (!match) throw new UsageError(`--pin must be SERVER_CPUS:WORKER_CPUS, e.g. 0:1: ${text}`);
  return { server: match[1], workers: match[2] };
}

function connectionsOf(options: Options): number {
  return options.workload === "idle" || options.workload === "storm"
    ? options.connections
    : options.members;
}

/** Splits `total` into `parts` near-equal whole shares. */
export function split(total: number, parts: number): number[] {
  return Array.from(
    { length: parts },
    (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0),
  );
}

const encoder = new TextEncoder();

/** A worker process and the last thing it reported. */
class WorkerProcess {
  readonly config: WorkerConfig;
  readonly pid: number;
  counters: Counters | null = null;
  ready = false;
  stopped = false;
  result: WorkerResult | null = null;
  failure: string | null = null;
  exited = false;
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(config: WorkerConfig, profileDir: string | undefined, cpus: string | undefined) {
    this.config = config;
    const worker = new URL("./worker.ts", import.meta.url).pathname;
    const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
    const [program, args] = pinned(cpus, [
      "run",
      `--allow-net=${config.host}`,
      ...profile,
      worker,
      JSON.stringify(config),
    ]);
    this.#child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#stdin = this.#child.stdin.getWriter();
    void readLines(this.#child.stdout, (line) => this.#onReport(line));
    void readLines(this.#child.stderr, (line) => {
      if (line.trim()) this.failure ??= `worker ${config.id}: ${line.trim()}`;
    });
    void this.#child.status.then((status) => {
      this.exited = true;
      if (!status.success && !this.result) {
        this.failure ??= `worker ${config.id} exited with code ${status.code}`;
      }
    });
  }

  send(command: Command): void {
    this.#stdin.write(encoder.encode(JSON.stringify(command) + "\n")).catch(() => {
      // The worker is gone; its exit status says why.
    });
  }

  /** Closes its stdin (it quits), and kills it if it has not exited after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.send({ cmd: "quit" });
    await this.#stdin.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#child.status,
      new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
    if (!this.exited) this.kill();
    await this.#child.status;
  }

  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
  }

  #onReport(line: string): void {
    let report: Report;
    try {
      report = JSON.parse(line);
    } catch {
      this.failure ??= `worker ${this.config.id} wrote: ${line.slice(0, 200)}`;
      return;
    }
    switch (report.ev) {
      case "ready":
        this.ready = true;
        this.counters = report.counters;
        return;
      case "progress":
        this.counters = report.counters;
        return;
      case "stopped":
        this.stopped = true;
        this.counters = report.counters;
        return;
      case "result":
        this.result = report.result;
        this.counters = report.result.counters;
        return;
      case "fatal":
        this.failure ??= report.message;
    }
  }
}

/** The progress display: one rewritten line on a terminal, a line every few seconds otherwise. */
class Progress {
  #enabled: boolean;
  #tty: boolean;
  #lastPlain = 0;

  constructor(enabled: boolean) {
    this.#enabled = enabled;
    this.#tty = Deno.stderr.isTerminal();
  }

  show(text: string): void {
    if (!this.#enabled) return;
    if (this.#tty) {
      this.#write(`\r\x1b[K${text.slice(0, (consoleColumns() || 100) - 1)}`);
    } else if (performance.now() - this.#lastPlain >= 2000) {
      this.#lastPlain = performance.now();
      this.#write(`${text}\n`);
    }
  }

  /** Prints a line that stays (and clears the rewritten one). */
  note(text: string): void {
    if (!this.#enabled) return;
    this.#write(this.#tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  clear(): void {
    if (this.#enabled && this.#tty) this.#write("\r\x1b[K");
  }

  #write(text: string): void {
    const bytes = encoder.encode(text);
    let offset = 0;
    while (offset < bytes.length) offset += Deno.stderr.writeSync(bytes.subarray(offset));
  }
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Everything the run started, so that any way out stops it. */
class Run {
  workers: WorkerProcess[] = [];
  server: ServerProcess | null = null;
  /** A folder of the run's own (its TLS certificate), removed at the end. */
  dir: string | null = null;

  /** Stops workers and the server; safe to call twice. */
  async teardown(): Promise<void> {
    // The server first: its shutdown says bye to everyone at once, where
    // closing the clients first would make it announce thousands of leaves.
    const server = this.server;
    this.server = null;
    await server?.stop(5000);
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.close(2000)));
    const dir = this.dir;
    this.dir = null;
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  /** Kills everything at once (second Ctrl+C, deadline). */
  kill(): void {
    this.server?.signal("SIGKILL");
    for (const w of this.workers) w.kill();
  }
}

function sum(workers: WorkerProcess[], key: keyof Counters): number {
  return workers.reduce((total, w) => total + (w.counters?.[key] ?? 0), 0);
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function generatorCpu(workers: WorkerProcess[]): number {
  let total = readCpuSeconds("self");
  for (const w of workers) {
    try {
      total += readCpuSeconds(w.pid);
    } catch {
      // Exited: its CPU is no longer visible (the run has failed anyway).
    }
  }
  return total;
}

/** Runs one benchmark; resolves to the exit code after printing the result line. */
export async function runBenchmark(options: Options, run: Run): Promise<number> {
  const progress = new Progress(!options.quiet);
  const problems: string[] = [];
  const started = new Date();
  checkProcAccess();
  await initClockTicks();

  const connections = connectionsOf(options);
  let pid = options.pid;
  let port = options.port;
  let caCert: string | null = null;
  const tlsArgs: string[] = [];
  if (options.tls) {
    // Loaded only for TLS runs: making a key needs node-forge.
    const { makeCertificate } = await import("../lib/auth/certs.ts");
    const { cert, key } = await makeCertificate({ names: ["localhost", "127.0.0.1"] });
    run.dir = await Deno.makeTempDir({ prefix: "chat-bench-" });
    await Deno.writeTextFile(`${run.dir}/cert.pem`, cert);
    await Deno.writeTextFile(`${run.dir}/key.pem`, key);
    tlsArgs.push("--tls-cert", `${run.dir}/cert.pem`, "--tls-key", `${run.dir}/key.pem`);
    caCert = cert;
  }
  let webPort = options.webPort;
  if (options.spawn) {
    progress.show("starting the server");
    run.server = await ServerProcess.start({
      main: options.serverMain,
      maxUsers: options.maxUsers || connections + 16,
      // All users come from one address, and saturation sends as fast as the
      // server echoes: the protections would measure themselves, not the server.
      extraArgs: [
        ...(options.keepLimits ? [] : ["--max-per-ip", "0", "--flood-rate", "0"]),
        ...tlsArgs,
        // Room for the run's rooms besides #lobby, and #lobby besides each member's.
        ...(options.workload === "rooms"
          ? [
            "--max-rooms",
            String(Math.max(1000, options.rooms + 1)),
            "--max-rooms-per-user",
            String(Math.max(20, options.roomsPerMember + 1)),
          ]
          : []),
        ...options.serverArgs,
      ],
      profileDir: options.profile,
      startTimeoutMs: 15_000,
      cpus: options.pin?.server,
      web: options.transport === "ws",
    });
    pid = run.server.pid;
    port = run.server.port;
    webPort = run.server.webPort;
    // Let the fresh server finish starting up before taking its empty size.
    await sleep(500);
  }
  const serverSample = () => pid === null ? null : sampleProcess(pid);
  const empty = serverSample();
  if (pid !== null && !empty) throw new Error(`no process ${pid} to measure (--pid)`);

  // Members per worker: senders spread evenly, stalled members on the last ones.
  const shares = split(connections, options.workers);
  const senderShares = split(options.senders, options.workers);
  const stalledShares = split(options.stalled, options.workers).reverse();
  const hardDeadlineMs = (options.setupTimeout + options.duration + options.drain + 60) * 1000;
  const bigRun = options.workload === "idle" || options.workload === "storm";
  let first = 0;
  for (let id = 0; id < options.workers; id++) {
    const fanning = fansOut(options.workload);
    const config: WorkerConfig = {
      id,
      host: options.host,
      port,
      transport: options.transport,
      webPort,
      workload: options.workload,
      firstMember: first,
      members: shares[id],
      senders: fanning ? Math.min(senderShares[id], shares[id]) : 0,
      stalled: fanning ? Math.min(stalledShares[id], shares[id] - senderShares[id]) : 0,
      rate: options.rate,
      window: options.window,
      size: options.size,
      rooms: options.rooms,
      roomsPerMember: options.roomsPerMember,
      connectConcurrency: options.connectConcurrency,
      // Thousands of idle connections need small buffers; a busy few need big reads.
      readBuffer: bigRun ? 16 * 1024 : 64 * 1024,
      namePrefix: options.namePrefix,
      deadlineMs: hardDeadlineMs + 5000,
      caCert,
      acks: options.acks,
    };
    first += shares[id];
    run.workers.push(new WorkerProcess(config, options.workerProfile, options.pin?.workers));
  }
  const workers = run.workers;
  const failure = () => workers.find((w) => w.failure)?.failure ?? null;

  // Setup: every worker connects and registers its members.
  const setupStart = performance.now();
  while (!workers.every((w) => w.ready)) {
    if (failure()) break;
    if (performance.now() - setupStart > options.setupTimeout * 1000) {
      problems.push(`setup did not finish within ${options.setupTimeout} s`);
      break;
    }
    progress.show(
      `setup: ${sum(workers, "registered")}/${connections} registered, ` +
        `${sum(workers, "failed")} failed [${
          ((performance.now() - setupStart) / 1000).toFixed(1)
        } s]`,
    );
    await sleep(100);
  }
  const setupS = (performance.now() - setupStart) / 1000;
  if (failure()) problems.push(failure()!);
  const registeredAtSetup = sum(workers, "registered");
  if (options.workload !== "storm" && registeredAtSetup < connections) {
    problems.push(`only ${registeredAtSetup} of ${connections} users registered`);
  }

  // The measured phase.
  const loadBefore = loadAverage();
  const before = serverSample();
  const genBefore = generatorCpu(workers);
  const goAt = performance.now();
  const goUs = nowUs();
  let peakRssKb = before?.rssKb ?? 0;
  let expected = 0;
  let sentTotal = 0;
  let stalledReceivers = 0;
  if (problems.length === 0) {
    for (const w of workers) w.send({ cmd: "go" });
    let last: { at: number; received: number; server: ProcSample | null; gen: number } = {
      at: goAt,
      received: 0,
      server: before,
      gen: genBefore,
    };
    const durationMs = options.duration * 1000;
    while (performance.now() - goAt < durationMs) {
      await sleep(100);
      if (failure()) break;
      if (options.workload === "storm") {
        if (sum(workers, "registered") + sum(workers, "failed") >= connections) break;
      }
      const now = performance.now();
      if (now - last.at < 500) continue;
      const server = serverSample();
      if (server) peakRssKb = Math.max(peakRssKb, server.rssKb);
      const gen = generatorCpu(workers);
      const received = sum(workers, "received");
      const seconds = (now - last.at) / 1000;
      const serverCpu = server && last.server
        ? ` server cpu ${Math.round((server.cpuS - last.server.cpuS) / seconds * 100)}%` +
          ` rss ${Math.round(server.rssKb / 1024)} MiB`
        : "";
      const recentMax = Math.max(...workers.map((w) => w.counters?.recentMaxUs ?? 0)) / 1000;
      const what = options.workload === "idle" || options.workload === "storm"
        ? `${sum(workers, "registered")}/${connections} registered, ${
          sum(workers, "failed")
        } failed`
        : `sent ${formatCount(sum(workers, "sent"))}, ${formatCount(received)} deliveries ` +
          `(${formatCount((received - last.received) / seconds)}/s), max ${
            recentMax.toFixed(1)
          } ms`;
      progress.show(
        `${options.workload} ${((now - goAt) / 1000).toFixed(1)}/${options.duration} s: ${what},` +
          `${serverCpu} gen cpu ${Math.round((gen - last.gen) / seconds * 100)}%` +
          ` load ${loadAverage()[0]}`,
      );
      last = { at: now, received, server, gen };
    }
    for (const w of workers) w.send({ cmd: "stop" });
    const stopAt = performance.now();
    while (!workers.every((w) => w.stopped) && !failure() && performance.now() - stopAt < 5000) {
      await sleep(20);
    }
    if (!workers.every((w) => w.stopped)) problems.push(failure() ?? "workers did not stop");

    // Drain: wait for every sent message to reach every reader, or for --drain seconds.
    sentTotal = sum(workers, "sent");
    const readers = sum(workers, "registered") -
      workers.reduce((n, w) => n + w.config.stalled, 0);
    stalledReceivers = workers.reduce((n, w) => n + w.config.stalled, 0);
    // In the rooms workload each message reaches the members of one room.
    expected = options.workload === "rooms"
      ? sentTotal * (options.members * options.roomsPerMember / options.rooms)
      : sentTotal * readers;
    if (fansOut(options.workload)) {
      const drainStart = performance.now();
      while (sum(workers, "received") < expected && !failure()) {
        if (performance.now() - drainStart > options.drain * 1000) break;
        const server = serverSample();
        if (server) peakRssKb = Math.max(peakRssKb, server.rssKb);
        progress.show(`draining: ${formatCount(expected - sum(workers, "received"))} to go`);
        await sleep(50);
      }
    }
  }
  const endAt = performance.now();
  const after = serverSample();
  if (after) peakRssKb = Math.max(peakRssKb, after.rssKb);
  const genAfter = generatorCpu(workers);
  const loadAfter = loadAverage();

  // Stalled members read again: whatever the server did to them shows now.
  if (stalledReceivers > 0) {
    for (const w of workers) w.send({ cmd: "resume_stalled" });
    await sleep(1500);
  }
  for (const w of workers) w.send({ cmd: "report" });
  const reportAt = performance.now();
  while (!workers.every((w) => w.result) && !failure() && performance.now() - reportAt < 10_000) {
    await sleep(20);
  }
  if (!workers.every((w) => w.result)) problems.push(failure() ?? "workers did not report");
  const serverLog = run.server?.log ?? null;
  const firstDropAt = run.server?.firstDropAt ?? null;
  await run.teardown();
  progress.clear();

  // Merge the workers' results.
  const latency = new Histogram();
  const joinTime = new Histogram();
  const errors: Record<string, number> = {};
  const errorSamples: Record<string, string> = {};
  let stalledDropped = 0;
  let stalledAlive = 0;
  const total = { registered: 0, failed: 0, sent: 0, received: 0, closed: 0, last: 0 };
  for (const w of workers) {
    const r = w.result;
    if (!r) continue;
    latency.merge(r.latency);
    joinTime.merge(r.joinTime);
    for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
    for (const [code, line] of Object.entries(r.errorSamples)) errorSamples[code] ??= line;
    stalledDropped += r.stalledDropped;
    stalledAlive += r.stalledAlive;
    total.registered += r.counters.registered;
    total.failed += r.counters.failed;
    total.sent += r.counters.sent;
    total.received += r.counters.received;
    total.closed += r.counters.closed;
    total.last = Math.max(total.last, r.counters.lastReceivedUs);
  }

  const wallS = (endAt - goAt) / 1000;
  const fanning = fansOut(options.workload);
  // Deliveries per second over the time they actually took (go to last delivery).
  const deliveryS = total.last > goUs ? (total.last - goUs) / 1e6 : wallS;
  const serverCpuS = before && after ? after.cpuS - before.cpuS : null;
  const genCpuS = genAfter - genBefore;
  const loss = fanning ? Math.max(0, expected - total.received) : 0;

  if (fanning && total.received === 0) problems.push("no message was delivered");
  if (options.workload === "storm" && total.registered === 0) problems.push("nobody joined");
  if (pid !== null && !after) problems.push(`the server (pid ${pid}) is gone`);
  if (options.strict) {
    if (loss > 0) problems.push(`${loss} deliveries lost`);
    if (total.failed > 0) problems.push(`${total.failed} users refused or failed to connect`);
    if (total.closed > 0) problems.push(`${total.closed} users disconnected during the run`);
    if (options.workload === "storm" && total.registered < connections) {
      problems.push(`${connections - total.registered} of ${connections} did not join in time`);
    }
  }

  const result = {
    bench: "chat",
    workload: options.workload,
    ...(options.label ? { label: options.label } : {}),
    started: started.toISOString(),
    params: {
      members: fanning ? options.members : undefined,
      senders: fanning ? options.senders : undefined,
      rate: options.workload === "fanout" || options.workload === "rooms"
        ? options.rate
        : undefined,
      rooms: options.workload === "rooms" ? options.rooms : undefined,
      "rooms_per_member": options.workload === "rooms" ? options.roomsPerMember : undefined,
      window: options.workload === "saturation" ? options.window : undefined,
      connections: fanning ? undefined : options.connections,
      stalled: options.stalled || undefined,
      acks: options.acks || undefined,
      size: options.size || undefined,
      "duration_s": options.duration,
      workers: options.workers,
      transport: options.transport,
      pin: options.pin ? `${options.pin.server}:${options.pin.workers}` : undefined,
      tls: options.tls || undefined,
    },
    machine: {
      nproc: navigator.hardwareConcurrency,
      "load_before": loadBefore,
      "load_after": loadAfter,
    },
    "setup_s": round(setupS),
    "measured_s": round(wallS),
    registered: total.registered,
    failed: total.failed,
    disconnected: total.closed,
    ...(fanning
      ? {
        sent: total.sent,
        expected,
        received: total.received,
        loss,
        "deliveries_per_s": Math.round(total.received / deliveryS),
        "latency_ms": latency.summary(),
      }
      : {}),
    ...(options.workload === "storm"
      ? { "join_ms": joinTime.summary(), "all_joined": total.registered === connections }
      : {}),
    ...(stalledReceivers > 0
      ? { stalled: { members: stalledReceivers, dropped: stalledDropped, alive: stalledAlive } }
      : {}),
    server: pid === null ? null : {
      pid,
      spawned: options.spawn,
      "cpu_s": serverCpuS === null ? null : round(serverCpuS),
      "cpu_util": serverCpuS === null ? null : round(serverCpuS / wallS),
      "cpu_us_per_delivery": serverCpuS !== null && fanning && total.received > 0
        ? round(serverCpuS * 1e6 / total.received)
        : undefined,
      "cpu_us_per_join": serverCpuS !== null && options.workload === "storm" && total.registered
        ? round(serverCpuS * 1e6 / total.registered)
        : undefined,
      "rss_empty_kb": empty?.rssKb ?? null,
      "rss_before_kb": before?.rssKb ?? null,
      "rss_after_kb": after?.rssKb ?? null,
      "rss_peak_kb": peakRssKb || null,
      "rss_per_connection_kb": options.workload === "idle" && empty && after && total.registered
        ? round((after.rssKb - empty.rssKb) / total.registered, 2)
        : undefined,
      "fds_empty": empty?.fds ?? null,
      "fds_after": after?.fds ?? null,
      "fds_per_connection": options.workload === "idle" && empty && after && total.registered
        ? round((after.fds - empty.fds) / total.registered, 2)
        : undefined,
      log: serverLog ?? undefined,
      "first_drop_s": firstDropAt === null ? undefined : round((firstDropAt - goAt) / 1000),
    },
    generator: {
      processes: workers.length + 1,
      "cpu_s": round(genCpuS),
      "cpu_util": round(genCpuS / wallS),
      "cpu_us_per_delivery": fanning && total.received > 0
        ? round(genCpuS * 1e6 / total.received)
        : undefined,
    },
    errors,
    ...(Object.keys(errorSamples).length ? { "error_samples": errorSamples } : {}),
    ok: problems.length === 0,
    problems,
  };
  console.log(JSON.stringify(result));
  for (const problem of problems) progress.note(`bench: ${problem}`);
  return problems.length === 0 ? 0 : 1;
}

/** Runs the command line; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  let options: Options | null;
  try {
    options = parseOptions(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench: ${error.message}\nRun 'bench/load.ts --help' for usage.`);
    return 2;
  }
  if (!options) {
    console.log(USAGE.trimEnd());
    return 0;
  }
  const run = new Run();
  let interrupted = 0;
  const onSignal = () => {
    if (++interrupted > 1) {
      run.kill();
      Deno.exit(130);
    }
    console.error("\nbench: interrupted; stopping the workers and the server");
    void run.teardown().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  // Every run ends by itself: past its longest possible length, stop everything.
  const deadlineMs = (options.setupTimeout + options.duration + options.drain + 90) * 1000;
  const deadline = setTimeout(() => {
    console.error(`bench: still running after ${deadlineMs / 1000} s; giving up`);
    run.kill();
    Deno.exit(1);
  }, deadlineMs);
  try {
    return await runBenchmark(options, run);
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    await run.teardown();
    return 1;
  } finally {
    clearTimeout(deadline);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
