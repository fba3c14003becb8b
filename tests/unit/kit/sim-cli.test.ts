import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..", "..");

function sim(...args: string[]) {
  const result = Bun.spawnSync([process.execPath, join(root, "scripts", "sim.ts"), ...args], { cwd: root, env: { ...process.env, SHOAL_SEEDS: "", SHOAL_SEED: "" } });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe("npm run sim", () => {
  test("runs the requested seeds and prints a summary", () => {
    const run = sim("kit", "--seeds", "5", "--first", "10");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/kit: 5 seeds passed \(seeds 10\.\.14\) in [\d.]+ s/);
  }, 20_000);

  test("a single seed prints what the run returned", () => {
    const run = sim("kit", "--seed", "3", "--nodes", "4");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("traceHash");
    expect(run.stdout).toContain("kit: 1 seed passed (seed 3)");
  }, 20_000);

  test("a failing seed exits 1 with the error and the replay line", () => {
    const run = sim("kit", "--seeds", "3", "--nodes", "1");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("seed 1 failed: kit simulation needs at least 2 nodes, got 1");
    expect(run.stderr).toContain("replay: npm run sim -- kit --seed 1");
  }, 20_000);

  test("usage errors exit 2 and list the simulations", () => {
    for (const args of [[], ["nope"], ["kit", "--seeds", "0"], ["kit", "--bogus"], ["kit", "extra"]]) {
      const run = sim(...args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("usage: npm run sim -- <name>");
      expect(run.stderr).toMatch(/kit\s+self-test of the simulator/);
    }
  }, 20_000);
});
