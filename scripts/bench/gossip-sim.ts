/**
 * `npm run bench -- gossip-sim [--nodes 100,1000,5000,10000] [--seed S] [--wave W] [--heap]`
 *
 * Shoal's membership core at simulated scale, alone (no peer runs at these sizes): N cores on the
 * virtual network with LAN defaults and 1–5 ms links. For each N: the time for a join to be known
 * by 99.99% of the nodes, the time for a killed node to be declared dead by 99.99% of the
 * survivors, and bytes sent per node per second at steady state (UDP packets and push-pull
 * streams), plus what the run cost this machine (peak resident memory, wall time). Serf's
 * convergence model with LAN defaults, for reference: 99.99% in about 2.0 s at 100 nodes, 2.2 s
 * at 1,000 and 2.6 s at 10,000.
 *
 * Every node holds the full member table, so memory grows as N². Booting grows it further for a
 * while: each node queues an alive broadcast for every member it learns, and in a large cluster a
 * queue takes minutes of simulated time to drain. So the cluster boots in waves of at most
 * `--wave` nodes (default 250), each starting once the previous ones know each other and their
 * queues are mostly drained; the measurements start after the boot, from a cluster whose queues
 * are empty. Sizes that would not fit in available memory are skipped with a note instead of
 * swapping the host to death: 10,000 nodes needs about 45 GB (see `PEAK_BYTES_PER_PAIR`), and
 * its boot alone is 2·10⁹ alive messages received (every node retransmits every member 20 times).
 * `--heap` prints what the live heap holds per (node, member) pair after the boot and once the
 * queues are empty.
 */
import { heapStats } from "bun:jsc";
import { freemem } from "node:os";
import { parseArgs } from "node:util";
import { pushPullInterval } from "../../core/gossip/pushpull.ts";
import type { MemberName } from "../../core/gossip/types.ts";
import { type ObservedEvent, SimCluster } from "../../tests/sim/gossip/cluster.ts";
import { type Bench, type BenchContext, type BenchRow, integerFlag, integerListFlag, row, toMB } from "./lib/index.ts";

const SERF_REFERENCE: Record<number, number> = { 100: 2.0, 1_000: 2.2, 10_000: 2.6 };
/**
 * Peak resident bytes per (node, member) pair, measured: 10.9 GB at 5,000 nodes booted in waves
 * of 250 (436 bytes), plus a margin. Live, a pair is a member record (64 bytes), its entry in the
 * table's Map (65 to 130 bytes depending on how full the hash table is) and a probe-order slot
 * (8); the boot's broadcast queues and the collector's headroom over the live heap make up the
 * rest.
 */
const PEAK_BYTES_PER_PAIR = 450;
const QUORUM = 0.9999;
/**
 * How often memory and boot progress are checked, in simulated ms. Finer checks collect sooner
 * and so keep the peak heap lower, at the cost of more wall time.
 */
const CHECK_MS = 250;
/** See `MemoryWatch`. */
const COLLECT_AFTER_GROWTH = 1.02;

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
  peakResidentBytes: number;
  wallSeconds: number;
}

/**
 * Records the peak resident set and keeps it near the live heap. A simulation makes garbage fast
 * (every packet it decodes), and JavaScriptCore's collector, which never moves objects, lets the
 * heap grow to several times the live data before it collects; the pages then stay resident. A
 * full collection whenever the resident set has grown by `COLLECT_AFTER_GROWTH` since the last
 * one holds it near the live data instead, at little cost while the heap is a few GB.
 */
class MemoryWatch {
  peakBytes = 0;
  private residentAfterCollection = 0;

  /** Samples the resident set (collecting first if it grew too much) and returns it. */
  check(): number {
    let resident = process.memoryUsage.rss();
    if (resident > COLLECT_AFTER_GROWTH * this.residentAfterCollection) {
      Bun.gc(true);
      resident = process.memoryUsage.rss();
      this.residentAfterCollection = resident;
    }
    this.peakBytes = Math.max(this.peakBytes, resident);
    return resident;
  }
}

