/**
 * The messages of the join exchange, one request and one reply on a `join` connection:
 * - `join`: a node holding a token (a `joining` peer) proves the role secret bound to this
 *   session's handshake hash and presents its freshly made public keys;
 * - `renew`: a member asks for a new certificate for its keys, with the role the replicated
 *   state now gives it (renewal at `renewalTime`, and the switch after a promotion or demotion).
 * A manager's reply carries the certificate and, for a manager, the root secret key and the
 * Raft peers it must talk to.
 */
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { DecodeError } from "../common/errors.ts";
import { record } from "../common/record.ts";
import type { NodeRole } from "./contract.ts";

const REQUEST_KIND = "cluster.join.req";
const REPLY_KIND = "cluster.join.reply";

/** What a node asks for. */
export type JoinRequest =
  | { kind: "join"; role: NodeRole; proof: Uint8Array; nodeId: string; hostname: string; address: string; signingPublicKey: Uint8Array; boxPublicKey: Uint8Array }
  /** `unlessRole`: only when the state's role differs (a worker's cheap check for a promotion). */
  | { kind: "renew"; unlessRole?: NodeRole };

/** A manager as a new Raft member must know it. */
export interface RaftPeer {
  id: string;
  address: string;
}

/** A manager's answer. */
export type JoinReply =
  | { ok: true; certificate: Uint8Array; role: NodeRole; clusterId: string; rootPublicKey: Uint8Array; rootSecretKey?: Uint8Array; managers: RaftPeer[] }
  | { ok: false; code: string; message: string };

/** Encodes a request. */
export function encodeJoinRequest(request: JoinRequest): Uint8Array {
  return encodeEnvelope(REQUEST_KIND, 1, request);
}

/** Decodes and validates a request; throws `DecodeError`. */
export function decodeJoinRequest(bytes: Uint8Array): JoinRequest {
  const body = record(decodeEnvelope(bytes, REQUEST_KIND, [1]).body, "join request");
  if (body.kind === "renew") {
    if (body.unlessRole === undefined) return { kind: "renew" };
    if (body.unlessRole !== "manager" && body.unlessRole !== "worker") throw new DecodeError("renew unlessRole must be manager or worker");
    return { kind: "renew", unlessRole: body.unlessRole };
  }
  if (body.kind !== "join") throw new DecodeError("join request kind must be join or renew");
  const { role, proof, nodeId, hostname, address, signingPublicKey, boxPublicKey } = body;
  if (role !== "manager" && role !== "worker") throw new DecodeError("join request role must be manager or worker");
  if (!(proof instanceof Uint8Array) || proof.length !== 64) throw new DecodeError("join request proof must be 64 bytes");
  if (typeof nodeId !== "string" || !/^[0-9a-f]{32}$/.test(nodeId)) throw new DecodeError("join request node id must be 32 hex digits");
  if (typeof hostname !== "string" || hostname.length === 0 || hostname.length > 253) throw new DecodeError("join request hostname is invalid");
  if (typeof address !== "string" || address.length === 0 || address.length > 261) throw new DecodeError("join request address is invalid");
  if (!(signingPublicKey instanceof Uint8Array) || signingPublicKey.length !== 32) throw new DecodeError("join request signing key must be 32 bytes");
  if (!(boxPublicKey instanceof Uint8Array) || boxPublicKey.length !== 32) throw new DecodeError("join request box key must be 32 bytes");
  return { kind: "join", role, proof, nodeId, hostname, address, signingPublicKey, boxPublicKey };
}

/** Encodes a reply. */
export function encodeJoinReply(reply: JoinReply): Uint8Array {
  return encodeEnvelope(REPLY_KIND, 1, reply);
}

/** Decodes and validates a reply; throws `DecodeError`. */
export function decodeJoinReply(bytes: Uint8Array): JoinReply {
  const body = record(decodeEnvelope(bytes, REPLY_KIND, [1]).body, "join reply");
  if (body.ok === false) {
    if (typeof body.code !== "string" || typeof body.message !== "string") throw new DecodeError("join refusal has no code or message");
    return { ok: false, code: body.code, message: body.message.slice(0, 1000) };
  }
  const { certificate, role, clusterId, rootPublicKey, rootSecretKey, managers } = body;
  if (!(certificate instanceof Uint8Array)) throw new DecodeError("join reply has no certificate");
  if (role !== "manager" && role !== "worker") throw new DecodeError("join reply role is invalid");
  if (typeof clusterId !== "string") throw new DecodeError("join reply has no cluster id");
  if (!(rootPublicKey instanceof Uint8Array) || rootPublicKey.length !== 32) throw new DecodeError("join reply root public key is invalid");
  if (rootSecretKey !== undefined && (!(rootSecretKey instanceof Uint8Array) || rootSecretKey.length !== 64)) throw new DecodeError("join reply root secret key is invalid");
  if (!Array.isArray(managers) || !managers.every((peer) => typeof peer?.id === "string" && typeof peer?.address === "string")) throw new DecodeError("join reply managers are invalid");
  return { ok: true, certificate, role, clusterId, rootPublicKey, rootSecretKey, managers: managers as RaftPeer[] };
}
