/**
 * Join secrets: how the replicated state keeps each role's token secret, and how a joining node
 * proves it holds one without the proof being worth anything on another connection.
 *
 * - The state keeps the secret sealed (secretbox) under a key derived from the root secret key,
 *   which only managers hold: any manager can check a proof and print the token, and a copy of
 *   the Raft log or a snapshot alone reveals nothing that admits a node.
 * - The proof is HMAC-SHA-512(secret, handshake hash). The handshake hash is unique to one secure
 *   channel session, so a proof observed (or relayed by a man in the middle, who fails the root
 *   pin anyway) cannot be replayed on any other connection.
 */
import nacl from "tweetnacl";
import { ShoalError } from "../common/errors.ts";
import { concatBytes } from "../secure/channel/bytes.ts";
import { hmacSha512 } from "../secure/channel/kdf.ts";
import { constantTimeEqual, sha256 } from "../secure/hash.ts";
import type { SealedJoinSecret } from "./contract.ts";

const SEALING_LABEL = new TextEncoder().encode("shoal join secret sealing v1");

/** Length of a role secret (as in the token). */
export const JOIN_SECRET_BYTES = 32;

function sealingKey(rootSecretKey: Uint8Array): Uint8Array {
  return sha256(concatBytes(SEALING_LABEL, rootSecretKey));
}

/** Seals a role secret for the replicated state. */
export function sealJoinSecret(secret: Uint8Array, rootSecretKey: Uint8Array, randomBytes: (length: number) => Uint8Array): SealedJoinSecret {
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  return { nonce, sealed: nacl.secretbox(secret, nonce, sealingKey(rootSecretKey)) };
}

/** Opens a sealed role secret; throws when it was not sealed under this root key. */
export function openJoinSecret(sealed: SealedJoinSecret, rootSecretKey: Uint8Array): Uint8Array {
  const secret = nacl.secretbox.open(sealed.sealed, sealed.nonce, sealingKey(rootSecretKey));
  if (!secret || secret.length !== JOIN_SECRET_BYTES) throw new ShoalError("join_secret_unreadable", "the stored join secret does not open under this manager's root key");
  return secret;
}

/** The joiner's proof of `secret`, bound to one secure channel session. */
export function joinProof(secret: Uint8Array, handshakeHash: Uint8Array): Uint8Array {
  return hmacSha512(secret, handshakeHash);
}

/** Whether `proof` proves `secret` on the session with `handshakeHash` (constant time). */
export function verifyJoinProof(proof: Uint8Array, secret: Uint8Array, handshakeHash: Uint8Array): boolean {
  return constantTimeEqual(proof, joinProof(secret, handshakeHash));
}
