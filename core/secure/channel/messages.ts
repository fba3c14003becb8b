/**
 * The three handshake messages and the two sealed proofs inside them, as versioned CBOR
 * envelopes. Decoders check every field's type and size before the handshake looks at it and
 * throw `DecodeError` otherwise.
 *
 *   hello  (initiator -> responder, clear):  [clusterId | null, ephemeral]
 *   reply  (responder -> initiator):         [ephemeral, sealed ResponderProof]
 *   finish (initiator -> responder):         [sealed InitiatorProof]
 */
import nacl from "tweetnacl";
import { decodeCbor, decodeEnvelope, encodeCbor, encodeEnvelope } from "../../common/envelope.ts";
import { DecodeError } from "../../common/errors.ts";

const VERSIONS = [1] as const;
const VERSION = 1;
const KIND = { hello: "shoal.channel.hello", reply: "shoal.channel.reply", finish: "shoal.channel.finish" } as const;
const EPHEMERAL_BYTES = nacl.box.publicKeyLength;
const MAX_CLUSTER_ID_LENGTH = 128;
/** Certificates are a few hundred bytes; this bound only stops hostile sizes. */
const MAX_CERTIFICATE_BYTES = 8 * 1024;

/** The initiator's opening message. */
export interface Hello {
  /** The cluster the initiator belongs to; null for a node joining with a token (it knows only the root pin). */
  clusterId: string | null;
  ephemeral: Uint8Array;
}

/** The responder's answer: its ephemeral key and its sealed proof. */
export interface Reply {
  ephemeral: Uint8Array;
  sealed: Uint8Array;
}

/** The responder's identity, sealed in `Reply`. */
export interface ResponderProof {
  clusterId: string;
  rootPublicKey: Uint8Array;
  certificate: Uint8Array;
  /** Ed25519 signature by the certificate's signing key over the transcript (see handshake.ts). */
  signature: Uint8Array;
}

/** The initiator's identity, sealed in the finish message; absent for a joining node. */
export interface InitiatorProof {
  certificate: Uint8Array;
  signature: Uint8Array;
}

/** Encodes the hello message. */
export function encodeHello(hello: Hello): Uint8Array {
  return encodeEnvelope(KIND.hello, VERSION, [hello.clusterId, hello.ephemeral]);
}

/** Decodes and checks a hello message. */
export function decodeHello(bytes: Uint8Array): Hello {
  const [clusterId, ephemeral] = fieldsOf(bytes, KIND.hello, 2);
  if (clusterId !== null && !isClusterId(clusterId)) throw new DecodeError("hello: cluster id must be null or a short string");
  return { clusterId, ephemeral: bytesOf(ephemeral, "hello ephemeral", EPHEMERAL_BYTES, EPHEMERAL_BYTES) };
}

/** Encodes the reply message. */
export function encodeReply(reply: Reply): Uint8Array {
  return encodeEnvelope(KIND.reply, VERSION, [reply.ephemeral, reply.sealed]);
}

/** Decodes and checks a reply message (the sealed proof stays sealed). */
export function decodeReply(bytes: Uint8Array): Reply {
  const [ephemeral, sealed] = fieldsOf(bytes, KIND.reply, 2);
  return {
    ephemeral: bytesOf(ephemeral, "reply ephemeral", EPHEMERAL_BYTES, EPHEMERAL_BYTES),
    sealed: bytesOf(sealed, "reply proof", nacl.secretbox.overheadLength, Infinity),
  };
}

/** Encodes the finish message. */
export function encodeFinish(sealed: Uint8Array): Uint8Array {
  return encodeEnvelope(KIND.finish, VERSION, [sealed]);
}

/** Decodes a finish message to its sealed proof. */
export function decodeFinish(bytes: Uint8Array): Uint8Array {
  const [sealed] = fieldsOf(bytes, KIND.finish, 1);
  return bytesOf(sealed, "finish proof", nacl.secretbox.overheadLength, Infinity);
}

/** Encodes the responder's proof (before sealing). */
export function encodeResponderProof(proof: ResponderProof): Uint8Array {
  return encodeCbor([proof.clusterId, proof.rootPublicKey, proof.certificate, proof.signature]);
}

/** Decodes an opened responder proof. */
export function decodeResponderProof(bytes: Uint8Array): ResponderProof {
  const fields = arrayOf(bytes, "responder proof");
  if (fields.length !== 4) throw new DecodeError("responder proof has the wrong shape");
  const [clusterId, rootPublicKey, certificate, signature] = fields;
  if (!isClusterId(clusterId)) throw new DecodeError("responder proof: cluster id must be a short string");
  return {
    clusterId,
    rootPublicKey: bytesOf(rootPublicKey, "root public key", nacl.sign.publicKeyLength, nacl.sign.publicKeyLength),
    certificate: bytesOf(certificate, "certificate", 1, MAX_CERTIFICATE_BYTES),
    signature: bytesOf(signature, "signature", nacl.sign.signatureLength, nacl.sign.signatureLength),
  };
}

/** Encodes the initiator's proof, or the empty proof of a joining node. */
export function encodeInitiatorProof(proof: InitiatorProof | undefined): Uint8Array {
  return encodeCbor(proof === undefined ? [] : [proof.certificate, proof.signature]);
}

/** Decodes an opened initiator proof; undefined when the initiator presented no certificate. */
export function decodeInitiatorProof(bytes: Uint8Array): InitiatorProof | undefined {
  const fields = arrayOf(bytes, "initiator proof");
  if (fields.length === 0) return undefined;
  if (fields.length !== 2) throw new DecodeError("initiator proof has the wrong shape");
  const [certificate, signature] = fields;
  return {
    certificate: bytesOf(certificate, "certificate", 1, MAX_CERTIFICATE_BYTES),
    signature: bytesOf(signature, "signature", nacl.sign.signatureLength, nacl.sign.signatureLength),
  };
}

function fieldsOf(bytes: Uint8Array, kind: string, count: number): unknown[] {
  const { body } = decodeEnvelope(bytes, kind, VERSIONS);
  if (!Array.isArray(body) || body.length !== count) throw new DecodeError(`${kind} has the wrong shape`);
  return body;
}

function arrayOf(bytes: Uint8Array, what: string): unknown[] {
  const value = decodeCbor(bytes);
  if (!Array.isArray(value)) throw new DecodeError(`${what} has the wrong shape`);
  return value;
}

function isClusterId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_CLUSTER_ID_LENGTH;
}

function bytesOf(value: unknown, what: string, min: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length < min || value.length > max) {
    throw new DecodeError(`${what} must be ${min === max ? `${min}` : `${min} to ${max}`} bytes`);
  }
  return new Uint8Array(value);
}
