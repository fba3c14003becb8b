/**
 * Crockford base32: the copy-paste-safe alphabet for join tokens. It has no I, L, O or U,
 * so a token read aloud or retyped is not misread, and decoding forgives lowercase and the
 * look-alikes (I and L read as 1, O as 0).
 */
import { DecodeError } from "../common/errors.ts";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Encodes bytes as Crockford base32 (no padding). */
export function encodeBase32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes Crockford base32; any character outside the alphabet throws `DecodeError`. */
export function decodeBase32(text: string): Uint8Array {
  const normalized = text.toUpperCase().replace(/[IL]/g, "1").replace(/O/g, "0");
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of normalized) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) throw new DecodeError(`invalid character ${JSON.stringify(char)} in base32 text`);
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  return Uint8Array.from(out);
}
