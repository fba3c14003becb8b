/**
 * Raft: three Shoal raft nodes (real processes compiled with the shipped binary's flags, loopback,
 * fsync, the KV state machine behind its HTTP front) against three etcd members (Debian's
 * etcd-server) in the same run.
 *
 * Writes: one closed-loop load generator (Bun fetch, keep-alive) sends 256-byte values to each
 * system's leader — Shoal's `PUT /kv/:key`, etcd's JSON gateway `POST /v3/kv/put` — at 1, 16,
 * 64 and 256 concurrent clients; rows give writes/s and p50/p99 latency. The two systems take
 * turns level by level, in alternating order over `--rounds`, so background load on a shared
 * machine does not favour whichever runs first.
 * Failover: kill -9 the leader, then start a write to a surviving member every 10 ms until one
 * succeeds; the time from the kill to that success, median of N rounds (the killed member is
 * restarted and the cluster settles between rounds). Both systems run their default election
 * settings (Shoal: 100 ms tick, 5-tick election timeout randomized to 0.5–1 s; etcd: 100 ms
 * heartbeat, 1 s election timeout randomized to 1–2 s).
 *
 * Flags: `--seconds S` per concurrency level and system, split over `--rounds R` (defaults 6
 * and 2), `--warmup-seconds W` of unmeasured load at 64 clients for each system first (default
 * 5), `--failovers N` (default 10), `--clients 1,16,64,256`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "../build.ts";
import { ensureCommand, integerFlag, integerListFlag, median, percentile, row, type Bench, type BenchContext, type BenchRow } from "./lib/index.ts";
import { nodeProgram, RaftCluster } from "./raft/cluster.ts";
import { EtcdCluster, etcdPutBody } from "./raft/etcd-cluster.ts";

const VALUE = new Uint8Array(256).fill(0x61);

/** One system under test, as the load generator sees it. */
interface System {
  name: string;
  /** The current leader's client URL. */
  leaderUrl(): Promise<string>;
  /** Client URLs of the running members. */
  liveUrls(): string[];
  /** One write; true when it was acknowledged. */
  put(url: string, key: string): Promise<boolean>;
  /** SIGKILLs the leader. */
  killLeader(): Promise<void>;
  /** Restarts what `killLeader` killed and waits until the cluster is whole again. */
  heal(): Promise<void>;
}

async function ok(response: Promise<Response>): Promise<boolean> {
  try {
    const answer = await response;
    await answer.arrayBuffer();
    return answer.ok;
  } catch {
    return false;
  }
}

function shoalSystem(cluster: RaftCluster): System {
  let killed: string | undefined;
  return {
    name: "shoal",
    leaderUrl: async () => cluster.get(await cluster.leader()).url,
    liveUrls: () => [...cluster.nodes.values()].filter((node) => node.process).map((node) => node.url),
    put: (url, key) => ok(fetch(`${url}/kv/${key}`, { method: "PUT", body: VALUE, signal: AbortSignal.timeout(10_000) })),
    async killLeader() {
      killed = await cluster.leader();
      await cluster.kill(killed);
    },
    async heal() {
      if (killed) cluster.restart(killed);
      await cluster.leader(30_000);
    },
  };
}

function etcdSystem(cluster: EtcdCluster): System {
  let killed: (typeof cluster.members)[number] | undefined;
  return {
    name: "etcd",
    leaderUrl: async () => (await cluster.leader()).url,
    liveUrls: () => cluster.members.filter((member) => member.process).map((member) => member.url),
    put: (url, key) => ok(fetch(`${url}/v3/kv/put`, { method: "POST", body: etcdPutBody(key, VALUE), headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(10_000) })),
    async killLeader() {
      killed = await cluster.leader();
      await cluster.kill(killed);
    },
    async heal() {
      if (killed) await cluster.restart(killed);
      await cluster.leader(30_000);
    },
  };
}

/** Acknowledged-write latencies of one or more load runs, and how long they ran. */
interface LoadSample {
  latencies: number[];
  seconds: number;
  errors: number;
}

/** Closed loop: `clients` concurrent writers, each sending its next write when the last one is acknowledged. */
async function closedLoop(system: System, url: string, clients: number, durationMs: number, tag: string): Promise<LoadSample> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const sent = performance.now();
      if (await system.put(url, `${tag}-${client}-${i}`)) latencies.push(performance.now() - sent);
      else errors++;
    }
  }));
  return { latencies, seconds: (performance.now() - started) / 1000, errors };
}

function merge(a: LoadSample | undefined, b: LoadSample): LoadSample {
  if (!a) return b;
  return { latencies: a.latencies.concat(b.latencies), seconds: a.seconds + b.seconds, errors: a.errors + b.errors };
}

/** Throughput and latency percentiles of a sample. */
function loadFigures(sample: LoadSample): { throughput: number; p50: number; p99: number } {
  return { throughput: sample.latencies.length / sample.seconds, p50: percentile(sample.latencies, 50), p99: percentile(sample.latencies, 99) };
}

function describeSample(sample: LoadSample): string {
  const { throughput, p50, p99 } = loadFigures(sample);
  return `${Math.round(throughput)} writes/s, p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, ${sample.errors} errors`;
}

/** Kills the leader and measures until a write to a surviving member succeeds. */
async function failoverOnce(system: System, round: number): Promise<number> {
  await system.killLeader();
  const killedAt = performance.now();
  const survivors = system.liveUrls();
  const recovered = await new Promise<number>((resolve) => {
    let done = false;
    let attempt = 0;
    const probe = setInterval(() => {
      if (done) return;
      const url = survivors[attempt % survivors.length] as string;
      void system.put(url, `failover-${round}-${attempt++}`).then((success) => {
        if (success && !done) {
          done = true;
          clearInterval(probe);
          resolve(performance.now() - killedAt);
        }
      });
    }, 10);
  });
  await system.heal();
  return recovered;
}

