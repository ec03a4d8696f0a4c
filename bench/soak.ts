/**
 * The soak run of end-to-end delivery (issue 15): a spawned `chat serve`, an
 * observer in every room, and members each behind its own fault proxy
 * (tests/_proxy.ts). While messages flow, members come in, join and leave
 * rooms, and drop silently (their link frozen, then cut on their side only,
 * as a laptop that slept sees it; half the time the frozen bytes reach the
 * server late) and resume. At the end every member must have been shown every
 * message of its rooms while it was in them, exactly once, in order; every
 * line it said must be posted exactly once. The server's memory (RSS) is
 * sampled each second.
 *
 * ```sh
 * deno run -A bench/soak.ts --duration 600 --members 20 --rooms 4 [--data]
 * ```
 *
 * Prints one JSON line on stdout (progress on stderr); exit code 0 when every
 * check held, 1 when one did not, 2 for a usage error.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FaultProxy } from "../tests/_proxy.ts";
import { DeliveryClient, type Frame } from "./delivery_client.ts";
import { readMemoryKb } from "./proc.ts";
import { ServerProcess } from "./server_process.ts";

/** Settings of a soak run. */
export interface SoakOptions {
  /** Members, each behind its own proxy. */
  members: number;
  /** Rooms besides the lobby. */
  rooms: number;
  /** Seconds of activity (then the run settles and is checked). */
  durationS: number;
  /** Messages a second each member says (on average). */
  rate: number;
  /** Mean seconds between two silent drops of one member. */
  dropEveryS: number;
  /** Serve with `--data` (a temporary directory). */
  data: boolean;
  /** No progress lines on stderr. */
  quiet: boolean;
  /** The main.ts of the server to run. */
  serverMain: string;
}

/** What a soak run found: counts, the server's memory, and each broken promise. */
export interface SoakResult {
  data: boolean;
  durationS: number;
  members: number;
  rooms: number;
  /** Lines the members said. */
  said: number;
  /** Messages the observer saw posted. */
  posted: number;
  /** Message deliveries checked (one per message per member in its room). */
  checked: number;
  /** Silent drops made, and of them those whose frozen bytes reached the server late. */
  drops: number;
  late: number;
  /** Times members came back. */
  reconnects: number;
  /** Links a member gave up for silence (its keepalive): half-open ones no drop made. */
  quiet: number;
  /** Server RSS in KiB after setup, at the end, and the highest sample (null: /proc unreadable). */
  rssStartKb: number | null;
  rssEndKb: number | null;
  rssPeakKb: number | null;
  /** RSS in KiB at eleven evenly spaced points of the run (empty: /proc unreadable). */
  rssSeriesKb: number[];
  /** What went wrong, one line each (the first 20). */
  problems: string[];
  /** Problems in all. */
  problemCount: number;
  ok: boolean;
}

/** The defaults of `bench/soak.ts`. */
export const SOAK_DEFAULTS: Omit<SoakOptions, "serverMain"> = {
  members: 20,
  rooms: 4,
  durationS: 600,
  rate: 2,
  dropEveryS: 20,
  data: false,
  quiet: false,
};

