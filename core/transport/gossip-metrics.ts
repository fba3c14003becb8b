/**
 * The gossip shell's Prometheus series: packets and bytes in each direction, drops by reason,
 * stream outcomes and the member count by state. Registered once per shell on the agent's
 * registry; every drop reason is pre-registered so a zero is visible before the first drop.
 *
 * Packet and byte counts are plain numbers per transport, handed to the registry only when it is
 * rendered: they change on every packet, and a labelled series update costs more than the rest
 * of the bookkeeping of a small packet.
 */
import type { Counter, Gauge, MetricsRegistry } from "../api/metrics.ts";
import { DROP_REASONS, type DropReason } from "../secure/seal.ts";
import type { MemberState } from "../gossip/types.ts";

/** Why a received packet or stream was dropped: a seal verdict, or a core that refused the payload. */
export type GossipDropReason = DropReason | "undecodable";

/** Every gossip drop reason, for pre-registering series. */
const GOSSIP_DROP_REASONS: readonly GossipDropReason[] = [...DROP_REASONS, "undecodable"];

const MEMBER_STATES: readonly MemberState[] = ["alive", "suspect", "dead", "left"];

/** Running totals of a shell's traffic, for programs that report without scraping `/metrics`. */
export interface GossipTraffic {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  dropped: Record<GossipDropReason, number>;
}

type Transport = "udp" | "tcp";
const TRANSPORTS: readonly Transport[] = ["udp", "tcp"];

/** Packets and bytes of one transport in one direction. */
interface Flow {
  packets: number;
  bytes: number;
}

/** The counters and gauges one gossip shell updates. */
export class GossipMetrics {
  private readonly dropped: Counter;
  private readonly streams: Counter;
  private readonly members: Gauge;
  private readonly sentFlows = zeroFlows();
  private readonly receivedFlows = zeroFlows();
  private readonly droppedTotals = Object.fromEntries(GOSSIP_DROP_REASONS.map((reason) => [reason, 0])) as Record<GossipDropReason, number>;

  constructor(registry: MetricsRegistry) {
    const packetsSent = registry.sampledCounter("shoal_gossip_packets_sent_total", "Gossip packets sent, by transport.", ["transport"]);
    const packetsReceived = registry.sampledCounter("shoal_gossip_packets_received_total", "Gossip packets received (before opening), by transport.", ["transport"]);
    const bytesSent = registry.sampledCounter("shoal_gossip_bytes_sent_total", "Gossip bytes sent (sealed, without IP/UDP/TCP headers), by transport.", ["transport"]);
    const bytesReceived = registry.sampledCounter("shoal_gossip_bytes_received_total", "Gossip bytes received (sealed), by transport.", ["transport"]);
    this.dropped = registry.counter("shoal_gossip_packets_dropped_total", "Received gossip packets and stream frames dropped, by reason.", ["reason"]);
    this.streams = registry.counter("shoal_gossip_streams_total", "Gossip streams (push-pull, fallback probe, reliable user message), by direction and result.", ["direction", "result"]);
    this.members = registry.gauge("shoal_gossip_members", "Members known to this node, by state.", ["state"]);
    for (const reason of GOSSIP_DROP_REASONS) this.dropped.inc({ reason }, 0);
    for (const state of MEMBER_STATES) this.members.set(0, { state });
    registry.onCollect(() => {
      for (const transport of TRANSPORTS) {
        const sent = this.sentFlows[transport];
        const received = this.receivedFlows[transport];
        packetsSent.sample(sent.packets, { transport });
        bytesSent.sample(sent.bytes, { transport });
        packetsReceived.sample(received.packets, { transport });
        bytesReceived.sample(received.bytes, { transport });
      }
    });
  }

  /** Counts one packet or frame of `bytes` sent over `transport`. */
  sent(transport: Transport, bytes: number): void {
    const flow = this.sentFlows[transport];
    flow.packets++;
    flow.bytes += bytes;
  }

  /** Counts one packet or frame of `bytes` received over `transport`. */
  received(transport: Transport, bytes: number): void {
    const flow = this.receivedFlows[transport];
    flow.packets++;
    flow.bytes += bytes;
  }

  /** Counts one dropped packet or frame. */
  drop(reason: GossipDropReason): void {
    this.dropped.inc({ reason });
    this.droppedTotals[reason]++;
  }

  /** A copy of the running totals, both transports together. */
  totals(): GossipTraffic {
    const { udp: udpSent, tcp: tcpSent } = this.sentFlows;
    const { udp: udpReceived, tcp: tcpReceived } = this.receivedFlows;
    return {
      packetsSent: udpSent.packets + tcpSent.packets,
      bytesSent: udpSent.bytes + tcpSent.bytes,
      packetsReceived: udpReceived.packets + tcpReceived.packets,
      bytesReceived: udpReceived.bytes + tcpReceived.bytes,
      dropped: { ...this.droppedTotals },
    };
  }

  /** Counts a finished stream. */
  stream(direction: "inbound" | "outbound", result: "ok" | "failed"): void {
    this.streams.inc({ direction, result });
  }

  /** Publishes the member count per state. */
  memberCounts(counts: Record<MemberState, number>): void {
    for (const state of MEMBER_STATES) this.members.set(counts[state], { state });
  }
}

function zeroFlows(): Record<Transport, Flow> {
  return { udp: { packets: 0, bytes: 0 }, tcp: { packets: 0, bytes: 0 } };
}
