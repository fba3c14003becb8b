/**
 * Versioned CBOR envelopes: the one encoding for wire and disk (DESIGN principle 5).
 *
 * An envelope is the CBOR array `[kind, version, body]`. `kind` names what the body is
 * (`"raft.msg"`, `"gossip.packet"`, …) so a reader never mistakes one thing for another;
 * `version` lets a reader reject a body it does not understand instead of misreading it.
 */
// The "encode"/"decode" entry points skip cbor-x's optional native string extractor: it
// aborted the whole process on hostile input here, and the compiled binary cannot load it anyway.
import { Encoder } from "cbor-x/encode";
import { Decoder, setSizeLimits } from "cbor-x/decode";
import { DecodeError } from "./errors.ts";

// A few bytes must not make the decoder allocate gigabytes: nothing Shoal exchanges comes near these.
setSizeLimits({ maxArraySize: 1_000_000, maxMapSize: 100_000, maxObjectSize: 100_000 });

// Plain maps and arrays, no shared-structure records, so the bytes are standard CBOR.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** Encodes any CBOR-representable value. */
export function encodeCbor(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** Decodes CBOR bytes; a malformed input throws `DecodeError`, never anything else. */
export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new DecodeError("malformed CBOR", { bytes: bytes.length }, { cause: error });
  }
}

/** Wraps `body` as a `[kind, version, body]` envelope. */
export function encodeEnvelope(kind: string, version: number, body: unknown): Uint8Array {
  return encodeCbor([kind, version, body]);
}

/**
 * Decodes an envelope and checks its kind and version. The body is returned as `unknown`:
 * the caller validates its shape before trusting it.
 */
export function decodeEnvelope(bytes: Uint8Array, kind: string, versions: readonly number[]): { version: number; body: unknown } {
  const value = decodeCbor(bytes);
  if (!Array.isArray(value) || value.length !== 3) throw new DecodeError("not an envelope", { expectedKind: kind });
  const [gotKind, version, body] = value as [unknown, unknown, unknown];
  if (gotKind !== kind) throw new DecodeError(`expected a ${kind} envelope, got ${String(gotKind).slice(0, 40)}`, { expectedKind: kind });
  if (typeof version !== "number" || !versions.includes(version)) {
    throw new DecodeError(`unsupported ${kind} version ${String(version)}`, { kind, supported: versions });
  }
  return { version, body };
}
