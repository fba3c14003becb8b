/**
 * Gossip simulations (`npm run sim -- gossip|gossip-loss|gossip-stall`): each run boots a
 * cluster of `Membership` cores on the virtual network and throws when a guarantee breaks.
 *
 * - `simulate`: a join reaches everyone within a bound; a killed node is declared dead by every
 *   other node within the suspicion bound; a partition long enough for both sides to declare the
 *   other dead (and reap it) heals back into one view; the killed node restarts and is alive
 *   everywhere again; no node that kept running is ever declared dead outside the partition.
 * - `simulateLoss`: a long run at 10% packet loss never declares a healthy node dead.
 * - `simulateStall`: a node frozen for several probe intervals is suspected but refutes once it
 *   recovers, and nobody declares it dead (Lifeguard).
 */
import assert from "node:assert";
import type { GossipTuning } from "../../../core/gossip/config.ts";
import { pushPullInterval } from "../../../core/gossip/pushpull.ts";
import { suspicionBounds } from "../../../core/gossip/suspicion.ts";
import type { MemberName } from "../../../core/gossip/types.ts";
import type { SimulateOptions } from "../registry.ts";
import { SimCluster } from "./cluster.ts";

/** How long gossip may take to bring news of a join to 99% of the nodes. */
const JOIN_BOUND_MS = 5_000;

/** Boots `count` nodes; each joins through three seeds among the first nodes (several seeds, retried). */
export function bootCluster(seed: number, count: number, tuning: Partial<GossipTuning> = {}): { cluster: SimCluster; names: MemberName[] } {
  const cluster = new SimCluster({ seed, tuning });
  const names = Array.from({ length: count }, (_, i) => `node-${i}`);
  const seeds = names.slice(0, Math.min(3, count));
  for (const name of names) cluster.start(name, seeds.filter((other) => other !== name));
  const converged = cluster.runUntil(() => cluster.converged(names), 60_000, 250);
  assert(converged, `${count} nodes did not converge within 60 s of booting`);
  return { cluster, names };
}

/** Dead events about nodes that were running normally (not crashed, not cut off) at the time. */
function falseDeaths(cluster: SimCluster, from: number, excluded: ReadonlySet<MemberName>): string[] {
  return cluster.events
    .filter((event) => event.at >= from && event.change === "dead" && !excluded.has(event.subject))
    .map((event) => `${event.observer} declared ${event.subject} dead at ${event.at} ms`);
}

/** The default scenario; see the module comment. Returns the measured times. */
export function simulate(seed: number, options: SimulateOptions = {}) {
  const count = options.nodes ?? 50;
  const { cluster, names } = bootCluster(seed, count);
  const config = cluster.configFor(names[0] as MemberName);
  const crashed = new Set<MemberName>();

  // A newcomer joins through one seed. Gossip must bring the news to 99% of the nodes within
  // the bound; the epidemic may miss a straggler (each node misses with probability about
  // e^-retransmits), and anti-entropy must then reach it within one push-pull period.
  const newcomer = `node-${count}`;
  const joinStart = cluster.clock.now();
  cluster.start(newcomer, [names[cluster.random.int(names.length)] as MemberName]);
  const members = [...names, newcomer];
  const knowing = () => members.filter((name) => cluster.core(name).member(newcomer)?.state === "alive").length;
  assert(cluster.runUntil(() => knowing() >= Math.floor(0.99 * members.length), JOIN_BOUND_MS, 50), `newcomer not known by 99% within ${JOIN_BOUND_MS} ms`);
  const join99Ms = cluster.clock.now() - joinStart;
  const joinAllBound = pushPullInterval(config.pushPullInterval, members.length) + JOIN_BOUND_MS;
  assert(cluster.runUntil(() => knowing() === members.length, joinAllBound, 50), `newcomer not known by all within ${joinAllBound} ms`);
  const joinMs = cluster.clock.now() - joinStart;

  // A node dies without a word: everyone must declare it dead within the suspicion bound.
  cluster.run(5_000);
  const victim = members[1 + cluster.random.int(members.length - 1)] as MemberName;
  crashed.add(victim);
  cluster.crash(victim);
  const survivors = members.filter((name) => name !== victim);
  const bounds = suspicionBounds(config.suspicionMult, config.suspicionMaxTimeoutMult, members.length, config.probeInterval);
  const deathBound = bounds.max + 5 * config.probeInterval;
  const deathStart = cluster.clock.now();
  assert(cluster.runUntil(() => cluster.allSee(survivors, victim, ["dead"]), deathBound, 100), `${victim} not declared dead by all within ${deathBound} ms`);
  const deathMs = cluster.clock.now() - deathStart;
  const steadyUntil = cluster.clock.now();
  const early = falseDeaths(cluster, 0, crashed);
  assert(early.length === 0, `healthy nodes declared dead: ${early.slice(0, 3).join("; ")}`);

  // Split in two for longer than suspicion + gossip-to-the-dead: each side reaps the other.
  const half = Math.floor(survivors.length / 2);
  const sides = [survivors.slice(0, half), survivors.slice(half)];
  cluster.partition([...sides, [victim]]);
  const separated = cluster.runUntil(() => sides.every((side) => cluster.converged(side)), 5 * 60_000, 1_000);
  assert(separated, "the two sides of the partition never settled into separate views");
  cluster.run(config.gossipToTheDeadTime + 10_000);
  cluster.heal();
  const healStart = cluster.clock.now();
  const healBound = 3 * config.reconnectInterval;
  assert(cluster.runUntil(() => cluster.converged(survivors), healBound, 500), `partition did not heal into one view within ${healBound} ms`);
  const healMs = cluster.clock.now() - healStart;

  // The dead node comes back as a fresh process: everyone must see it alive again.
  crashed.delete(victim);
  const restartStart = cluster.clock.now();
  cluster.start(victim, [survivors[0] as MemberName, survivors[half] as MemberName]);
  assert(cluster.runUntil(() => cluster.converged(members), 30_000, 100), `${victim} not alive everywhere within 30 s of restarting`);
  const restartMs = cluster.clock.now() - restartStart;
  cluster.run(20_000);

  const late = falseDeaths(cluster, cluster.clock.now() - 20_000, new Set());
  assert(late.length === 0, `healthy nodes declared dead after the heal: ${late.slice(0, 3).join("; ")}`);
  assert(cluster.decodeErrors === 0, `${cluster.decodeErrors} packets between honest nodes failed to decode`);
  return { nodes: members.length, join99Ms, joinMs, deathMs, healMs, restartMs, steadyUntilMs: steadyUntil };
}

