/**
 * The replicated gossip key state: the keys kept and when the next rotation is due. Every
 * manager holds the same state because every manager applies the same log entries in the same
 * order with `applyKeyEntry`, a pure function of the state and the entry alone (never a clock).
 *
 * Keys are numbered by a serial that only grows, so a key never repeats and two leaders racing to
 * propose the same rotation cannot both succeed: an entry must name the serial that follows the
 * newest key, and the one applied second finds the serial taken and is rejected on every manager.
 */
import { GOSSIP_KEY_BYTES, KEY_ID_BYTES } from "../../secure/keyring.ts";

/** How many keys the cluster keeps: the previous primary, the primary and the next primary. */
export const KEYS_KEPT = 3;

/** One gossip key as stored in the replicated state. */
export interface GossipKey {
  /** Rotation number: 1 for the cluster's first key, +1 per rotation. Also gives the key id. */
  serial: number;
  /** The 32-byte secretbox key. */
  key: Uint8Array;
  /** When the leader generated it (its clock, ms since the epoch). */
  createdAt: number;
}

/** The replicated state; `keys` oldest first. */
export interface GossipKeyState {
  readonly keys: readonly GossipKey[];
  /** When the next scheduled rotation is due; 0 until the first key exists. */
  readonly nextRotationAt: number;
}

/** Generates a key and makes the previous newest key primary. */
export interface RotateEntry {
  type: "rotate";
  /** Must be the newest serial + 1, else the entry is stale. */
  serial: number;
  key: Uint8Array;
  createdAt: number;
  /** The following rotation's due time, computed by the proposer from the schedule. */
  nextRotationAt: number;
}

/** Brings the next rotation forward (a manual rotation); never pushes it back. */
export interface RescheduleEntry {
  type: "reschedule";
  /** The newest serial the request saw; a rotation in between already satisfied it. */
  serial: number;
  rotateAt: number;
}

/** A gossip key log entry. */
export type KeyEntry = RotateEntry | RescheduleEntry;

/** Why an entry changed nothing; identical on every manager. */
export type KeyEntryRejection = "malformed" | "stale" | "superseded";

/** The state before the first key. */
export const EMPTY_KEY_STATE: GossipKeyState = Object.freeze({ keys: Object.freeze([]), nextRotationAt: 0 });

/** The keyring version: the newest key's serial, 0 before the first key. */
export function keyVersion(state: GossipKeyState): number {
  return state.keys.at(-1)?.serial ?? 0;
}

/**
 * The key every node seals with: the second newest, i.e. the key generated one rotation ago,
 * which every node has had a whole rotation interval to install. The first key is primary alone.
 */
export function primaryKey(keys: readonly GossipKey[]): GossipKey | undefined {
  return keys.length >= 2 ? keys[keys.length - 2] : keys[0];
}

/** The key id a serial gets in packet headers: the serial as 8 hex digits. */
export function keyIdOf(serial: number): string {
  return serial.toString(16).padStart(KEY_ID_BYTES * 2, "0");
}

/** The highest serial a key id can carry. */
export const MAX_SERIAL = 2 ** (KEY_ID_BYTES * 8) - 1;

/** The outcome of applying one entry. */
export type ApplyOutcome = { applied: true; entry: KeyEntry } | { applied: false; reason: KeyEntryRejection };

/** Applies `entry` to `state`, returning the new state (the input is never mutated). */
export function applyKeyEntry(state: GossipKeyState, entry: KeyEntry): { state: GossipKeyState; outcome: ApplyOutcome } {
  const version = keyVersion(state);
  if (entry.type === "rotate") {
    if (entry.serial !== version + 1) return { state, outcome: { applied: false, reason: "stale" } };
    const wellFormed = entry.key.length === GOSSIP_KEY_BYTES && entry.serial <= MAX_SERIAL && entry.nextRotationAt > entry.createdAt;
    if (!wellFormed) return { state, outcome: { applied: false, reason: "malformed" } };
    const added: GossipKey = { serial: entry.serial, key: Uint8Array.from(entry.key), createdAt: entry.createdAt };
    const keys = [...state.keys, added].slice(-KEYS_KEPT);
    return { state: { keys, nextRotationAt: entry.nextRotationAt }, outcome: { applied: true, entry } };
  }
  if (entry.serial !== version || version === 0) return { state, outcome: { applied: false, reason: "superseded" } };
  const nextRotationAt = Math.min(state.nextRotationAt, entry.rotateAt);
  return { state: { keys: state.keys, nextRotationAt }, outcome: { applied: true, entry } };
}
