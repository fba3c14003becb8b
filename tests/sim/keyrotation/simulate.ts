/**
 * Gossip key rotation in simulation (`npm run sim -- keyrotation`): three managers and several
 * workers over nine accelerated rotation intervals (one every 2 virtual minutes), with session
 * messages lost, repeated and reordered, workers offline across one, two and three or more
 * rotations, a manager offline across a rotation, leaders stepping down at random and right
 * before scheduled rotations, and sometimes a manual rotation (at times right after a scheduled
 * one, so it must wait for the install grace).
 *
 * Checked throughout: every probe a synced node seals opens at every other synced node (zero
 * unknown-key drops), a node that catches up can gossip at once both ways, and the schedule and
 * key history hold (see audit.ts). At the end: the rotation count matches the elapsed time over
 * the interval within one, every node holds the current keyring, and all managers agree.
 */
import assert from "node:assert";
import { keyRotationConfig } from "../../../core/cluster/keyrotation/config.ts";
import { encodeKeyState } from "../../../core/cluster/keyrotation/codec.ts";
import { keyVersion } from "../../../core/cluster/keyrotation/state.ts";
import { type Random, SeededRandom, totalDropped } from "../../kit/index.ts";
import type { SimulateOptions } from "../registry.ts";
import { RotationAudit } from "./audit.ts";
import { type ClusterSettings, COMMIT_TIMING, KeyRotationCluster } from "./cluster.ts";

const INTERVAL_MS = 120_000;
const RUN_MS = 9 * INTERVAL_MS;
const SETTLE_MS = 60_000;
const MAX_LATENESS_MS = 30_000;
const MANAGERS = 3;

/** What one run did. */
export interface KeyRotationRunSummary {
  nodes: number;
  rotations: number;
  expectedRotations: number;
  manualRotations: number;
  elections: number;
  probesOpened: number;
  returnChecks: number;
  slowestCatchUpMs: number;
  keyringsSent: number;
  keyringsInstalled: number;
  sessionMessagesLost: number;
}

/** One run; throws when a check fails. `options.nodes` is the cluster size (default 8, at least 6). */
export function simulate(seed: number, options: SimulateOptions = {}): KeyRotationRunSummary {
  const nodeCount = options.nodes ?? 8;
  if (!Number.isInteger(nodeCount) || nodeCount < MANAGERS + 3) throw new RangeError(`keyrotation simulation needs at least ${MANAGERS + 3} nodes, got ${nodeCount}`);
  const random = new SeededRandom(seed);
  const settings: ClusterSettings = {
    managers: MANAGERS,
    workers: nodeCount - MANAGERS,
    config: keyRotationConfig({ rotationInterval: INTERVAL_MS, installGrace: 20_000, proposalRetry: 10_000, distributionRetry: 2_000 }),
    tickMs: 250,
    helloRetryMs: 1_000,
    failover: { minMs: 1_000, maxMs: 8_000 },
    sessionTimeoutMs: 15_000,
    election: { minMs: 300, maxMs: 5_000 },
    loss: 0.1,
    duplication: 0.05,
    reorder: 0.1,
  };
  const cluster = new KeyRotationCluster(random.fork(), settings);
  const audit = new RotationAudit(settings.config, MAX_LATENESS_MS, COMMIT_TIMING.commitMaxMs);
  cluster.log.onCommit((entry) => audit.observe(entry));
  const faults = random.fork();
  cluster.start();
  planOutages(cluster, faults);
  planLeaderChanges(cluster, audit, faults);
  if (faults.chance(0.5)) planManualRotation(cluster, audit, faults);

  cluster.clock.advance(RUN_MS);
  for (const id of cluster.nodes.keys()) cluster.bringOnline(id);
  const settled = () => [...cluster.nodes.values()].every((node) => node.synced && node.receiver.version() === keyVersion(audit.state));
  assert(cluster.clock.runUntil(settled, SETTLE_MS, 1_000), `nodes did not all reach keyring version ${keyVersion(audit.state)} within ${SETTLE_MS} ms of the faults ending`);

  const end = cluster.clock.now();
  const expectedRotations = audit.expectedRotations(end);
  assert(Math.abs(audit.rotations.length - expectedRotations) <= 1, `${audit.rotations.length} rotations in ${end} ms, the schedule calls for ${expectedRotations}`);
  const reference = Buffer.from(encodeKeyState(audit.state));
  for (const id of cluster.managerIds) {
    assert(reference.equals(encodeKeyState(cluster.managerOf(id).keys.state())), `${id}'s key state differs from the log's`);
  }
  return {
    nodes: nodeCount,
    rotations: audit.rotations.length,
    expectedRotations,
    manualRotations: audit.rotations.filter((rotation) => rotation.manual).length,
    elections: cluster.counters.elections,
    probesOpened: cluster.counters.probesOpened,
    returnChecks: cluster.counters.returnChecks,
    slowestCatchUpMs: cluster.counters.slowestCatchUpMs,
    keyringsSent: cluster.counters.keyringsSent,
    keyringsInstalled: cluster.counters.installs,
    sessionMessagesLost: totalDropped(cluster.net.stats()),
  };
}

