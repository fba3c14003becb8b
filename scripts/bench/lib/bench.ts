/**
 * The contract of a benchmark module. `scripts/bench/<name>.ts` exports `bench: Bench`;
 * `npm run bench -- <name>` finds it by file name, runs it, prints its rows as a table and writes
 * `bench-results/<name>.json`. A bench measures Shoal and its peer side by side in the same run,
 * on loopback only, with bounded loops.
 */
import type { BenchRow } from "./results.ts";

/** What the runner hands a bench. */
export interface BenchContext {
  /** Arguments after the bench name that the runner did not consume, for bench-specific flags. */
  args: string[];
  /** Progress output (stderr, so `--json` output stays clean). */
  log(line: string): void;
}

/** A benchmark module's export. */
export interface Bench {
  /** One line for the listing. */
  description: string;
  /** Measures and returns the rows; build them with `row()` so ratios point the right way. */
  run(context: BenchContext): Promise<BenchRow[]>;
}
