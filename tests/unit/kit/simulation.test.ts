import { describe, expect, test } from "bun:test";
import { runSeeds } from "../../kit/index.ts";
import { simulate } from "../../sim/kit/simulate.ts";
import { simulations } from "../../sim/registry.ts";

describe("kit self-test simulation", () => {
  test("reliable broadcast converges under loss, duplication, reordering, partitions and crashes", () => {
    const ran = runSeeds({ name: "kit", seeds: 30, run: (seed) => void simulate(seed) });
    expect(ran).toBeGreaterThan(0);
  });

  test("a run replays exactly from its seed", () => {
    const first = simulate(17);
    expect(simulate(17)).toEqual(first);
    expect(simulate(18).traceHash).not.toBe(first.traceHash);
    expect(first.messagesSent).toBeGreaterThan(0);
  });

  test("is registered under the name its replay line uses", async () => {
    const entry = simulations.kit;
    expect(entry).toBeDefined();
    const module = await entry?.load();
    expect(module?.simulate).toBe(simulate);
  });

  test("rejects a cluster too small to broadcast in", () => {
    expect(() => simulate(1, { nodes: 1 })).toThrow(/at least 2 nodes/);
  });
});
