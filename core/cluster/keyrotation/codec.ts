/**
 * CBOR encodings of the gossip key log entries and of the replicated state (for snapshots).
 * Decoders check every field before anything is trusted and throw `DecodeError` naming it.
 */
import { decodeEnvelope, encodeEnvelope } from "../../common/envelope.ts";
import { DecodeError } from "../../common/errors.ts";
import { record } from "../../common/record.ts";
import { GOSSIP_KEY_BYTES } from "../../secure/keyring.ts";
import { type GossipKey, type GossipKeyState, KEYS_KEPT, type KeyEntry, MAX_SERIAL } from "./state.ts";

const ENTRY_KIND = "cluster.gossipKeys.entry";
const STATE_KIND = "cluster.gossipKeys.state";
const VERSION = 1;

/** Encodes a log entry for a Raft proposal. */
export function encodeKeyEntry(entry: KeyEntry): Uint8Array {
  return encodeEnvelope(ENTRY_KIND, VERSION, entry);
}

/** Decodes a log entry; throws `DecodeError` when it is not a valid gossip key entry. */
export function decodeKeyEntry(bytes: Uint8Array): KeyEntry {
  const body = record(decodeEnvelope(bytes, ENTRY_KIND, [VERSION]).body, "entry");
  const type = body.type;
  if (type === "rotate") {
    return {
      type,
      serial: serial(body.serial, "serial"),
      key: gossipKey(body.key, "key"),
      createdAt: timestamp(body.createdAt, "createdAt"),
      nextRotationAt: timestamp(body.nextRotationAt, "nextRotationAt"),
    };
  }
  if (type === "reschedule") return { type, serial: serial(body.serial, "serial"), rotateAt: timestamp(body.rotateAt, "rotateAt") };
  throw new DecodeError("unknown gossip key entry type", { type: String(type).slice(0, 40) });
}

/** Encodes the replicated state for a snapshot. */
export function encodeKeyState(state: GossipKeyState): Uint8Array {
  return encodeEnvelope(STATE_KIND, VERSION, { keys: state.keys, nextRotationAt: state.nextRotationAt });
}

/** Decodes a snapshot of the replicated state; throws `DecodeError` naming what is wrong. */
export function decodeKeyState(bytes: Uint8Array): GossipKeyState {
  const body = record(decodeEnvelope(bytes, STATE_KIND, [VERSION]).body, "state");
  const keys = Array.isArray(body.keys) && body.keys.length === 0 ? [] : decodeGossipKeys(body.keys);
  return { keys, nextRotationAt: timestamp(body.nextRotationAt, "nextRotationAt") };
}

/**
 * Validates a non-empty list of at most `KEYS_KEPT` keys, oldest first, with strictly increasing
 * serials and 32-byte keys.
 */
export function decodeGossipKeys(value: unknown): GossipKey[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > KEYS_KEPT) {
    throw new DecodeError(`keys must be a list of 1 to ${KEYS_KEPT} keys`, { field: "keys" });
  }
  const keys = value.map((item, index) => {
    const fields = record(item, `keys[${index}]`);
    return {
      serial: serial(fields.serial, `keys[${index}].serial`),
      key: gossipKey(fields.key, `keys[${index}].key`),
      createdAt: timestamp(fields.createdAt, `keys[${index}].createdAt`),
    };
  });
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i] as GossipKey).serial <= (keys[i - 1] as GossipKey).serial) throw new DecodeError("key serials must increase", { field: `keys[${i}].serial` });
  }
  return keys;
}

/** A key serial: a whole number from 1 to `MAX_SERIAL`. */
function serial(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_SERIAL) {
    throw new DecodeError(`${field} must be a whole number from 1 to ${MAX_SERIAL}`, { field });
  }
  return value;
}

/** A time in ms since the epoch. */
function timestamp(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new DecodeError(`${field} must be a time in ms`, { field });
  return value;
}

function gossipKey(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== GOSSIP_KEY_BYTES) {
    throw new DecodeError(`${field} must be ${GOSSIP_KEY_BYTES} bytes`, { field });
  }
  return value;
}
