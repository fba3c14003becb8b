/**
 * Join secrets and quorum safety: a proof is bound to one session and one secret (so a rotated
 * token stops working), sealed secrets open only under their root key, join messages reject
 * malformed input, and demotions/removals that would lose quorum are refused.
 */
import { describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { encodeEnvelope } from "../../../core/common/envelope.ts";
import { decodeJoinReply, decodeJoinRequest, encodeJoinRequest } from "../../../core/cluster/join-messages.ts";
import { joinProof, openJoinSecret, sealJoinSecret, verifyJoinProof } from "../../../core/cluster/join-secret.ts";
import { quorumLossReason } from "../../../core/cluster/quorum.ts";

describe("join secrets", () => {
  const root = nacl.sign.keyPair();
  const secret = nacl.randomBytes(32);
  const session = nacl.randomBytes(64);

  test("a proof verifies only for its secret and its session", () => {
    const proof = joinProof(secret, session);
    expect(verifyJoinProof(proof, secret, session)).toBe(true);
    expect(verifyJoinProof(proof, secret, nacl.randomBytes(64))).toBe(false);
    // Rotation replaces the secret: a proof made with the old token no longer verifies.
    const rotated = nacl.randomBytes(32);
    expect(verifyJoinProof(joinProof(secret, session), rotated, session)).toBe(false);
    expect(verifyJoinProof(proof.subarray(0, 32), secret, session)).toBe(false);
  });

  test("a sealed secret opens only under the root key it was sealed with", () => {
    const sealed = sealJoinSecret(secret, root.secretKey, nacl.randomBytes);
    expect(openJoinSecret(sealed, root.secretKey)).toEqual(secret);
    expect(() => openJoinSecret(sealed, nacl.sign.keyPair().secretKey)).toThrow(/does not open/);
    const tampered = { ...sealed, sealed: sealed.sealed.map((byte, i) => (i === 0 ? byte ^ 1 : byte)) };
    expect(() => openJoinSecret(tampered, root.secretKey)).toThrow();
  });
});

describe("join messages", () => {
  const valid = {
    kind: "join" as const, role: "worker" as const, proof: new Uint8Array(64), nodeId: "0".repeat(32), hostname: "h", address: "127.0.0.1:7370",
    signingPublicKey: new Uint8Array(32), boxPublicKey: new Uint8Array(32),
  };

  test("a request round-trips", () => {
    expect(decodeJoinRequest(encodeJoinRequest(valid))).toEqual(valid);
    expect(decodeJoinRequest(encodeJoinRequest({ kind: "renew", unlessRole: "worker" }))).toEqual({ kind: "renew", unlessRole: "worker" });
  });

  test("malformed requests and replies are refused with a reason", () => {
    const bad = [
      { ...valid, role: "admin" },
      { ...valid, proof: new Uint8Array(10) },
      { ...valid, nodeId: "../etc" },
      { ...valid, signingPublicKey: "key" },
      { kind: "renew", unlessRole: "root" },
      { kind: "steal" },
    ];
    for (const body of bad) expect(() => decodeJoinRequest(encodeEnvelope("cluster.join.req", 1, body))).toThrow();
    expect(() => decodeJoinRequest(new Uint8Array([1, 2, 3]))).toThrow();
    expect(() => decodeJoinReply(encodeEnvelope("cluster.join.reply", 1, { ok: true, certificate: "x" }))).toThrow(/certificate/);
    expect(() => decodeJoinReply(encodeEnvelope("cluster.join.reply", 1, { ok: true, certificate: new Uint8Array(1), role: "worker", clusterId: "c", rootPublicKey: new Uint8Array(32), rootSecretKey: new Uint8Array(3), managers: [] }))).toThrow(/root secret/);
  });
});

describe("quorum safety", () => {
  const voters = ["a", "b", "c"];

  test("taking a voter out is allowed while the rest keep a reachable majority", () => {
    expect(quorumLossReason(voters, new Set(["a", "b", "c"]), "c")).toBeUndefined();
    expect(quorumLossReason(voters, new Set(["a", "b"]), "c")).toBeUndefined();
    // Learners and workers are not voters: nothing to lose.
    expect(quorumLossReason(voters, new Set(), "d")).toBeUndefined();
  });

  test("refused, with the numbers, when the remaining voters could not form a quorum", () => {
    const reason = quorumLossReason(voters, new Set(["a", "b"]), "b");
    expect(reason).toContain("need 2 reachable");
    expect(reason).toContain("only 1 are reachable");
    expect(quorumLossReason(["a", "b", "c", "d", "e"], new Set(["a", "b", "c"]), "a")).toContain("need 3 reachable");
    expect(quorumLossReason(["a"], new Set(["a"]), "a")).toContain("only manager");
  });
});
