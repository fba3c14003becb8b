/**
 * Helpers for benchmarks (scripts/bench/<name>.ts). A bench exports `bench: Bench` whose `run`
 * returns rows built with `row()`; the runner prints and stores them. Measuring tools:
 * `startProcess` + `ProcessSampler` / `readProcess` for memory and CPU, `freePort` and
 * `waitFor` / `waitForHttp` for servers, `summarize` / `percentile` for latencies, and
 * `ensureCommand` to install a peer from Debian packages.
 */
export { ensureCommand } from "./apt.ts";
export type { Bench, BenchContext } from "./bench.ts";
export { integerFlag, integerListFlag } from "./flags.ts";
export { describeMachine, type MachineDescription } from "./machine.ts";
export { freePort } from "./ports.ts";
export { ProcessSampler, readProcess, toMB, type ProcessSample, type SamplerReport } from "./process.ts";
export { higherIsBetter, lowerIsBetter } from "./ratio.ts";
export { makeResults, row, writeResults, type BenchResults, type BenchRow, type RowInput } from "./results.ts";
export { startProcess, type RunningProcess } from "./spawn.ts";
export { mean, median, percentile, summarize, type Summary } from "./statistics.ts";
export { formatNumber, renderTable } from "./table.ts";
export { waitFor, waitForHttp, type WaitOptions } from "./wait.ts";
