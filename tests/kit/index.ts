/**
 * The deterministic simulator kit: a virtual clock, a virtual network and seeded randomness.
 * Protocol tests build a cluster of pure cores on these, run thousands of seeds, and replay any
 * failing seed exactly with `npm run sim -- <name> --seed <n>`.
 */
export { SeededRandom, type Random } from "../../core/common/random.ts";
export { VirtualClock, type TimerId } from "./clock.ts";
export { DeadlineTimer } from "./deadline.ts";
export { MinHeap } from "./heap.ts";
export { fixedLatency, longTailLatency, uniformLatency, type LatencyDistribution, type LatencySpec } from "./latency.ts";
export { NetworkFaults } from "./faults.ts";
export { VirtualNetwork, type LinkOptions, type MessageHandler, type VirtualNetworkOptions } from "./network.ts";
export { replayLine, runSeeds, runSeedsAsync, SeedFailure, seedList, type SeedRunOptions } from "./seeds.ts";
export { dropReasons, totalDropped, type DropReason, type NetworkStats } from "./stats.ts";
export { Trace, type TraceOptions } from "./trace.ts";
