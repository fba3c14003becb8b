/**
 * `npm run bench -- <name> [--json] [bench flags…]`
 *
 * Runs `scripts/bench/<name>.ts` (which exports `bench: Bench`, see lib/bench.ts), prints its
 * rows as a table and writes `bench-results/<name>.json`. With `--json` the results file's
 * content goes to stdout instead of the table. Without a name, or with an unknown one, lists the
 * benches. Exit codes: 0 ok, 1 the bench failed, 2 usage error.
 */
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { describeError } from "../../core/common/errors.ts";
import type { Bench } from "./lib/bench.ts";
import { makeResults, renderTable, writeResults } from "./lib/index.ts";

const benchDir = import.meta.dir;
const root = join(benchDir, "..", "..");
const usage = "usage: npm run bench -- <name> [--json] [bench flags…]";

function benchNames(): string[] {
  return readdirSync(benchDir)
    .filter((file) => file.endsWith(".ts") && file !== "run.ts")
    .map((file) => basename(file, ".ts"))
    .sort();
}

async function load(name: string): Promise<Bench> {
  const module: { bench?: Bench } = await import(join(benchDir, `${name}.ts`));
  if (!module.bench || typeof module.bench.run !== "function") throw new Error(`scripts/bench/${name}.ts does not export \`bench: Bench\``);
  return module.bench;
}

async function listing(): Promise<string> {
  const names = benchNames();
  const width = Math.max(0, ...names.map((n) => n.length));
  const lines = await Promise.all(
    names.map(async (name) => {
      const description = await load(name).then(
        (bench) => bench.description,
        (error) => `(does not load: ${describeError(error)})`,
      );
      return `  ${name.padEnd(width)}  ${description}`;
    }),
  );
  return `benches:\n${lines.join("\n")}`;
}

const args = process.argv.slice(2);
const [name, ...rest] = args;
if (name === "--help" || name === "-h") {
  console.log(`${usage}\n${await listing()}`);
  process.exit(0);
}
if (name === undefined || name.startsWith("-") || !benchNames().includes(name)) {
  console.error(`bench: ${name === undefined || name.startsWith("-") ? "missing bench name" : `unknown bench "${name}"`}\n${usage}\n${await listing()}`);
  process.exit(2);
}

const json = rest.includes("--json");
const log = (line: string) => console.error(line);
try {
  const bench = await load(name);
  log(`bench ${name}: ${bench.description}`);
  const rows = await bench.run({ args: rest.filter((arg) => arg !== "--json"), log });
  const results = makeResults(name, rows);
  const path = writeResults(results, join(root, "bench-results"));
  if (json) console.log(JSON.stringify(results, null, 2));
  else console.log(`${renderTable(rows)}\n\nmachine: ${results.machine.cpuModel}, ${results.machine.cores} cores, ${results.machine.memoryMB} MB, kernel ${results.machine.kernel}\nwrote ${join("bench-results", basename(path))}`);
} catch (error) {
  console.error(`bench ${name} failed: ${describeError(error)}`);
  process.exit(1);
}
