/**
 * Row checksums for the raft store. SQLite protects its own pages against torn writes, but not
 * against a disk or a copy that flips bits inside a row; a CRC32 over every record's full content
 * lets the store refuse to serve such a row instead of replicating garbage.
 */

/** CRC32 of the concatenation of `parts` (numbers are hashed as 8-byte little-endian floats). */
export function checksum(...parts: (number | string | Uint8Array)[]): number {
  let crc = 0;
  for (const part of parts) crc = Bun.hash.crc32(toBytes(part), crc);
  return crc >>> 0;
}

const encoder = new TextEncoder();

function toBytes(part: number | string | Uint8Array): Uint8Array {
  if (part instanceof Uint8Array) return part;
  if (typeof part === "string") return encoder.encode(part);
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, part, true);
  return bytes;
}
