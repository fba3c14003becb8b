/**
 * Raft messages between managers over the secure channel. The layout is the TCP transport's
 * (`transport/tcp.ts`, etcd's rafthttp): one outbound connection per peer, written only; replies
 * come back over the peer's own outbound connection. Each message is one `raft.msg` frame
 * (`transport/tcp-messages.ts`), sealed by the channel.
 *
 * The channel authenticates the sender, so an inbound message must name as `from` the node whose
 * certificate opened the connection, and be addressed to this node; anything else closes the
 * connection. While a peer is unreachable its messages are dropped (Raft retries) and it is
 * redialled with capped, jittered exponential backoff.
 */
import type { MetricsRegistry } from "../api/metrics.ts";
import { describeError } from "../common/errors.ts";
import type { Logger } from "../common/log.ts";
import { backoffDelay } from "../common/backoff.ts";
import { entropyRandom, type Random } from "../common/random.ts";
import type { Message, NodeId } from "../raft/types.ts";
import type { SecureConnection } from "../secure/channel/index.ts";
import type { ReplicaTransport } from "../store/replica.ts";
import { decodeRaftMessage, encodeRaftMessage } from "../transport/tcp-messages.ts";

/** Tunables of the secure raft transport. */
export interface SecureRaftTransportConfig {
  /** First redial delay after a failure; doubles per failure. Default 50 ms. */
  reconnectMinMs: number;
  /** Ceiling of the redial delay. Default 1000 ms. */
  reconnectMaxMs: number;
  /** Bytes queued on one peer's connection beyond which new messages to it are dropped. Default 64 MiB. */
  maxQueuedBytes: number;
}

/** The defaults of every `SecureRaftTransportConfig` field. */
export const SECURE_RAFT_TRANSPORT_DEFAULTS: Readonly<SecureRaftTransportConfig> = { reconnectMinMs: 50, reconnectMaxMs: 1000, maxQueuedBytes: 64 * 1024 * 1024 };

/** What the transport needs besides its config. */
export interface SecureRaftTransportOptions {
  id: NodeId;
  /** Opens a `raft` connection to `address`, refusing any node but `peer`. */
  dial(address: string, peer: NodeId): Promise<SecureConnection>;
  /** Called with each valid inbound message. */
  onMessage(message: Message): void;
  /** Called when a peer cannot be reached, so the core stops pipelining to it. */
  onUnreachable?(peer: NodeId): void;
  config?: Partial<SecureRaftTransportConfig>;
  metrics: MetricsRegistry;
  logger: Logger;
  /** Source of redial jitter. Default: OS entropy. */
  random?: Random;
}

interface PeerLink {
  address: string;
  connection?: SecureConnection;
  dialing: boolean;
  failures: number;
  retryAt: number;
}

/** Raft over the secure channel; see the module comment. */
export class SecureRaftTransport implements ReplicaTransport {
  private readonly config: SecureRaftTransportConfig;
  private readonly peers = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<SecureConnection>();
  private closed = false;
  private readonly counters;
  private readonly random: Random;

  constructor(private readonly options: SecureRaftTransportOptions) {
    this.config = { ...SECURE_RAFT_TRANSPORT_DEFAULTS, ...options.config };
    this.random = options.random ?? entropyRandom();
    this.counters = {
      rejected: options.metrics.counter("shoal_raft_transport_frames_rejected_total", "Inbound raft frames rejected (the connection is closed).", ["reason"]),
      dropped: options.metrics.counter("shoal_raft_transport_messages_dropped_total", "Outbound raft messages dropped before sending.", ["reason"]),
      sent: options.metrics.counter("shoal_raft_transport_messages_sent_total", "Raft messages written to peers."),
    };
  }

  /** Adds or re-addresses a peer. */
  setPeer(id: NodeId, address: string): void {
    if (id === this.options.id) return;
    const link = this.peers.get(id);
    if (link?.address === address) return;
    link?.connection?.close();
    this.peers.set(id, { address, dialing: false, failures: 0, retryAt: 0 });
  }

  /** Forgets a peer and closes its connection. */
  removePeer(id: NodeId): void {
    this.peers.get(id)?.connection?.close();
    this.peers.delete(id);
  }

  /** Whether the outbound connection to `peer` is open (a manager is "reachable"). */
  isConnected(peer: NodeId): boolean {
    const connection = this.peers.get(peer)?.connection;
    return connection !== undefined && !connection.closed;
  }

  send(messages: readonly Message[]): void {
    for (const message of messages) {
      const link = this.peers.get(message.to);
      if (!link) {
        this.counters.dropped.inc({ reason: "unknown_peer" });
        continue;
      }
      const connection = link.connection;
      if (!connection || connection.closed) {
        this.dial(message.to, link);
        this.counters.dropped.inc({ reason: "unreachable" });
        continue;
      }
      if (connection.bufferedBytes > this.config.maxQueuedBytes) {
        this.counters.dropped.inc({ reason: "queue_full" });
        continue;
      }
      try {
        connection.send(encodeRaftMessage(message));
        this.counters.sent.inc();
      } catch (error) {
        this.counters.dropped.inc({ reason: "too_large" });
        this.options.logger.warn("raft message not sent", { to: message.to, error: describeError(error) });
      }
    }
  }

  /** Serves an inbound `raft` connection (registered with the cluster listener). */
  accept(connection: SecureConnection): void {
    const peer = connection.peer;
    if (this.closed || peer.kind !== "member") {
      connection.close();
      return;
    }
    this.inbound.add(connection);
    connection.onClose(() => this.inbound.delete(connection));
    connection.onMessage((frame) => {
      let message: Message;
      try {
        message = decodeRaftMessage(frame);
      } catch (error) {
        this.reject(connection, "malformed", describeError(error));
        return;
      }
      if (message.from !== peer.certificate.nodeId || message.to !== this.options.id) {
        this.reject(connection, "misaddressed", `message ${message.from} -> ${message.to} on ${peer.certificate.nodeId}'s connection`);
        return;
      }
      this.options.onMessage(message);
    });
  }

  /** Closes every connection. */
  close(): void {
    this.closed = true;
    for (const link of this.peers.values()) link.connection?.close();
    for (const connection of this.inbound) connection.close();
  }

  private dial(peer: NodeId, link: PeerLink): void {
    if (this.closed || link.dialing || Date.now() < link.retryAt) return;
    link.dialing = true;
    this.options.dial(link.address, peer).then(
      (connection) => {
        link.dialing = false;
        if (this.closed || this.peers.get(peer) !== link) {
          connection.close();
          return;
        }
        link.connection = connection;
        link.failures = 0;
        connection.onMessage(() => {});
        connection.onClose(() => {
          if (link.connection === connection) link.connection = undefined;
        });
      },
      (error) => {
        link.dialing = false;
        link.failures++;
        link.retryAt = Date.now() + backoffDelay(link.failures, { minMs: this.config.reconnectMinMs, maxMs: this.config.reconnectMaxMs }, this.random);
        this.options.logger.debug("raft peer unreachable", { peer, address: link.address, error: describeError(error) });
        if (!this.closed) this.options.onUnreachable?.(peer);
      },
    );
  }

  private reject(connection: SecureConnection, reason: string, detail: string): void {
    this.counters.rejected.inc({ reason });
    this.options.logger.warn("closing raft connection after a bad frame", { reason, remote: connection.remoteAddress, detail });
    connection.close();
  }
}
