/** Shared pieces for the key rotation unit tests: seeded key pairs and a small cluster of cores. */
import nacl from "tweetnacl";
import { KeyManager, keyRotationConfig, type KeyRotationConfig, KeyringReceiver } from "../../../core/cluster/keyrotation/index.ts";
import { KeyStateReplica } from "../../sim/keyrotation/key-state-replica.ts";
import { seededBytes } from "../secure/channel-fixture.ts";

export const CLUSTER_ID = "test-cluster";
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** A box key pair derived from `seed`. */
export function boxKeysFor(seed: number): nacl.BoxKeyPair {
  return nacl.box.keyPair.fromSecretKey(seededBytes(seed)(nacl.box.secretKeyLength));
}

/** A manager core over its own copy of the replicated key state, which `commit` advances. */
export class TestManager extends KeyManager {
  constructor(
    seed: number,
    config: Partial<KeyRotationConfig>,
    readonly replica = new KeyStateReplica(CLUSTER_ID),
  ) {
    super({ config: keyRotationConfig(config), clusterId: CLUSTER_ID, boxKeys: boxKeysFor(seed), randomBytes: seededBytes(seed + 1000), replicatedState: replica.keys });
  }
}

/** A manager core with a deterministic key source. */
export function makeManager(seed = 1, config: Partial<KeyRotationConfig> = {}): TestManager {
  return new TestManager(seed, config);
}

/** A node's receiver that trusts exactly `managers`' box keys. */
export function makeReceiver(nodeId: string, boxKeys: nacl.BoxKeyPair, managers: nacl.BoxKeyPair[]): KeyringReceiver {
  const trusted = new Set(managers.map((keys) => Buffer.from(keys.publicKey).toString("hex")));
  return new KeyringReceiver({ clusterId: CLUSTER_ID, nodeId, boxKeys, isManagerBoxKey: (key) => trusted.has(Buffer.from(key).toString("hex")) });
}

/** Applies `entries` to every manager's replicated state in order, as a committed log would. */
export function commit(managers: TestManager[], entries: Uint8Array[]): void {
  for (const entry of entries) for (const manager of managers) manager.replica.apply(entry);
}