/** A cluster whose virtual time only moves in steps that check memory. */
class WatchedRun {
  constructor(
    readonly cluster: SimCluster,
    readonly memory: MemoryWatch,
  ) {}

  /** Like `SimCluster.runUntil`, checking memory at every step. */
  until(predicate: () => boolean, maxMs: number, stepMs = CHECK_MS): boolean {
    return this.cluster.runUntil(() => {
      this.memory.check();
      return predicate();
    }, maxMs, stepMs);
  }

  /** Lets `ms` of virtual time pass. */
  run(ms: number): void {
    this.until(() => false, ms);
  }
}

/** Live heap per (node, member) pair after a full collection, and the object types that make it up. */
function heapPerPair(count: number): string {
  Bun.gc(true);
  const stats = heapStats();
  const pairs = count * count;
  const types = Object.entries(stats.objectTypeCounts)
    .filter(([, objects]) => objects >= pairs / 20)
    .sort((a, b) => b[1] - a[1])
    .map(([type, objects]) => `${type} ${(objects / pairs).toFixed(2)}`);
  return `${((stats.heapSize + stats.extraMemorySize) / pairs).toFixed(0)} bytes of live heap per (node, member) pair; objects per pair: ${types.join(", ")}`;
}

const gigabytes = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;

/**
 * Starts `names` in waves of `waveSize`: the first wave joins through the first three nodes, each
 * later node through one random node already running. A wave starts once every running node
 * knows every other and the queued broadcasts are down to about one per node of the last wave
 * (the boot's transient memory stays near 2 × waveSize × N entries instead of N²).
 */
function bootInWaves(run: WatchedRun, names: readonly MemberName[], waveSize: number, known: Map<MemberName, number>, log: (line: string) => void): void {
  const { cluster } = run;
  const wallStart = performance.now();
  const running: MemberName[] = [];
  const queued = () => running.reduce((sum, name) => sum + cluster.core(name).stats().queuedBroadcasts, 0);
  for (let start = 0; start < names.length; start += waveSize) {
    const wave = names.slice(start, start + waveSize);
    for (const name of wave) {
      const seeds = start === 0 ? names.slice(0, 3).filter((other) => other !== name) : [running[cluster.random.int(start)] as MemberName];
      cluster.start(name, seeds);
    }
    running.push(...wave);
    const settled = () => running.every((name) => known.get(name) === running.length - 1) && (running.length === names.length || queued() <= wave.length * running.length);
    if (!run.until(settled, 900_000)) throw new Error(`${running.length} nodes did not converge within 900 s of their wave starting`);
    const wall = ((performance.now() - wallStart) / 1000).toFixed(1);
    log(`  ${running.length.toLocaleString("en-US")} nodes know each other at ${cluster.clock.now() / 1000} s simulated (${wall} s wall, ${gigabytes(run.memory.check())} resident)`);
  }
}

/** How one size is run. */
interface MeasureOptions {
  seed: number;
  waveSize: number;
  /** Print the live heap per pair after the boot and after the queues drain. */
  heap: boolean;
}

