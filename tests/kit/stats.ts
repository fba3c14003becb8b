/** Message counters kept by the virtual network, in total and per node. */

/** Why the network dropped a message. */
export type DropReason =
  /** Random loss (`loss` probability, network-wide or per link). */
  | "loss"
  /** A partition, an isolated node or a one-way block sat between sender and receiver. */
  | "partition"
  /** The sender or the receiver was crashed when it was sent or when it would have arrived. */
  | "crash"
  /** No handler is attached for the receiver. */
  | "unattached";

/** The drop reasons, for iterating over counters. */
export const dropReasons: readonly DropReason[] = ["loss", "partition", "crash", "unattached"];

/**
 * Counters. Network-wide they count every message; per node, `sent`, `duplicated`, `dropped`
 * and `bytesSent` count messages the node sent, and `delivered`/`bytesDelivered` count messages
 * it received.
 */
export interface NetworkStats {
  sent: number;
  delivered: number;
  /** Extra copies created by duplication (each copy is then delivered or dropped on its own). */
  duplicated: number;
  dropped: Record<DropReason, number>;
  /** Total of `sizeOf(msg)` over sent messages (0 without a `sizeOf`). */
  bytesSent: number;
  bytesDelivered: number;
}

/** A zeroed `NetworkStats`. */
export function emptyStats(): NetworkStats {
  return { sent: 0, delivered: 0, duplicated: 0, dropped: { loss: 0, partition: 0, crash: 0, unattached: 0 }, bytesSent: 0, bytesDelivered: 0 };
}

/** Total drops over all reasons. */
export function totalDropped(stats: NetworkStats): number {
  return dropReasons.reduce((sum, reason) => sum + stats.dropped[reason], 0);
}

/** A deep copy, so callers can keep a snapshot while the network keeps counting. */
export function copyStats(stats: NetworkStats): NetworkStats {
  return { ...stats, dropped: { ...stats.dropped } };
}
