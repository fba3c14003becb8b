/**
 * Sealing of gossip packets (UDP datagrams and TCP stream frames alike) with NaCl secretbox.
 *
 * Wire layout of a sealed packet:
 *
 *   version (1 byte) | key tag (2 bytes) | nonce (24 random bytes) | secretbox(plaintext)
 *
 * and of the plaintext inside the box:
 *
 *   sender tag (8) | epoch (varint) | counter (varint) | payload
 *
 * Every byte counts: a steady-state gossip packet (a ping or an ack) carries 5 to 40 bytes of
 * payload, so the seal is most of what goes on the wire. Hence:
 *
 * - The cluster id is bound into the key rather than carried: the box is sealed under
 *   HMAC-SHA-256(key, label ‖ cluster id), derived once per installed key. A packet of another
 *   cluster that shares a key fails authentication like any forgery (it is counted as tampered).
 * - The key tag is the last 2 bytes of the key's 4-byte id (the low bytes differ between serially
 *   numbered keys). With at most a handful of keys installed, tags rarely collide; when they do,
 *   each matching key is tried.
 * - The sender tag — the first 8 bytes of SHA-256 of the sender's id — names the sender for the
 *   replay windows (`seal-replay.ts`) however long the id; two senders share a tag with
 *   probability 2^-64 per pair. It is inside the box, so it cannot be forged.
 * - Epoch (the sender's start time in ms) and counter are LEB128 varints: 6 bytes and, for a
 *   counter below 2 million, at most 3.
 *
 * Nonces are random (24 bytes make collisions negligible) and come from an injected source so the
 * simulator stays deterministic. `open` never throws on input: every packet yields either the
 * payload or a drop reason.
 */
import { createHash, createHmac } from "node:crypto";
import nacl from "tweetnacl";
import { ShoalError } from "../common/errors.ts";
import type { InstalledKey, Keyring } from "./keyring.ts";
import { ReplayWindows } from "./seal-replay.ts";

/** The format version in the first byte of every sealed packet. */
export const SEAL_VERSION = 2;
/** Bytes of the key tag in the clear header. */
export const KEY_TAG_BYTES = 2;
const NONCE_BYTES = nacl.secretbox.nonceLength;
const HEADER_BYTES = 1 + KEY_TAG_BYTES;
const SENDER_TAG_BYTES = 8;
/** Longest varint: 7 × 7 bits, for epochs below 2^49 (ms until the year 19811). */
const MAX_VARINT_BYTES = 7;
/** Smallest sealed packet: header, nonce, MAC, sender tag and two one-byte varints. */
const MIN_PACKET_BYTES = HEADER_BYTES + NONCE_BYTES + nacl.secretbox.overheadLength + SENDER_TAG_BYTES + 2;
/** Most bytes a sealed packet adds around its payload (the varints take fewer in practice). */
export const SEAL_OVERHEAD = HEADER_BYTES + NONCE_BYTES + nacl.secretbox.overheadLength + SENDER_TAG_BYTES + MAX_VARINT_BYTES + 5;
const MAX_EPOCH = 2 ** (7 * MAX_VARINT_BYTES) - 1;
const MAX_COUNTER = 0xffff_ffff;
/** Domain separation of the derived sealing keys, so they serve nothing else. */
const KEY_LABEL = "shoal gossip seal v2\0";

/** Why a packet was dropped. */
export type DropReason = "unsealed" | "tampered" | "replayed" | "unknownKey" | "malformed";

