/**
 * The TCP transport between managers: carries raft messages as length-prefixed frames, one
 * `raft.msg` envelope per frame.
 *
 * Each node keeps one outbound connection per peer and only writes to it; a peer's replies come
 * back over that peer's own outbound connection (the stream layout of etcd's rafthttp). Messages
 * handed over in one `send` call are written to each peer with one socket write, which is where
 * batching pays. A peer that cannot be reached is redialled with exponential backoff and jitter;
 * meanwhile its messages are dropped, which Raft tolerates by retrying.
 *
 * Hostile input: a frame that is oversized, not CBOR, of an unknown kind or version, or whose
 * message fails validation closes that one connection and is counted in
 * `shoal_raft_transport_frames_rejected_total`; the node keeps serving everyone else.
 */
import { createServer, Socket, type Server } from "node:net";
import type { MetricsRegistry } from "../api/metrics.ts";
import { describeError } from "../common/errors.ts";
import { nullLogger, type Logger } from "../common/log.ts";
import { backoffDelay } from "../common/backoff.ts";
import { entropyRandom, type Random } from "../common/random.ts";
import type { Message, NodeId } from "../raft/types.ts";
import { encodeFrames, FrameDecoder } from "./frame.ts";
import { decodeRaftMessage, encodeRaftMessage } from "./tcp-messages.ts";
import type { HostPort } from "../common/address.ts";

/** Settings of a `TcpTransport`; every field but `id`, `listen` and `onMessage` has a default. */
export interface TcpTransportConfig {
  /** This node's raft id; an inbound message addressed to anyone else is rejected. */
  id: NodeId;
  /** Where to accept peers' connections (port 0 picks a free one; see `address()`). */
  listen: HostPort;
  /** Called with every valid inbound message, in arrival order per connection. */
  onMessage(message: Message): void;
  /** Largest frame accepted or sent, in bytes. Default 16 MiB (a 1 MiB entry batch or snapshot chunk fits with room). */
  maxFrameBytes?: number;
  /** Bytes queued on one peer's socket beyond which new messages to it are dropped. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** First redial delay after a failure; doubles per failure. Default 50 ms. */
  reconnectMinMs?: number;
  /** Ceiling of the redial delay. Default 2000 ms. */
  reconnectMaxMs?: number;
  /** A dial not connected within this long is abandoned. Default 1000 ms. */
  dialTimeoutMs?: number;
  metrics?: MetricsRegistry;
  logger?: Logger;
  /** Source of reconnect jitter. Default: OS entropy. */
  random?: Random;
}

/** The defaults of `TcpTransportConfig`. */
export const TCP_TRANSPORT_DEFAULTS = {
  maxFrameBytes: 16 * 1024 * 1024,
  maxQueuedBytes: 64 * 1024 * 1024,
  reconnectMinMs: 50,
  reconnectMaxMs: 2000,
  dialTimeoutMs: 1000,
};

/** One outbound connection and its redial state. */
interface PeerLink {
  address: HostPort;
  socket?: Socket;
  /** Consecutive failed or lost connections, for the backoff. */
  failures: number;
  /** No dial before this time (ms since epoch) after a failure. */
  retryAt: number;
}

/** Frames rejected from the network, by reason. */
type RejectReason = "oversized" | "malformed" | "misaddressed";

/** Raft messages over TCP; see the module comment. */
export class TcpTransport {
  private readonly settings: Required<Omit<TcpTransportConfig, "metrics">>;
  private readonly peers = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<Socket>();
  private server: Server | undefined;
  private closed = false;
  private readonly counters;

  constructor(config: TcpTransportConfig) {
    this.settings = {
      ...TCP_TRANSPORT_DEFAULTS,
      logger: nullLogger,
      random: entropyRandom(),
      ...stripUndefined(config),
    } as typeof this.settings;
    const metrics = config.metrics;
    this.counters = {
      rejected: metrics?.counter("shoal_raft_transport_frames_rejected_total", "Inbound raft frames rejected (the connection is closed).", ["reason"]),
      dropped: metrics?.counter("shoal_raft_transport_messages_dropped_total", "Outbound raft messages dropped before sending.", ["reason"]),
      sent: metrics?.counter("shoal_raft_transport_messages_sent_total", "Raft messages written to peers."),
      received: metrics?.counter("shoal_raft_transport_messages_received_total", "Valid raft messages received from peers."),
      dialFailures: metrics?.counter("shoal_raft_transport_dial_failures_total", "Failed or lost outbound peer connections.", ["peer"]),
    };
  }

