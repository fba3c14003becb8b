/**
 * Wire encoding of gossip messages: compound UDP packets and stream (TCP) payloads.
 *
 * A packet is the CBOR array `[PACKET_FORMAT, message, …]`; a stream payload is
 * `[STREAM_FORMAT, message]`. The leading small integer names what follows and its version (a
 * new layout takes a new number), in one byte: most packets are a ping or an ack of a few dozen
 * bytes, so a named envelope would cost a third of them. Each message is a CBOR array
 * `[tag, …fields]`: positional fields keep a packet small, so more broadcasts fit under
 * `maxPacketBytes`.
 *
 * Messages are encoded once (the broadcast queue keeps the bytes) and a packet is assembled by
 * concatenating them behind a CBOR array header, which is valid CBOR because items are
 * self-delimiting. Decoding validates every field of every message before anything is returned:
 * a packet is accepted whole or rejected with a `DecodeError`.
 */
import { DecodeError } from "../common/errors.ts";
import { decodeCbor, encodeCbor } from "../common/envelope.ts";
import { StringPool } from "./intern.ts";
import type { MemberState, PacketMessage, PushPullMember, StreamMessage } from "./types.ts";

/** First item of a UDP packet: gossip packet, layout 1. */
export const PACKET_FORMAT = 1;
/** First item of a stream payload: gossip stream, layout 1. */
export const STREAM_FORMAT = 2;

const EMPTY = new Uint8Array(0);

/** Longest member name or address accepted from the wire. */
export const MAX_NAME_LENGTH = 256;

/** Decoded names and addresses share one copy each, so member tables do not pin one per packet. */
const names = new StringPool(65_536);

const TAG = { ping: 0, indirectPing: 1, ack: 2, nack: 3, alive: 4, suspect: 5, dead: 6, user: 7, pushPull: 8 } as const;
const STATES: readonly MemberState[] = ["alive", "suspect", "dead", "left"];

/** Most bytes a packet spends on framing besides its messages (array header and format). */
export const PACKET_OVERHEAD = 4;

/** Most bytes a user message adds around its data: list header, tag and byte-string header. */
export const USER_MESSAGE_OVERHEAD = 7;

function arrayHeader(count: number): Uint8Array {
  if (count < 24) return Uint8Array.of(0x80 | count);
  if (count < 256) return Uint8Array.of(0x98, count);
  if (count < 65_536) return Uint8Array.of(0x99, count >> 8, count & 0xff);
  throw new RangeError(`too many messages in one packet: ${count}`);
}

function toArray(message: PacketMessage | StreamMessage): unknown[] {
  switch (message.type) {
    case "ping":
      return [TAG.ping, message.seq, message.target, message.source, message.sourceAddress];
    case "indirectPing":
      return [TAG.indirectPing, message.seq, message.target, message.targetAddress, message.source, message.sourceAddress, message.wantNack];
    case "ack":
      return [TAG.ack, message.seq];
    case "nack":
      return [TAG.nack, message.seq];
    case "alive":
      return [TAG.alive, message.name, message.incarnation, message.address, message.meta];
    case "suspect":
      return [TAG.suspect, message.name, message.incarnation, message.from];
    case "dead":
      return [TAG.dead, message.name, message.incarnation, message.from];
    case "user":
      return [TAG.user, message.data];
    case "pushPull":
      return [TAG.pushPull, message.join, message.members.map((m) => [m.name, m.address, m.meta, m.incarnation, STATES.indexOf(m.state)]), message.userState, message.digest];
  }
}

/** Encodes one packet message; a packet is then assembled from such pieces by `assemblePacket`. */
export function encodeMessage(message: PacketMessage): Uint8Array {
  return encodeCbor(toArray(message));
}

/** Joins encoded messages into one packet. The caller keeps the total under `maxPacketBytes`. */
export function assemblePacket(messages: readonly Uint8Array[]): Uint8Array {
  const header = arrayHeader(messages.length + 1);
  let size = header.length + 1;
  for (const message of messages) size += message.length;
  const packet = new Uint8Array(size);
  packet.set(header, 0);
  packet[header.length] = PACKET_FORMAT; // a CBOR integer below 24 is its own byte
  let offset = header.length + 1;
  for (const message of messages) {
    packet.set(message, offset);
    offset += message.length;
  }
  return packet;
}

/** Encodes a stream payload. */
export function encodeStream(message: StreamMessage): Uint8Array {
  return encodeCbor([STREAM_FORMAT, toArray(message)]);
}

/** Decodes and validates a UDP packet; throws `DecodeError` unless every message is well-formed. */
export function decodePacket(bytes: Uint8Array): PacketMessage[] {
  const body = framed(bytes, PACKET_FORMAT, "packet").slice(1);
  if (body.length === 0) throw new DecodeError("gossip packet carries no message");
  return body.map((item, index) => {
    const message = fromArray(item, index);
    if (message.type === "pushPull") throw new DecodeError("push-pull is only accepted on a stream", { index });
    return message;
  });
}

