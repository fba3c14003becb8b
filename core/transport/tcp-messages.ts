/**
 * Raft messages as they travel between managers: each one a `raft.msg` version-1 CBOR envelope.
 * Decoding checks the shape of every field before the core sees the message, because the core
 * trusts its input: a peer (or anything that reaches the port) must not be able to feed it a
 * negative index, a string term or an entry without data.
 */
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { DecodeError } from "../common/errors.ts";
import { record } from "../common/record.ts";
import { ENTRY_TYPES, type ConfState, type Entry, type Message, type MessageType, type SnapshotChunk, type SnapshotMeta } from "../raft/types.ts";

/** The envelope kind of a raft message. */
export const RAFT_MESSAGE_KIND = "raft.msg";

/** Envelope versions this build reads. */
export const RAFT_MESSAGE_VERSIONS: readonly number[] = [1];

const MESSAGE_TYPES: ReadonlySet<string> = new Set<MessageType>([
  "preVote", "preVoteResp", "vote", "voteResp", "append", "appendResp", "heartbeat", "heartbeatResp",
  "snapshot", "snapshotResp", "propose", "readIndex", "readIndexResp", "timeoutNow",
]);

/** Encodes a message; entries travel as `[term, index, type, data]` tuples to keep frames small. */
export function encodeRaftMessage(message: Message): Uint8Array {
  const body: Record<string, unknown> = {
    type: message.type,
    from: message.from,
    to: message.to,
    term: message.term,
    index: message.index,
    logTerm: message.logTerm,
    commit: message.commit,
    reject: message.reject,
    rejectHint: message.rejectHint,
    entries: message.entries.map((entry) => [entry.term, entry.index, ENTRY_TYPES.indexOf(entry.type), entry.data]),
  };
  if (message.snapshotChunk) body.snapshotChunk = message.snapshotChunk;
  if (message.context) body.context = message.context;
  return encodeEnvelope(RAFT_MESSAGE_KIND, 1, body);
}

/** Decodes and validates a message; throws `DecodeError` naming the first bad field. */
export function decodeRaftMessage(bytes: Uint8Array): Message {
  const { body } = decodeEnvelope(bytes, RAFT_MESSAGE_KIND, RAFT_MESSAGE_VERSIONS);
  const fields = record(body, "raft message");
  const type = fields.type;
  if (typeof type !== "string" || !MESSAGE_TYPES.has(type)) throw new DecodeError(`raft message type ${String(type).slice(0, 20)} is unknown`);
  const message: Message = {
    type: type as MessageType,
    from: nodeId(fields.from, "from"),
    to: nodeId(fields.to, "to"),
    term: count(fields.term, "term"),
    index: count(fields.index, "index"),
    logTerm: count(fields.logTerm, "logTerm"),
    commit: count(fields.commit, "commit"),
    reject: bool(fields.reject, "reject"),
    rejectHint: count(fields.rejectHint, "rejectHint"),
    entries: list(fields.entries, "entries").map(entry),
  };
  if (fields.snapshotChunk !== undefined) message.snapshotChunk = snapshotChunk(fields.snapshotChunk);
  if (fields.context !== undefined) message.context = bytesField(fields.context, "context");
  return message;
}

function entry(value: unknown, position: number): Entry {
  const tuple = list(value, `entries[${position}]`);
  const type = ENTRY_TYPES[tuple[2] as number];
  if (tuple.length !== 4 || type === undefined) throw new DecodeError(`entries[${position}] is malformed`);
  return { term: count(tuple[0], "entry term"), index: count(tuple[1], "entry index"), type, data: bytesField(tuple[3], "entry data") };
}

function snapshotChunk(value: unknown): SnapshotChunk {
  const fields = record(value, "raft snapshotChunk");
  const chunk: SnapshotChunk = {
    meta: snapshotMeta(fields.meta),
    offset: count(fields.offset, "snapshotChunk.offset"),
    total: count(fields.total, "snapshotChunk.total"),
    data: bytesField(fields.data, "snapshotChunk.data"),
    done: bool(fields.done, "snapshotChunk.done"),
  };
  if (chunk.offset + chunk.data.length > chunk.total) throw new DecodeError("snapshotChunk extends past its total size");
  return chunk;
}

function snapshotMeta(value: unknown): SnapshotMeta {
  const fields = record(value, "raft snapshot meta");
  return { index: count(fields.index, "meta.index"), term: count(fields.term, "meta.term"), conf: confState(fields.conf) };
}

function confState(value: unknown): ConfState {
  const fields = record(value, "raft conf");
  return { voters: ids(fields.voters, "conf.voters"), learners: ids(fields.learners, "conf.learners"), votersOutgoing: ids(fields.votersOutgoing, "conf.votersOutgoing") };
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new DecodeError(`raft ${what} is not a list`);
  return value;
}

function count(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new DecodeError(`raft ${what} must be a non-negative integer`);
  return value as number;
}

function bool(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw new DecodeError(`raft ${what} must be a boolean`);
  return value;
}

function bytesField(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new DecodeError(`raft ${what} must be bytes`);
  return value;
}

function nodeId(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 256) throw new DecodeError(`raft ${what} must be a node id`);
  return value;
}

function ids(value: unknown, what: string): string[] {
  return list(value, what).map((id) => nodeId(id, what));
}
