/**
 * The manager side of gossip key rotation, as a pure core in the style of etcd-io/raft: the
 * leader's `tick(now)` returns the entries to propose. Committed entries are decoded and applied
 * once, by the cluster state machine (`applyCommand`); this core reads the key state from there
 * and keeps no copy, so a snapshot restore or a restart needs nothing of it. Nothing here reads a
 * clock, draws randomness of its own or sends anything.
 *
 * The schedule lives in the replicated state (`nextRotationAt`), not in a timer of the leader,
 * so a new leader continues it where the old one left off: leader changes neither delay a
 * rotation by a whole interval nor cause an extra one. Slots are anchored to the schedule (each
 * due time is the previous one plus the interval), so rotations do not drift by the time a leader
 * took to notice; slots missed while the cluster had no leader at all are skipped, not replayed.
 */
import type nacl from "tweetnacl";
import { ShoalError } from "../../common/errors.ts";
import { GOSSIP_KEY_BYTES } from "../../secure/keyring.ts";
import { encodeKeyEntry } from "./codec.ts";
import type { KeyRotationConfig } from "./config.ts";
import { sealKeyring, SharedKeys } from "./sealing.ts";
import { type GossipKeyState, keyVersion } from "./state.ts";

/** A node as the manager seals keyrings to it. */
export interface NodeBoxIdentity {
  nodeId: string;
  /** The X25519 public key from the node's certificate. */
  boxPublicKey: Uint8Array;
}

/** What a `KeyManager` needs. */
export interface KeyManagerOptions {
  config: KeyRotationConfig;
  clusterId: string;
  /** This manager's box key pair (keyrings are sealed from it). */
  boxKeys: nacl.BoxKeyPair;
  /** Source of new keys and nonces: `nacl.randomBytes` in production, seeded in the simulator. */
  randomBytes: (length: number) => Uint8Array;
  /** The replicated key state as of the last applied entry, read from the cluster state machine that owns it. */
  replicatedState: () => GossipKeyState;
}

/** What `rotateNow` did. */
export interface ManualRotation {
  /** Entries to propose. */
  proposals: Uint8Array[];
  /** When the rotation will happen (later than now only while the newest key is younger than `installGrace`). */
  rotatesAt: number;
}

/** What delivering keyrings to nodes needs of a `KeyManager`. */
export type KeyringSource = Pick<KeyManager, "version" | "keyringFor">;

/** Drives the key schedule on the leader and seals the replicated keyring for nodes on every manager. */
export class KeyManager {
  private leading = false;
  /** The rotation this leader proposed and has not yet seen applied. */
  private pending: { serial: number; proposedAt: number } | undefined;
  private readonly sharedKeys: SharedKeys;

  constructor(private readonly options: KeyManagerOptions) {
    this.sharedKeys = new SharedKeys(options.boxKeys);
  }

  /** The replicated state as of the last applied entry. */
  state(): GossipKeyState {
    return this.options.replicatedState();
  }

  /** The newest key's serial (0 before the first key): the version nodes acknowledge. */
  version(): number {
    return keyVersion(this.state());
  }

  /** Tells the core whether this manager is the Raft leader; only the leader proposes. */
  setLeader(leading: boolean): void {
    if (leading !== this.leading) this.pending = undefined;
    this.leading = leading;
  }

  /** Whether this manager currently believes it leads. */
  isLeader(): boolean {
    return this.leading;
  }

  /**
   * On the leader: the entries to propose at `now` — the cluster's first key, or a rotation when
   * one is due. A proposal is repeated only after `proposalRetry` without being applied.
   */
  tick(now: number): Uint8Array[] {
    if (!this.leading) return [];
    const state = this.state();
    const bootstrap = state.keys.length === 0;
    if (!bootstrap && now < state.nextRotationAt) return [];
    const serial = keyVersion(state) + 1;
    if (this.pending && this.pending.serial === serial && now < this.pending.proposedAt + this.options.config.proposalRetry) return [];
    this.pending = { serial, proposedAt: now };
    const interval = this.options.config.rotationInterval;
    const nextRotationAt = bootstrap ? now + interval : nextSlot(state.nextRotationAt, now, interval);
    const key = this.options.randomBytes(GOSSIP_KEY_BYTES);
    if (key.length !== GOSSIP_KEY_BYTES) throw new ShoalError("random_invalid", `randomBytes returned ${key.length} bytes, wanted ${GOSSIP_KEY_BYTES}`);
    return [encodeKeyEntry({ type: "rotate", serial, key, createdAt: now, nextRotationAt })];
  }

  /**
   * On the leader (`shoal key rotate`): brings the next rotation forward to now, or to when the
   * newest key has been out for `installGrace`, whichever is later. The request is an entry in
   * the log, so it survives a leader change; the rotation itself comes from a following `tick`.
   */
  rotateNow(now: number): ManualRotation {
    if (!this.leading) throw new ShoalError("not_leader", "only the Raft leader can rotate gossip keys");
    const { keys, nextRotationAt } = this.state();
    const newest = keys.at(-1);
    if (!newest) return { proposals: [], rotatesAt: now };
    const rotatesAt = Math.max(now, newest.createdAt + this.options.config.installGrace);
    if (rotatesAt >= nextRotationAt) return { proposals: [], rotatesAt: nextRotationAt };
    return { proposals: [encodeKeyEntry({ type: "reschedule", serial: newest.serial, rotateAt: rotatesAt })], rotatesAt };
  }

  /** The current keyring sealed to `node`, for its dispatcher session; throws before the first key. */
  keyringFor(node: NodeBoxIdentity): Uint8Array {
    const { keys } = this.state();
    if (keys.length === 0) throw new ShoalError("keyring_empty", "the cluster has no gossip key yet");
    const payload = { clusterId: this.options.clusterId, nodeId: node.nodeId, keys: [...keys] };
    return sealKeyring(payload, node.boxPublicKey, this.sharedKeys, this.options.randomBytes);
  }
}

/** The first slot of the schedule anchored at `dueAt` that lies after `now`. */
function nextSlot(dueAt: number, now: number, interval: number): number {
  return dueAt + interval * (Math.floor((now - dueAt) / interval) + 1);
}
