/**
 * Running a simulation over many seeds, and replaying the one that failed.
 *
 * A test calls `runSeeds({ name, seeds, run })`; each seed is one independent run. When a run
 * throws, the seed and the command that replays it alone are printed, and a `SeedFailure`
 * carrying both is thrown. Environment overrides let CI and humans choose the amount of work
 * without editing tests:
 *   SHOAL_SEEDS=<n>   run n seeds instead of the test's default
 *   SHOAL_SEED=<s>    run only seed s (a replay)
 */
import { describeError } from "../../core/common/errors.ts";

/** What to run and over which seeds. */
export interface SeedRunOptions<R> {
  /** Simulation name as registered in tests/sim/registry.ts; used in the replay command. */
  name: string;
  /** How many seeds to run by default (overridden by SHOAL_SEEDS). */
  seeds: number;
  /** First seed (default 1); seeds are consecutive from it. */
  firstSeed?: number;
  /** One simulated run; throws to fail the seed. */
  run: (seed: number) => R;
}

/** Thrown when a seed fails; the message holds the seed and the replay command. */
export class SeedFailure extends Error {
  constructor(
    readonly simulation: string,
    readonly seed: number,
    cause: unknown,
  ) {
    super(`seed ${seed} failed: ${describeError(cause)}\n${replayLine(simulation, seed)}`, { cause });
    this.name = "SeedFailure";
  }
}

/** The command that replays one seed of a simulation. */
export function replayLine(name: string, seed: number): string {
  return `replay: npm run sim -- ${name} --seed ${seed}`;
}

/** The seeds to run, after applying SHOAL_SEED / SHOAL_SEEDS (see the module comment). */
export function seedList(defaultCount: number, firstSeed = 1, env: Record<string, string | undefined> = process.env): number[] {
  const single = env.SHOAL_SEED;
  if (single !== undefined && single !== "") return [parseSeedEnv("SHOAL_SEED", single, 0)];
  const countText = env.SHOAL_SEEDS;
  const count = countText !== undefined && countText !== "" ? parseSeedEnv("SHOAL_SEEDS", countText, 1) : defaultCount;
  return Array.from({ length: count }, (_, i) => firstSeed + i);
}

function parseSeedEnv(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got "${text}"`);
  return value;
}

function fail(name: string, seed: number, error: unknown): never {
  const failure = new SeedFailure(name, seed, error);
  console.error(failure.message);
  throw failure;
}

/** Runs `run` for each seed, synchronously; returns how many seeds ran. See the module comment. */
export function runSeeds(options: SeedRunOptions<void>): number {
  const seeds = seedList(options.seeds, options.firstSeed);
  for (const seed of seeds) {
    let result: unknown;
    try {
      result = options.run(seed);
    } catch (error) {
      fail(options.name, seed, error);
    }
    if (result instanceof Promise) throw new TypeError(`runSeeds(${options.name}): run returned a promise; use runSeedsAsync`);
  }
  return seeds.length;
}

/** Like `runSeeds`, for runs that return a promise; seeds run one after another. */
export async function runSeedsAsync(options: SeedRunOptions<Promise<void>>): Promise<number> {
  const seeds = seedList(options.seeds, options.firstSeed);
  for (const seed of seeds) {
    try {
      await options.run(seed);
    } catch (error) {
      fail(options.name, seed, error);
    }
  }
  return seeds.length;
}
