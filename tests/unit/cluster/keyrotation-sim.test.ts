import { describe, expect, test } from "bun:test";
import { runSeeds } from "../../kit/index.ts";
import { simulate } from "../../sim/keyrotation/simulate.ts";
import { simulations } from "../../sim/registry.ts";

describe("gossip key rotation simulation", () => {
  test(
    "nodes offline across rotations, leader changes and a lossy session network: no unknown-key drops, schedule kept",
    () => {
      let rotations = 0;
      const ran = runSeeds({
        name: "keyrotation",
        seeds: 25,
        run: (seed) => {
          const summary = simulate(seed);
          rotations += summary.rotations;
          expect(summary.probesOpened).toBeGreaterThan(10_000);
          expect(summary.returnChecks).toBeGreaterThanOrEqual(summary.nodes);
        },
      });
      expect(rotations).toBeGreaterThanOrEqual(ran * 8);
    },
    60_000,
  );

  test("a run replays exactly from its seed", () => {
    const first = simulate(7);
    expect(simulate(7)).toEqual(first);
    expect(first.elections).toBeGreaterThan(3);
  }, 20_000);

  test("is registered under the name its replay line uses", async () => {
    const module = await simulations.keyrotation?.load();
    expect(module?.simulate).toBe(simulate);
  });

  test("rejects a cluster too small for the outage plan", () => {
    expect(() => simulate(1, { nodes: 5 })).toThrow(/at least 6 nodes/);
  });
});
