import { describe, expect, test } from "bun:test";
import { KeyDistributor, installKeyring, type ReceiveResult, sealKeyring, SharedKeys } from "../../../core/cluster/keyrotation/index.ts";
import { encodeEnvelope } from "../../../core/common/envelope.ts";
import { SeededRandom } from "../../../core/common/random.ts";
import { Keyring } from "../../../core/secure/keyring.ts";
import { PacketSeal } from "../../../core/secure/seal.ts";
import { seededBytes } from "../secure/channel-fixture.ts";
import { boxKeysFor, CLUSTER_ID, commit, HOUR, makeManager, makeReceiver, type TestManager } from "./keyrotation-fixture.ts";

const managerKeys = boxKeysFor(1);
const nodeKeys = boxKeysFor(50);
const node = { nodeId: "worker-1", boxPublicKey: nodeKeys.publicKey };

/** A leader that has made `rotations` rotations after its first key. */
function rotatedManager(rotations: number, seed = 1): TestManager {
  const manager = makeManager(seed, { rotationInterval: HOUR });
  manager.setLeader(true);
  for (let rotation = 0; rotation <= rotations; rotation++) commit([manager], manager.tick(rotation * HOUR));
  return manager;
}

function installed(result: ReceiveResult) {
  if (result.status !== "installed") throw new Error(`expected installed, got ${JSON.stringify(result)}`);
  return result.keyring;
}

function sealFor(id: string, keyring: Keyring): PacketSeal {
  return new PacketSeal({ keyring, clusterId: CLUSTER_ID, senderId: id, epoch: 1, randomBytes: seededBytes(id.length) });
}

describe("KeyringReceiver", () => {
  test("installs a keyring from a manager: all kept keys, the previous rotation's key primary", () => {
    const manager = rotatedManager(3);
    const receiver = makeReceiver("worker-1", nodeKeys, [managerKeys]);
    const keyring = installed(receiver.receiveKeyring(manager.keyringFor(node), 42));
    expect(keyring.version).toBe(4);
    expect(keyring.keys.map((key) => key.id)).toEqual(["00000002", "00000003", "00000004"]);
    expect(keyring.primary).toBe("00000003");
    expect(receiver.version()).toBe(4);
    expect(receiver.installedAt()).toBe(42);
    const ring = new Keyring();
    installKeyring(ring, keyring);
    expect(ring.list()).toEqual([
      { id: "00000003", primary: true },
      { id: "00000002", primary: false },
      { id: "00000004", primary: false },
    ]);
  });

  test("a repeated keyring is current and an older one is stale; neither changes the version", () => {
    const manager = rotatedManager(1);
    const receiver = makeReceiver("worker-1", nodeKeys, [managerKeys]);
    const older = manager.keyringFor(node);
    commit([manager], manager.tick(2 * HOUR));
    installed(receiver.receiveKeyring(manager.keyringFor(node), 0));
    expect(receiver.receiveKeyring(manager.keyringFor(node), 1)).toEqual({ status: "current", version: 3 });
    expect(receiver.receiveKeyring(older, 2)).toMatchObject({ status: "rejected", reason: "stale" });
    expect(receiver.version()).toBe(3);
  });

  test("a node offline across several rotations gossips at once after one keyring, both ways", () => {
    const manager = rotatedManager(0);
    const returning = makeReceiver("worker-1", nodeKeys, [managerKeys]);
    const returningRing = new Keyring();
    installKeyring(returningRing, installed(returning.receiveKeyring(manager.keyringFor(node), 0)));
    for (let rotation = 1; rotation <= 5; rotation++) commit([manager], manager.tick(rotation * HOUR));

    // Two peers that stayed: one current, one still on the previous keyring (its delivery in flight).
    const peerRings = [6, 5].map((version) => {
      const peerKeys = boxKeysFor(60 + version);
      const ring = new Keyring();
      const keys = manager.state().keys.filter((key) => key.serial <= version);
      const payload = { clusterId: CLUSTER_ID, nodeId: `peer-${version}`, keys: [...keys] };
      const sealed = sealKeyring(payload, peerKeys.publicKey, new SharedKeys(managerKeys), seededBytes(version));
      installKeyring(ring, installed(makeReceiver(`peer-${version}`, peerKeys, [managerKeys]).receiveKeyring(sealed, 0)));
      return ring;
    });

    installKeyring(returningRing, installed(returning.receiveKeyring(manager.keyringFor(node), 5 * HOUR)));
    expect(returningRing.list().map((key) => key.id)).not.toContain("00000001");
    const me = sealFor("worker-1", returningRing);
    for (const [index, ring] of peerRings.entries()) {
      const peer = sealFor(`peer-${index}`, ring);
      expect(peer.open(me.seal(new Uint8Array([1])))).toMatchObject({ ok: true });
      expect(me.open(peer.seal(new Uint8Array([2])))).toMatchObject({ ok: true });
    }
  });

  describe("rejects, installing nothing", () => {
    const manager = rotatedManager(2);
    const good = manager.keyringFor(node);
    const cases: [string, () => Uint8Array, string][] = [
      ["empty input", () => new Uint8Array(0), "malformed"],
      ["garbage", () => seededBytes(9)(200), "malformed"],
      ["a truncated keyring", () => good.subarray(0, good.length - 20), "malformed"],
      ["another envelope kind", () => encodeEnvelope("cluster.gossipKeys.state", 1, {}), "malformed"],
      ["a short nonce", () => encodeEnvelope("cluster.gossipKeys.sealed", 1, [managerKeys.publicKey, new Uint8Array(8), new Uint8Array(64)]), "malformed"],
      ["a keyring from a key that is not a manager's", () => rotatedManager(0, 7).keyringFor(node), "untrustedSender"],
      ["a keyring sealed to another node's key", () => manager.keyringFor({ nodeId: "worker-1", boxPublicKey: boxKeysFor(51).publicKey }), "badSeal"],
      ["a keyring meant for another node", () => manager.keyringFor({ nodeId: "worker-2", boxPublicKey: nodeKeys.publicKey }), "wrongNode"],
      [
        "a keyring of another cluster",
        () => sealKeyring({ clusterId: "other", nodeId: "worker-1", keys: [...manager.state().keys] }, nodeKeys.publicKey, new SharedKeys(managerKeys), seededBytes(3)),
        "wrongCluster",
      ],
      [
        "a keyring with four keys",
        () => sealKeyring({ clusterId: CLUSTER_ID, nodeId: "worker-1", keys: [...rotatedManager(5).state().keys, ...manager.state().keys].slice(0, 4) }, nodeKeys.publicKey, new SharedKeys(managerKeys), seededBytes(3)),
        "malformed",
      ],
      [
        "a keyring with a short key",
        () => sealKeyring({ clusterId: CLUSTER_ID, nodeId: "worker-1", keys: [{ serial: 9, key: new Uint8Array(16), createdAt: 0 }] }, nodeKeys.publicKey, new SharedKeys(managerKeys), seededBytes(3)),
        "malformed",
      ],
    ];
    for (const [name, make, reason] of cases) {
      test(name, () => {
        const receiver = makeReceiver("worker-1", nodeKeys, [managerKeys]);
        const result = receiver.receiveKeyring(make(), 0);
        expect(result).toMatchObject({ status: "rejected", reason });
        expect(result.status === "rejected" && result.message.length).toBeGreaterThan(0);
        expect(receiver.version()).toBe(0);
        expect(receiver.installedAt()).toBeUndefined();
      });
    }

    test("any single flipped byte of a sealed keyring", () => {
      const random = new SeededRandom(5);
      for (let trial = 0; trial < 300; trial++) {
        const bytes = Uint8Array.from(good);
        const at = random.int(bytes.length);
        bytes[at] = (bytes[at] as number) ^ (1 + random.int(255));
        const receiver = makeReceiver("worker-1", nodeKeys, [managerKeys]);
        expect(receiver.receiveKeyring(bytes, 0).status).toBe("rejected");
        expect(receiver.version()).toBe(0);
      }
    });
  });
});

