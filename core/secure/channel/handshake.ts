/**
 * The secure channel's handshake: a pure, I/O-free state machine. Messages go in as bytes with
 * the current time; messages to send, the established session or a typed rejection come out.
 *
 * Design: the message pattern of Noise XX, with identities proven SIGMA-style.
 *
 *   hello   I -> R   cluster id (null when joining), ephemeral e_I                    (clear)
 *   reply   R -> I   ephemeral e_R, sealed[cluster id, root public key, cert_R, sig_R]
 *   finish  I -> R   sealed[cert_I, sig_I]  (or sealed[] for a node joining with a token)
 *
 * - Both sides keep a transcript hash over every message and absorb DH(e_I, e_R) into a chaining
 *   key (`transcript.ts`); the proofs are sealed under keys derived from both, so only the two
 *   holders of the ephemeral secrets can read or alter them.
 * - Nodes have no long-term DH keys; a node proves its identity by signing the transcript hash
 *   (which covers both ephemerals) with the Ed25519 key its certificate names. The signature
 *   binds that identity to this session's ephemerals, so it cannot be replayed into another
 *   session, and a role label in the signed bytes keeps one side's proof from serving as the other's.
 * - The responder sends the root public key: an initiator that holds only a token's root pin
 *   checks sha256(root public key) against it before trusting anything the responder says. A man
 *   in the middle can complete the key exchange, but not with a certificate from the real root:
 *   it has to present its own root, and fails on the pin.
 * - An initiator without a certificate (a node joining with a token) finishes with an empty proof.
 *   A responder that admits joiners establishes the channel with a peer of kind `joining`; the
 *   application must then allow nothing but the join exchange on it.
 * - Afterwards each direction has its own key (`split`), and frames carry counter nonces (`session.ts`).
 *
 * Inputs: `now` for certificate validity, `randomBytes` for the ephemeral keys (tweetnacl's in
 * production, seeded in tests), the revoked serials and the cluster id.
 */
import nacl from "tweetnacl";
import { DecodeError, describeError } from "../../common/errors.ts";
import { CertificateError, verifyCertificate, type Certificate, type CertificateFields } from "../certificate.ts";
import { constantTimeEqual, sha256 } from "../hash.ts";
import { concatBytes, isAllZero } from "./bytes.ts";
import {
  decodeFinish, decodeHello, decodeInitiatorProof, decodeReply, decodeResponderProof,
  encodeFinish, encodeHello, encodeInitiatorProof, encodeReply, encodeResponderProof,
} from "./messages.ts";
import type { HandshakeRejectReason, Rejection } from "./rejection.ts";
import { ChannelSession } from "./session.ts";
import { Transcript } from "./transcript.ts";

const PROTOCOL_NAME = "Shoal_XX-SIGMA_25519_Ed25519_XSalsaPoly1305_SHA512 v1";
const utf8 = new TextEncoder();
const RESPONDER_LABEL = utf8.encode("shoal channel responder proof");
const INITIATOR_LABEL = utf8.encode("shoal channel initiator proof");

/** A node's credentials for the channel. */
export interface NodeIdentity {
  /** The node certificate, as `encodeCertificate` wrote it. */
  certificate: Uint8Array;
  /** The 64-byte Ed25519 secret key whose public half the certificate names. */
  signingSecretKey: Uint8Array;
}

/** What both sides take. */
interface CommonOptions {
  /** Source of the ephemeral secret keys: `nacl.randomBytes` in production, seeded in tests. */
  randomBytes: (length: number) => Uint8Array;
  /** Serials of revoked certificates (removed nodes). */
  revoked?: ReadonlySet<string>;
}

/** Options of the dialling side. */
export interface InitiatorOptions extends CommonOptions {
  /** This node's cluster; omitted by a node joining with a token, which learns it from the responder. */
  clusterId?: string;
  /** SHA-256 of the cluster root public key: from the join token, or `rootPinOf` the stored root key. */
  rootPin: Uint8Array;
  /** This node's credentials; omitted by a node joining with a token. */
  identity?: NodeIdentity;
  /** When set, the responder's certificate must name this node id (the node we meant to dial). */
  expectedPeerId?: string;
}

