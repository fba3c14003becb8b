/**
 * `npm run sim -- <name> [--seeds N] [--seed S] [--first F] [--nodes N]`
 *
 * Runs a registered simulation (tests/sim/registry.ts) over many seeds, or replays one seed.
 * Without flags the seed count comes from SHOAL_SEEDS (default 100) and SHOAL_SEED replays one
 * seed, as in the unit tests. Exit codes: 0 all seeds passed, 1 a seed failed, 2 usage error.
 */
import { parseArgs } from "node:util";
import { describeError } from "../core/common/errors.ts";
import { replayLine, seedList } from "../tests/kit/seeds.ts";
import { simulations, type SimulateOptions } from "../tests/sim/registry.ts";

const usage = "usage: npm run sim -- <name> [--seeds N] [--seed S] [--first F] [--nodes N]";
const defaultSeedCount = 100;

function listSimulations(): string {
  const width = Math.max(...Object.keys(simulations).map((name) => name.length));
  return Object.entries(simulations)
    .map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.description}`)
    .join("\n");
}

function usageError(message: string): never {
  console.error(`sim: ${message}\n${usage}\nsimulations:\n${listSimulations()}`);
  process.exit(2);
}

function integerFlag(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) usageError(`--${flag} must be an integer >= ${min}, got "${text}"`);
  return value;
}

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        seeds: { type: "string" },
        seed: { type: "string" },
        first: { type: "string" },
        nodes: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    usageError(describeError(error));
  }
}

const { values, positionals } = parse();
if (values.help) {
  console.log(`${usage}\nsimulations:\n${listSimulations()}`);
  process.exit(0);
}
const [name, ...extra] = positionals;
if (name === undefined) usageError("missing simulation name");
if (extra.length > 0) usageError(`unexpected argument "${extra[0]}"`);
const entry = simulations[name];
if (!entry) usageError(`unknown simulation "${name}"`);

const single = integerFlag("seed", values.seed, 0);
const count = integerFlag("seeds", values.seeds, 1);
const first = integerFlag("first", values.first, 0) ?? 1;
const nodes = integerFlag("nodes", values.nodes, 1);
const seeds = single !== undefined ? [single] : count !== undefined ? seedList(count, first, {}) : seedList(defaultSeedCount, first);
const options: SimulateOptions = nodes !== undefined ? { nodes } : {};

const { simulate } = await entry.load();
const started = performance.now();
let lastProgress = started;
for (const [index, seed] of seeds.entries()) {
  let result: unknown;
  try {
    result = await simulate(seed, options);
  } catch (error) {
    console.error(`seed ${seed} failed: ${describeError(error)}`);
    if (error instanceof Error && error.stack) console.error(error.stack);
    console.error(replayLine(name, seed));
    process.exit(1);
  }
  if (seeds.length === 1 && result !== undefined) console.log(`seed ${seed}:`, result);
  const now = performance.now();
  if (now - lastProgress > 2000 && index + 1 < seeds.length) {
    console.log(`${name}: ${index + 1}/${seeds.length} seeds passed (${((now - started) / 1000).toFixed(1)} s)`);
    lastProgress = now;
  }
}
const elapsed = ((performance.now() - started) / 1000).toFixed(2);
const range = seeds.length === 1 ? `seed ${seeds[0]}` : `seeds ${seeds[0]}..${seeds[seeds.length - 1]}`;
console.log(`${name}: ${seeds.length} seed${seeds.length === 1 ? "" : "s"} passed (${range}) in ${elapsed} s`);
