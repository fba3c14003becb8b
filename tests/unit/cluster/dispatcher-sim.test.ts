import { describe, expect, test } from "bun:test";
import { runSeeds } from "../../kit/index.ts";
import { simulate } from "../../sim/dispatcher/simulate.ts";
import { simulations } from "../../sim/registry.ts";

describe("dispatcher session simulation", () => {
  test(
    "killed, cut-off and orphaned nodes go down in time and come back ready; manager failover marks no one down; keyrings current",
    () => {
      let failovers = 0;
      runSeeds({
        name: "dispatcher",
        seeds: 20,
        run: (seed) => {
          const summary = simulate(seed);
          failovers += summary.failovers;
          expect(summary.killedDownAfterMs).toBeGreaterThanOrEqual(10_000);
          expect(summary.keyringsInstalled).toBeGreaterThan(summary.nodes * 9);
        },
      });
      expect(failovers).toBeGreaterThan(20);
    },
    60_000,
  );

  test("a run replays exactly from its seed", () => {
    expect(simulate(11)).toEqual(simulate(11));
  });

  test("is registered under the name its replay line uses", async () => {
    expect((await simulations.dispatcher?.load())?.simulate).toBe(simulate);
  });

  test("rejects a cluster too small for the fault plan", () => {
    expect(() => simulate(1, { nodes: 5 })).toThrow(/at least 6 nodes/);
  });
});
