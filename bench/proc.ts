/**
 * What the benchmark reads about processes from Linux's /proc: CPU time,
 * resident memory and the load average. Everything here is a plain read of a
 * small text file, cheap enough to sample a few times a second.
 *
 * CPU time is `utime + stime` from /proc/PID/stat (all threads of the
 * process, so a runtime's I/O and GC threads count too), in clock ticks
 * converted with `getconf CLK_TCK`. Ticks are 10 ms at the usual 100 Hz, so
 * measure over seconds, not milliseconds.
 *
 * Deno 2 lets a program read /proc only with `--allow-all` (its files reveal
 * other processes' environment and memory, so `--allow-read` is not enough):
 * the coordinator runs with `-A`, the worker processes with network access to
 * 127.0.0.1 only.
 *
 * @module
 */

/** CPU and memory of a process at one moment. */
export interface ProcSample {
  /** User plus system CPU time so far, in seconds. */
  cpuS: number;
  /** Resident memory now, in KiB (VmRSS). */
  rssKb: number;
  /** Highest resident memory so far, in KiB (VmHWM). */
  hwmKb: number;
  /** Open file descriptors (sockets, files, pipes): entries of /proc/PID/fd. */
  fds: number;
  /** When the sample was taken, `performance.now()` ms. */
  at: number;
}

let ticksPerSecond = 100;

/**
 * Checks that /proc can be read, before a run depends on it.
 *
 * @throws {Error} saying which flag is missing when Deno refuses.
 */
export function checkProcAccess(): void {
  try {
    Deno.readTextFileSync("/proc/self/stat");
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new Error("reading /proc needs --allow-all (-A): Deno refuses it with less");
    }
    throw new Error(`cannot read /proc (${error instanceof Error ? error.message : error})`);
  }
}

/** Asks `getconf CLK_TCK` for the clock tick rate once; keeps 100 if it cannot. */
export async function initClockTicks(): Promise<number> {
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stderr: "null" }).output();
    const value = Number(new TextDecoder().decode(out.stdout).trim());
    if (out.success && Number.isInteger(value) && value > 0) ticksPerSecond = value;
  } catch {
    // No getconf (a minimal container): 100 Hz is what Linux uses nearly everywhere.
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) used so far by `pid` ("self" for this process). */
export function readCpuSeconds(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name (field 2) may contain spaces and parentheses; fields
  // after the last ")" are fixed: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** VmRSS and VmHWM of `pid`, in KiB. */
export function readMemoryKb(pid: number | "self"): { rssKb: number; hwmKb: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1]);
  return { rssKb: field("VmRSS"), hwmKb: field("VmHWM") };
}

/** How many file descriptors `pid` has open. */
export function countFds(pid: number | "self"): number {
  let count = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  return count;
}

/** CPU, memory and descriptors of `pid` now; null when the process is gone. */
export function sampleProcess(pid: number | "self"): ProcSample | null {
  try {
    return {
      cpuS: readCpuSeconds(pid),
      ...readMemoryKb(pid),
      fds: countFds(pid),
      at: performance.now(),
    };
  } catch {
    return null;
  }
}

/** The 1-, 5- and 15-minute load averages, to note next to every figure. */
export function loadAverage(): [number, number, number] {
  try {
    const [one, five, fifteen] = Deno.readTextFileSync("/proc/loadavg").split(" ").map(Number);
    return [one, five, fifteen];
  } catch {
    return [NaN, NaN, NaN];
  }
}
