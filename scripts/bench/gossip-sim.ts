/**
 * `npm run bench -- gossip-sim [--nodes 100,1000,10000] [--seed S] [--max-seconds T]`
 *
 * Shoal's membership core at simulated scale, alone (no peer runs at these sizes): N cores on the
 * virtual network with LAN defaults and 1–5 ms links. For each N: the time for a join to be known
 * by 99.99% of the nodes, the time for a killed node to be declared dead by 99.99% of the
 * survivors, and bytes sent per node per second at steady state (UDP packets and push-pull
 * streams). Serf's convergence model with LAN defaults, for reference: 99.99% in about 2.0 s at
 * 100 nodes, 2.2 s at 1,000 and 2.6 s at 10,000.
 *
 * Every node holds the full member table, so memory grows as N²: sizes that would not fit in
 * this machine's memory are skipped with a note instead of swapping the host to death.
 */
import { freemem } from "node:os";
import { parseArgs } from "node:util";
import { pushPullInterval } from "../../core/gossip/pushpull.ts";
import type { MemberName } from "../../core/gossip/types.ts";
import { type ObservedEvent, SimCluster } from "../../tests/sim/gossip/cluster.ts";
import { type Bench, type BenchContext, type BenchRow, row } from "./lib/index.ts";

const SERF_REFERENCE: Record<number, number> = { 100: 2.0, 1_000: 2.2, 10_000: 2.6 };
/** Heap bytes one member entry costs in one node's table (about 175 measured at 1,000 nodes, plus margin). */
const BYTES_PER_TABLE_ENTRY = 250;
const QUORUM = 0.9999;

/** Counts, per subject, which observers reported a given change and when the quorum was reached. */
class Spread {
  private readonly seen = new Set<MemberName>();
  reachedAt: number | undefined;
  completeAt: number | undefined;

  constructor(
    private readonly subject: MemberName,
    private readonly change: ObservedEvent["change"],
    private readonly observers: number,
  ) {}

  record(event: ObservedEvent): void {
    if (event.subject !== this.subject || event.change !== this.change || this.seen.has(event.observer)) return;
    this.seen.add(event.observer);
    if (this.reachedAt === undefined && this.seen.size >= Math.ceil(QUORUM * this.observers)) this.reachedAt = event.at;
    if (this.completeAt === undefined && this.seen.size >= this.observers) this.completeAt = event.at;
  }
}

interface ScaleResult {
  nodes: number;
  bootSeconds: number;
  joinSeconds: number | undefined;
  joinAllSeconds: number | undefined;
  deathSeconds: number | undefined;
  udpBytesPerNodePerSecond: number;
  totalBytesPerNodePerSecond: number;
  wallSeconds: number;
}

