/**
 * The gossip shell: runs the pure membership core (`core/gossip`) on real sockets.
 *
 * One UDP socket and one TCP listener on the same address. Every datagram and every stream frame
 * is sealed with the keyring's primary key and opened with any installed key (`core/secure/seal.ts`);
 * what fails to open is dropped and counted by reason, never handed to the core. One timer, set
 * for the core's `nextDeadline()`, feeds it the wall clock; after every input the shell drains the
 * core's `Ready` (packets to send, streams to open, events for the agent) so acks leave at once.
 *
 * Nothing received can throw out of the receive path: seal failures are verdicts, decode errors
 * from the core are caught and counted as `undecodable`.
 */
import { describeError } from "../common/errors.ts";
import type { Logger } from "../common/log.ts";
import type { MetricsRegistry } from "../api/metrics.ts";
import type { Membership } from "../gossip/membership.ts";
import type { Address, GossipEvent, MemberState, StreamRequest } from "../gossip/types.ts";
import { type PacketSeal, SEAL_OVERHEAD } from "../secure/seal.ts";
import { GossipMetrics, type GossipTraffic } from "./gossip-metrics.ts";
import { listenStreams, requestOverStream, type StreamLimits, type StreamServer } from "./gossip-stream.ts";
import { formatHostPort, requireHostPort, type HostPort } from "../common/address.ts";
import { bindUdp, type UdpEndpoint } from "./udp.ts";

/**
 * Longest the timer sleeps even when the core has nothing due: a wall clock that jumps (suspend,
 * NTP step) is noticed within this bound.
 */
const MAX_TIMER_DELAY_MS = 1_000;

/** Most parsed destination addresses kept; past it the cache starts over (members churn slowly). */
const MAX_CACHED_TARGETS = 4_096;

/** Options of `GossipShell.start`. */
export interface GossipShellOptions {
  /** The membership core to drive; the shell owns it from now on. */
  core: Membership;
  /** Where to bind UDP and TCP (the address the core advertises). */
  bind: HostPort;
  /** Seals and opens every packet; shares the agent's keyring, so rotations apply at once. */
  seal: PacketSeal;
  /** Registry for the `shoal_gossip_*` series. */
  metrics: MetricsRegistry;
  logger: Logger;
  /** Receives every membership event, in order. */
  onEvent?: (event: GossipEvent) => void;
  /** The wall clock in ms; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Longest a stream (either direction) may take to exchange its frames. Default 10 s. */
  streamTimeoutMs?: number;
  /** Most inbound streams served at once. Default 128. */
  maxInboundStreams?: number;
  /** Largest stream frame accepted (a sealed push-pull), in bytes. Default 16 MiB. */
  maxStreamBytes?: number;
}

/** A running gossip node's sockets and timer around its core. */
export class GossipShell {
  private readonly metrics: GossipMetrics;
  private readonly now: () => number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the pending timer fires (ms, wall clock); Infinity when none is set. */
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;
  private udp!: UdpEndpoint;
  private streams!: StreamServer;
  /** Frame size and time limits of every stream, both directions. */
  private readonly streamLimits: StreamLimits;
  /** Destinations already parsed: every probe and gossip round would otherwise re-parse one. */
  private readonly targets = new Map<Address, HostPort>();

  private constructor(private readonly options: GossipShellOptions) {
    this.metrics = new GossipMetrics(options.metrics);
    // Counted when scraped: counting at every membership event would copy the whole member
    // table once per event, which is quadratic while a large cluster boots.
    options.metrics.onCollect(() => {
      if (!this.closed) this.publishMemberCounts();
    });
    this.now = options.now ?? Date.now;
    // A frame is a sealed stream payload: the core's limit plus the seal.
    this.streamLimits = { maxFrameBytes: (options.maxStreamBytes ?? 16 * 1024 * 1024) + SEAL_OVERHEAD, timeoutMs: options.streamTimeoutMs ?? 10_000 };
  }

  /** Binds the sockets and starts the timer. */
  static async start(options: GossipShellOptions): Promise<GossipShell> {
    const shell = new GossipShell(options);
    const log = options.logger;
    shell.udp = await bindUdp(options.bind, (bytes, from) => shell.receiveDatagram(bytes, from), (error) => log.debug("gossip UDP socket error", { error: describeError(error) }));
    try {
      shell.streams = listenStreams({
        ...shell.streamLimits,
        local: { host: options.bind.host, port: shell.udp.local.port },
        maxConcurrent: options.maxInboundStreams ?? 128,
        handle: (request, from) => shell.serveStream(request, from),
        onStreamError: (reason, from) => {
          shell.metrics.stream("inbound", "failed");
          log.debug("gossip stream failed", { peer: formatHostPort(from), reason });
        },
      });
    } catch (error) {
      shell.udp.close();
      throw error;
    }
    shell.flush();
    return shell;
  }

  /** The bound address ("host:port"), with the real port when 0 was asked for. */
  get address(): Address {
    return formatHostPort(this.udp.local);
  }

  /** The core, for calls such as `join`, `leave` and `members` (call `flush()` after them). */
  get core(): Membership {
    return this.options.core;
  }

