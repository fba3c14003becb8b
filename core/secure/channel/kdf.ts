/**
 * Key derivation from tweetnacl's SHA-512 alone: HMAC-SHA-512 (RFC 2104) and the two-output
 * HKDF the Noise framework uses to advance its chaining key (Noise spec §4.3).
 */
import nacl from "tweetnacl";
import { concatBytes } from "./bytes.ts";

const BLOCK_BYTES = 128;
const INNER_PAD = 0x36;
const OUTER_PAD = 0x5c;

/** HMAC-SHA-512 of `data` under `key`. */
export function hmacSha512(key: Uint8Array, data: Uint8Array): Uint8Array {
  const block = new Uint8Array(BLOCK_BYTES);
  block.set(key.length > BLOCK_BYTES ? nacl.hash(key) : key);
  const inner = new Uint8Array(BLOCK_BYTES + data.length);
  const outer = new Uint8Array(BLOCK_BYTES + nacl.hash.hashLength);
  for (let i = 0; i < BLOCK_BYTES; i++) {
    inner[i] = (block[i] as number) ^ INNER_PAD;
    outer[i] = (block[i] as number) ^ OUTER_PAD;
  }
  inner.set(data, BLOCK_BYTES);
  outer.set(nacl.hash(inner), BLOCK_BYTES);
  return nacl.hash(outer);
}

/** Noise's HKDF with two outputs: extract with `chainingKey`, expand twice. Each output is 64 bytes. */
export function hkdf2(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array): [Uint8Array, Uint8Array] {
  const pseudoRandomKey = hmacSha512(chainingKey, inputKeyMaterial);
  const first = hmacSha512(pseudoRandomKey, Uint8Array.of(1));
  const second = hmacSha512(pseudoRandomKey, concatBytes(first, Uint8Array.of(2)));
  return [first, second];
}
