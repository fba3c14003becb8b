import { expect, test } from "bun:test";
import { runSeeds } from "../../kit/index.ts";
import { simulate } from "./simulate.ts";

// 500 seeds by default (SHOAL_SEEDS overrides; `npm run sim -- raft --seeds N` runs more).
test("raft: safety, linearizability and liveness hold over 500 seeds of faults", () => {
  const totals: Record<string, number> = { elections: 0, operations: 0, completed: 0, snapshotsInstalled: 0 };
  let slowestRecovery = 0;
  const ran = runSeeds({
    name: "raft",
    seeds: 500,
    run: (seed) => {
      const run = simulate(seed);
      totals.elections = (totals.elections ?? 0) + run.leaders;
      totals.operations = (totals.operations ?? 0) + run.operations;
      totals.completed = (totals.completed ?? 0) + run.completed;
      totals.snapshotsInstalled = (totals.snapshotsInstalled ?? 0) + run.snapshotsInstalled;
      for (const [kind, count] of Object.entries(run.faults)) totals[kind] = (totals[kind] ?? 0) + count;
      slowestRecovery = Math.max(slowestRecovery, run.ticksToCommitAfterFaults);
    },
  });
  console.log(`raft sim: ${ran} seeds, slowest commit after faults ${slowestRecovery} ticks, totals ${JSON.stringify(totals)}`);
  // The runs really exercise what they claim to.
  for (const kind of ["elections", "completed", "snapshotsInstalled", "crash", "partition", "isolateLeader", "addLearner", "promoteLearner", "removeVoter", "transfer"]) {
    expect(totals[kind] ?? 0, kind).toBeGreaterThan(0);
  }
}, 240_000);
