/**
 * What the coordinator (`load.ts`) and its worker processes (`worker.ts`) say
 * to each other: one JSON object per line, commands on the worker's stdin,
 * reports on its stdout. Workers exit when their stdin closes, so a
 * coordinator that dies takes its workers with it.
 *
 * @module
 */

import type { HistogramData } from "./histogram.ts";

/** The four workloads of issue 5, and rooms (issue 13). */
export type Workload = "fanout" | "saturation" | "idle" | "storm" | "rooms";

/** Everything a worker needs to know, passed as its one argument (JSON). */
export interface WorkerConfig {
  /** Worker number, 0-based; part of every name it registers. */
  id: number;
  /** Server address: always a loopback address. */
  host: string;
  /** Server port. */
  port: number;
  /** How members connect: TCP to `port`, or the web page's WebSocket on `webPort`. */
  transport: Transport;
  /** The web page's port (transport "ws"). */
  webPort: number;
  /** What to do once told to go. */
  workload: Workload;
  /** Global index of this worker's first member (member ids are unique across workers). */
  firstMember: number;
  /** Connections this worker holds. */
  members: number;
  /** How many of them (the first ones) send messages. */
  senders: number;
  /** How many of them (the last ones) stop reading after registering. */
  stalled: number;
  /** Messages per second per sender (fan-out). */
  rate: number;
  /** Unacknowledged messages each sender keeps in flight (saturation). */
  window: number;
  /** Characters of padding in each message, to test bigger payloads. */
  size: number;
  /** Rooms of the run (rooms): member g is in `r<(g * roomsPerMember + j) % rooms>`, j < roomsPerMember. */
  rooms: number;
  /** Rooms each member joins besides #lobby (rooms). */
  roomsPerMember: number;
  /** Most connections being set up at once (not for the storm). */
  connectConcurrency: number;
  /** Bytes of each connection's read buffer. */
  readBuffer: number;
  /** Prefix of member names: members are `<prefix><worker>_<index>`. */
  namePrefix: string;
  /** The worker exits by itself after this many ms, whatever happens. */
  deadlineMs: number;
  /** With TLS: the server's certificate (PEM), trusted; null for plain TCP. */
  caCert: string | null;
  /** Members say `acks` in `hello` and acknowledge the newest id once a second (issue 15). */
  acks: boolean;
}

/** How the simulated users connect: TCP, or the web page's WebSocket (`/socket`). */
export type Transport = "tcp" | "ws";

/** Commands from the coordinator. */
export type Command =
  | { cmd: "go" }
  | { cmd: "stop" }
  | { cmd: "resume_stalled" }
  | { cmd: "report" }
  | { cmd: "quit" };

/** Counters a worker keeps; sent with every progress report and in the result. */
export interface Counters {
  /** Connections that completed registration (got `welcome`). */
  registered: number;
  /** Connections that could not connect, or were refused a name. */
  failed: number;
  /** Messages sent. */
  sent: number;
  /** Message deliveries received (the sender's own echo included). */
  received: number;
  /** `join` events received. */
  joins: number;
  /** Connections the server closed, or that failed, after registering. */
  closed: number;
  /** Largest latency seen since the last progress report, in µs. */
  recentMaxUs: number;
  /** When the last message delivery arrived, epoch µs (0 if none). */
  lastReceivedUs: number;
}

/** Reports from a worker. */
export type Report =
  | { ev: "ready"; counters: Counters }
  | { ev: "progress"; counters: Counters }
  | { ev: "stopped"; counters: Counters }
  | { ev: "result"; result: WorkerResult }
  | { ev: "fatal"; message: string };

/** A worker's final numbers. */
export interface WorkerResult {
  /** Final counters. */
  counters: Counters;
  /** Message latencies (send to receive), µs. */
  latency: HistogramData;
  /** Storm: time from go to `welcome`, µs, per connection that joined. */
  joinTime: HistogramData;
  /** Error frames and connection errors by code or error name. */
  errors: Record<string, number>;
  /** The first line of each kind of odd line (plain text, unparsable), for diagnosis. */
  errorSamples: Record<string, string>;
  /** Stalled members the server disconnected (seen when they read again). */
  stalledDropped: number;
  /** Stalled members still connected at the end. */
  stalledAlive: number;
}

/** The current time as epoch microseconds, with sub-millisecond precision. */
export function nowUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}
