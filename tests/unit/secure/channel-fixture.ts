/**
 * Deterministic clusters for the secure channel tests: a root key, certificates issued on
 * demand, and seeded random bytes, all derived from a seed.
 */
import nacl from "tweetnacl";
import { SeededRandom } from "../../../core/common/random.ts";
import { encodeCertificate, issueCertificate, type CertificateFields } from "../../../core/secure/certificate.ts";
import { rootPinOf, type NodeIdentity } from "../../../core/secure/channel/handshake.ts";
import type { JoinRole } from "../../../core/secure/token.ts";

/** The time every test handshake happens at, inside the default validity window. */
export const NOW = 1_700_000_000_000;
const DAY = 24 * 60 * 60 * 1000;

/** Random bytes from a seed, standing in for `nacl.randomBytes`. */
export function seededBytes(seed: number): (length: number) => Uint8Array {
  const random = new SeededRandom(seed);
  return (length) => Uint8Array.from({ length }, () => random.int(256));
}

/** A node's identity plus its certificate fields, for assertions. */
export interface TestNode extends NodeIdentity {
  fields: CertificateFields;
}

/** A cluster root that issues certificates. */
export interface TestCluster {
  clusterId: string;
  rootPublicKey: Uint8Array;
  rootPin: Uint8Array;
  /** Issues a certificate to a fresh key pair; `overrides` replace fields (validity, cluster…). */
  node(nodeId: string, overrides?: Partial<CertificateFields>, role?: JoinRole): TestNode;
}

/** A cluster whose keys all derive from `seed`. */
export function testCluster(seed: number, clusterId = `cluster-${seed}`): TestCluster {
  const bytes = seededBytes(seed);
  const root = nacl.sign.keyPair.fromSeed(bytes(32));
  let serial = 0;
  return {
    clusterId,
    rootPublicKey: root.publicKey,
    rootPin: rootPinOf(root.publicKey),
    node(nodeId, overrides = {}, role = "manager") {
      const signing = nacl.sign.keyPair.fromSeed(bytes(32));
      const fields: CertificateFields = {
        clusterId,
        nodeId,
        role,
        signingKey: signing.publicKey,
        boxKey: nacl.box.keyPair.fromSecretKey(bytes(32)).publicKey,
        serial: `${clusterId}-${++serial}`,
        notBefore: NOW - DAY,
        notAfter: NOW + 90 * DAY,
        ...overrides,
      };
      return { fields, certificate: encodeCertificate(issueCertificate(fields, root.secretKey)), signingSecretKey: signing.secretKey };
    },
  };
}
