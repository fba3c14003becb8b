/**
 * Sealing of gossip packets (UDP datagrams and TCP stream frames alike) with NaCl secretbox.
 *
 * Wire layout of a sealed packet:
 *
 *   version (1 byte) | key id (4 bytes) | nonce (24 random bytes) | secretbox(plaintext)
 *
 * and of the plaintext inside the box:
 *
 *   cluster tag (4) | sender tag (8) | epoch (6, big-endian) | counter (4, big-endian) | payload
 *
 * The cluster tag — the first 4 bytes of SHA-256 of the cluster id — binds the cluster inside the
 * box, so two clusters that happen to share a key stay apart. The sender tag — the first 8 bytes
 * of SHA-256 of the sender's id — names the sender for the replay windows (`seal-replay.ts`) with
 * the epoch and counter. Tags keep the overhead fixed however long the ids (a 32-hex-digit node id
 * would otherwise add 33 bytes to every packet); two senders share a tag with probability 2^-64
 * per pair. 6 bytes of epoch hold milliseconds until the year 10889.
 *
 * The key id travels in clear so a receiver tries exactly one of its keys. Nonces are random
 * (24 bytes make collisions negligible) and come from an injected source so the simulator stays
 * deterministic.
 *
 * `open` never throws on input: every packet yields either the payload or a drop reason.
 */
import { createHash } from "node:crypto";
import nacl from "tweetnacl";
import { ShoalError } from "../common/errors.ts";
import { KEY_ID_BYTES, type Keyring } from "./keyring.ts";
import { ReplayWindows } from "./seal-replay.ts";

/** The format version in the first byte of every sealed packet. */
export const SEAL_VERSION = 1;
const NONCE_BYTES = nacl.secretbox.nonceLength;
const HEADER_BYTES = 1 + KEY_ID_BYTES;
const CLUSTER_TAG_BYTES = 4;
const SENDER_TAG_BYTES = 8;
const EPOCH_BYTES = 6;
const COUNTER_BYTES = 4;
const INNER_HEADER_BYTES = CLUSTER_TAG_BYTES + SENDER_TAG_BYTES + EPOCH_BYTES + COUNTER_BYTES;
/** Bytes a sealed packet adds around its payload. */
export const SEAL_OVERHEAD = HEADER_BYTES + NONCE_BYTES + nacl.secretbox.overheadLength + INNER_HEADER_BYTES;
const MAX_EPOCH = 2 ** (8 * EPOCH_BYTES) - 1;
const MAX_COUNTER = 0xffff_ffff;

/** Why a packet was dropped. */
export type DropReason = "unsealed" | "tampered" | "replayed" | "unknownKey" | "malformed" | "wrongCluster";

/** Every drop reason, for pre-registering metric series. */
export const DROP_REASONS: readonly DropReason[] = ["unsealed", "tampered", "replayed", "unknownKey", "malformed", "wrongCluster"];

/** The outcome of `PacketSeal.open`. */
export type OpenResult =
  | { ok: true; payload: Uint8Array; senderTag: string; keyId: string }
  | { ok: false; reason: DropReason };

/** Options of `PacketSeal`. */
export interface PacketSealOptions {
  /** The keys: the primary seals, any installed key opens. Shared, so rotations apply at once. */
  keyring: Keyring;
  /** The cluster this node belongs to; packets of other clusters are dropped. Not empty. */
  clusterId: string;
  /** This node's id; its tag travels in every packet for the receivers' replay windows. */
  senderId: string;
  /**
   * This run's epoch: a number that grows across restarts of this node (its start time in ms).
   * Receivers drop packets from an older epoch, so a restart must not move it backwards.
   */
  epoch: number;
  /** Source of nonces: `nacl.randomBytes` in production, a seeded source in the simulator. */
  randomBytes: (length: number) => Uint8Array;
  /** Replay window width per sender, in packets (multiple of 32). Default 1024. */
  replayWindow?: number;
  /** Senders whose replay window is remembered (least recently heard forgotten first). Default 65536. */
  maxTrackedSenders?: number;
}


/** Seals outgoing and opens incoming gossip packets for one node. */
export class PacketSeal {
  private readonly clusterTag: Uint8Array;
  private readonly senderTag: Uint8Array;
  private readonly replay: ReplayWindows;
  private epoch: number;
  private counter = 0;

