/**
 * A digest of a member table, so periodic anti-entropy can skip shipping the whole table when
 * two nodes already agree (the usual case at steady state). It covers the members a node counts
 * as present (alive or suspect) by name and incarnation: any missed join, refutation, metadata
 * change or death makes two digests differ, while a suspicion still settling, or a dead member
 * one node has reaped and the other not yet, does not force a full exchange.
 *
 * Each member hashes to 52 bits and the digest is their sum modulo 2^52: independent of table
 * order, and exact in a double. It detects divergence; it is not a security measure (packets
 * are authenticated by the gossip seal).
 */
import type { Member } from "./types.ts";

const MODULUS = 2 ** 52;

function memberHash(name: string, incarnation: number): number {
  // Two FNV-1a lanes with different primes give 52 usable bits.
  let low = 0x811c9dc5;
  let high = 0x050c5d1f;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    low = Math.imul(low ^ code, 0x01000193);
    high = Math.imul(high ^ code, 0x5bd1e995);
  }
  const incarnationLow = incarnation % 0x1_0000_0000;
  const incarnationHigh = Math.floor(incarnation / 0x1_0000_0000);
  low = Math.imul(low ^ incarnationLow, 0x01000193) >>> 0;
  high = Math.imul(high ^ incarnationHigh ^ (incarnationLow >>> 7), 0x5bd1e995) >>> 0;
  return (high & 0xfffff) * 0x1_0000_0000 + low;
}

/** The digest of the present members among `members`; see the module comment. */
export function tableDigest(members: Iterable<Member>): number {
  let digest = 0;
  for (const member of members) {
    if (member.state !== "alive" && member.state !== "suspect") continue;
    digest = (digest + memberHash(member.name, member.incarnation)) % MODULUS;
  }
  return digest;
}
