/**
 * `npm run build`: compiles main.ts into the self-contained executable dist/shoal (the Bun runtime
 * is embedded, so the target needs neither Bun nor Node). The git commit, when there is one, is
 * baked in for `shoal version` and `/v1/info`.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
/** Where the binary is written. */
export const binaryPath = join(root, "dist", "shoal");

function gitCommit(): string {
  const result = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, encoding: "utf8" });
  if (result.status !== 0) return "";
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" });
  return `${result.stdout.trim()}${dirty.stdout?.trim() ? "-dirty" : ""}`;
}

/**
 * How many times more reluctant than normal the compiled binary's JIT is to compile a function
 * (`bun build --compile-jit-policy`). An agent at rest handles a few packets and timers a second:
 * at the normal policy its functions cross the tier-up thresholds one by one over the first
 * minute or two, and compiling them costs more CPU than the compiled code ever saves at that
 * rate (a per-thread profile of 20 gossip nodes 50–80 s after start: the JIT's compiler threads
 * took 24% of a node's CPU). Busy paths still reach the optimizing tiers, just after more runs.
 * A process that starts a raft replica (a manager) returns to the normal policy (`Replica.start`).
 */
const JIT_POLICY = 100;

/**
 * Worker programs every binary embeds beside its entry: `new Worker` in a compiled binary finds
 * only files the build included. With the project root as the bundle root, each sits in the
 * binary under its path from the root, where its opener looks for it.
 */
const WORKER_ENTRIES: readonly string[] = ["core/store/checkpoint-worker.ts"];

/** Options of `build`. */
export interface BuildOptions {
  /** Where the binary is written. Default dist/shoal. */
  outfile?: string;
  /** The program to compile. Default main.ts (the agent); benchmarks compile their node programs alike. */
  entry?: string;
  /** Print the size and time taken. Default true. */
  report?: boolean;
}

/**
 * Compiles the agent (or another entry) into a self-contained binary with the flags the shipped
 * binary gets; throws when the compiler fails. The binary is written next to its final name and
 * renamed into place, so a concurrent reader never runs a half-written file.
 */
export function build({ outfile = binaryPath, entry = join(root, "main.ts"), report = true }: BuildOptions = {}): void {
  const partial = `${outfile}.partial-${process.pid}`;
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      "build", "--compile", "--minify", `--compile-jit-policy=${JIT_POLICY}`,
      `--define=SHOAL_BUILD_COMMIT=${JSON.stringify(gitCommit())}`,
      `--root=${root}`, entry, ...WORKER_ENTRIES.map((worker) => join(root, worker)), "--outfile", partial,
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
  if (result.status !== 0) throw new Error(`bun build --compile failed (exit ${result.status ?? result.signal})`);
  renameSync(partial, outfile);
  if (!report) return;
  const megabytes = statSync(outfile).size / (1 << 20);
  console.log(`built ${outfile} (${megabytes.toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms`);
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Builds dist/shoal when it is missing or older than main.ts, core/, package.json or its build flags (this file); returns its path. */
export function buildIfStale(): string {
  let binaryMtime = 0;
  try {
    binaryMtime = statSync(binaryPath).mtimeMs;
  } catch {
    // Missing: built below.
  }
  const sources = Math.max(...["main.ts", "core", "package.json", "scripts/build.ts"].map((name) => newestMtime(join(root, name))));
  if (binaryMtime < sources) build();
  return binaryPath;
}

if (import.meta.main) build();
