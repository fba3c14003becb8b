/**
 * The secure channel for node-to-node control traffic (join, Raft, dispatcher, API forwarding):
 * an authenticated X25519 handshake in the style of Noise XX in which both sides prove a
 * certificate from the cluster root (a joining node pins the root from its token), then sealed
 * frames under per-direction keys with counter nonces. See `handshake.ts` for the design.
 */
export { channelConfig, DEFAULT_CHANNEL_CONFIG, type ChannelConfig } from "./config.ts";
export type { ByteStream, SecureConnection } from "./connection.ts";
export { rootPinOf, type Established, type InitiatorOptions, type NodeIdentity, type Peer, type ResponderOptions } from "./handshake.ts";
export { ChannelRejectedError, REJECT_REASONS, type RejectReason, type Rejection } from "./rejection.ts";
export { dialSecure, listenSecure, type DialSecureOptions, type ListenSecureOptions, type SecureListener, type SecureSocketEnvironment } from "./socket.ts";