/** Decodes and validates a stream payload of at most `maxBytes`. */
export function decodeStream(bytes: Uint8Array, maxBytes: number): StreamMessage {
  if (bytes.length > maxBytes) throw new DecodeError(`gossip stream of ${bytes.length} bytes exceeds ${maxBytes}`, { bytes: bytes.length });
  const items = framed(bytes, STREAM_FORMAT, "stream");
  if (items.length !== 2) throw new DecodeError(`gossip stream carries ${items.length - 1} messages, expected 1`);
  const message = fromArray(items[1], 0);
  if (message.type !== "pushPull" && message.type !== "ping" && message.type !== "ack" && message.type !== "user") {
    throw new DecodeError(`a ${message.type} message is not accepted on a stream`);
  }
  return message;
}

/** Decodes a packet or stream payload: a CBOR list led by `format`. */
function framed(bytes: Uint8Array, format: number, what: string): unknown[] {
  const items = decodeCbor(bytes);
  if (!Array.isArray(items)) throw new DecodeError(`gossip ${what} is not a list`);
  if (items[0] !== format) throw new DecodeError(`not a gossip ${what} of a known format (leads with ${String(items[0]).slice(0, 20)})`, { expected: format });
  return items;
}

/** Reads positional fields of one message, naming the message and field in every error. */
class Fields {
  constructor(
    private readonly items: readonly unknown[],
    private readonly what: string,
    private readonly index: number,
  ) {}

  private fail(position: number, expected: string): never {
    throw new DecodeError(`gossip ${this.what} message #${this.index}: field ${position} must be ${expected}`, { message: this.what, index: this.index, field: position });
  }

  uint(position: number): number {
    const value = this.items[position];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) this.fail(position, "a non-negative integer");
    return value;
  }

  name(position: number): string {
    const value = this.items[position];
    if (typeof value !== "string" || value.length === 0 || value.length > MAX_NAME_LENGTH) this.fail(position, `a string of 1..${MAX_NAME_LENGTH} characters`);
    return names.intern(value);
  }

  bytes(position: number): Uint8Array {
    const value = this.items[position];
    if (!(value instanceof Uint8Array)) this.fail(position, "a byte string");
    // The decoder hands out views into the whole packet; a copy lets the packet be freed.
    return value.length === 0 ? EMPTY : new Uint8Array(value);
  }

  bool(position: number): boolean {
    const value = this.items[position];
    if (typeof value !== "boolean") this.fail(position, "a boolean");
    return value;
  }

  list(position: number): unknown[] {
    const value = this.items[position];
    if (!Array.isArray(value)) this.fail(position, "a list");
    return value;
  }
}

const ARITY: Record<number, [string, number]> = {
  [TAG.ping]: ["ping", 5],
  [TAG.indirectPing]: ["indirectPing", 7],
  [TAG.ack]: ["ack", 2],
  [TAG.nack]: ["nack", 2],
  [TAG.alive]: ["alive", 5],
  [TAG.suspect]: ["suspect", 4],
  [TAG.dead]: ["dead", 4],
  [TAG.user]: ["user", 2],
  [TAG.pushPull]: ["pushPull", 5],
};

function fromArray(item: unknown, index: number): PacketMessage | StreamMessage {
  if (!Array.isArray(item) || item.length === 0) throw new DecodeError(`gossip message #${index} is not a tagged list`, { index });
  const tag = item[0];
  const shape = typeof tag === "number" ? ARITY[tag] : undefined;
  if (shape === undefined) throw new DecodeError(`gossip message #${index} has unknown tag ${String(tag).slice(0, 20)}`, { index });
  const [what, arity] = shape;
  if (item.length !== arity) throw new DecodeError(`gossip ${what} message #${index} has ${item.length} fields, expected ${arity}`, { index, message: what });
  const f = new Fields(item, what, index);
  switch (tag) {
    case TAG.ping:
      return { type: "ping", seq: f.uint(1), target: f.name(2), source: f.name(3), sourceAddress: f.name(4) };
    case TAG.indirectPing:
      return { type: "indirectPing", seq: f.uint(1), target: f.name(2), targetAddress: f.name(3), source: f.name(4), sourceAddress: f.name(5), wantNack: f.bool(6) };
    case TAG.ack:
      return { type: "ack", seq: f.uint(1) };
    case TAG.nack:
      return { type: "nack", seq: f.uint(1) };
    case TAG.alive:
      return { type: "alive", name: f.name(1), incarnation: f.uint(2), address: f.name(3), meta: f.bytes(4) };
    case TAG.suspect:
      return { type: "suspect", name: f.name(1), incarnation: f.uint(2), from: f.name(3) };
    case TAG.dead:
      return { type: "dead", name: f.name(1), incarnation: f.uint(2), from: f.name(3) };
    case TAG.user:
      return { type: "user", data: f.bytes(1) };
    default:
      return { type: "pushPull", join: f.bool(1), members: f.list(2).map((entry, position) => pushPullMember(entry, position)), userState: f.bytes(3), digest: f.uint(4) };
  }
}

function pushPullMember(entry: unknown, index: number): PushPullMember {
  if (!Array.isArray(entry) || entry.length !== 5) throw new DecodeError(`push-pull member #${index} is not a 5-field list`, { index });
  const f = new Fields(entry, "pushPull member", index);
  const state = STATES[f.uint(4)];
  if (state === undefined) throw new DecodeError(`push-pull member #${index} has an unknown state`, { index });
  return { name: f.name(0), address: f.name(1), meta: f.bytes(2), incarnation: f.uint(3), state };
}
