/**
 * Gossip key rotation: the Raft leader generates and rotates the cluster's gossip keys, the
 * replicated state keeps three of them and the schedule, and every manager delivers the keyring,
 * sealed to each node's box key, over the dispatcher sessions it serves.
 *
 * - `applyKeyEntry` (every manager, through the cluster state machine): the one place a committed
 *   entry changes the key state; `KeyManager` reads that state and keeps no copy of its own.
 * - `KeyManager` (every manager): on the leader `tick(now)` and `rotateNow(now)` return entries
 *   to propose; `keyringFor(node)` seals the keyring to a node (the one way a keyring is sealed).
 * - `KeyDistributor` (every manager): delivers and resends until each session acknowledges.
 * - `KeyringReceiver` (every node): `receiveKeyring(sealed, now)` validates; `installKeyring`
 *   puts the result into the gossip `Keyring`.
 *
 * Timeline, one rotation interval per column; `*` marks the key nodes seal with:
 *
 *   rotation     1      2        3           4
 *   keys kept    k1*    k1* k2   k1 k2* k3   k2 k3* k4
 *
 * A key is generated one rotation before anyone seals with it, so every node has a whole
 * interval to install it; it is still accepted for one more rotation after it stops sealing, so
 * a node whose newest keyring is still on its way keeps being understood.
 */
export { DEFAULT_KEY_ROTATION_CONFIG, keyRotationConfig, type KeyRotationConfig } from "./config.ts";
export { decodeKeyEntry, decodeKeyState, encodeKeyEntry, encodeKeyState } from "./codec.ts";
export { KeyDistributor, type KeyringDelivery } from "./distributor.ts";
export { KeyManager, type KeyManagerOptions, type KeyringSource, type ManualRotation, type NodeBoxIdentity } from "./manager.ts";
export { installKeyring, KeyringReceiver, type KeyringReceiverOptions, type KeyToInstall, type ReceivedKeyring, type ReceiveResult } from "./node.ts";
export { KeyringError, type KeyringPayload, type KeyringRejection, openKeyring, sealKeyring, SharedKeys } from "./sealing.ts";
export {
  type ApplyOutcome,
  applyKeyEntry,
  EMPTY_KEY_STATE,
  type GossipKey,
  type GossipKeyState,
  type KeyEntry,
  type KeyEntryRejection,
  keyIdOf,
  KEYS_KEPT,
  keyVersion,
  primaryKey,
} from "./state.ts";
