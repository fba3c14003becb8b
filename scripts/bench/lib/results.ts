/**
 * Benchmark results: the row shape every bench returns, and the `bench-results/<name>.json`
 * file: `{ bench, date, machine, rows: [{ case, metric, unit, shoal, peer, peerName, ratio }] }`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeMachine, type MachineDescription } from "./machine.ts";
import { higherIsBetter, lowerIsBetter } from "./ratio.ts";

/** One measured figure, for Shoal and (when there is one) a peer. */
export interface BenchRow {
  /** What was exercised, e.g. "3 nodes, 1 KiB values". */
  case: string;
  /** What was measured, e.g. "commit latency p99". */
  metric: string;
  unit: string;
  shoal: number | null;
  peer: number | null;
  peerName: string | null;
  /** Above 1: Shoal better; below 1: the peer better; null without both figures. */
  ratio: number | null;
}

/** The content of a results file. */
export interface BenchResults {
  bench: string;
  /** ISO 8601, UTC. */
  date: string;
  machine: MachineDescription;
  rows: BenchRow[];
}

/** Fields of `row()`: a figure and which direction is better. */
export interface RowInput {
  case: string;
  metric: string;
  unit: string;
  /** "higher" for throughput-like metrics, "lower" for latency, memory, size. */
  better: "higher" | "lower";
  shoal: number | null;
  peer?: number | null;
  peerName?: string | null;
}

/** Keeps three decimals: finer digits are measurement noise and only clutter the results file. */
function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 1000;
}

/** Builds a row, computing its ratio from `better` so no bench gets the direction wrong. */
export function row(input: RowInput): BenchRow {
  const peer = input.peer ?? null;
  const compare = input.better === "higher" ? higherIsBetter : lowerIsBetter;
  return {
    case: input.case,
    metric: input.metric,
    unit: input.unit,
    shoal: round(input.shoal),
    peer: round(peer),
    peerName: input.peerName ?? null,
    ratio: round(compare(input.shoal, peer)),
  };
}

/** Results for `bench` measured now on this machine. */
export function makeResults(bench: string, rows: BenchRow[], date = new Date()): BenchResults {
  return { bench, date: date.toISOString(), machine: describeMachine(), rows };
}

/** Writes `<dir>/<bench>.json` (dir defaults to `bench-results`) and returns its path. */
export function writeResults(results: BenchResults, dir = "bench-results"): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${results.bench}.json`);
  writeFileSync(path, JSON.stringify(results, null, 2) + "\n");
  return path;
}