/** Options of the accepting side. */
export interface ResponderOptions extends CommonOptions {
  clusterId: string;
  rootPublicKey: Uint8Array;
  identity: NodeIdentity;
  /** Whether initiators without a certificate (joining nodes) may finish the handshake. */
  admitJoiners: boolean;
}

/** Who is at the other end of an established channel. */
export type Peer =
  /** A cluster member, its certificate verified against the root, cluster, clock and revocations. */
  | { kind: "member"; certificate: CertificateFields }
  /** An unauthenticated node joining with a token: only the join exchange may run on this channel. */
  | { kind: "joining" };

/** A finished handshake. */
export interface Established {
  peer: Peer;
  /** The cluster both sides are in (learned from the responder by a joining node). */
  clusterId: string;
  /** The cluster root public key (learned, and checked against the pin, by an initiator). */
  rootPublicKey: Uint8Array;
  /** The final transcript hash: unique to this session, for binding application proofs to it. */
  handshakeHash: Uint8Array;
  /** Seals and opens the application's frames. */
  session: ChannelSession;
}

/** The outcome of feeding the handshake one message. */
export type HandshakeStep =
  /** Send `message` and wait for the peer's next one. */
  | { kind: "continue"; message: Uint8Array }
  /** The channel is up; send `message` first when present. */
  | { kind: "established"; message?: Uint8Array; channel: Established }
  /**
   * The peer is refused; close the connection. A responder refusing the finish message adds a
   * sealed `notice` frame to send first: XX completes at the initiator one message earlier, so
   * the initiator already holds an open channel and learns from the notice why it is refused.
   */
  | { kind: "rejected"; rejection: Rejection; notice?: Uint8Array };

/** Either side of a handshake, from the shell's point of view. */
export interface Handshake {
  /** Feeds the peer's next message; never throws on its content. */
  receive(message: Uint8Array, now: number): HandshakeStep;
}

/** Refusal raised inside a step and turned into a `rejected` step at its boundary. */
class Refusal extends Error {
  constructor(readonly reason: HandshakeRejectReason, message: string) {
    super(message);
  }
}

/** The dialling side: `start()` yields the hello, then `receive` takes the reply. */
export class InitiatorHandshake implements Handshake {
  private readonly transcript = new Transcript(PROTOCOL_NAME);
  private readonly ephemeral: nacl.BoxKeyPair;
  private state: "new" | "awaitingReply" | "done" = "new";

  constructor(private readonly options: InitiatorOptions) {
    this.ephemeral = ephemeralKeyPair(options.randomBytes);
  }

  /** The hello message, the first thing sent on the connection. */
  start(): Uint8Array {
    if (this.state !== "new") throw new Error("handshake already started");
    const hello = encodeHello({ clusterId: this.options.clusterId ?? null, ephemeral: this.ephemeral.publicKey });
    this.transcript.mixHash(hello);
    this.state = "awaitingReply";
    return hello;
  }

  receive(message: Uint8Array, now: number): HandshakeStep {
    if (this.state !== "awaitingReply") return this.finish(refused("unexpectedMessage", `no message expected in state ${this.state}`));
    return this.finish(attempt(() => this.onReply(message, now)));
  }

