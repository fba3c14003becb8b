import { expect, test } from "bun:test";
import { runSeeds } from "../../kit/index.ts";
import { convergenceScenario, disconnectScenario, failureScenario, leaveScenario, reapScenario, restartScenario, scaleScenario, scopeScenario } from "./simulate.ts";

// CI-sized by default (about 25 s in all); SHOAL_SEEDS / SHOAL_SEED override the seed counts,
// SHOAL_LONG=1 adds 50-node runs. A failure prints `npm run sim -- networkdb --seed <n>`.
const long = process.env.SHOAL_LONG === "1";

test("w1, w2, w3 on L and w3, w4, w5 on R: w3 learns both, w1 gets nothing of R, w5 nothing of L", () => {
  runSeeds({
    name: "networkdb",
    seeds: 30,
    run: (seed) => expect(scopeScenario(seed).messagesToW1).toBeGreaterThan(0),
  });
}, 120_000);

test("the same with NetworkDB messages riding on membership packets and streams, as in the agent", () => {
  runSeeds({ name: "networkdb", seeds: 20, run: (seed) => expect(scopeScenario(seed, "membership").messagesToW1).toBeGreaterThan(0) });
}, 120_000);

test("random creates, updates and deletes converge on every node of the network under loss, duplication and reordering", () => {
  const convergedAfter: number[] = [];
  runSeeds({ name: "networkdb", seeds: 20, run: (seed) => void convergedAfter.push(convergenceScenario(seed).convergedAfterMs) });
  // Gossip alone converges most runs within a second at 10% loss; bulk sync catches the rest.
  convergedAfter.sort((a, b) => a - b);
  expect(convergedAfter[Math.floor(convergedAfter.length / 2)]).toBeLessThan(2_000);
}, 120_000);

test("a node declared dead has its entries hidden, and restored unchanged when it comes back", () => {
  runSeeds({ name: "networkdb", seeds: 30, run: (seed) => void failureScenario(seed) });
}, 120_000);

test("a node that stays dead has its entries dropped after nodeReapTimeout, not before", () => {
  runSeeds({ name: "networkdb", seeds: 30, run: (seed) => void reapScenario(seed) });
}, 120_000);

test("a brief disconnect with writes on both sides heals with no manual step", () => {
  runSeeds({ name: "networkdb", seeds: 30, run: (seed) => expect(disconnectScenario(seed).hiddenSeen).toBe(true) });
}, 120_000);

test("leaving a network removes the node's entries for the others, for good", () => {
  runSeeds({ name: "networkdb", seeds: 30, run: (seed) => void leaveScenario(seed) });
}, 120_000);

test("a node restarted with lost state: its republished entries win, the rest are deleted", () => {
  runSeeds({ name: "networkdb", seeds: 30, run: (seed) => void restartScenario(seed) });
}, 120_000);

test("20 nodes on five overlapping networks, two cut off and back: all converge, scoped traffic stays in scope", () => {
  runSeeds({ name: "networkdb", seeds: 5, run: (seed) => expect(scaleScenario(seed, 20).messages).toBeGreaterThan(0) });
}, 120_000);

if (!long) console.log("networkdb sim: skipping the 50-node runs (set SHOAL_LONG=1, or `npm run sim -- networkdb --nodes 50`)");
test.skipIf(!long)("convergence and the overlapping-networks run at 50 nodes (SHOAL_LONG=1)", () => {
  runSeeds({
    name: "networkdb",
    seeds: 3,
    run: (seed) => {
      convergenceScenario(seed, 50);
      scaleScenario(seed, 50);
    },
  });
}, 900_000);
