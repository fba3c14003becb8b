/**
 * Why a secure channel refused a peer or a frame. Every refusal closes the channel; the reason
 * is stable, so it labels the `shoal_secure_channel_rejected_total` counter and tests match on it.
 */
import { ShoalError } from "../../common/errors.ts";

/** Why the handshake refused the peer. */
export type HandshakeRejectReason =
  /** Not a handshake message of this version: truncated, garbage, wrong kind or field sizes. */
  | "malformed"
  /** A message arrived when the state machine expected none, or another kind. */
  | "unexpectedMessage"
  /** The peer belongs to another cluster. */
  | "wrongCluster"
  /** The responder's root key does not match the pin the initiator holds (a man in the middle). */
  | "rootPinMismatch"
  /** A sealed handshake payload did not open: altered in flight, or the two sides hold different keys. */
  | "tampered"
  /** The certificate is not one this cluster's root issued, or it cannot be decoded. */
  | "badCertificate"
  | "notYetValid"
  | "expired"
  /** The certificate's node was removed from the cluster. */
  | "revoked"
  /** The transcript signature was not made by the key the certificate names. */
  | "badTranscriptSignature"
  /** The initiator presented no certificate and this responder admits no joining nodes. */
  | "certificateRequired"
  /** The responder is a valid node, but not the one the initiator dialled. */
  | "unexpectedPeer"
  /** The handshake did not finish within the configured time (counted by the connection shell). */
  | "timeout"
  /** The listener already had its maximum of handshakes in progress (counted by the socket shell). */
  | "overloaded";

/** Why an established channel refused a frame. */
export type FrameRejectReason =
  /** Shorter than a counter and an authenticator. */
  | "malformed"
  /** A counter already received: a replay. */
  | "replayed"
  /** A counter beyond the next one: reordered, or a frame went missing. */
  | "reordered"
  /** The expected counter, but the frame does not open under the session key. */
  | "tampered"
  /** Bigger than the configured maximum frame or handshake message size (counted by the connection shell). */
  | "oversized";

/** Every reason a channel can be rejected for. */
export type RejectReason = HandshakeRejectReason | FrameRejectReason;

// A record rather than a list, so the compiler insists on every member of the union.
const REASON_SET: Record<RejectReason, true> = {
  malformed: true, unexpectedMessage: true, wrongCluster: true, rootPinMismatch: true, tampered: true, badCertificate: true,
  notYetValid: true, expired: true, revoked: true, badTranscriptSignature: true, certificateRequired: true, unexpectedPeer: true,
  timeout: true, overloaded: true, replayed: true, reordered: true, oversized: true,
};

/** Every reason, for pre-registering metric series so dashboards see zeros rather than gaps. */
export const REJECT_REASONS: readonly RejectReason[] = Object.keys(REASON_SET) as RejectReason[];

/** A refusal: its stable reason and a message fit for a log line (never key material). */
export interface Rejection {
  reason: RejectReason;
  message: string;
  /** True when the peer refused the channel and sent this notice; absent when this side refused. */
  fromPeer?: boolean;
}

/** A channel was refused or closed on a rejection; thrown by the connection shell's `dial`. */
export class ChannelRejectedError extends ShoalError {
  constructor(readonly rejection: Rejection, context: Record<string, unknown> = {}) {
    super(`secure_channel_${rejection.reason}`, rejection.message, { reason: rejection.reason, ...context });
  }
}