// How long the run may take to settle after the activity stops, in ms.
const SETTLE_MS = 20_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits (polling: the clients announce nothing) until `condition` holds, or `ms` pass. */
async function settle(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function pick<T>(items: T[]): T | undefined {
  return items[Math.floor(Math.random() * items.length)];
}

/** A member: its client and the proxy all its connections go through. */
interface Member {
  client: DeliveryClient;
  proxy: FaultProxy;
  said: number;
}

/** Runs one soak and checks it; never throws for a broken check (see `problems`). */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const dataDir = options.data ? await Deno.makeTempDir({ prefix: "chat-soak-" }) : null;
  // What the server logged of the chat's comings and goings, to explain a failed check.
  const serverLog: string[] = [];
  const server = await ServerProcess.start({
    onLine: (line) => {
      if (/\] (leave|kick|resume|drop|error) /.test(line)) serverLog.push(line);
    },
    main: options.serverMain,
    maxUsers: options.members + 10,
    extraArgs: ["--max-per-ip", "0", "--flood-rate", "0", ...(dataDir ? ["--data", dataDir] : [])],
    startTimeoutMs: 60_000,
  });
  const rooms = Array.from({ length: options.rooms }, (_, i) => `room${i + 1}`);
  const observer = new DeliveryClient({ name: "observer", port: server.port, record: true });
  const members: Member[] = [];
  const counts = { drops: 0, late: 0 };
  const rss: number[] = [];
  const sample = () => {
    try {
      rss.push(readMemoryKb(server.pid).rssKb);
    } catch {
      // /proc needs -A: the test runs without the figure.
    }
  };
  let sampler: ReturnType<typeof setInterval> | undefined;
  const problems: string[] = [];
  try {
    await observer.start();
    for (const room of rooms) observer.send({ type: "join", room });
    if (!await settle(() => rooms.every((r) => observer.rooms.has(r)), SETTLE_MS)) {
      throw new Error("the observer could not join the rooms");
    }
    sample();
    sampler = setInterval(sample, 1_000);
    const started = performance.now();
    const endAt = started + options.durationS * 1_000;
    // Members come in over the first fifth of the run, while the others talk.
    const stagger = Math.min(500, (options.durationS * 200) / options.members);
    const progress = options.quiet ? undefined : setInterval(() => {
      const said = members.reduce((n, m) => n + m.said, 0);
      const s = Math.round((performance.now() - started) / 1000);
      console.error(
        `soak ${s}s: ${members.length} members, ${said} said, ${counts.drops} drops, ` +
          `rss ${rss.at(-1) ?? "?"} KiB`,
      );
    }, 10_000);
    const loops = Array.from({ length: options.members }, async (_, i) => {
      await sleep(i * stagger);
      const proxy = FaultProxy.start(server.port);
      const client = new DeliveryClient({
        name: `m${i}`,
        port: proxy.port,
        reconnectMs: 100 + Math.floor(Math.random() * 400),
      });
      const member = { client, proxy, said: 0 };
      members.push(member);
      try {
        await client.start();
      } catch (error) {
        problems.push((error as Error).message);
        return;
      }
      client.send({ type: "join", room: pick(rooms)! });
      await live(member, rooms, options, endAt, counts);
    });
    await Promise.all(loops);
    clearInterval(progress);
    // Settled: everyone back, nothing pending, each member's rooms shown to their last message.
    // A replaced connection is closed by the server: one link per member is left open.
    const settled = await settle(
      () =>
        members.every((m) =>
          m.client.ready && m.client.pending === 0 && caughtUp(m, observer) && m.proxy.open === 1
        ),
      SETTLE_MS,
    );
    if (!settled) {
      for (const m of members) {
        if (!m.client.ready) problems.push(`${m.client.name} never came back (${m.client.state})`);
        else if (m.client.pending > 0) {
          problems.push(`${m.client.name} has ${m.client.pending} lines never confirmed`);
        } else if (!caughtUp(m, observer)) problems.push(`${m.client.name} did not catch up`);
      }
    }
    sample();
    for (const m of members) {
      if (m.proxy.open === 1) continue;
      const open = m.proxy.connections.filter((c) => !c.closed).map((c) => c.describe());
      problems.push(`${m.client.name} has ${m.proxy.open} open links: ${open.join(" | ")}`);
    }
    const checked = check(members, observer, problems);
    const failed = new Set(problems.flatMap((p) => /^(m\d+) /.exec(p)?.[1] ?? []));
    for (const name of failed) {
      // Its goings first: a resume is routine, a leave or a kick says why it was lost.
      const lines = serverLog.filter((l) => l.includes(` ${name} `));
      for (const line of [...lines.filter((l) => !l.includes("] resume ")), ...lines]) {
        problems.push(`server: ${line}`);
      }
    }
    if (problems.length > 0 && !options.quiet) {
      for (const problem of problems) console.error(`soak: ${problem}`);
    }
    return {
      data: options.data,
      durationS: options.durationS,
      members: options.members,
      rooms: options.rooms,
      said: members.reduce((n, m) => n + m.said, 0),
      posted: observer.log.filter((e) => e.type === "message").length,
      checked,
      drops: counts.drops,
      late: counts.late,
      reconnects: members.reduce((n, m) => n + m.client.reconnects, 0),
      quiet: members.reduce(
        (n, m) => n + m.client.ends.filter((e) => e === "went quiet").length,
        0,
      ),
      rssStartKb: rss[0] ?? null,
      rssEndKb: rss.at(-1) ?? null,
      rssPeakKb: rss.length ? Math.max(...rss) : null,
      rssSeriesKb: rss.length
        ? Array.from({ length: 11 }, (_, i) => rss[Math.round(i * (rss.length - 1) / 10)])
        : [],
      problems: problems.slice(0, 20),
      problemCount: problems.length,
      ok: problems.length === 0,
    };
  } finally {
    clearInterval(sampler);
    await Promise.all(members.map((m) => m.client.close()));
    await observer.close();
    await Promise.all(members.map((m) => m.proxy.close()));
    await server.stop(5_000);
    if (dataDir) await Deno.remove(dataDir, { recursive: true });
  }
}