  private onReply(message: Uint8Array, now: number): HandshakeStep {
    const { options, transcript } = this;
    const reply = decoded(() => decodeReply(message));
    transcript.mixHash(reply.ephemeral);
    transcript.mixKey(sharedSecret(this.ephemeral.secretKey, reply.ephemeral));
    this.ephemeral.secretKey.fill(0);
    const signedHash = transcript.handshakeHash;
    const opened = transcript.decryptAndHash(reply.sealed);
    if (opened === undefined) throw new Refusal("tampered", "the responder's proof does not open: altered in flight or keys differ");
    const proof = decoded(() => decodeResponderProof(opened));

    if (!constantTimeEqual(sha256(proof.rootPublicKey), options.rootPin)) {
      throw new Refusal("rootPinMismatch", "the responder's root key does not match the pinned root: possible man in the middle");
    }
    if (options.clusterId !== undefined && proof.clusterId !== options.clusterId) {
      throw new Refusal("wrongCluster", `the responder belongs to cluster ${proof.clusterId}, not ${options.clusterId}`);
    }
    const certificate = verified(proof.certificate, { rootPublicKey: proof.rootPublicKey, clusterId: proof.clusterId, now, revoked: options.revoked });
    checkSignature(responderSigned(signedHash, proof), proof.signature, certificate.fields);
    if (options.expectedPeerId !== undefined && certificate.fields.nodeId !== options.expectedPeerId) {
      throw new Refusal("unexpectedPeer", `dialled ${options.expectedPeerId} but reached ${certificate.fields.nodeId}`);
    }

    const ownProof = options.identity && {
      certificate: options.identity.certificate,
      signature: nacl.sign.detached(initiatorSigned(transcript.handshakeHash, options.identity.certificate), options.identity.signingSecretKey),
    };
    const finish = encodeFinish(transcript.encryptAndHash(encodeInitiatorProof(ownProof)));
    const keys = transcript.split();
    return {
      kind: "established",
      message: finish,
      channel: {
        peer: { kind: "member", certificate: certificate.fields },
        clusterId: proof.clusterId,
        rootPublicKey: proof.rootPublicKey,
        handshakeHash: transcript.handshakeHash,
        session: new ChannelSession(keys.initiatorToResponder, keys.responderToInitiator),
      },
    };
  }

  private finish(step: HandshakeStep): HandshakeStep {
    if (step.kind !== "continue") this.state = "done";
    return step;
  }
}

/** The accepting side: `receive` takes the hello, then the finish. */
export class ResponderHandshake implements Handshake {
  private readonly transcript = new Transcript(PROTOCOL_NAME);
  private state: "awaitingHello" | "awaitingFinish" | "done" = "awaitingHello";

  constructor(private readonly options: ResponderOptions) {}

  receive(message: Uint8Array, now: number): HandshakeStep {
    let step: HandshakeStep;
    if (this.state === "awaitingHello") step = attempt(() => this.onHello(message));
    else if (this.state === "awaitingFinish") step = attempt(() => this.onFinish(message, now));
    else step = refused("unexpectedMessage", "no message expected after the handshake finished");
    this.state = step.kind === "continue" ? "awaitingFinish" : "done";
    return step;
  }

  private onHello(message: Uint8Array): HandshakeStep {
    const { options, transcript } = this;
    const hello = decoded(() => decodeHello(message));
    if (hello.clusterId !== null && hello.clusterId !== options.clusterId) {
      throw new Refusal("wrongCluster", `the initiator belongs to cluster ${hello.clusterId}, not ${options.clusterId}`);
    }
    transcript.mixHash(message);
    const ephemeral = ephemeralKeyPair(options.randomBytes);
    transcript.mixHash(ephemeral.publicKey);
    transcript.mixKey(sharedSecret(ephemeral.secretKey, hello.ephemeral));
    ephemeral.secretKey.fill(0);
    const identity = { clusterId: options.clusterId, rootPublicKey: options.rootPublicKey, certificate: options.identity.certificate };
    const signature = nacl.sign.detached(responderSigned(transcript.handshakeHash, identity), options.identity.signingSecretKey);
    const proof = encodeResponderProof({ ...identity, signature });
    return { kind: "continue", message: encodeReply({ ephemeral: ephemeral.publicKey, sealed: transcript.encryptAndHash(proof) }) };
  }

  private onFinish(message: Uint8Array, now: number): HandshakeStep {
    const sealed = decoded(() => decodeFinish(message));
    const signedHash = this.transcript.handshakeHash;
    const opened = this.transcript.decryptAndHash(sealed);
    if (opened === undefined) throw new Refusal("tampered", "the initiator's proof does not open: altered in flight or keys differ");
    const keys = this.transcript.split();
    const session = new ChannelSession(keys.responderToInitiator, keys.initiatorToResponder);
    const step = attempt(() => this.identify(opened, signedHash, now, session));
    if (step.kind === "rejected") {
      const notice = session.sealNotice(step.rejection);
      session.close();
      return { ...step, notice };
    }
    return step;
  }

