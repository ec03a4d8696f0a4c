/**
 * Turns the JSON result lines of `bench/load.ts` (as `make bench` prints them)
 * into a Markdown table, one row per run, for docs/PERFORMANCE.md.
 *
 * ```sh
 * make bench > results.jsonl
 * deno run bench/table.ts < results.jsonl
 * ```
 *
 * @module
 */

/** The fields of a result line that the table shows (see `load.ts`). */
export interface ResultLine {
  /** Workload name. */
  workload: string;
  /** The run's label, if it had one. */
  label?: string;
  /** Load averages around the measured phase. */
  machine: { "load_before": number[]; "load_after": number[] };
  /** Deliveries per second (fan-out, saturation). */
  "deliveries_per_s"?: number;
  /** Lost deliveries. */
  loss?: number;
  /** Message latency, ms. */
  "latency_ms"?: { p50: number | null; p99: number | null; max: number | null };
  /** Storm: time to `welcome`, ms. */
  "join_ms"?: { p50: number | null; p99: number | null; max: number | null };
  /** Users registered, and refused or failed. */
  registered: number;
  /** Users refused or failed. */
  failed: number;
  /** Stalled members and what became of them. */
  stalled?: { members: number; dropped: number };
  /** Server figures, when its pid was known. */
  server: {
    "cpu_util": number | null;
    "cpu_us_per_delivery"?: number;
    "rss_per_connection_kb"?: number;
    "rss_before_kb": number | null;
    "rss_peak_kb": number | null;
    "first_drop_s"?: number;
  } | null;
  /** Generator figures. */
  generator: { "cpu_util": number };
  /** Whether the run worked. */
  ok: boolean;
}

const HEADER = [
  "run",
  "load",
  "deliveries/s",
  "loss",
  "p50 ms",
  "p99 ms",
  "max ms",
  "server µs/delivery",
  "server cpu",
  "gen cpu",
  "server memory",
  "notes",
];

/** One Markdown table row for a result line. */
export function row(r: ResultLine): string {
  const latency = r.latency_ms ?? r.join_ms;
  const s = r.server;
  const memory = s?.rss_per_connection_kb !== undefined
    ? `${s.rss_per_connection_kb} KB/conn`
    : s?.rss_peak_kb && s.rss_before_kb
    ? `+${Math.round((s.rss_peak_kb - s.rss_before_kb) / 1024)} MiB peak`
    : "";
  const notes = [
    `${r.registered} registered`,
    r.failed ? `${r.failed} failed` : "",
    r.stalled ? `stalled ${r.stalled.members}, dropped ${r.stalled.dropped}` : "",
    s?.first_drop_s !== undefined ? `drop at ${s.first_drop_s} s` : "",
    r.ok ? "" : "NOT OK",
  ].filter(Boolean).join(", ");
  const cells = [
    r.label ?? r.workload,
    r.machine.load_before[0].toFixed(2),
    r.deliveries_per_s?.toLocaleString("en-US") ?? "",
    r.loss ?? "",
    latency?.p50 ?? "",
    latency?.p99 ?? "",
    latency?.max ?? "",
    s?.cpu_us_per_delivery ?? "",
    s?.cpu_util ?? "",
    r.generator.cpu_util,
    memory,
    notes,
  ];
  return `| ${cells.join(" | ")} |`;
}

if (import.meta.main) {
  const text = await new Response(Deno.stdin.readable).text();
  console.log(`| ${HEADER.join(" | ")} |`);
  console.log(`| ${HEADER.map(() => "---").join(" | ")} |`);
  for (const line of text.split("\n")) {
    if (line.trim().startsWith("{")) console.log(row(JSON.parse(line)));
  }
}