/** One member's life until `endAt`: talk, move between rooms, and now and then drop. */
async function live(
  member: Member,
  rooms: string[],
  options: SoakOptions,
  endAt: number,
  counts: { drops: number; late: number },
): Promise<void> {
  const { client, proxy } = member;
  while (performance.now() < endAt) {
    const pause = -Math.log(1 - Math.random()) * 1_000 / options.rate;
    await sleep(Math.min(pause, Math.max(0, endAt - performance.now())));
    if (performance.now() >= endAt) return;
    if (Math.random() < pause / 1_000 / options.dropEveryS) {
      const link = proxy.connections.at(-1);
      // The newest link is the member's only once the proxy has reached the server for it.
      if (!link || link.isClosed("client") || !client.ready) continue;
      counts.drops++;
      link.freeze();
      await sleep(200 + Math.random() * 1_300);
      link.cut("client");
      if (Math.random() < 0.5) {
        // The old link comes back to life for the server: what it held arrives late.
        counts.late++;
        link.thaw();
      }
      // The member notices at once; the run must not end before it has.
      await settle(() => !client.ready, SETTLE_MS);
      continue;
    }
    const roll = Math.random();
    const inRooms = [...client.rooms];
    if (roll < 0.05) {
      const room = pick(rooms.filter((r) => !client.rooms.has(r)));
      if (room) client.send({ type: "join", room });
    } else if (roll < 0.1) {
      const room = pick(inRooms.filter((r) => r !== "lobby"));
      if (room) client.send({ type: "part", room });
    } else {
      const room = pick(inRooms);
      if (room) client.say(room, `${client.name} says ${++member.said} 小明`);
    }
  }
}

/** The messages of each room, and who was in it when each came, as the observer saw them. */
function expected(observer: DeliveryClient, name: string): Map<string, number[]> {
  const inRoom = new Set<string>();
  const byRoom = new Map<string, number[]>();
  for (const e of observer.log) {
    const room = String(e.room);
    if (e.name === name && e.type === "join") inRoom.add(room);
    else if (e.name === name && (e.type === "part" || e.type === "leave")) inRoom.delete(room);
    else if (e.type === "message" && inRoom.has(room)) {
      byRoom.set(room, [...byRoom.get(room) ?? [], Number(e.id)]);
    }
  }
  return byRoom;
}

// Whether the member has been shown the last message of each room it is in.
function caughtUp(member: Member, observer: DeliveryClient): boolean {
  for (const [room, ids] of expected(observer, member.client.name)) {
    const shown = member.client.shown.get(room) ?? [];
    if (shown.at(-1)?.id !== ids.at(-1) && member.client.rooms.has(room)) return false;
  }
  return true;
}