  /** Traffic totals of this shell (what `/metrics` also shows). */
  traffic(): GossipTraffic {
    return this.metrics.totals();
  }

  /** Sends whatever the core has queued; call after invoking the core directly. */
  flush(): void {
    if (this.closed) return;
    const ready = this.options.core.ready();
    for (const packet of ready.packets) this.sendPacket(packet.to, packet.bytes);
    for (const request of ready.streams) void this.openStream(request);
    for (const event of ready.events) this.options.onEvent?.(event);
    this.schedule();
  }

  /**
   * Sets the timer for the core's next deadline. A deadline that moved later (an ack cancelled
   * the probe's timeout) moves the timer too: every wakeup costs the runtime far more than
   * re-arming, and a steady-state node otherwise wakes once a second for nothing.
   */
  private schedule(): void {
    const at = Math.min(this.options.core.nextDeadline(), this.now() + MAX_TIMER_DELAY_MS);
    if (at === this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Number.POSITIVE_INFINITY;
      this.tick();
    }, Math.max(0, at - this.now()));
  }

  /** Stops the timer and closes both sockets; the core is left as it was. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.udp.close();
    this.streams.close();
  }

  private tick(): void {
    try {
      this.options.core.tick(this.now());
    } catch (error) {
      this.options.logger.error("gossip tick failed", { error: describeError(error) });
    }
    this.flush();
  }

  private receiveDatagram(bytes: Uint8Array, from: HostPort): void {
    if (this.closed) return;
    this.metrics.received("udp", bytes.length);
    const opened = this.options.seal.open(bytes);
    if (!opened.ok) {
      this.metrics.drop(opened.reason);
      return;
    }
    try {
      this.options.core.receive(formatHostPort(from), opened.payload, this.now());
    } catch (error) {
      this.metrics.drop("undecodable");
      this.options.logger.debug("gossip packet refused", { peer: formatHostPort(from), senderTag: opened.senderTag, error: describeError(error) });
      return;
    }
    this.flush();
  }

  private serveStream(request: Uint8Array, from: HostPort): Uint8Array | undefined {
    this.metrics.received("tcp", request.length);
    const opened = this.options.seal.open(request);
    if (!opened.ok) {
      this.metrics.drop(opened.reason);
      this.metrics.stream("inbound", "failed");
      return undefined;
    }
    let reply: Uint8Array | undefined;
    try {
      reply = this.options.core.receiveStream(formatHostPort(from), opened.payload, this.now());
    } catch (error) {
      this.metrics.drop("undecodable");
      this.metrics.stream("inbound", "failed");
      this.options.logger.debug("gossip stream refused", { peer: formatHostPort(from), senderTag: opened.senderTag, error: describeError(error) });
      return undefined;
    }
    this.flush();
    this.metrics.stream("inbound", "ok");
    if (!reply) return undefined;
    const sealed = this.options.seal.seal(reply);
    this.metrics.sent("tcp", sealed.length);
    return sealed;
  }

  private sendPacket(to: Address, payload: Uint8Array): void {
    let target: HostPort;
    try {
      target = this.target(to);
    } catch (error) {
      this.options.logger.warn("gossip packet to an invalid address skipped", { to, error: describeError(error) });
      return;
    }
    let sealed: Uint8Array;
    try {
      sealed = this.options.seal.seal(payload);
    } catch (error) {
      this.options.logger.error("gossip packet not sealed", { to, error: describeError(error) });
      return;
    }
    if (this.udp.send(sealed, target)) this.metrics.sent("udp", sealed.length);
  }

  /** `to` parsed into host and port; throws `address_invalid` like `requireHostPort`. */
  private target(to: Address): HostPort {
    let target = this.targets.get(to);
    if (target === undefined) {
      target = requireHostPort(to);
      if (this.targets.size >= MAX_CACHED_TARGETS) this.targets.clear();
      this.targets.set(to, target);
    }
    return target;
  }

  private async openStream(request: StreamRequest): Promise<void> {
    const core = this.options.core;
    let reply: Uint8Array | undefined;
    try {
      const sealed = this.options.seal.seal(request.bytes);
      this.metrics.sent("tcp", sealed.length);
      const frame = await requestOverStream(this.target(request.to), sealed, this.streamLimits);
      if (frame) {
        this.metrics.received("tcp", frame.length);
        const opened = this.options.seal.open(frame);
        if (opened.ok) reply = opened.payload;
        else this.metrics.drop(opened.reason);
      }
    } catch (error) {
      this.options.logger.debug("gossip stream failed", { to: request.to, purpose: request.purpose, error: describeError(error) });
    }
    if (this.closed) return;
    this.metrics.stream("outbound", reply ? "ok" : "failed");
    try {
      core.streamReply(request.id, reply, this.now());
    } catch (error) {
      this.metrics.drop("undecodable");
      this.options.logger.debug("gossip stream reply refused", { to: request.to, error: describeError(error) });
    }
    this.flush();
  }

  private publishMemberCounts(): void {
    const counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const member of this.options.core.members()) counts[member.state]++;
    this.metrics.memberCounts(counts);
  }
}
