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
 * Compiles `outfile` (default dist/shoal); throws when the compiler fails. The binary is written
 * next to its final name and renamed into place, so a concurrent reader never runs a half-written file.
 */
export function build(outfile = binaryPath): void {
  const partial = `${outfile}.partial-${process.pid}`;
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      "build", "--compile", "--minify",
      `--define=SHOAL_BUILD_COMMIT=${JSON.stringify(gitCommit())}`,
      join(root, "main.ts"), "--outfile", partial,
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
  if (result.status !== 0) throw new Error(`bun build --compile failed (exit ${result.status ?? result.signal})`);
  renameSync(partial, outfile);
  const megabytes = statSync(outfile).size / (1 << 20);
  console.log(`built ${outfile} (${megabytes.toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms`);
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Builds dist/shoal when it is missing or older than main.ts, core/ or package.json; returns its path. */
export function buildIfStale(): string {
  let binaryMtime = 0;
  try {
    binaryMtime = statSync(binaryPath).mtimeMs;
  } catch {
    // Missing: built below.
  }
  const sources = Math.max(...["main.ts", "core", "package.json"].map((name) => newestMtime(join(root, name))));
  if (binaryMtime < sources) build();
  return binaryPath;
}

if (import.meta.main) build();