/** Checks every member against the observer; returns how many deliveries were checked. */
function check(members: Member[], observer: DeliveryClient, problems: string[]): number {
  let checked = 0;
  for (const { client } of members) {
    const want = expected(observer, client.name);
    for (const room of new Set([...want.keys(), ...client.shown.keys()])) {
      const ids = want.get(room) ?? [];
      const got = (client.shown.get(room) ?? []).map((m) => m.id);
      checked += ids.length;
      if (ids.join() === got.join()) continue;
      const missing = ids.filter((id) => !got.includes(id));
      const extra = got.filter((id) => !ids.includes(id));
      problems.push(
        `${client.name} in #${room}: ${missing.length} missing (first ${missing[0] ?? "-"}), ` +
          `${extra.length} extra (first ${extra[0] ?? "-"})` +
          (missing.length + extra.length === 0 ? ", out of order" : ""),
      );
    }
    if (want.size > 0 && problems.some((p) => p.startsWith(`${client.name} `))) {
      problems.push(`${client.name}'s connections ended: ${client.ends.join(", ")}`);
    }
    if (client.duplicates > 0) {
      problems.push(`${client.name} was sent ${client.duplicates} messages it had been shown`);
    }
    if (client.gaps.length > 0) {
      problems.push(`${client.name} was told of gaps in ${client.gaps.join(", ")}`);
    }
    const refused = client.refusals.filter((code) => code !== "not_in_room");
    if (refused.length > 0) problems.push(`${client.name} was refused: ${refused.join(", ")}`);
  }
  // Each line said is posted once: its text is unique.
  const times = new Map<string, number>();
  for (const e of observer.log) {
    if (e.type === "message") times.set(String(e.text), (times.get(String(e.text)) ?? 0) + 1);
  }
  for (const [text, n] of times) if (n > 1) problems.push(`posted ${n} times: ${text}`);
  const postedIds = new Set(
    observer.log.filter((e: Frame) => e.type === "message").map((e) => e.id),
  );
  for (const { client } of members) {
    for (const [cid, id] of client.posted) {
      if (!postedIds.has(id)) {
        problems.push(`${client.name}'s ${cid} was confirmed as ${id}, unseen`);
      }
    }
  }
  return checked;
}

/** Usage text for `--help`. */
export const USAGE = `Usage: deno run -A bench/soak.ts [OPTIONS]

The soak run of end-to-end delivery: members behind fault proxies talk, move
between rooms, drop silently and resume while a spawned chat serve runs; at
the end each must have been shown every message of its rooms once, in order.
Prints one JSON line; exit 1 when a check failed. -A: /proc for the memory.

  --duration S     seconds of activity                        (default ${SOAK_DEFAULTS.durationS})
  --members N      members, each behind its own proxy         (default ${SOAK_DEFAULTS.members})
  --rooms N        rooms besides the lobby                    (default ${SOAK_DEFAULTS.rooms})
  --rate R         messages a second per member               (default ${SOAK_DEFAULTS.rate})
  --drop-every S   mean seconds between a member's drops      (default ${SOAK_DEFAULTS.dropEveryS})
  --data           serve with --data (a temporary directory)
  --quiet          no progress on stderr
  --help           this text
`;

/** Runs the soak as the command line asks; the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        duration: { type: "string" },
        members: { type: "string" },
        rooms: { type: "string" },
        rate: { type: "string" },
        "drop-every": { type: "string" },
        data: { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    console.error(`soak: ${error instanceof Error ? error.message : error}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const number = (text: string | undefined, fallback: number, flag: string) => {
    const n = text === undefined ? fallback : Number(text);
    if (!(n > 0)) throw new RangeError(`--${flag} must be a positive number, not ${text}`);
    return n;
  };
  let options: SoakOptions;
  try {
    options = {
      durationS: number(values.duration, SOAK_DEFAULTS.durationS, "duration"),
      members: Math.floor(number(values.members, SOAK_DEFAULTS.members, "members")),
      rooms: Math.floor(number(values.rooms, SOAK_DEFAULTS.rooms, "rooms")),
      rate: number(values.rate, SOAK_DEFAULTS.rate, "rate"),
      dropEveryS: number(values["drop-every"], SOAK_DEFAULTS.dropEveryS, "drop-every"),
      data: values.data ?? false,
      quiet: values.quiet ?? false,
      serverMain: new URL("../main.ts", import.meta.url).pathname,
    };
  } catch (error) {
    console.error(`soak: ${(error as Error).message}`);
    return 2;
  }
  const result = await runSoak(options);
  console.log(JSON.stringify(result));
  return result.ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
