/**
 * A keyring on its way from a manager to one node: the cluster's gossip keys, bound to the
 * cluster and to the node, sealed with NaCl box from the manager's box key to the node's box key
 * (the X25519 key in its certificate). Only that node can open it, and the node accepts it only
 * from a key it knows to be a manager's.
 *
 * Wire layout: envelope `cluster.gossipKeys.sealed` v1 with body
 * `[manager box public key, 24-byte nonce, box(envelope cluster.gossipKeys.keyring v1)]`.
 */
import nacl from "tweetnacl";
import { decodeEnvelope, encodeEnvelope } from "../../common/envelope.ts";
import { describeError, ShoalError } from "../../common/errors.ts";
import { record } from "../../common/record.ts";
import { decodeGossipKeys } from "./codec.ts";
import type { GossipKey } from "./state.ts";

const SEALED_KIND = "cluster.gossipKeys.sealed";
const KEYRING_KIND = "cluster.gossipKeys.keyring";
const VERSION = 1;

/** What a sealed keyring carries. */
export interface KeyringPayload {
  clusterId: string;
  /** The node it was sealed for. */
  nodeId: string;
  /** Every key the cluster keeps, oldest first. */
  keys: GossipKey[];
}

/** Why a received keyring was refused; stable, for counters and tests. */
export type KeyringRejection = "malformed" | "untrustedSender" | "badSeal" | "wrongCluster" | "wrongNode" | "stale";

/** A received keyring was refused; nothing was installed. */
export class KeyringError extends ShoalError {
  constructor(
    readonly reason: KeyringRejection,
    message: string,
    context: Record<string, unknown> = {},
  ) {
    super(`keyring_${reason}`, message, context);
  }
}

/**
 * The X25519 shared keys of one box key pair with its peers. Computing one costs about a
 * millisecond, and a session sees the same peer for its whole life (a manager resends and
 * rotates to the same nodes, a node hears from the same few managers), so each is computed once.
 */
export class SharedKeys {
  private readonly byPeer = new Map<string, Uint8Array>();

  constructor(
    /** This side's box key pair. */
    readonly own: nacl.BoxKeyPair,
    /** Peers remembered at most; the least recently added is forgotten first. */
    private readonly maxPeers = 4096,
  ) {}

  /** The shared key with `peerPublicKey` (32 bytes). */
  with(peerPublicKey: Uint8Array): Uint8Array {
    const peer = Buffer.from(peerPublicKey).toString("hex");
    let shared = this.byPeer.get(peer);
    if (!shared) {
      shared = nacl.box.before(peerPublicKey, this.own.secretKey);
      if (this.byPeer.size >= this.maxPeers) this.byPeer.delete(this.byPeer.keys().next().value as string);
      this.byPeer.set(peer, shared);
    }
    return shared;
  }
}

/** Seals `payload` from the manager's box key pair (in `managerKeys`) to the node's box public key. */
export function sealKeyring(
  payload: KeyringPayload,
  nodeBoxPublicKey: Uint8Array,
  managerKeys: SharedKeys,
  randomBytes: (length: number) => Uint8Array,
): Uint8Array {
  if (nodeBoxPublicKey.length !== nacl.box.publicKeyLength) {
    throw new ShoalError("key_invalid", `a node box public key is ${nacl.box.publicKeyLength} bytes, got ${nodeBoxPublicKey.length}`, { nodeId: payload.nodeId });
  }
  const nonce = randomBytes(nacl.box.nonceLength);
  const plaintext = encodeEnvelope(KEYRING_KIND, VERSION, payload);
  const box = nacl.box.after(plaintext, nonce, managerKeys.with(nodeBoxPublicKey));
  return encodeEnvelope(SEALED_KIND, VERSION, [managerKeys.own.publicKey, nonce, box]);
}

/** What the receiving node knows to open and check a keyring. */
export interface OpenKeyringOptions {
  clusterId: string;
  nodeId: string;
  /** The node's box key pair and the shared keys with the managers it heard from. */
  boxKeys: SharedKeys;
  /** Whether a box public key belongs to a manager of this cluster (from its certificate). */
  isManagerBoxKey: (publicKey: Uint8Array) => boolean;
}

/** Opens and validates a sealed keyring; throws `KeyringError` with the reason. */
export function openKeyring(sealed: Uint8Array, options: OpenKeyringOptions): KeyringPayload {
  const [senderKey, nonce, box] = outerParts(sealed);
  if (!options.isManagerBoxKey(senderKey)) throw new KeyringError("untrustedSender", "keyring was not sealed by a known manager");
  const plaintext = nacl.box.open.after(box, nonce, options.boxKeys.with(senderKey));
  if (!plaintext) throw new KeyringError("badSeal", "keyring could not be opened with this node's box key");
  const payload = innerPayload(plaintext);
  if (payload.clusterId !== options.clusterId) throw new KeyringError("wrongCluster", "keyring belongs to another cluster");
  if (payload.nodeId !== options.nodeId) throw new KeyringError("wrongNode", "keyring was sealed for another node", { sealedFor: payload.nodeId.slice(0, 64) });
  return payload;
}

function outerParts(sealed: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  let body: unknown;
  try {
    body = decodeEnvelope(sealed, SEALED_KIND, [VERSION]).body;
  } catch (error) {
    throw new KeyringError("malformed", `sealed keyring: ${describeError(error)}`);
  }
  if (!Array.isArray(body) || body.length !== 3) throw new KeyringError("malformed", "sealed keyring must be [sender key, nonce, box]");
  const [senderKey, nonce, box] = body as unknown[];
  if (!(senderKey instanceof Uint8Array) || senderKey.length !== nacl.box.publicKeyLength) throw new KeyringError("malformed", "sealed keyring sender key must be 32 bytes");
  if (!(nonce instanceof Uint8Array) || nonce.length !== nacl.box.nonceLength) throw new KeyringError("malformed", "sealed keyring nonce must be 24 bytes");
  if (!(box instanceof Uint8Array) || box.length < nacl.box.overheadLength) throw new KeyringError("malformed", "sealed keyring box is missing or too short");
  return [senderKey, nonce, box];
}

function innerPayload(plaintext: Uint8Array): KeyringPayload {
  try {
    const body = record(decodeEnvelope(plaintext, KEYRING_KIND, [VERSION]).body, "keyring");
    const { clusterId, nodeId } = body;
    if (typeof clusterId !== "string" || typeof nodeId !== "string") throw new KeyringError("malformed", "keyring clusterId and nodeId must be strings");
    return { clusterId, nodeId, keys: decodeGossipKeys(body.keys) };
  } catch (error) {
    if (error instanceof KeyringError) throw error;
    throw new KeyringError("malformed", `keyring: ${describeError(error)}`);
  }
}
