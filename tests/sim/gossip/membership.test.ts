import { expect, test } from "bun:test";
import { runSeeds } from "../../kit/index.ts";
import { simulate, simulateLoss, simulateStall } from "./simulate.ts";

// CI-sized by default; SHOAL_SEEDS / SHOAL_SEED override the seed count, and SHOAL_LONG=1 adds
// the 1,000-node run (also available as `npm run sim -- gossip --nodes 1000`).
const long = process.env.SHOAL_LONG === "1";

test("gossip at 50 nodes: join, death, partition heal and restart, over many seeds", () => {
  const ran = runSeeds({ name: "gossip", seeds: 50, run: (seed) => void simulate(seed, { nodes: 50 }) });
  expect(ran).toBeGreaterThan(0);
}, 120_000);

test("10% packet loss for 10 minutes never declares a healthy node dead", () => {
  runSeeds({ name: "gossip-loss", seeds: 10, run: (seed) => void simulateLoss(seed, { nodes: 30 }) });
}, 120_000);

test("10% packet loss without the TCP fallback probe: Lifeguard alone keeps false positives at zero", () => {
  runSeeds({ name: "gossip-loss", seeds: 10, firstSeed: 1001, run: (seed) => void simulateLoss(seed, { nodes: 30, tcpFallbackProbe: false }) });
}, 120_000);

test("a node stalled for 5 probe intervals is suspected, refutes and is never declared dead", () => {
  runSeeds({
    name: "gossip-stall",
    seeds: 30,
    run: (seed) => {
      const result = simulateStall(seed, { nodes: 30 });
      expect(result.suspectEvents).toBeGreaterThan(0);
      expect(result.incarnationAfter).toBeGreaterThan(result.incarnationBefore);
    },
  });
}, 120_000);

if (!long) console.log("gossip sim: skipping the 1,000-node run (set SHOAL_LONG=1, or `npm run sim -- gossip --nodes 1000`)");
test.skipIf(!long)("gossip at 1,000 nodes (SHOAL_LONG=1)", () => {
  runSeeds({ name: "gossip", seeds: 2, run: (seed) => void simulate(seed, { nodes: 1000 }) });
}, 1_800_000);
