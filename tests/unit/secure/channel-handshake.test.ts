import { describe, expect, test } from "bun:test";
import { SeededRandom } from "../../../core/common/random.ts";
import {
  InitiatorHandshake,
  ResponderHandshake,
  type Established,
  type HandshakeStep,
  type InitiatorOptions,
  type ResponderOptions,
} from "../../../core/secure/channel/handshake.ts";
import { NOW, seededBytes, testCluster, type TestCluster, type TestNode } from "./channel-fixture.ts";

const cluster = testCluster(1);
const manager = cluster.node("manager-1");
const worker = cluster.node("worker-1", {}, "worker");

function initiatorFor(node: TestNode | undefined, options: Partial<InitiatorOptions> = {}, from: TestCluster = cluster): InitiatorHandshake {
  return new InitiatorHandshake({
    clusterId: node === undefined ? undefined : from.clusterId,
    rootPin: from.rootPin,
    identity: node,
    randomBytes: seededBytes(11),
    ...options,
  });
}

function responderFor(node: TestNode, options: Partial<ResponderOptions> = {}, from: TestCluster = cluster): ResponderHandshake {
  return new ResponderHandshake({
    clusterId: from.clusterId,
    rootPublicKey: from.rootPublicKey,
    identity: node,
    admitJoiners: true,
    randomBytes: seededBytes(12),
    ...options,
  });
}

/** Where a handshake ended: both channels, or who refused and why. */
type Outcome =
  | { ok: true; initiator: Established; responder: Established; messages: Uint8Array[] }
  | { ok: false; by: "initiator" | "responder"; reason: string; message: string; notice?: Uint8Array; initiator?: Established };

/** Runs a handshake to its end; `tamper` may rewrite each message in flight (index 0 = hello). */
function run(initiator: InitiatorHandshake, responder: ResponderHandshake, tamper: (message: Uint8Array, index: number) => Uint8Array = (m) => m, now = NOW): Outcome {
  const messages: Uint8Array[] = [];
  const carry = (message: Uint8Array) => {
    const sent = tamper(message, messages.length);
    messages.push(sent);
    return sent;
  };
  const fail = (by: "initiator" | "responder", step: HandshakeStep, initiator?: Established): Outcome => {
    if (step.kind !== "rejected") throw new Error(`${by} neither finished nor refused: ${step.kind}`);
    return { ok: false, by, ...step.rejection, notice: step.notice, initiator };
  };
  const reply = responder.receive(carry(initiator.start()), now);
  if (reply.kind !== "continue") return fail("responder", reply);
  const done = initiator.receive(carry(reply.message), now);
  if (done.kind !== "established" || done.message === undefined) return fail("initiator", done);
  const accepted = responder.receive(carry(done.message), now);
  if (accepted.kind !== "established") return fail("responder", accepted, done.channel);
  return { ok: true, initiator: done.channel, responder: accepted.channel, messages };
}

function refusal(outcome: Outcome): { by: string; reason: string } {
  if (outcome.ok) throw new Error("handshake was expected to fail but succeeded");
  return { by: outcome.by, reason: outcome.reason };
}

const text = (value: string) => new TextEncoder().encode(value);

