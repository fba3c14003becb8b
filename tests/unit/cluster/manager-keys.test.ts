/**
 * The gossip key state on a running manager has one owner, the cluster state machine: the
 * `KeyManager` of a `ManagerNode` reads it from there, so the keyring a worker is sealed follows
 * every applied key entry, a snapshot restore and a restart, and the leader's schedule continues
 * from whichever of them brought the state.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import { encodeClusterCommand } from "../../../core/cluster/codec.ts";
import { clusterConfig } from "../../../core/cluster/config.ts";
import type { ClusterCommand, ClusterNode, LocalIdentity } from "../../../core/cluster/contract.ts";
import { decodeKeyEntry, KeyManager, type ReceiveResult } from "../../../core/cluster/keyrotation/index.ts";
import { ManagerNode } from "../../../core/cluster/manager.ts";
import { ClusterStateMachine } from "../../../core/cluster/state-machine.ts";
import { nullLogger } from "../../../core/common/log.ts";
import { seededBytes } from "../secure/channel-fixture.ts";
import { tempDir } from "../store/temp-dirs.ts";
import { boxKeysFor, CLUSTER_ID, HOUR, makeReceiver } from "./keyrotation-fixture.ts";

const stoppable: { stop(): void }[] = [];
afterEach(() => {
  for (const item of stoppable.splice(0)) item.stop();
});

const config = clusterConfig({ keyRotation: { rotationInterval: HOUR } });
const managerKeys = boxKeysFor(1);
const workerKeys = boxKeysFor(50);
const worker = { nodeId: "w1", boxPublicKey: workerKeys.publicKey };

const identity: LocalIdentity = {
  nodeId: "m2", clusterId: CLUSTER_ID, role: "manager", certificate: new Uint8Array(0), signingSecretKey: new Uint8Array(64),
  boxPublicKey: managerKeys.publicKey, boxSecretKey: managerKeys.secretKey, rootPublicKey: new Uint8Array(32).fill(9),
  managerAddresses: [], address: "127.0.0.1:1", listenAddress: "127.0.0.1:1",
};

const founder: ClusterNode = {
  id: "m1", hostname: "m1", role: "manager", availability: "active", labels: {}, status: "unknown", statusMessage: "", address: "127.0.0.1:2",
  certificateSerial: "serial-m1", signingPublicKey: new Uint8Array(32), boxPublicKey: boxKeysFor(2).publicKey, joinedAt: 0, statusChangedAt: 0,
};

const noSecret = { nonce: new Uint8Array(24), sealed: new Uint8Array(48) };
const init: ClusterCommand = { type: "clusterInit", clusterId: CLUSTER_ID, rootPublicKey: identity.rootPublicKey, joinTokens: { manager: noSecret, worker: noSecret }, node: founder };

/** A manager that never starts Raft: the test feeds its state machine directly, as the replica would. */
function openManager(dataDir: string): ManagerNode {
  const manager = new ManagerNode({
    dataDir, identity, config, bootstrap: false, seedPeers: [],
    dial: () => Promise.reject(new Error("no network in this test")), metrics: new MetricsRegistry(), logger: nullLogger,
  });
  stoppable.push(manager);
  return manager;
}

/** The founding manager's state machine and its leading key core, which proposes the rotations. */
function founding(): { machine: ClusterStateMachine; leader: KeyManager } {
  const machine = new ClusterStateMachine(tempDir());
  stoppable.push({ stop: () => machine.close() });
  machine.apply([{ index: 1, data: encodeClusterCommand(init) }], 1);
  const leader = new KeyManager({ config: config.keyRotation, clusterId: CLUSTER_ID, boxKeys: boxKeysFor(2), randomBytes: seededBytes(7), replicatedState: () => machine.state().gossipKeys });
  leader.setLeader(true);
  return { machine, leader };
}

/** The leader's proposals at `now`, committed as the next log entries of every machine in `machines`. */
function rotate(leader: KeyManager, now: number, machines: ClusterStateMachine[]): void {
  for (const entry of leader.tick(now)) {
    for (const machine of machines) {
      const index = machine.appliedIndex() + 1;
      const [result] = machine.apply([{ index, data: encodeClusterCommand({ type: "gossipKey", entry }) }], index);
      expect(result?.refusal).toBeUndefined();
    }
  }
}

function installedVersion(result: ReceiveResult): number {
  if (result.status !== "installed") throw new Error(`expected installed, got ${JSON.stringify(result)}`);
  return result.keyring.version;
}

describe("a manager's gossip key state", () => {
  test("the keyring a worker gets follows a snapshot restore, later entries and a restart; the schedule continues from it", () => {
    const { machine: source, leader } = founding();
    rotate(leader, 0, [source]);
    rotate(leader, HOUR, [source]);
    const dataDir = tempDir();
    const manager = openManager(dataDir);
    const receiver = makeReceiver(worker.nodeId, workerKeys, [managerKeys]);
    expect(() => manager.keyManager.keyringFor(worker)).toThrow(/no gossip key yet/);

    manager.stateMachine.restore({ meta: { index: source.appliedIndex(), term: 1, conf: { voters: ["m1"], learners: [], votersOutgoing: [] } }, data: source.snapshot() });
    expect(installedVersion(receiver.receiveKeyring(manager.keyManager.keyringFor(worker), 1))).toBe(2);

    rotate(leader, 2 * HOUR, [source, manager.stateMachine]);
    expect(installedVersion(receiver.receiveKeyring(manager.keyManager.keyringFor(worker), 2))).toBe(3);
    expect(manager.keyManager.state()).toEqual(source.state().gossipKeys);

    // Leadership moves to the restored manager: it continues the replicated schedule, neither early nor from scratch.
    manager.keyManager.setLeader(true);
    expect(manager.keyManager.tick(3 * HOUR - 1)).toEqual([]);
    const [next] = manager.keyManager.tick(3 * HOUR);
    expect(decodeKeyEntry(next as Uint8Array)).toMatchObject({ type: "rotate", serial: 4, nextRotationAt: 4 * HOUR });

    manager.stop();
    const reopened = openManager(dataDir);
    expect(reopened.keyManager.version()).toBe(3);
    const fresh = makeReceiver(worker.nodeId, workerKeys, [managerKeys]);
    expect(installedVersion(fresh.receiveKeyring(reopened.keyManager.keyringFor(worker), 3))).toBe(3);
  });
});