/** Workers offline across about 1, 2 and 3.5 intervals, short outages elsewhere, one manager down for a while. */
function planOutages(cluster: KeyRotationCluster, random: Random): void {
  const outage = (id: string, startMs: number, lengthMs: number) => {
    cluster.clock.setTimer(startMs, () => cluster.takeOffline(id));
    cluster.clock.setTimer(startMs + lengthMs, () => cluster.bringOnline(id));
  };
  const longSpans = [1.2, 2.3, 3.6];
  for (const [index, id] of cluster.workerIds.entries()) {
    const span = longSpans[index];
    if (span !== undefined) {
      const lengthMs = Math.round((span + random.next() * 0.3) * INTERVAL_MS);
      outage(id, random.between(0.3 * INTERVAL_MS, RUN_MS - lengthMs - 0.2 * INTERVAL_MS), lengthMs);
    } else {
      for (let k = 0; k < 2; k++) outage(id, random.between(10_000, RUN_MS - 60_000), random.between(5_000, 60_000));
    }
  }
  const manager = cluster.managerIds[random.int(cluster.managerIds.length)] as string;
  outage(manager, random.between(INTERVAL_MS, 6 * INTERVAL_MS), random.between(0.4 * INTERVAL_MS, 1.6 * INTERVAL_MS));
}

/** Leaders step down at random, and often just before a scheduled rotation is due. */
function planLeaderChanges(cluster: KeyRotationCluster, audit: RotationAudit, random: Random): void {
  for (let at = random.between(20_000, 150_000); at < RUN_MS; at += random.between(20_000, 150_000)) {
    cluster.clock.setTimer(at, () => cluster.stepDown());
  }
  let plannedFor = 0;
  cluster.log.onCommit(() => {
    const due = audit.state.nextRotationAt;
    if (due === plannedFor || due >= RUN_MS) return;
    plannedFor = due;
    if (random.chance(0.6)) cluster.clock.setTimer(due - cluster.clock.now() - random.between(0, 3_000), () => cluster.stepDown());
  });
}

/** One `shoal key rotate`, sometimes right after a scheduled rotation; asked again if the request was lost. */
function planManualRotation(cluster: KeyRotationCluster, audit: RotationAudit, random: Random): void {
  let request: { version: number; rotatesAt: number } | undefined;
  const attempt = () => {
    if ((request && keyVersion(audit.state) > request.version) || cluster.clock.now() > RUN_MS - INTERVAL_MS) return;
    const leader = cluster.log.leader();
    // A request that reached the log holds the next slot at or before its time.
    const inLog = request !== undefined && audit.state.nextRotationAt <= request.rotatesAt;
    if (leader !== undefined && !inLog) {
      const { proposals, rotatesAt } = cluster.managerOf(leader).keys.rotateNow(cluster.clock.now());
      for (const proposal of proposals) cluster.log.propose(leader, proposal);
      request = { version: request?.version ?? keyVersion(audit.state), rotatesAt };
    }
    cluster.clock.setTimer(1_000, attempt);
  };
  if (random.chance(0.5)) return void cluster.clock.setTimer(random.between(2 * INTERVAL_MS, 7 * INTERVAL_MS), attempt);
  // Seconds after the third scheduled rotation: the newest key is too young, so the rotation must wait.
  let armed = false;
  cluster.log.onCommit(() => {
    if (armed || audit.rotations.length < 3) return;
    armed = true;
    cluster.clock.setTimer(random.between(0, 5_000), attempt);
  });
}
