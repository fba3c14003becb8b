/**
 * Node certificates: a manager, holding the cluster root key, vouches for a node's identity.
 *
 * A certificate is a CBOR envelope of the signed fields plus an Ed25519 signature by the root
 * key over exactly those encoded bytes, so verification never depends on re-encoding. Nodes
 * renew at a random point between 50% and 80% of the lifetime, so a fleet that joined together
 * does not renew together.
 */
import nacl from "tweetnacl";
import { decodeCbor, decodeEnvelope, encodeCbor, encodeEnvelope } from "../common/envelope.ts";
import { describeError, ShoalError } from "../common/errors.ts";
import type { Random } from "../common/random.ts";
import type { JoinRole } from "./token.ts";

/** The identity a certificate binds. */
export interface CertificateFields {
  clusterId: string;
  nodeId: string;
  role: JoinRole;
  /** The node's Ed25519 public key (its signing identity in the secure channel). */
  signingKey: Uint8Array;
  /** The node's X25519 public key (gossip keyrings are sealed to it). */
  boxKey: Uint8Array;
  /** Unique per issue, so a revocation names exactly one certificate. */
  serial: string;
  /** Validity, in milliseconds since the epoch. */
  notBefore: number;
  notAfter: number;
}

/** A certificate as carried on the wire and stored on disk. */
export interface Certificate {
  fields: CertificateFields;
  /** The encoded fields the signature covers. */
  signed: Uint8Array;
  signature: Uint8Array;
}

/** Why a certificate was refused. */
export type CertificateFailure = "malformed" | "badSignature" | "wrongCluster" | "notYetValid" | "expired" | "revoked";

/** A certificate was refused; `reason` is stable for counters and tests. */
export class CertificateError extends ShoalError {
  constructor(
    readonly reason: CertificateFailure,
    message: string,
    context: Record<string, unknown> = {},
  ) {
    super(`certificate_${reason}`, message, context);
  }
}

const KIND = "shoal.cert";
const VERSION = 1;

/** Signs `fields` with the root secret key (64-byte Ed25519 secret key). */
export function issueCertificate(fields: CertificateFields, rootSecretKey: Uint8Array): Certificate {
  const signed = encodeEnvelope(KIND, VERSION, fields);
  return { fields, signed, signature: nacl.sign.detached(signed, rootSecretKey) };
}

/** Encodes a certificate for the wire or disk. */
export function encodeCertificate(certificate: Certificate): Uint8Array {
  return encodeCbor([certificate.signed, certificate.signature]);
}

/** What a verifier needs to know beyond the certificate itself. */
export interface VerifyOptions {
  rootPublicKey: Uint8Array;
  clusterId: string;
  now: number;
  /** Serials of revoked certificates (removed nodes). */
  revoked?: ReadonlySet<string>;
}

/**
 * Decodes and verifies a certificate: signature by the root, cluster, validity window,
 * revocation. Throws `CertificateError` naming the reason.
 */
export function verifyCertificate(encoded: Uint8Array, options: VerifyOptions): Certificate {
  const certificate = decodeCertificate(encoded);
  const { fields } = certificate;
  if (!nacl.sign.detached.verify(certificate.signed, certificate.signature, options.rootPublicKey)) {
    throw new CertificateError("badSignature", "certificate is not signed by this cluster's root key", { nodeId: fields.nodeId });
  }
  if (fields.clusterId !== options.clusterId) {
    throw new CertificateError("wrongCluster", `certificate belongs to cluster ${fields.clusterId}`, { nodeId: fields.nodeId });
  }
  if (options.now < fields.notBefore) throw new CertificateError("notYetValid", "certificate is not valid yet", { nodeId: fields.nodeId, notBefore: fields.notBefore });
  if (options.now >= fields.notAfter) throw new CertificateError("expired", "certificate has expired", { nodeId: fields.nodeId, notAfter: fields.notAfter });
  if (options.revoked?.has(fields.serial)) throw new CertificateError("revoked", "certificate was revoked (node removed)", { nodeId: fields.nodeId, serial: fields.serial });
  return certificate;
}

/** A fresh certificate serial: 16 random bytes as lowercase hex. */
export function newCertificateSerial(): string {
  return Buffer.from(nacl.randomBytes(16)).toString("hex");
}

/** When a node should renew: a random point between 50% and 80% of the lifetime. */
export function renewalTime(fields: CertificateFields, random: Random): number {
  const lifetime = fields.notAfter - fields.notBefore;
  return fields.notBefore + Math.floor(lifetime * (0.5 + 0.3 * random.next()));
}

function decodeCertificate(encoded: Uint8Array): Certificate {
  const malformed = (why: string) => new CertificateError("malformed", `malformed certificate: ${why}`);
  let outer: unknown;
  try {
    outer = decodeCbor(encoded);
  } catch {
    throw malformed("not CBOR");
  }
  if (!Array.isArray(outer) || outer.length !== 2) throw malformed("wrong shape");
  const [signed, signature] = outer as unknown[];
  if (!(signed instanceof Uint8Array) || !(signature instanceof Uint8Array) || signature.length !== nacl.sign.signatureLength) {
    throw malformed("missing signed bytes or signature");
  }
  let body: unknown;
  try {
    body = decodeEnvelope(signed, KIND, [VERSION]).body;
  } catch (error) {
    throw malformed(describeError(error));
  }
  return { fields: validateFields(body, malformed), signed: new Uint8Array(signed), signature: new Uint8Array(signature) };
}

function validateFields(body: unknown, malformed: (why: string) => CertificateError): CertificateFields {
  if (typeof body !== "object" || body === null) throw malformed("fields are not a map");
  const fields = body as Record<string, unknown>;
  for (const name of ["clusterId", "nodeId", "serial"] as const) {
    const value = fields[name];
    if (typeof value !== "string" || value.length === 0 || value.length > 128) throw malformed(`${name} must be a non-empty string`);
  }
  if (fields.role !== "worker" && fields.role !== "manager") throw malformed("role must be worker or manager");
  const keyLengths = { signingKey: nacl.sign.publicKeyLength, boxKey: nacl.box.publicKeyLength } as const;
  for (const [name, length] of Object.entries(keyLengths)) {
    const value = fields[name];
    if (!(value instanceof Uint8Array) || value.length !== length) throw malformed(`${name} must be ${length} bytes`);
  }
  for (const name of ["notBefore", "notAfter"] as const) {
    if (!Number.isSafeInteger(fields[name])) throw malformed(`${name} must be an integer time`);
  }
  return {
    clusterId: fields.clusterId as string,
    nodeId: fields.nodeId as string,
    role: fields.role,
    signingKey: new Uint8Array(fields.signingKey as Uint8Array),
    boxKey: new Uint8Array(fields.boxKey as Uint8Array),
    serial: fields.serial as string,
    notBefore: fields.notBefore as number,
    notAfter: fields.notAfter as number,
  };
}
