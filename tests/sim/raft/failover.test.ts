import { expect, test } from "bun:test";
import { runSeeds } from "../../kit/index.ts";
import { FAILOVER_TARGET_MS, simulate } from "./failover.ts";

test("failover with default timing: a new leader commits within 1.5 s of the leader's crash, at every seed", () => {
  const times: number[] = [];
  runSeeds({ name: "raft-failover", seeds: 200, run: (seed) => void times.push(simulate(seed).failoverMs) });
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] as number;
  const worst = times[times.length - 1] as number;
  console.log(`raft failover over ${times.length} seeds: median ${median} ms, worst ${worst} ms (target < ${FAILOVER_TARGET_MS} ms)`);
  expect(worst).toBeLessThan(FAILOVER_TARGET_MS);
}, 60_000);