function measure(count: number, seed: number, log: (line: string) => void): ScaleResult {
  const wallStart = performance.now();
  const known = new Map<MemberName, number>();
  let booted = 0;
  let spread: Spread | undefined;
  const cluster = new SimCluster({
    seed,
    recordEvents: false,
    onEvent: (event) => {
      spread?.record(event);
      if (event.change !== "join") return;
      const total = (known.get(event.observer) ?? 0) + 1;
      known.set(event.observer, total);
      if (total === count - 1) booted++;
    },
  });
  const names = Array.from({ length: count }, (_, i) => `node-${i}`);
  const seeds = names.slice(0, 3);
  for (const name of names) cluster.start(name, seeds.filter((other) => other !== name));
  if (!cluster.runUntil(() => booted === count, 600_000, 1_000)) throw new Error(`${count} nodes did not converge within 600 s`);
  const bootSeconds = cluster.clock.now() / 1000;
  log(`  ${count} nodes converged after ${bootSeconds} s simulated (${((performance.now() - wallStart) / 1000).toFixed(1)} s wall)`);
  // Let the boot's broadcasts run out so the traffic measured next is the steady state.
  cluster.runUntil(() => names.every((name) => cluster.core(name).stats().queuedBroadcasts === 0), 600_000, 1_000);
  cluster.run(10_000);

  // One full push-pull period (the nodes' push-pulls cluster in phase), so its share of traffic is counted once per node.
  const window = Math.max(60_000, pushPullInterval(cluster.configFor("node-0").pushPullInterval, count));
  cluster.packets.resetStats();
  cluster.streams.resetStats();
  cluster.run(window);
  const udp = cluster.packets.stats().bytesSent;
  const streams = cluster.streams.stats().bytesSent;
  const udpBytesPerNodePerSecond = udp / count / (window / 1000);
  const totalBytesPerNodePerSecond = (udp + streams) / count / (window / 1000);

  const newcomer = `node-${count}`;
  spread = new Spread(newcomer, "join", count);
  const joinStart = cluster.clock.now();
  cluster.start(newcomer, [names[cluster.random.int(count)] as MemberName]);
  const joining = spread;
  cluster.runUntil(() => joining.completeAt !== undefined, 120_000, 100);
  const seconds = (at: number | undefined, from: number) => (at === undefined ? undefined : (at - from) / 1000);
  const joinSeconds = seconds(joining.reachedAt, joinStart);
  const joinAllSeconds = seconds(joining.completeAt, joinStart);

  cluster.run(10_000);
  const victim = names[1 + cluster.random.int(count - 1)] as MemberName;
  spread = new Spread(victim, "dead", count);
  const deathStart = cluster.clock.now();
  cluster.crash(victim);
  const dying = spread;
  cluster.runUntil(() => dying.reachedAt !== undefined, 300_000, 100);
  return {
    nodes: count,
    bootSeconds,
    joinSeconds,
    joinAllSeconds,
    deathSeconds: seconds(dying.reachedAt, deathStart),
    udpBytesPerNodePerSecond,
    totalBytesPerNodePerSecond,
    wallSeconds: (performance.now() - wallStart) / 1000,
  };
}

function rows(result: ScaleResult): BenchRow[] {
  const label = `${result.nodes.toLocaleString("en-US")} simulated nodes, LAN defaults`;
  const serf = SERF_REFERENCE[result.nodes];
  const line = (metric: string, unit: string, shoal: number | undefined, peer?: number) =>
    row({ case: label, metric, unit, better: "lower", shoal: shoal ?? null, peer: peer ?? null, peerName: peer === undefined ? null : "serf model" });
  return [
    line("join known by 99.99%", "s", result.joinSeconds, serf),
    line("join known by all", "s", result.joinAllSeconds),
    line("death declared by 99.99%", "s", result.deathSeconds),
    line("UDP bytes per node per second (steady)", "B/s", result.udpBytesPerNodePerSecond),
    line("all bytes per node per second (steady, with push-pull)", "B/s", result.totalBytesPerNodePerSecond),
  ];
}

/** See the module comment. */
export const bench: Bench = {
  description: "simulated gossip at scale: join convergence to 99.99%, death detection, bytes per node per second (N = 100, 1,000, 10,000)",
  async run(context: BenchContext): Promise<BenchRow[]> {
    const { values } = parseArgs({ args: context.args, options: { nodes: { type: "string" }, seed: { type: "string" } } });
    const sizes = (values.nodes ?? "100,1000,10000").split(",").map((text) => Number(text));
    const seed = Number(values.seed ?? 1);
    const results: BenchRow[] = [];
    for (const count of sizes) {
      const needed = count * count * BYTES_PER_TABLE_ENTRY;
      if (needed > 0.8 * freemem()) {
        context.log(`gossip-sim: skipping ${count} nodes: about ${(needed / 2 ** 30).toFixed(1)} GiB of member tables, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`);
        continue;
      }
      context.log(`gossip-sim: ${count} nodes…`);
      const result = measure(count, seed, context.log);
      context.log(`  done in ${result.wallSeconds.toFixed(1)} s wall`);
      results.push(...rows(result));
    }
    return results;
  },
};