function measure(count: number, options: MeasureOptions, log: (line: string) => void): ScaleResult {
  const { seed, waveSize } = options;
  const wallStart = performance.now();
  const known = new Map<MemberName, number>();
  let spread: Spread | undefined;
  const cluster = new SimCluster({
    seed,
    recordEvents: false,
    onEvent: (event) => {
      spread?.record(event);
      if (event.change === "join") known.set(event.observer, (known.get(event.observer) ?? 0) + 1);
    },
  });
  const run = new WatchedRun(cluster, new MemoryWatch());
  const names = Array.from({ length: count }, (_, i) => `node-${i}`);
  bootInWaves(run, names, waveSize, known, log);
  const bootSeconds = cluster.clock.now() / 1000;
  if (options.heap) log(`  after the boot: ${heapPerPair(count)}`);
  // Let the boot's broadcasts run out so the traffic measured next is the steady state.
  run.until(() => names.every((name) => cluster.core(name).stats().queuedBroadcasts === 0), 600_000);
  log(`  broadcast queues empty at ${cluster.clock.now() / 1000} s simulated (${((performance.now() - wallStart) / 1000).toFixed(1)} s wall)`);
  if (options.heap) log(`  queues empty: ${heapPerPair(count)}`);
  run.run(10_000);

  // One full push-pull period (the nodes' push-pulls cluster in phase), so its share of traffic is counted once per node.
  const window = Math.max(60_000, pushPullInterval(cluster.configFor("node-0").pushPullInterval, count));
  cluster.packets.resetStats();
  cluster.streams.resetStats();
  run.run(window);
  const udp = cluster.packets.stats().bytesSent;
  const streams = cluster.streams.stats().bytesSent;
  const udpBytesPerNodePerSecond = udp / count / (window / 1000);
  const totalBytesPerNodePerSecond = (udp + streams) / count / (window / 1000);

  const newcomer = `node-${count}`;
  spread = new Spread(newcomer, "join", count);
  const joinStart = cluster.clock.now();
  cluster.start(newcomer, [names[cluster.random.int(count)] as MemberName]);
  const joining = spread;
  run.until(() => joining.completeAt !== undefined, 120_000, 100);
  const seconds = (at: number | undefined, from: number) => (at === undefined ? undefined : (at - from) / 1000);
  const joinSeconds = seconds(joining.reachedAt, joinStart);
  const joinAllSeconds = seconds(joining.completeAt, joinStart);

  run.run(10_000);
  const victim = names[1 + cluster.random.int(count - 1)] as MemberName;
  spread = new Spread(victim, "dead", count);
  const deathStart = cluster.clock.now();
  cluster.crash(victim);
  const dying = spread;
  run.until(() => dying.reachedAt !== undefined, 300_000, 100);
  return {
    nodes: count,
    bootSeconds,
    joinSeconds,
    joinAllSeconds,
    deathSeconds: seconds(dying.reachedAt, deathStart),
    udpBytesPerNodePerSecond,
    totalBytesPerNodePerSecond,
    peakResidentBytes: run.memory.peakBytes,
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
    line("peak resident memory of the simulation (all nodes)", "MB", toMB(result.peakResidentBytes)),
    line("wall time of the run", "s", result.wallSeconds),
  ];
}

/** See the module comment. */
export const bench: Bench = {
  description: "simulated gossip at scale: join convergence to 99.99%, death detection, bytes per node per second, memory and wall time (N = 100, 1,000, 5,000, 10,000 as memory allows)",
  async run(context: BenchContext): Promise<BenchRow[]> {
    const { values } = parseArgs({ args: context.args, options: { nodes: { type: "string" }, seed: { type: "string" }, wave: { type: "string" }, heap: { type: "boolean" } } });
    const sizes = integerListFlag("nodes", values.nodes, [100, 1000, 5000, 10000], 2);
    const options: MeasureOptions = { seed: integerFlag("seed", values.seed, 1, 0), waveSize: integerFlag("wave", values.wave, 250), heap: values.heap ?? false };
    const results: BenchRow[] = [];
    for (const count of sizes) {
      const needed = count * count * PEAK_BYTES_PER_PAIR;
      // What this process already holds (the previous size's heap) is reusable for the next.
      const available = freemem() + process.memoryUsage.rss();
      if (needed > 0.8 * available) {
        context.log(`gossip-sim: skipping ${count} nodes: about ${gigabytes(needed)} at ${PEAK_BYTES_PER_PAIR} bytes per (node, member) pair, ${gigabytes(available)} available`);
        continue;
      }
      context.log(`gossip-sim: ${count} nodes…`);
      const result = measure(count, options, context.log);
      context.log(`  done in ${result.wallSeconds.toFixed(1)} s wall`);
      results.push(...rows(result));
    }
    return results;
  },
};
