/**
 * Dispatcher sessions in simulation (`npm run sim -- dispatcher`): three managers and several
 * workers with the default heartbeat timing (5 s period, down after 3 missed), over ten virtual
 * minutes with gossip keys rotating every minute. The plan, with a seed-chosen victim each time:
 *
 *   60 s   a worker is killed (its connections reset)           -> recorded `down` in time
 *   120 s  it restarts                                           -> `ready` again in time
 *   180 s  a manager is killed, maybe the leader                 -> its nodes fail over, none `down`
 *   250 s  the manager restarts
 *   300 s  a worker is cut off from everyone for 40 s            -> `down`, then `ready` after the cut
 *   400 s  a worker and its manager lose power together (no reset) -> the worker `down` in time
 *   470 s  both come back
 *
 * Checked: each deadline above; no node that was never disturbed is ever recorded `down`; at the
 * end every node is `ready` with an open session and holds the current keyring.
 */
import assert from "node:assert";
import { dispatcherConfig, sessionTimeout } from "../../../core/cluster/dispatcher/index.ts";
import { SeededRandom } from "../../kit/index.ts";
import type { SimulateOptions } from "../registry.ts";
import { DispatcherCluster } from "./cluster.ts";

const MANAGERS = 3;
/** The default timing, which the deadlines below are derived from. */
const CONFIG = dispatcherConfig();
/** A killed worker is `down` within this of its death: the missed heartbeats plus one period of slack. */
const DOWN_WITHIN_MS = sessionTimeout(CONFIG.heartbeatPeriod, CONFIG) + CONFIG.heartbeatPeriod;
/** With its manager dead too, the leader's orphan watch also waits `orphanGrace`. */
const ORPHAN_DOWN_WITHIN_MS = DOWN_WITHIN_MS + CONFIG.orphanGrace + 2_000;
/** A node back on the network is `ready` within this. */
const READY_WITHIN_MS = 12_000;
const END_MS = 600_000;

/** What one run did. */
export interface DispatcherRunSummary {
  nodes: number;
  killedDownAfterMs: number;
  restartedReadyAfterMs: number;
  cutOffDownAfterMs: number;
  healedReadyAfterMs: number;
  orphanDownAfterMs: number;
  keyVersion: number;
  proposals: number;
  proposalsLost: number;
  connectionsLost: number;
  keyringsInstalled: number;
}

/** One run; throws when a check fails. `options.nodes` is the cluster size (default 8). */
export function simulate(seed: number, options: SimulateOptions = {}): DispatcherRunSummary {
  const nodeCount = options.nodes ?? 8;
  if (!Number.isInteger(nodeCount) || nodeCount < MANAGERS + 3) throw new RangeError(`dispatcher simulation needs at least ${MANAGERS + 3} nodes, got ${nodeCount}`);
  const random = new SeededRandom(seed);
  const cluster = new DispatcherCluster(random.fork(), CONFIG, MANAGERS, nodeCount - MANAGERS);
  const { clock } = cluster;
  const workers = random.shuffle([...cluster.workerIds]);
  const [killed, cutOff, powerLoss] = workers as [string, string, string];
  const undisturbed = new Set([...cluster.managerIds, ...workers.slice(3)]);
  cluster.start();

  /** Runs until `id` has `status`, failing after `withinMs`; returns how long it took. */
  const expectStatus = (id: string, status: "ready" | "down", withinMs: number, what: string): number => {
    const from = clock.now();
    assert.ok(clock.runUntil(() => cluster.status(id) === status, withinMs, 50), `${what}: ${id} not ${status} within ${withinMs} ms (is ${cluster.status(id)})`);
    return clock.now() - from;
  };

  assert.ok(clock.runUntil(() => [...cluster.nodes.keys()].every((id) => cluster.status(id) === "ready"), 30_000, 50), "the cluster did not come up within 30 s");
  // Each event lands at a seed-chosen point of the heartbeat period.
  const at = (ms: number) => clock.advanceTo(ms + random.int(5_000));

  at(60_000);
  cluster.crash(killed, true);
  const killedDownAfterMs = expectStatus(killed, "down", DOWN_WITHIN_MS, "killed worker");

  at(120_000);
  cluster.restart(killed);
  const restartedReadyAfterMs = expectStatus(killed, "ready", READY_WITHIN_MS, "restarted worker");

  at(180_000);
  const deadManager = cluster.managerIds[random.int(MANAGERS)] as string;
  undisturbed.delete(deadManager);
  cluster.crash(deadManager, true);
  at(250_000);
  cluster.restart(deadManager);

  at(300_000);
  cluster.net.isolate(cutOff);
  const cutOffDownAfterMs = expectStatus(cutOff, "down", DOWN_WITHIN_MS, "cut-off worker");
  at(340_000);
  cluster.net.heal();
  const healedReadyAfterMs = expectStatus(cutOff, "ready", READY_WITHIN_MS + 10_000, "healed worker");

  at(400_000);
  const servingManager = cluster.node(powerLoss).session.status();
  assert.equal(servingManager.state, "open", `${powerLoss} has no session before the power loss`);
  const itsManager = (servingManager as { address: string }).address;
  undisturbed.delete(itsManager);
  cluster.crash(powerLoss, false);
  cluster.crash(itsManager, false);
  const orphanDownAfterMs = expectStatus(powerLoss, "down", ORPHAN_DOWN_WITHIN_MS, "worker lost with its manager");
  at(470_000);
  cluster.restart(itsManager);
  cluster.restart(powerLoss);

  clock.advanceTo(END_MS);
  const wronglyDown = cluster.changes.filter((change) => change.status === "down" && undisturbed.has(change.nodeId));
  assert.deepEqual(wronglyDown, [], "a node never disturbed was recorded down");
  const keyVersion = cluster.keyVersion();
  assert.ok(keyVersion >= 9, `only ${keyVersion} key versions in ${END_MS / 60_000} minutes`);
  for (const id of cluster.nodes.keys()) {
    assert.equal(cluster.status(id), "ready", `${id} is not ready at the end`);
    assert.ok(cluster.sessionOpen(id), `${id} has no open session at the end`);
    assert.equal(cluster.installedVersion(id), keyVersion, `${id} holds keyring ${cluster.installedVersion(id)}, not ${keyVersion}`);
  }
  assert.equal(cluster.counters.keyringsRejected, 0, "a keyring was rejected");
  const { proposals, proposalsLost, connectionsLost, keyringsInstalled } = cluster.counters;
  return {
    nodes: nodeCount, killedDownAfterMs, restartedReadyAfterMs, cutOffDownAfterMs, healedReadyAfterMs, orphanDownAfterMs,
    keyVersion, proposals, proposalsLost, connectionsLost, keyringsInstalled,
  };
}

