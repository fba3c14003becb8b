/**
 * Wire encoding of NetworkDB messages: a versioned CBOR envelope (`networkdb`, version 1)
 * whose body is checked field by field before anything in it is trusted. Unknown fields,
 * wrong types, oversized names or values and out-of-range counters are all rejected.
 *
 * A gossip message carries its table events as byte strings, each one CBOR-encoded entry:
 * events are encoded once when queued and packed as they are, like memberlist's compound
 * messages.
 */
import { decodeCbor, decodeEnvelope, encodeCbor, encodeEnvelope } from "../../common/envelope.ts";
import { DecodeError } from "../../common/errors.ts";
import { record } from "../../common/record.ts";
import { maxNameBytes } from "./config.ts";
import type { AttachmentRecord, AttachmentsMessage, BulkSyncMessage, EntryRecord, NetworkDbMessage } from "./types.ts";

/** Envelope kind of every NetworkDB message. */
const networkDbEnvelopeKind = "networkdb";
const version = 1;

/** Limits the decoder enforces beyond the fixed name rules. */
export interface DecodeLimits {
  /** Largest accepted entry value. */
  maxValueBytes: number;
  /** Longest accepted tombstone residual time (a peer cannot pin a tombstone forever). */
  maxReapInMs: number;
}

/** Encodes a bulk-sync or attachments message as a `networkdb` envelope. */
export function encodeMessage(message: BulkSyncMessage | AttachmentsMessage): Uint8Array {
  return encodeEnvelope(networkDbEnvelopeKind, version, message);
}

/** Encodes one table event, to be queued and later packed by `encodeGossip`. */
export function encodeEntry(record: EntryRecord): Uint8Array {
  return encodeCbor(record);
}

/** Encodes a gossip message from events encoded by `encodeEntry`. */
export function encodeGossip(from: string, network: string, events: readonly Uint8Array[]): Uint8Array {
  return encodeEnvelope(networkDbEnvelopeKind, version, { type: "gossip", from, network, events });
}

/** Decodes and validates a `networkdb` envelope; anything malformed throws `DecodeError`. */
export function decodeMessage(bytes: Uint8Array, limits: DecodeLimits): NetworkDbMessage {
  const { body } = decodeEnvelope(bytes, networkDbEnvelopeKind, [version]);
  const message = record(body, "message");
  switch (message.type) {
    case "gossip":
      exactFields(message, ["type", "from", "network", "events"], "gossip");
      return {
        type: "gossip",
        from: name(message.from, "from"),
        network: name(message.network, "network"),
        events: list(message.events, "events", (item) => entry(packed(item), limits)),
      };
    case "bulk": {
      exactFields(message, ["type", "from", "network", "reply", "attachments", "entries"], "bulk");
      const network = name(message.network, "network");
      const attachments = list(message.attachments, "attachments", attachment);
      if (attachments.some((record) => record.network !== network)) throw new DecodeError("bulk sync carries another network's attachments", { network });
      return {
        type: "bulk",
        from: name(message.from, "from"),
        network,
        reply: bool(message.reply, "reply"),
        attachments,
        entries: list(message.entries, "entries", (item) => entry(item, limits)),
      };
    }
    case "attachments":
      exactFields(message, ["type", "records"], "attachments");
      return { type: "attachments", records: list(message.records, "records", attachment) };
    default:
      throw new DecodeError("unknown networkdb message type", { type: String(message.type).slice(0, 40) });
  }
}

function entry(value: unknown, limits: DecodeLimits): EntryRecord {
  const item = record(value, "entry");
  exactFields(item, ["table", "key", "owner", "ltime", "ownerJoin", "value", "reapIn"], "entry");
  if (!(item.value instanceof Uint8Array)) throw new DecodeError("entry value must be bytes", { field: "value" });
  if (item.value.length > limits.maxValueBytes) {
    throw new DecodeError("entry value too large", { field: "value", bytes: item.value.length, limit: limits.maxValueBytes });
  }
  const reapIn = item.reapIn === null ? null : counter(item.reapIn, "reapIn");
  if (reapIn !== null && item.value.length > 0) throw new DecodeError("tombstone carries a value", { field: "value" });
  const ltime = counter(item.ltime, "ltime");
  const ownerJoin = counter(item.ownerJoin, "ownerJoin");
  if (ltime === 0 || ownerJoin === 0 || ownerJoin > ltime) {
    throw new DecodeError("entry Lamport times out of order", { ltime, ownerJoin });
  }
  return {
    table: name(item.table, "table"),
    key: name(item.key, "key"),
    owner: name(item.owner, "owner"),
    ltime,
    ownerJoin,
    // A plain copy: no Buffer subclass, and no view pinning the whole received packet.
    value: new Uint8Array(item.value),
    reapIn: reapIn === null ? null : Math.min(reapIn, limits.maxReapInMs),
  };
}

function packed(value: unknown): unknown {
  if (!(value instanceof Uint8Array)) throw new DecodeError("gossip event must be an encoded entry", { field: "events" });
  return decodeCbor(value);
}

function attachment(value: unknown): AttachmentRecord {
  const item = record(value, "attachment");
  exactFields(item, ["node", "network", "ltime", "joined"], "attachment");
  const ltime = counter(item.ltime, "ltime");
  if (ltime === 0) throw new DecodeError("attachment ltime must be positive", { field: "ltime" });
  return { node: name(item.node, "node"), network: name(item.network, "network"), ltime, joined: bool(item.joined, "joined") };
}

function exactFields(value: Record<string, unknown>, fields: readonly string[], what: string): void {
  const keys = Object.keys(value);
  const unexpected = keys.find((key) => !fields.includes(key));
  if (unexpected !== undefined) throw new DecodeError(`unexpected field in ${what}`, { what, field: unexpected.slice(0, 40) });
  const missing = fields.find((field) => !Object.hasOwn(value, field));
  if (missing !== undefined) throw new DecodeError(`missing field in ${what}`, { what, field: missing });
}

/** True when `value` is a valid name: 1..maxNameBytes of printable ASCII, safe to log and compare. */
export function isValidName(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= maxNameBytes && /^[\x21-\x7e]+$/.test(value);
}

function name(value: unknown, field: string): string {
  if (!isValidName(value)) throw new DecodeError(`${field} must be 1-${maxNameBytes} printable ASCII characters`, { field });
  return value;
}

function counter(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new DecodeError(`${field} must be a non-negative integer`, { field });
  }
  return value;
}

function bool(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") throw new DecodeError(`${field} must be a boolean`, { field });
  return value;
}

function list<T>(value: unknown, field: string, item: (value: unknown) => T): T[] {
  if (!Array.isArray(value)) throw new DecodeError(`${field} must be an array`, { field });
  return value.map(item);
}
