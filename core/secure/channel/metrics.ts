/** The secure channel's metrics, registered on the agent's registry. */
import type { Counter, Gauge, MetricsRegistry } from "../../api/metrics.ts";
import { REJECT_REASONS, type RejectReason } from "./rejection.ts";

/** Which end of the handshake a connection was. */
export type ChannelSide = "initiator" | "responder";

/** Counters and gauges of every secure connection of one agent. */
export class ChannelMetrics {
  private readonly rejected: Counter;
  private readonly refusedByPeer: Counter;
  private readonly established: Counter;
  private readonly open: Gauge;
  private readonly handshaking: Gauge;

  constructor(registry: MetricsRegistry) {
    this.rejected = registry.counter("shoal_secure_channel_rejected_total", "Secure channel handshakes and frames rejected, by reason; each closed its connection.", ["reason"]);
    this.refusedByPeer = registry.counter("shoal_secure_channel_refused_by_peer_total", "Secure channels the peer refused with a notice, by the peer's reason (an expired or revoked certificate shows here).", ["reason"]);
    this.established = registry.counter("shoal_secure_channel_established_total", "Secure channel handshakes completed, by side.", ["side"]);
    this.open = registry.gauge("shoal_secure_channel_open_connections", "Secure connections currently established.");
    this.handshaking = registry.gauge("shoal_secure_channel_pending_handshakes", "Secure channel handshakes in progress.");
    // Series exist from the start, so a dashboard shows a zero rather than nothing.
    for (const reason of REJECT_REASONS) {
      this.rejected.inc({ reason }, 0);
      this.refusedByPeer.inc({ reason }, 0);
    }
    for (const side of ["initiator", "responder"] as const) this.established.inc({ side }, 0);
    this.open.inc({}, 0);
    this.handshaking.inc({}, 0);
  }

  /** A connection was refused or closed on a bad frame. */
  onRejected(reason: RejectReason): void {
    this.rejected.inc({ reason });
  }

  /** The peer refused a channel and said why. */
  onRefusedByPeer(reason: RejectReason): void {
    this.refusedByPeer.inc({ reason });
  }

  /** A connection began its handshake. */
  onHandshakeStarted(): void {
    this.handshaking.inc();
  }

  /** A handshake failed; its connection is gone. */
  onHandshakeFailed(): void {
    this.handshaking.dec();
  }

  /** A handshake completed. */
  onEstablished(side: ChannelSide): void {
    this.handshaking.dec();
    this.established.inc({ side });
    this.open.inc();
  }

  /** An established connection closed. */
  onClosed(): void {
    this.open.dec();
  }
}