/** A lossy run's figures. */
export interface DispatcherLossSummary {
  nodes: number;
  loss: number;
  /** Times a live node was recorded `down` (every heartbeat of a window lost): allowed, but brief. */
  spuriousDowns: number;
  longestDownMs: number;
  connectionsLost: number;
  keyVersion: number;
}

const LOSS = 0.05;
const LOSS_RUN_MS = 600_000;
/**
 * A live node recorded down is ready again within this: at once when its next heartbeat gets
 * through, at worst after failing over with two dials lost on the way (an open timeout each).
 */
const SPURIOUS_DOWN_MAX_MS = 30_000;

/**
 * `npm run sim -- dispatcher-loss`: no crashes, but 5% of all messages (heartbeats, replies,
 * keyrings, dials) lost for ten minutes with keys rotating every minute. A node may be marked
 * `down` when a whole window of heartbeats is lost, but must be `ready` again within
 * `SPURIOUS_DOWN_MAX_MS`; at the end every node is ready, in session and holds the current keyring.
 */
export function simulateLoss(seed: number, options: SimulateOptions = {}): DispatcherLossSummary {
  const nodeCount = options.nodes ?? 8;
  const random = new SeededRandom(seed);
  const cluster = new DispatcherCluster(random.fork(), CONFIG, MANAGERS, Math.max(0, nodeCount - MANAGERS));
  cluster.net.setLoss(LOSS);
  cluster.start();
  cluster.clock.advanceTo(LOSS_RUN_MS);
  cluster.net.setLoss(0);
  const settled = cluster.clock.runUntil(() => [...cluster.nodes.keys()].every((id) => cluster.status(id) === "ready" && cluster.sessionOpen(id) && cluster.installedVersion(id) === cluster.keyVersion()), 60_000, 100);
  assert.ok(settled, "the cluster did not settle within 60 s after the loss ended");
  let spuriousDowns = 0;
  let longestDownMs = 0;
  const downSince = new Map<string, number>();
  for (const change of cluster.changes) {
    if (change.status === "down") {
      spuriousDowns++;
      downSince.set(change.nodeId, change.at);
    } else if (change.status === "ready" && downSince.has(change.nodeId)) {
      longestDownMs = Math.max(longestDownMs, change.at - (downSince.get(change.nodeId) as number));
      downSince.delete(change.nodeId);
    }
  }
  assert.equal(downSince.size, 0, "a node is still down");
  assert.ok(longestDownMs <= SPURIOUS_DOWN_MAX_MS, `a live node stayed down for ${longestDownMs} ms`);
  return { nodes: nodeCount, loss: LOSS, spuriousDowns, longestDownMs, connectionsLost: cluster.counters.connectionsLost, keyVersion: cluster.keyVersion() };
}