describe("installKeyring", () => {
  test("refuses a keyring that reuses an installed id for another key, changing nothing", () => {
    const manager = rotatedManager(1);
    const received = installed(makeReceiver("worker-1", nodeKeys, [managerKeys]).receiveKeyring(manager.keyringFor(node), 0));
    const ring = new Keyring();
    ring.install(new Uint8Array(32).fill(7), { id: "00000001" });
    expect(() => installKeyring(ring, received)).toThrow(/reuses an installed key id/);
    expect(ring.list()).toEqual([{ id: "00000001", primary: true }]);
  });
});

describe("KeyDistributor", () => {
  test("delivers on connect, resends until acknowledged, and delivers each new version at once", () => {
    const manager = rotatedManager(0);
    const distributor = new KeyDistributor(manager, 2_000);
    expect(distributor.connect(node, 0, 0)).toMatchObject([{ nodeId: "worker-1", version: 1 }]);
    expect(distributor.tick(1_999)).toEqual([]);
    expect(distributor.tick(2_000)).toMatchObject([{ version: 1 }]);
    distributor.acknowledge("worker-1", 1);
    expect(distributor.tick(10_000)).toEqual([]);
    expect(distributor.sessionStates()).toEqual([{ nodeId: "worker-1", acknowledged: 1, current: true }]);
    commit([manager], manager.tick(HOUR));
    expect(distributor.tick(HOUR + 1)).toMatchObject([{ version: 2 }]);
    distributor.acknowledge("worker-1", 1);
    expect(distributor.sessionStates()[0]?.current).toBe(false);
    distributor.disconnect("worker-1");
    expect(distributor.tick(HOUR + 60_000)).toEqual([]);
  });

  test("a session opened before the first key gets it as soon as it exists", () => {
    const manager = makeManager(1, { rotationInterval: HOUR });
    const distributor = new KeyDistributor(manager, 2_000);
    expect(distributor.connect(node, 0, 0)).toEqual([]);
    manager.setLeader(true);
    commit([manager], manager.tick(5));
    const [delivery] = distributor.tick(10);
    expect(delivery?.version).toBe(1);
    expect(makeReceiver("worker-1", nodeKeys, [managerKeys]).receiveKeyring(delivery?.sealed ?? new Uint8Array(), 10).status).toBe("installed");
  });
});