/**
 * Runs every concurrency level on every system, interleaved (A B, then B A, per round), so
 * background load on a shared machine falls on both alike; samples of a level are merged.
 */
async function measureLoad(systems: System[], levels: number[], seconds: number, rounds: number, warmupSeconds: number, log: BenchContext["log"]) {
  const samples = new Map<string, LoadSample>();
  const leaders = new Map<string, string>();
  // The same unmeasured load for both first: Shoal's JIT compiles its write path under load,
  // and the first second of a cold process is not the steady state either system is judged on.
  for (const system of systems) {
    leaders.set(system.name, await system.leaderUrl());
    await closedLoop(system, leaders.get(system.name) as string, 64, warmupSeconds * 1000, `${system.name}-warmup`);
  }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? systems : [...systems].reverse();
    for (const clients of levels) {
      for (const system of order) {
        const sample = await closedLoop(system, leaders.get(system.name) as string, clients, (seconds * 1000) / rounds, `${system.name}-r${round}-c${clients}`);
        log(`${system.name} ${clients} clients, round ${round + 1}/${rounds}: ${describeSample(sample)}`);
        samples.set(`${system.name}/${clients}`, merge(samples.get(`${system.name}/${clients}`), sample));
      }
    }
  }
  return samples;
}

async function measureFailover(system: System, failovers: number, log: BenchContext["log"]): Promise<number[]> {
  const failoverMs: number[] = [];
  for (let round = 0; round < failovers; round++) {
    failoverMs.push(await failoverOnce(system, round));
    log(`${system.name} failover ${round + 1}/${failovers}: ${Math.round(failoverMs.at(-1) as number)} ms`);
  }
  return failoverMs;
}

/** The raft benchmark. */
export const bench: Bench = {
  description: "Shoal raft (3 processes, fsync, KV over HTTP) vs etcd 3-member cluster: writes/s, p50/p99 at 1-256 clients, leader failover",
  async run({ args, log }) {
    const { values } = parseArgs({
      args,
      options: {
        seconds: { type: "string" },
        rounds: { type: "string" },
        "warmup-seconds": { type: "string" },
        failovers: { type: "string" },
        clients: { type: "string" },
      },
      allowPositionals: true,
      strict: false,
    });
    const flag = (name: string) => values[name] as string | undefined;
    const seconds = integerFlag("seconds", flag("seconds"), 6);
    const failovers = integerFlag("failovers", flag("failovers"), 10);
    const rounds = integerFlag("rounds", flag("rounds"), 2);
    const warmupSeconds = integerFlag("warmup-seconds", flag("warmup-seconds"), 5, 0);
    const levels = integerListFlag("clients", flag("clients"), [1, 16, 64, 256]);

    const etcdBinary = ensureCommand("etcd", "etcd-server", log);
    // Compiled with the shipped binary's flags (its JIT policy among them), as etcd is a compiled program too.
    const workDir = mkdtempSync(join(tmpdir(), "shoal-bench-"));
    const nodeBinary = join(workDir, "shoal-raft-node");
    const shoal = new RaftCluster({ size: 3, command: [nodeBinary] });
    const etcd = etcdBinary ? new EtcdCluster(etcdBinary) : undefined;
    try {
      build({ entry: nodeProgram, outfile: nodeBinary, report: false });
      await shoal.start();
      await etcd?.start();
      const ours = shoalSystem(shoal);
      const theirs = etcd ? etcdSystem(etcd) : undefined;
      log("both clusters up; measuring writes (interleaved), then failovers");
      const load = await measureLoad(theirs ? [ours, theirs] : [ours], levels, seconds, rounds, warmupSeconds, log);
      const ourFailovers = await measureFailover(ours, failovers, log);
      const theirFailovers = theirs ? await measureFailover(theirs, failovers, log) : undefined;
      const rows: BenchRow[] = [];
      const peerName = etcd ? "etcd 3.4 (etcd-server)" : null;
      for (const clients of levels) {
        const a = load.get(`shoal/${clients}`) as LoadSample;
        const b = load.get(`etcd/${clients}`);
        const scenario = `3 nodes, ${clients} client${clients === 1 ? "" : "s"}, 256 B puts`;
        const [x, y] = [loadFigures(a), b && loadFigures(b)];
        rows.push(row({ case: scenario, metric: "throughput", unit: "writes/s", better: "higher", shoal: x.throughput, peer: y?.throughput ?? null, peerName }));
        rows.push(row({ case: scenario, metric: "latency p50", unit: "ms", better: "lower", shoal: x.p50, peer: y?.p50 ?? null, peerName }));
        rows.push(row({ case: scenario, metric: "latency p99", unit: "ms", better: "lower", shoal: x.p99, peer: y?.p99 ?? null, peerName }));
      }
      const failoverCase = `kill -9 leader, default election settings, median of ${failovers}`;
      rows.push(row({ case: failoverCase, metric: "time to first successful write", unit: "ms", better: "lower", shoal: median(ourFailovers), peer: theirFailovers ? median(theirFailovers) : null, peerName }));
      rows.push(row({ case: failoverCase, metric: "worst round", unit: "ms", better: "lower", shoal: Math.max(...ourFailovers), peer: theirFailovers ? Math.max(...theirFailovers) : null, peerName }));
      return rows;
    } finally {
      await shoal.stop();
      await etcd?.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
