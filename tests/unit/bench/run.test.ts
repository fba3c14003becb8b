import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..", "..");

function bench(...args: string[]) {
  const result = Bun.spawnSync([process.execPath, join(root, "scripts", "bench", "run.ts"), ...args], { cwd: root });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe("npm run bench", () => {
  test("without a name, lists the benches and exits 2", () => {
    const run = bench();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("missing bench name");
    expect(run.stderr).toMatch(/coldstart\s+cold start of dist\/shoal agent/);
  });

  test("an unknown bench is named, the benches listed, and the exit code is 2", () => {
    const run = bench("no-such-bench", "--json");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown bench "no-such-bench"');
    expect(run.stderr).toContain("coldstart");
    expect(run.stdout).toBe("");
  });

  test("--help lists the benches and exits 0", () => {
    const run = bench("--help");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("usage: npm run bench -- <name>");
  });

  test("a bench's own flag errors fail the run with exit 1", () => {
    const run = bench("coldstart", "--runs", "zero");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('bench coldstart failed: --runs must be an integer >= 1, got "zero"');
  });
});