/** 10% loss on every UDP packet for `durationMs`: no healthy node may ever be declared dead. */
export function simulateLoss(seed: number, options: SimulateOptions & { durationMs?: number; tcpFallbackProbe?: boolean } = {}) {
  const count = options.nodes ?? 30;
  const { cluster, names } = bootCluster(seed, count, { tcpFallbackProbe: options.tcpFallbackProbe ?? true });
  cluster.packets.setLoss(0.1);
  const start = cluster.clock.now();
  cluster.run(options.durationMs ?? 10 * 60_000);
  const deaths = falseDeaths(cluster, start, new Set());
  assert(deaths.length === 0, `false positives at 10% loss: ${deaths.slice(0, 3).join("; ")}`);
  const suspicions = cluster.events.filter((event) => event.at >= start && event.change === "suspect").length;
  const lost = names.filter((observer) => cluster.core(observer).liveCount() !== names.length);
  assert(lost.length === 0, `at 10% loss ${lost.join(", ")} lost sight of members`);
  return { nodes: count, durationMs: cluster.clock.now() - start, suspicions, falsePositives: deaths.length };
}

/** A node stalls for `stallMs` (default 5 probe intervals): it must not be declared dead. */
export function simulateStall(seed: number, options: SimulateOptions & { stallMs?: number } = {}) {
  const count = options.nodes ?? 30;
  const { cluster, names } = bootCluster(seed, count);
  const config = cluster.configFor(names[0] as MemberName);
  const sleeper = names[1 + cluster.random.int(names.length - 1)] as MemberName;
  const stallMs = options.stallMs ?? 5 * config.probeInterval;
  const start = cluster.clock.now();
  const incarnation = cluster.core(sleeper).member(sleeper)?.incarnation ?? 0;
  cluster.stall(sleeper, stallMs);
  cluster.run(stallMs);
  assert(cluster.runUntil(() => cluster.converged(names), 60_000, 100), `cluster did not settle after ${sleeper} recovered`);
  cluster.run(30_000);
  const deaths = falseDeaths(cluster, start, new Set());
  assert(deaths.length === 0, `a stalled node was declared dead: ${deaths.slice(0, 3).join("; ")}`);
  const suspected = cluster.events.filter((event) => event.at >= start && event.change === "suspect" && event.subject === sleeper).length;
  const refutedTo = cluster.core(sleeper).member(sleeper)?.incarnation ?? 0;
  return { nodes: count, stallMs, suspectEvents: suspected, incarnationBefore: incarnation, incarnationAfter: refutedTo };
}
