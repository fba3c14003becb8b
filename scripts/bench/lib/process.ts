/**
 * Memory and CPU of a running process, read from Linux's /proc/<pid>/status and /proc/<pid>/stat,
 * so a bench can measure Shoal and its peer the same way whatever runtime each is written in.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** One reading of a process. */
export interface ProcessSample {
  /** Resident set size now (VmRSS), bytes. */
  rssBytes: number;
  /** Peak resident set size so far (VmHWM), bytes. */
  peakRssBytes: number;
  /** User plus system CPU time consumed so far, seconds. */
  cpuSeconds: number;
}

let clockTicksPerSecond: number | undefined;

/** The kernel's USER_HZ, which /proc/<pid>/stat times are counted in (almost always 100). */
function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    const value = Number(out.stdout?.trim());
    clockTicksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
  }
  return clockTicksPerSecond;
}

function statusKilobytes(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Reads the process now; throws when it no longer exists. */
export function readProcess(pid: number): ProcessSample {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces and parentheses; fields after the last ")"
  // start at field 3 (state), so utime and stime (fields 14, 15) are at indexes 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return {
    rssBytes: statusKilobytes(status, "VmRSS"),
    peakRssBytes: statusKilobytes(status, "VmHWM"),
    cpuSeconds: ticks / ticksPerSecond(),
  };
}

/** What a `ProcessSampler` saw over its run. */
export interface SamplerReport {
  samples: number;
  /** Largest RSS sampled, bytes (the kernel's VmHWM may be higher between samples). */
  maxRssBytes: number;
  meanRssBytes: number;
  /** RSS at the last sample, bytes. */
  lastRssBytes: number;
  /** CPU seconds used between start and stop. */
  cpuSeconds: number;
  /** CPU use between start and stop, in percent of one core. */
  cpuPercent: number;
}

/** Samples a process periodically while a workload runs. */
export class ProcessSampler {
  private readonly rss: number[] = [];
  private first: ProcessSample | undefined;
  private last: ProcessSample | undefined;
  private startedAt = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  /** Takes a first sample and keeps sampling every `intervalMs`. */
  start(): this {
    this.startedAt = performance.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  /** Takes a last sample, stops, and reports. */
  stop(): SamplerReport {
    clearInterval(this.timer);
    this.sample();
    const first = this.first;
    const last = this.last;
    if (!first || !last) throw new Error(`ProcessSampler: process ${this.pid} could not be read`);
    const elapsedSeconds = (performance.now() - this.startedAt) / 1000;
    const cpuSeconds = last.cpuSeconds - first.cpuSeconds;
    return {
      samples: this.rss.length,
      maxRssBytes: Math.max(...this.rss),
      meanRssBytes: this.rss.reduce((sum, v) => sum + v, 0) / this.rss.length,
      lastRssBytes: last.rssBytes,
      cpuSeconds,
      cpuPercent: elapsedSeconds > 0 ? (100 * cpuSeconds) / elapsedSeconds : 0,
    };
  }

  private sample(): void {
    try {
      const sample = readProcess(this.pid);
      this.first ??= sample;
      this.last = sample;
      this.rss.push(sample.rssBytes);
    } catch {
      // The process exited; the report covers what was seen until then.
    }
  }
}

/** Bytes to MiB, for rows. */
export const toMB = (bytes: number) => bytes / 2 ** 20;
