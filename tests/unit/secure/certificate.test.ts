import { describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { SeededRandom } from "../../../core/common/random.ts";
import {
  CertificateError,
  encodeCertificate,
  issueCertificate,
  renewalTime,
  verifyCertificate,
  type CertificateFields,
} from "../../../core/secure/certificate.ts";

const root = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(1));
const otherRoot = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(2));
const node = { signing: nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(3)), box: nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(4)) };

const fields: CertificateFields = {
  clusterId: "c1",
  nodeId: "n1",
  role: "worker",
  signingKey: node.signing.publicKey,
  boxKey: node.box.publicKey,
  serial: "s1",
  notBefore: 1_000,
  notAfter: 101_000,
};
const options = { rootPublicKey: root.publicKey, clusterId: "c1", now: 5_000 };

function reasonOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof CertificateError) return error.reason;
    throw error;
  }
  return "accepted";
}

describe("node certificate", () => {
  const encoded = encodeCertificate(issueCertificate(fields, root.secretKey));

  test("a certificate from the root verifies and yields its fields", () => {
    expect(verifyCertificate(encoded, options).fields).toEqual(fields);
  });

  test("each refusal names its reason", () => {
    expect(reasonOf(() => verifyCertificate(encoded, { ...options, rootPublicKey: otherRoot.publicKey }))).toBe("badSignature");
    expect(reasonOf(() => verifyCertificate(encoded, { ...options, clusterId: "c2" }))).toBe("wrongCluster");
    expect(reasonOf(() => verifyCertificate(encoded, { ...options, now: 999 }))).toBe("notYetValid");
    expect(reasonOf(() => verifyCertificate(encoded, { ...options, now: 101_000 }))).toBe("expired");
    expect(reasonOf(() => verifyCertificate(encoded, { ...options, revoked: new Set(["s1"]) }))).toBe("revoked");
  });

  test("a certificate signed by another root is refused even with the same fields", () => {
    const forged = encodeCertificate(issueCertificate(fields, otherRoot.secretKey));
    expect(reasonOf(() => verifyCertificate(forged, options))).toBe("badSignature");
  });

  test("every flipped byte is refused, none crashes", () => {
    for (let i = 0; i < encoded.length; i++) {
      const tampered = new Uint8Array(encoded);
      tampered[i] = (tampered[i] as number) ^ 0x01;
      expect(["malformed", "badSignature"]).toContain(reasonOf(() => verifyCertificate(tampered, options)));
    }
  });

  test("garbage and truncations are malformed", () => {
    const random = new SeededRandom(9);
    for (let i = 0; i < 200; i++) {
      const garbage = Uint8Array.from({ length: random.int(200) }, () => random.int(256));
      expect(["malformed", "badSignature"]).toContain(reasonOf(() => verifyCertificate(garbage, options)));
    }
    for (let cut = 1; cut < encoded.length; cut += 7) {
      expect(reasonOf(() => verifyCertificate(encoded.subarray(0, cut), options))).toBe("malformed");
    }
  });

  test("renewal falls between 50% and 80% of the lifetime and spreads out", () => {
    const random = new SeededRandom(11);
    const times = Array.from({ length: 500 }, () => renewalTime(fields, random));
    for (const time of times) {
      expect(time).toBeGreaterThanOrEqual(1_000 + 50_000);
      expect(time).toBeLessThanOrEqual(1_000 + 80_000);
    }
    expect(Math.min(...times)).toBeLessThan(1_000 + 56_000);
    expect(Math.max(...times)).toBeGreaterThan(1_000 + 74_000);
  });
});