describe("secure channel handshake", () => {
  test("two members establish a channel, each sees the other's certificate, frames flow both ways", () => {
    const outcome = run(initiatorFor(worker), responderFor(manager));
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.initiator.peer).toEqual({ kind: "member", certificate: manager.fields });
    expect(outcome.responder.peer).toEqual({ kind: "member", certificate: worker.fields });
    expect(outcome.initiator.handshakeHash).toEqual(outcome.responder.handshakeHash);
    expect(outcome.initiator.clusterId).toBe(cluster.clusterId);

    const toResponder = outcome.responder.session.open(outcome.initiator.session.seal(text("ping")));
    const toInitiator = outcome.initiator.session.open(outcome.responder.session.seal(text("pong")));
    expect(toResponder).toEqual({ kind: "message", payload: text("ping") });
    expect(toInitiator).toEqual({ kind: "message", payload: text("pong") });
  });

  test("certificates travel sealed: only the hello is readable on the wire", () => {
    const outcome = run(initiatorFor(worker), responderFor(manager));
    if (!outcome.ok) throw new Error(outcome.message);
    const wire = Buffer.concat(outcome.messages);
    expect(wire.includes(Buffer.from("manager-1"))).toBe(false);
    expect(wire.includes(Buffer.from("worker-1"))).toBe(false);
    expect(wire.includes(Buffer.from(manager.fields.signingKey))).toBe(false);
  });

  test("the same seeds give the same bytes; other seeds give other keys", () => {
    const first = run(initiatorFor(worker), responderFor(manager));
    const again = run(initiatorFor(worker), responderFor(manager));
    const other = run(initiatorFor(worker, { randomBytes: seededBytes(99) }), responderFor(manager));
    if (!first.ok || !again.ok || !other.ok) throw new Error("handshake failed");
    expect(again.messages).toEqual(first.messages);
    expect(other.initiator.handshakeHash).not.toEqual(first.initiator.handshakeHash);
  });

  test("a node joining with a token (no certificate, no cluster id) gets a join-only channel and learns the root", () => {
    const outcome = run(initiatorFor(undefined), responderFor(manager));
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.responder.peer).toEqual({ kind: "joining" });
    expect(outcome.initiator.peer).toEqual({ kind: "member", certificate: manager.fields });
    expect(outcome.initiator.clusterId).toBe(cluster.clusterId);
    expect(outcome.initiator.rootPublicKey).toEqual(cluster.rootPublicKey);
    expect(outcome.responder.session.open(outcome.initiator.session.seal(text("join")))).toEqual({ kind: "message", payload: text("join") });
  });

  test("a responder that admits no joiners refuses an initiator without a certificate", () => {
    expect(refusal(run(initiatorFor(undefined), responderFor(manager, { admitJoiners: false })))).toEqual({ by: "responder", reason: "certificateRequired" });
  });

  test("an initiator of another cluster is refused as wrongCluster", () => {
    const other = testCluster(2);
    const stranger = other.node("stranger");
    expect(refusal(run(initiatorFor(stranger, {}, other), responderFor(manager)))).toEqual({ by: "responder", reason: "wrongCluster" });
  });

  test("a man in the middle presenting another root fails on the pin", () => {
    const impostor = testCluster(3, cluster.clusterId);
    const fake = impostor.node("manager-1");
    expect(refusal(run(initiatorFor(undefined), responderFor(fake, {}, impostor)))).toEqual({ by: "initiator", reason: "rootPinMismatch" });
    expect(refusal(run(initiatorFor(worker), responderFor(fake, {}, impostor)))).toEqual({ by: "initiator", reason: "rootPinMismatch" });
  });

  test("a man in the middle that claims the real root but holds a certificate of its own root is refused", () => {
    const impostor = testCluster(3, cluster.clusterId);
    const responder = responderFor(impostor.node("manager-1"), { rootPublicKey: cluster.rootPublicKey });
    expect(refusal(run(initiatorFor(worker), responder))).toEqual({ by: "initiator", reason: "badCertificate" });
  });

  test("a relay that swaps in its own ephemeral key cannot read or forge the proofs", () => {
    const swapEphemeral = (message: Uint8Array, index: number) => {
      if (index !== 1) return message;
      const forged = new InitiatorHandshake({ rootPin: cluster.rootPin, randomBytes: seededBytes(77) }).start();
      const altered = new Uint8Array(message);
      altered.set(forged.subarray(forged.length - 32), findEphemeral(message));
      return altered;
    };
    expect(refusal(run(initiatorFor(worker), responderFor(manager), swapEphemeral))).toEqual({ by: "initiator", reason: "tampered" });
  });

  test("a certificate from another root is refused as badCertificate", () => {
    const other = testCluster(4, cluster.clusterId);
    const forged = other.node("worker-1");
    expect(refusal(run(initiatorFor(forged), responderFor(manager)))).toEqual({ by: "responder", reason: "badCertificate" });
  });

  test("expired and not-yet-valid certificates are refused on either side", () => {
    const expired = cluster.node("old", { notBefore: NOW - 10_000, notAfter: NOW - 1 });
    const early = cluster.node("early", { notBefore: NOW + 1, notAfter: NOW + 10_000 });
    expect(refusal(run(initiatorFor(expired), responderFor(manager)))).toEqual({ by: "responder", reason: "expired" });
    expect(refusal(run(initiatorFor(worker), responderFor(expired)))).toEqual({ by: "initiator", reason: "expired" });
    expect(refusal(run(initiatorFor(early), responderFor(manager)))).toEqual({ by: "responder", reason: "notYetValid" });
    expect(refusal(run(initiatorFor(worker), responderFor(manager), undefined, manager.fields.notAfter))).toEqual({ by: "initiator", reason: "expired" });
  });

  test("a responder refusing the finish sends a sealed notice the initiator's open channel reads", () => {
    const revoked = new Set([worker.fields.serial]);
    const outcome = run(initiatorFor(worker), responderFor(manager, { revoked }));
    if (outcome.ok || !outcome.notice || !outcome.initiator) throw new Error("expected a refusal with a notice");
    expect(outcome.initiator.session.open(outcome.notice)).toMatchObject({ kind: "notice", rejection: { reason: "revoked" } });
    const early = run(initiatorFor(worker), responderFor(manager), (message, index) => (index === 0 ? message.subarray(0, 5) : message));
    expect(early).toMatchObject({ ok: false, by: "responder", notice: undefined });
  });

  test("revoked certificates are refused on either side", () => {
    const revoked = new Set([worker.fields.serial, manager.fields.serial]);
    expect(refusal(run(initiatorFor(worker), responderFor(manager, { revoked })))).toEqual({ by: "responder", reason: "revoked" });
    expect(refusal(run(initiatorFor(worker, { revoked }), responderFor(manager)))).toEqual({ by: "initiator", reason: "revoked" });
  });

  test("a valid certificate with a signature by another key is refused as badTranscriptSignature", () => {
    const thief = cluster.node("thief");
    const stolenWorker = { ...worker, signingSecretKey: thief.signingSecretKey };
    const stolenManager = { ...manager, signingSecretKey: thief.signingSecretKey };
    expect(refusal(run(initiatorFor(stolenWorker), responderFor(manager)))).toEqual({ by: "responder", reason: "badTranscriptSignature" });
    expect(refusal(run(initiatorFor(worker), responderFor(stolenManager)))).toEqual({ by: "initiator", reason: "badTranscriptSignature" });
  });

  test("a signature recorded in another session does not verify in this one", () => {
    const recorded = run(initiatorFor(worker), responderFor(manager));
    if (!recorded.ok) throw new Error(recorded.message);
    // Same responder keys, a fresh initiator ephemeral: replaying the recorded reply cannot open.
    const replayReply = (message: Uint8Array, index: number) => (index === 1 ? (recorded.messages[1] as Uint8Array) : message);
    const outcome = run(initiatorFor(worker, { randomBytes: seededBytes(5) }), responderFor(manager), replayReply);
    expect(refusal(outcome)).toEqual({ by: "initiator", reason: "tampered" });
  });

  test("an initiator that dialled a specific node refuses another one", () => {
    expect(refusal(run(initiatorFor(worker, { expectedPeerId: "manager-2" }), responderFor(manager)))).toEqual({ by: "initiator", reason: "unexpectedPeer" });
    expect(run(initiatorFor(worker, { expectedPeerId: "manager-1" }), responderFor(manager)).ok).toBe(true);
  });

  // A handshake costs milliseconds of pure-JS public-key work, so positions are sampled with a
  // stride that still covers every field of every message.
  test("truncations of every handshake message are refused, none throws", () => {
    const good = run(initiatorFor(worker), responderFor(manager));
    if (!good.ok) throw new Error(good.message);
    for (let index = 0; index < 3; index++) {
      const length = (good.messages[index] as Uint8Array).length;
      for (let cut = 0; cut < length; cut += 1 + Math.floor(length / 40)) {
        const outcome = run(initiatorFor(worker), responderFor(manager), (message, at) => (at === index ? message.subarray(0, cut) : message));
        expect(["malformed", "tampered"]).toContain(refusal(outcome).reason);
      }
    }
  }, 30_000);

  test("flipped bytes anywhere in every handshake message are refused", () => {
    const good = run(initiatorFor(worker), responderFor(manager));
    if (!good.ok) throw new Error(good.message);
    for (let index = 0; index < 3; index++) {
      const length = (good.messages[index] as Uint8Array).length;
      for (let at = 0; at < length; at += 1 + Math.floor(length / 40)) {
        const flip = (message: Uint8Array, which: number) => {
          if (which !== index) return message;
          const altered = new Uint8Array(message);
          altered[at] = (altered[at] as number) ^ 0x20;
          return altered;
        };
        const outcome = run(initiatorFor(worker), responderFor(manager), flip);
        expect(["malformed", "tampered", "wrongCluster"]).toContain(refusal(outcome).reason);
      }
    }
  }, 30_000);

  test("garbage in place of any handshake message is refused as malformed", () => {
    const random = new SeededRandom(21);
    for (let i = 0; i < 120; i++) {
      const index = i % 3;
      const garbage = Uint8Array.from({ length: random.int(300) }, () => random.int(256));
      const outcome = run(initiatorFor(worker), responderFor(manager), (message, at) => (at === index ? garbage : message));
      expect(["malformed", "tampered"]).toContain(refusal(outcome).reason);
    }
  }, 30_000);

  test("a low-order ephemeral key is refused", () => {
    const zeroEphemeral = (message: Uint8Array, index: number) => {
      if (index !== 0) return message;
      const altered = new Uint8Array(message);
      altered.fill(0, altered.length - 32);
      return altered;
    };
    expect(refusal(run(initiatorFor(worker), responderFor(manager), zeroEphemeral))).toEqual({ by: "responder", reason: "malformed" });
  });

  test("messages after the end, or before the start, are unexpected", () => {
    const initiator = initiatorFor(worker);
    const responder = responderFor(manager);
    const outcome = run(initiator, responder);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(responder.receive(outcome.messages[2] as Uint8Array, NOW)).toMatchObject({ kind: "rejected", rejection: { reason: "unexpectedMessage" } });
    expect(initiator.receive(outcome.messages[1] as Uint8Array, NOW)).toMatchObject({ kind: "rejected", rejection: { reason: "unexpectedMessage" } });
    expect(initiatorFor(worker).receive(outcome.messages[1] as Uint8Array, NOW)).toMatchObject({ kind: "rejected", rejection: { reason: "unexpectedMessage" } });
  });
});

/** Offset of the reply's ephemeral key: the 32-byte CBOR byte string right after the envelope header. */
function findEphemeral(reply: Uint8Array): number {
  for (let at = 0; at + 33 < reply.length; at++) {
    // CBOR: 0x58 0x20 introduces a 32-byte byte string.
    if (reply[at] === 0x58 && reply[at + 1] === 0x20) return at + 2;
  }
  throw new Error("no ephemeral key found in reply");
}