/** Every drop reason, for pre-registering metric series. */
export const DROP_REASONS: readonly DropReason[] = ["unsealed", "tampered", "replayed", "unknownKey", "malformed"];

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
  private readonly senderTag: Uint8Array;
  private readonly replay: ReplayWindows;
  /** Sealing keys derived for this cluster, per installed key (derived once, on first use). */
  private readonly sealingKeys = new WeakMap<InstalledKey, Uint8Array>();
  private epoch: number;
  private counter = 0;

  constructor(private readonly options: PacketSealOptions) {
    if (options.clusterId === "") throw new ShoalError("config_invalid", "cluster id must not be empty");
    if (options.senderId === "") throw new ShoalError("config_invalid", "sender id must not be empty");
    this.senderTag = senderTag(options.senderId);
    if (!Number.isInteger(options.epoch) || options.epoch < 0 || options.epoch > MAX_EPOCH) throw new RangeError(`seal epoch must be an integer in [0, 2^49), got ${options.epoch}`);
    this.epoch = options.epoch;
    this.replay = new ReplayWindows({ size: options.replayWindow ?? 1024, maxSenders: options.maxTrackedSenders ?? 65_536 });
  }

  /** Seals `payload` under the primary key. Throws only when the keyring is empty. */
  seal(payload: Uint8Array): Uint8Array {
    const primary = this.options.keyring.primary();
    if (!primary) throw new ShoalError("keyring_empty", "cannot seal gossip: the keyring has no key");
    const counter = this.nextCounter();
    const plaintext = new Uint8Array(SENDER_TAG_BYTES + varintLength(this.epoch) + varintLength(counter) + payload.length);
    plaintext.set(this.senderTag, 0);
    let at = writeVarint(plaintext, SENDER_TAG_BYTES, this.epoch);
    at = writeVarint(plaintext, at, counter);
    plaintext.set(payload, at);

    const nonce = this.options.randomBytes(NONCE_BYTES);
    if (nonce.length !== NONCE_BYTES) throw new ShoalError("nonce_invalid", `randomBytes returned ${nonce.length} bytes, wanted ${NONCE_BYTES}`);
    const box = nacl.secretbox(plaintext, nonce, this.sealingKey(primary));
    const packet = new Uint8Array(HEADER_BYTES + NONCE_BYTES + box.length);
    packet[0] = SEAL_VERSION;
    packet.set(keyTag(primary), 1);
    packet.set(nonce, HEADER_BYTES);
    packet.set(box, HEADER_BYTES + NONCE_BYTES);
    return packet;
  }

  /** Opens a received packet: its payload and sender tag, or why it must be dropped. Never throws. */
  open(packet: Uint8Array): OpenResult {
    if (packet.length < 1 || packet[0] !== SEAL_VERSION) return { ok: false, reason: "unsealed" };
    if (packet.length < MIN_PACKET_BYTES) return { ok: false, reason: "malformed" };
    const candidates = this.options.keyring.withTag(packet.subarray(1, HEADER_BYTES));
    if (candidates.length === 0) return { ok: false, reason: "unknownKey" };
    const nonce = packet.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
    const box = packet.subarray(HEADER_BYTES + NONCE_BYTES);
    for (const key of candidates) {
      const plaintext = nacl.secretbox.open(box, nonce, this.sealingKey(key));
      if (plaintext) return this.checkPlaintext(plaintext, key.id);
    }
    return { ok: false, reason: "tampered" };
  }

  private checkPlaintext(plaintext: Uint8Array, keyId: string): OpenResult {
    const epoch = readVarint(plaintext, SENDER_TAG_BYTES);
    const counter = epoch && readVarint(plaintext, epoch.next);
    if (!epoch || !counter || counter.value > MAX_COUNTER) return { ok: false, reason: "malformed" };
    const sender = Buffer.from(plaintext.buffer, plaintext.byteOffset, SENDER_TAG_BYTES).toString("hex");
    if (this.replay.check(sender, epoch.value, counter.value) !== "fresh") return { ok: false, reason: "replayed" };
    return { ok: true, payload: plaintext.subarray(counter.next), senderTag: sender, keyId };
  }

  private sealingKey(key: InstalledKey): Uint8Array {
    let derived = this.sealingKeys.get(key);
    if (derived === undefined) {
      derived = sealingKey(key.key, this.options.clusterId);
      this.sealingKeys.set(key, derived);
    }
    return derived;
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

/** The secretbox key that seals a cluster's packets under the keyring key `key`. */
export function sealingKey(key: Uint8Array, clusterId: string): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(KEY_LABEL).update(clusterId).digest());
}

/** The key tag of an installed key as carried in the header: the last bytes of its id. */
export function keyTag(key: InstalledKey): Uint8Array {
  return key.idBytes.subarray(key.idBytes.length - KEY_TAG_BYTES);
}

/** The 8 bytes that stand for a sender's id inside every sealed packet (shown as hex in `OpenResult`). */
export function senderTag(senderId: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(senderId).digest().subarray(0, SENDER_TAG_BYTES));
}

function varintLength(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

/** Writes `value` as an unsigned LEB128 varint at `at`; returns the offset after it. */
function writeVarint(bytes: Uint8Array, at: number, value: number): number {
  let rest = value;
  let offset = at;
  while (rest >= 0x80) {
    bytes[offset++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  bytes[offset++] = rest;
  return offset;
}

/** Reads an unsigned LEB128 varint of at most `MAX_VARINT_BYTES` at `at`; undefined when cut short or too long. */
function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let offset = at; offset < bytes.length && offset < at + MAX_VARINT_BYTES; offset++) {
    const byte = bytes[offset] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, next: offset + 1 };
    scale *= 0x80;
  }
  return undefined;
}
