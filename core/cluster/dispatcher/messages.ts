/**
 * Dispatcher session messages and their one encoding (envelope `cluster.dispatcher` v1). A
 * session runs over one secure channel from a node to a manager; the channel has already proven
 * both certificates, so the shell checks that `open.nodeId` is the peer's certificate id before
 * the core sees it. Decoders validate every field and throw `DecodeError` naming it.
 */
import { decodeEnvelope, encodeEnvelope } from "../../common/envelope.ts";
import { DecodeError } from "../../common/errors.ts";
import { record } from "../../common/record.ts";

const KIND = "cluster.dispatcher";
const VERSION = 1;
const MAX_ID_LENGTH = 128;
const MAX_MANAGERS = 64;
const MAX_HEARTBEAT_PERIOD = 10 * 60 * 1000;

/** A manager a node can open a session with. */
export interface ManagerAddress {
  nodeId: string;
  /** `host:port` of its secure channel. */
  address: string;
}

/** Node -> manager. */
export type NodeMessage =
  /** Opens a session, saying which keyring version the node holds (0: none). */
  | { type: "open"; nodeId: string; keyringVersion: number }
  | { type: "heartbeat"; sessionId: string; seq: number }
  /** The node now holds keyring `version`. */
  | { type: "keyringAck"; sessionId: string; version: number };

/** Manager -> node. */
export type ManagerMessage =
  /**
   * The session is open; heartbeat every `heartbeatPeriod` ms; `managers` to fail over to;
   * `gossipAddress` is where this manager gossips (empty when it does not), for the node to join through.
   */
  | { type: "accepted"; sessionId: string; heartbeatPeriod: number; managers: ManagerAddress[]; gossipAddress: string }
  | { type: "heartbeatAck"; sessionId: string; seq: number; heartbeatPeriod: number }
  /** The managers changed (one joined, left or moved): the node's new failover list. */
  | { type: "managers"; sessionId: string; managers: ManagerAddress[] }
  /** The cluster's keyring sealed to the node (see `sealKeyring`). */
  | { type: "keyring"; sessionId: string; version: number; sealed: Uint8Array }
  /** The manager ends the session: the node should open one elsewhere (or stop, if removed). */
  | { type: "closed"; reason: SessionCloseReason };

/** Why a manager closed a session. */
export type SessionCloseReason = "shuttingDown" | "removed" | "superseded" | "protocol";

const CLOSE_REASONS: readonly SessionCloseReason[] = ["shuttingDown", "removed", "superseded", "protocol"];

/** Encodes a node message. */
export function encodeNodeMessage(message: NodeMessage): Uint8Array {
  return encodeEnvelope(KIND, VERSION, message);
}

/** Encodes a manager message. */
export function encodeManagerMessage(message: ManagerMessage): Uint8Array {
  return encodeEnvelope(KIND, VERSION, message);
}

/** Decodes a message from a node; throws `DecodeError` naming the bad field. */
export function decodeNodeMessage(bytes: Uint8Array): NodeMessage {
  const body = record(decodeEnvelope(bytes, KIND, [VERSION]).body, "message");
  switch (body.type) {
    case "open":
      return { type: "open", nodeId: id(body.nodeId, "nodeId"), keyringVersion: count(body.keyringVersion, "keyringVersion") };
    case "heartbeat":
      return { type: "heartbeat", sessionId: id(body.sessionId, "sessionId"), seq: count(body.seq, "seq") };
    case "keyringAck":
      return { type: "keyringAck", sessionId: id(body.sessionId, "sessionId"), version: count(body.version, "version") };
    default:
      throw new DecodeError("unknown dispatcher message type from a node", { type: String(body.type).slice(0, 40) });
  }
}

/** Decodes a message from a manager; throws `DecodeError` naming the bad field. */
export function decodeManagerMessage(bytes: Uint8Array): ManagerMessage {
  const body = record(decodeEnvelope(bytes, KIND, [VERSION]).body, "message");
  switch (body.type) {
    case "accepted":
      return {
        type: "accepted",
        sessionId: id(body.sessionId, "sessionId"),
        heartbeatPeriod: period(body.heartbeatPeriod),
        managers: managers(body.managers),
        gossipAddress: optionalText(body.gossipAddress, "gossipAddress"),
      };
    case "heartbeatAck":
      return { type: "heartbeatAck", sessionId: id(body.sessionId, "sessionId"), seq: count(body.seq, "seq"), heartbeatPeriod: period(body.heartbeatPeriod) };
    case "managers":
      return { type: "managers", sessionId: id(body.sessionId, "sessionId"), managers: managers(body.managers) };
    case "keyring": {
      if (!(body.sealed instanceof Uint8Array)) throw new DecodeError("sealed must be bytes", { field: "sealed" });
      return { type: "keyring", sessionId: id(body.sessionId, "sessionId"), version: count(body.version, "version"), sealed: body.sealed };
    }
    case "closed": {
      const reason = body.reason as SessionCloseReason;
      if (!CLOSE_REASONS.includes(reason)) throw new DecodeError(`reason must be one of ${CLOSE_REASONS.join(", ")}`, { field: "reason" });
      return { type: "closed", reason };
    }
    default:
      throw new DecodeError("unknown dispatcher message type from a manager", { type: String(body.type).slice(0, 40) });
  }
}

function id(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new DecodeError(`${field} must be a string of 1 to ${MAX_ID_LENGTH} characters`, { field });
  }
  return value;
}

function optionalText(value: unknown, field: string): string {
  return value === "" ? "" : id(value, field);
}

function count(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new DecodeError(`${field} must be a whole number, 0 or more`, { field });
  return value;
}

function period(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > MAX_HEARTBEAT_PERIOD) {
    throw new DecodeError(`heartbeatPeriod must be a whole number of ms from 1 to ${MAX_HEARTBEAT_PERIOD}`, { field: "heartbeatPeriod" });
  }
  return value;
}

function managers(value: unknown): ManagerAddress[] {
  if (!Array.isArray(value) || value.length > MAX_MANAGERS) throw new DecodeError(`managers must be a list of at most ${MAX_MANAGERS}`, { field: "managers" });
  return value.map((item, index) => {
    const fields = record(item, `managers[${index}]`);
    return { nodeId: id(fields.nodeId, `managers[${index}].nodeId`), address: id(fields.address, `managers[${index}].address`) };
  });
}
