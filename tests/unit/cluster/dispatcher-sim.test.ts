import { describe, expect, test } from "bun:test";
import { runSeeds } from "../../kit/index.ts";
import { simulate, simulateLoss } from "../../sim/dispatcher/simulate.ts";
import { simulations } from "../../sim/registry.ts";

describe("dispatcher session simulation", () => {
  test(
    "killed, cut-off and orphaned nodes go down in time and come back ready; manager failover marks no one down; keyrings current",
    () => {
      let connectionsLost = 0;
      runSeeds({
        name: "dispatcher",
        seeds: 20,
        run: (seed) => {
          const summary = simulate(seed);
          connectionsLost += summary.connectionsLost;
          expect(summary.killedDownAfterMs).toBeGreaterThanOrEqual(10_000);
          expect(summary.keyringsInstalled).toBeGreaterThan(summary.nodes * 9);
        },
      });
      expect(connectionsLost).toBeGreaterThan(20);
    },
    60_000,
  );

  test("5% message loss for ten minutes: any spurious down is brief and every node ends ready with the current keyring", () => {
    let spuriousDowns = 0;
    runSeeds({
      name: "dispatcher-loss",
      seeds: 10,
      run: (seed) => {
        const summary = simulateLoss(seed);
        spuriousDowns += summary.spuriousDowns;
        expect(summary.keyVersion).toBeGreaterThanOrEqual(10);
      },
    });
    // The loss is heavy enough that whole heartbeat windows get lost: the recovery path runs.
    expect(spuriousDowns).toBeGreaterThan(0);
  }, 60_000);

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
