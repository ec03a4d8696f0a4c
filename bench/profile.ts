/**
 * Summarises V8 CPU profiles (`.cpuprofile`, as written by `deno run
 * --cpu-prof`): self time per function, heaviest first, and self time per
 * source file, so that a profile of the server under load reads as a short
 * table instead of a flame graph.
 *
 * ```sh
 * deno run -A bench/load.ts --spawn --profile /tmp/prof --workload fanout --members 500 ...
 * deno run --allow-read bench/profile.ts /tmp/prof/*.cpuprofile [--top 25]
 * ```
 *
 * Self time is counted from the profile's samples and time deltas, so it is
 * wall time spent in each function while the process was running JavaScript
 * or natives called from it; `(idle)` is the event loop waiting, `(program)`
 * is V8 and Deno work outside any JavaScript function (most of the op and
 * I/O machinery), `(garbage collector)` is GC.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** One node of a V8 CPU profile's call tree. */
export interface ProfileNode {
  /** Node id, referenced by samples and parents. */
  id: number;
  /** Where the node's code is. */
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
    columnNumber: number;
  };
  /** Ids of the nodes it called. */
  children?: number[];
}

/** A V8 CPU profile as written by `--cpu-prof`. */
export interface CpuProfile {
  /** The call tree. */
  nodes: ProfileNode[];
  /** Start time, µs. */
  startTime: number;
  /** End time, µs. */
  endTime: number;
  /** The node running at each sample. */
  samples: number[];
  /** µs since the previous sample, for each sample. */
  timeDeltas: number[];
}

/** Self time of one function (or one file) in a profile. */
export interface SelfTime {
  /** Function name and place, or the file. */
  name: string;
  /** Self time, ms. */
  ms: number;
  /** Share of all sampled time, 0..1. */
  share: number;
}

/** Self time per function and per source file, heaviest first. */
export function selfTimes(profile: CpuProfile): { functions: SelfTime[]; files: SelfTime[] } {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's time is the delta to the next sample (the last one has none).
    const us = profile.timeDeltas[i + 1] ?? 0;
    const node = byNode.get(profile.samples[i]);
    if (!node) continue;
    const frame = node.callFrame;
    const file = shortUrl(frame.url);
    const name = file
      ? `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`
      : frame.functionName || "(anonymous)";
    functions.set(name, (functions.get(name) ?? 0) + us);
    const fileKey = file || frame.functionName || "(native)";
    files.set(fileKey, (files.get(fileKey) ?? 0) + us);
    total += us;
  }
  const sorted = (map: Map<string, number>) =>
    [...map].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({
      name,
      ms: us / 1000,
      share: total ? us / total : 0,
    }));
  return { functions: sorted(functions), files: sorted(files) };
}

// Keep the part of a URL that tells where the code is: the file in this
// repository, or Deno's internal module.
function shortUrl(url: string): string {
  if (!url) return "";
  const ext = /^ext:(.*)$/.exec(url);
  if (ext) return `ext:${ext[1]}`;
  const at = url.lastIndexOf("/lib/");
  if (at !== -1) return url.slice(at + 1);
  return url.replace(/^file:\/\/.*\//, "");
}

function table(rows: SelfTime[], top: number): string {
  return rows.slice(0, top).map((row) =>
    `${(row.share * 100).toFixed(1).padStart(5)}%  ${row.ms.toFixed(0).padStart(7)} ms  ${row.name}`
  ).join("\n");
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { top: { type: "string", default: "25" }, json: { type: "boolean", default: false } },
  });
  if (positionals.length === 0) {
    console.error("Usage: deno run --allow-read bench/profile.ts FILE.cpuprofile... [--top N]");
    Deno.exit(2);
  }
  for (const path of positionals) {
    const profile: CpuProfile = JSON.parse(await Deno.readTextFile(path));
    const { functions, files } = selfTimes(profile);
    if (values.json) {
      console.log(JSON.stringify({ path, functions: functions.slice(0, Number(values.top)) }));
      continue;
    }
    const seconds = (profile.endTime - profile.startTime) / 1e6;
    console.log(`${path}: ${seconds.toFixed(1)} s profiled, ${profile.samples.length} samples`);
    console.log(`\nSelf time by function:\n${table(functions, Number(values.top))}`);
    console.log(`\nSelf time by file:\n${table(files, 12)}\n`);
  }
}