  /** Starts listening; resolves once the port is bound. */
  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.settings.listen.port, this.settings.listen.host, () => resolve());
    });
    server.on("error", (error) => this.settings.logger.error("raft listener failed", { error: describeError(error) }));
    this.server = server;
  }

  /** The bound address (useful when listening on port 0). */
  address(): HostPort {
    const bound = this.server?.address();
    if (!bound || typeof bound === "string") throw new Error("raft transport is not listening");
    return { host: bound.address, port: bound.port };
  }

  /** Adds or re-addresses a peer. */
  setPeer(id: NodeId, address: HostPort): void {
    const link = this.peers.get(id);
    if (link && link.address.host === address.host && link.address.port === address.port) return;
    link?.socket?.destroy();
    this.peers.set(id, { address, failures: 0, retryAt: 0 });
  }

  /** Forgets a peer and closes its connection. */
  removePeer(id: NodeId): void {
    this.peers.get(id)?.socket?.destroy();
    this.peers.delete(id);
  }

  /** Sends messages, batching those to the same peer into one write. Never throws. */
  send(messages: readonly Message[]): void {
    const batches = new Map<NodeId, Uint8Array[]>();
    for (const message of messages) {
      const payload = encodeRaftMessage(message);
      if (payload.length > this.settings.maxFrameBytes) {
        this.drop("too_large", message.to);
        continue;
      }
      const batch = batches.get(message.to);
      if (batch) batch.push(payload);
      else batches.set(message.to, [payload]);
    }
    for (const [peer, payloads] of batches) this.write(peer, payloads);
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.peers.values()) link.socket?.destroy();
    for (const socket of this.inbound) socket.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private write(peer: NodeId, payloads: Uint8Array[]): void {
    const link = this.peers.get(peer);
    if (!link) {
      this.drop("unknown_peer", peer, payloads.length);
      return;
    }
    const socket = link.socket ?? this.dial(peer, link);
    if (!socket) {
      this.drop("unreachable", peer, payloads.length);
      return;
    }
    if (socket.writableLength > this.settings.maxQueuedBytes) {
      this.drop("queue_full", peer, payloads.length);
      return;
    }
    socket.write(encodeFrames(payloads));
    this.counters.sent?.inc({}, payloads.length);
  }

  /** Opens the outbound connection to `peer` unless it is backing off; writes queue until connected. */
  private dial(peer: NodeId, link: PeerLink): Socket | undefined {
    if (this.closed || Date.now() < link.retryAt) return undefined;
    const socket = new Socket();
    socket.setNoDelay(true);
    socket.setTimeout(this.settings.dialTimeoutMs);
    link.socket = socket;
    socket.on("connect", () => {
      link.failures = 0;
      socket.setTimeout(0);
    });
    socket.on("timeout", () => socket.destroy(new Error("dial timed out")));
    socket.on("error", (error) => this.settings.logger.debug("raft peer connection failed", { peer, error: describeError(error) }));
    socket.on("close", () => this.lost(peer, link, socket));
    // Replies come over the peer's own connection; anything read here is ignored.
    socket.on("data", () => {});
    socket.connect(link.address.port, link.address.host);
    return socket;
  }

  private lost(peer: NodeId, link: PeerLink, socket: Socket): void {
    if (link.socket !== socket) return;
    link.socket = undefined;
    link.failures++;
    link.retryAt = Date.now() + backoffDelay(link.failures, { minMs: this.settings.reconnectMinMs, maxMs: this.settings.reconnectMaxMs }, this.settings.random);
    this.counters.dialFailures?.inc({ peer });
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(this.settings.maxFrameBytes);
    socket.on("data", (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        this.reject(socket, "oversized", error);
        return;
      }
      for (const frame of frames) {
        let message: Message;
        try {
          message = decodeRaftMessage(frame);
        } catch (error) {
          this.reject(socket, "malformed", error);
          return;
        }
        if (message.to !== this.settings.id) {
          this.reject(socket, "misaddressed", new Error(`message for ${message.to} reached ${this.settings.id}`));
          return;
        }
        this.counters.received?.inc();
        this.deliver(message);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => this.inbound.delete(socket));
  }

  private deliver(message: Message): void {
    try {
      this.settings.onMessage(message);
    } catch (error) {
      this.settings.logger.error("raft message handler failed", { from: message.from, type: message.type, error: describeError(error) });
    }
  }

  private reject(socket: Socket, reason: RejectReason, error: unknown): void {
    this.counters.rejected?.inc({ reason });
    this.settings.logger.warn("closing raft connection after a bad frame", { reason, remote: socket.remoteAddress, error: describeError(error) });
    socket.destroy();
  }

  private drop(reason: string, peer: NodeId, count = 1): void {
    this.counters.dropped?.inc({ reason }, count);
    this.settings.logger.debug("raft messages dropped", { reason, peer, count });
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}
