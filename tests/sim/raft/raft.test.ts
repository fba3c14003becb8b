import { expect, test } from "bun:test";
import { runSeeds } from "../../kit/index.ts";
import { simulate } from "./simulate.ts";

// 500 seeds by default (SHOAL_SEEDS overrides; `npm run sim -- raft --seeds N` runs more).
test("raft: safety, linearizability and liveness hold over 500 seeds of faults", () => {
  let elections = 0;
  const ran = runSeeds({
    name: "raft",
    seeds: 500,
    run: (seed) => {
      elections += simulate(seed).leaders;
    },
  });
  expect(ran).toBeGreaterThan(0);
  expect(elections).toBeGreaterThanOrEqual(ran);
}, 240_000);