  /** Checks the initiator's opened proof: a certificate and transcript signature, or a joiner's empty proof. */
  private identify(opened: Uint8Array, signedHash: Uint8Array, now: number, session: ChannelSession): HandshakeStep {
    const { options } = this;
    const proof = decoded(() => decodeInitiatorProof(opened));
    let peer: Peer;
    if (proof === undefined) {
      if (!options.admitJoiners) throw new Refusal("certificateRequired", "the initiator presented no certificate and joins are not accepted here");
      peer = { kind: "joining" };
    } else {
      const certificate = verified(proof.certificate, { rootPublicKey: options.rootPublicKey, clusterId: options.clusterId, now, revoked: options.revoked });
      checkSignature(initiatorSigned(signedHash, proof.certificate), proof.signature, certificate.fields);
      peer = { kind: "member", certificate: certificate.fields };
    }
    return {
      kind: "established",
      channel: { peer, clusterId: options.clusterId, rootPublicKey: options.rootPublicKey, handshakeHash: this.transcript.handshakeHash, session },
    };
  }
}

/** The pin of a root public key, as join tokens carry it. */
export function rootPinOf(rootPublicKey: Uint8Array): Uint8Array {
  return sha256(rootPublicKey);
}

/**
 * The bytes a responder signs: its role label, the transcript so far (both ephemerals) and what
 * it claims: cluster, root and certificate. Every part has a fixed length, so the layout is unambiguous.
 */
function responderSigned(transcriptHash: Uint8Array, claim: { clusterId: string; rootPublicKey: Uint8Array; certificate: Uint8Array }): Uint8Array {
  return concatBytes(RESPONDER_LABEL, transcriptHash, nacl.hash(utf8.encode(claim.clusterId)), claim.rootPublicKey, nacl.hash(claim.certificate));
}

/** The bytes an initiator signs: its role label, the transcript so far (including the responder's proof) and its certificate. */
function initiatorSigned(transcriptHash: Uint8Array, certificate: Uint8Array): Uint8Array {
  return concatBytes(INITIATOR_LABEL, transcriptHash, nacl.hash(certificate));
}

function ephemeralKeyPair(randomBytes: (length: number) => Uint8Array): nacl.BoxKeyPair {
  const secret = randomBytes(nacl.box.secretKeyLength);
  if (secret.length !== nacl.box.secretKeyLength) throw new RangeError(`randomBytes returned ${secret.length} bytes, wanted ${nacl.box.secretKeyLength}`);
  return nacl.box.keyPair.fromSecretKey(secret);
}

function sharedSecret(ownSecret: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  const shared = nacl.scalarMult(ownSecret, peerPublic);
  // A low-order public key forces an all-zero secret that a third party could know too.
  if (isAllZero(shared)) throw new Refusal("malformed", "the peer's ephemeral key is a low-order point");
  return shared;
}

function decoded<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof DecodeError) throw new Refusal("malformed", `malformed handshake message: ${describeError(error)}`);
    throw error;
  }
}

const CERTIFICATE_REASONS: Record<CertificateError["reason"], HandshakeRejectReason> = {
  malformed: "badCertificate",
  badSignature: "badCertificate",
  wrongCluster: "wrongCluster",
  notYetValid: "notYetValid",
  expired: "expired",
  revoked: "revoked",
};

function verified(encoded: Uint8Array, options: Parameters<typeof verifyCertificate>[1]): Certificate {
  try {
    return verifyCertificate(encoded, options);
  } catch (error) {
    if (error instanceof CertificateError) throw new Refusal(CERTIFICATE_REASONS[error.reason], `peer certificate refused: ${error.message}`);
    throw error;
  }
}

function checkSignature(signed: Uint8Array, signature: Uint8Array, fields: CertificateFields): void {
  if (!nacl.sign.detached.verify(signed, signature, fields.signingKey)) {
    throw new Refusal("badTranscriptSignature", `the transcript signature was not made by ${fields.nodeId}'s certified key`);
  }
}

function refused(reason: HandshakeRejectReason, message: string): HandshakeStep {
  return { kind: "rejected", rejection: { reason, message } };
}

function attempt(step: () => HandshakeStep): HandshakeStep {
  try {
    return step();
  } catch (error) {
    if (error instanceof Refusal) return refused(error.reason, error.message);
    throw error;
  }
}