  constructor(private readonly options: PacketSealOptions) {
    if (options.clusterId === "") throw new ShoalError("config_invalid", "cluster id must not be empty");
    this.clusterTag = clusterTag(options.clusterId);
    if (options.senderId === "") throw new ShoalError("config_invalid", "sender id must not be empty");
    this.senderTag = senderTag(options.senderId);
    if (!Number.isInteger(options.epoch) || options.epoch < 0 || options.epoch > MAX_EPOCH) throw new RangeError(`seal epoch must be an integer in [0, 2^48), got ${options.epoch}`);
    this.epoch = options.epoch;
    this.replay = new ReplayWindows({ size: options.replayWindow ?? 1024, maxSenders: options.maxTrackedSenders ?? 65_536 });
  }

  /** Seals `payload` under the primary key. Throws only when the keyring is empty. */
  seal(payload: Uint8Array): Uint8Array {
    const primary = this.options.keyring.primary();
    if (!primary) throw new ShoalError("keyring_empty", "cannot seal gossip: the keyring has no key");
    const plaintext = new Uint8Array(INNER_HEADER_BYTES + payload.length);
    const view = new DataView(plaintext.buffer);
    plaintext.set(this.clusterTag, 0);
    plaintext.set(this.senderTag, CLUSTER_TAG_BYTES);
    const at = CLUSTER_TAG_BYTES + SENDER_TAG_BYTES;
    const counter = this.nextCounter();
    view.setUint16(at, Math.floor(this.epoch / 0x1_0000_0000));
    view.setUint32(at + 2, this.epoch >>> 0);
    view.setUint32(at + EPOCH_BYTES, counter);
    plaintext.set(payload, INNER_HEADER_BYTES);

    const nonce = this.options.randomBytes(NONCE_BYTES);
    if (nonce.length !== NONCE_BYTES) throw new ShoalError("nonce_invalid", `randomBytes returned ${nonce.length} bytes, wanted ${NONCE_BYTES}`);
    const box = nacl.secretbox(plaintext, nonce, primary.key);
    const packet = new Uint8Array(HEADER_BYTES + NONCE_BYTES + box.length);
    packet[0] = SEAL_VERSION;
    packet.set(primary.idBytes, 1);
    packet.set(nonce, HEADER_BYTES);
    packet.set(box, HEADER_BYTES + NONCE_BYTES);
    return packet;
  }

  /** Opens a received packet: its payload and sender tag, or why it must be dropped. Never throws. */
  open(packet: Uint8Array): OpenResult {
    if (packet.length < 1 || packet[0] !== SEAL_VERSION) return { ok: false, reason: "unsealed" };
    if (packet.length < HEADER_BYTES + NONCE_BYTES + nacl.secretbox.overheadLength) return { ok: false, reason: "malformed" };
    const key = this.options.keyring.lookup(packet.subarray(1, HEADER_BYTES));
    if (!key) return { ok: false, reason: "unknownKey" };
    const nonce = packet.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
    const plaintext = nacl.secretbox.open(packet.subarray(HEADER_BYTES + NONCE_BYTES), nonce, key.key);
    if (!plaintext) return { ok: false, reason: "tampered" };
    return this.checkPlaintext(plaintext, key.id);
  }

  private checkPlaintext(plaintext: Uint8Array, keyId: string): OpenResult {
    if (plaintext.length < INNER_HEADER_BYTES) return { ok: false, reason: "malformed" };
    if (!nacl.verify(plaintext.subarray(0, CLUSTER_TAG_BYTES), this.clusterTag)) return { ok: false, reason: "wrongCluster" };
    const sender = Buffer.from(plaintext.buffer, plaintext.byteOffset + CLUSTER_TAG_BYTES, SENDER_TAG_BYTES).toString("hex");
    const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
    const at = CLUSTER_TAG_BYTES + SENDER_TAG_BYTES;
    const epoch = view.getUint16(at) * 0x1_0000_0000 + view.getUint32(at + 2);
    const counter = view.getUint32(at + EPOCH_BYTES);
    if (this.replay.check(sender, epoch, counter) !== "fresh") return { ok: false, reason: "replayed" };
    return { ok: true, payload: plaintext.subarray(INNER_HEADER_BYTES), senderTag: sender, keyId };
  }

  /** Counters run within an epoch; on overflow the epoch moves on so receivers see a fresh run. */
  private nextCounter(): number {
    if (this.counter > MAX_COUNTER) {
      this.epoch += 1;
      this.counter = 0;
    }
    return this.counter++;
  }
}

/** The 4 bytes that stand for `clusterId` inside every sealed packet. */
export function clusterTag(clusterId: string): Uint8Array {
  return sha256Prefix(clusterId, CLUSTER_TAG_BYTES);
}

/** The 8 bytes that stand for a sender's id inside every sealed packet (shown as hex in `OpenResult`). */
export function senderTag(senderId: string): Uint8Array {
  return sha256Prefix(senderId, SENDER_TAG_BYTES);
}

function sha256Prefix(text: string, length: number): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest().subarray(0, length));
}
