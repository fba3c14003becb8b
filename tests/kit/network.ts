/**
 * A simulated network between named nodes, driven by a `VirtualClock` and a seeded `Random`.
 *
 * Every send draws its fate from the seed: lost, duplicated, delayed by the link's latency
 * distribution, sometimes delayed further (reordering). Delivery is a clock timer, so messages
 * arrive only while a test advances time. Partitions (any split), one-way blocks, isolation and
 * crashes are checked both when a message is sent and when it would arrive: a partition or crash
 * that starts while a message is in flight drops it, as a cable pulled mid-flight would.
 * A crash also ends the node's incarnation, so traffic sent to or from it before the crash never
 * reaches the restarted node. The fault state is a `NetworkFaults`, which several networks may
 * share; the fault methods here act on it.
 */
import type { Random } from "../../core/common/random.ts";
import type { VirtualClock } from "./clock.ts";
import { linkKey, NetworkFaults } from "./faults.ts";
import { toDistribution, type LatencyDistribution, type LatencySpec } from "./latency.ts";
import { copyStats, emptyStats, type DropReason, type NetworkStats } from "./stats.ts";
import type { Trace } from "./trace.ts";

/** Receives a message delivered to a node. */
export type MessageHandler<M> = (from: string, msg: M) => void;

/** Fault and delay settings of a link; unset fields fall back to the network's. */
export interface LinkOptions {
  /** One-way delay distribution. */
  latency?: LatencySpec;
  /** Probability that a message (each copy, when duplicated) is lost. */
  loss?: number;
  /** Probability that a message is delivered twice. */
  duplication?: number;
  /** Probability that a message gets an extra delay of up to `reorderDelayMs`. */
  reorder?: number;
}

/** Options of a `VirtualNetwork`; every field but `clock` and `random` has a default. */
export interface VirtualNetworkOptions<M> extends LinkOptions {
  clock: VirtualClock;
  /** Source of every random decision; give the network its own fork of the run's seed. */
  random: Random;
  /** Default `{ minMs: 1, maxMs: 10 }`. */
  latency?: LatencySpec;
  /** Upper bound of the extra delay a reordered message gets (default 50 ms). */
  reorderDelayMs?: number;
  /** Message size in bytes for the byte counters; without it bytes are not counted. */
  sizeOf?: (msg: M) => number;
  /** When given, every send, delivery and drop is appended to it. */
  trace?: Trace;
  /** How a message appears in the trace (default: only its sequence number). */
  describe?: (msg: M) => string;
  /** Fault state to share with other networks of the same cluster (default: this network's own). */
  faults?: NetworkFaults;
}

interface ResolvedLink {
  latency: LatencyDistribution;
  loss: number;
  duplication: number;
  reorder: number;
}

interface InFlight<M> {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly msg: M;
  readonly size: number;
  readonly fromIncarnation: number;
  readonly toIncarnation: number;
}

function checkProbability(name: string, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`VirtualNetwork: ${name} must be a probability in [0, 1], got ${p}`);
  return p;
}

/** See the module comment. */
export class VirtualNetwork<M> {
  private readonly clock: VirtualClock;
  private readonly random: Random;
  private readonly sizeOf: ((msg: M) => number) | undefined;
  private readonly trace: Trace | undefined;
  private readonly describe: ((msg: M) => string) | undefined;
  private readonly reorderDelayMs: number;
  private readonly defaults: ResolvedLink;
  /** Per-link overrides, latency already resolved; unset fields fall back to `defaults`. */
  private readonly links = new Map<string, Partial<ResolvedLink>>();
  private readonly handlers = new Map<string, MessageHandler<M>>();
  /** Partitions, blocks and crashes; possibly shared with other networks. */
  readonly faults: NetworkFaults;
  private total = emptyStats();
  private readonly perNode = new Map<string, NetworkStats>();
  private nextMessageId = 1;
  private inFlightCount = 0;

  constructor(options: VirtualNetworkOptions<M>) {
    this.clock = options.clock;
    this.random = options.random;
    this.sizeOf = options.sizeOf;
    this.trace = options.trace;
    this.describe = options.describe;
    this.reorderDelayMs = Math.floor(options.reorderDelayMs ?? 50);
    if (!(this.reorderDelayMs >= 0)) throw new RangeError(`VirtualNetwork: reorderDelayMs must be >= 0, got ${this.reorderDelayMs}`);
    this.faults = options.faults ?? new NetworkFaults();
    this.defaults = {
      latency: toDistribution(options.latency ?? { minMs: 1, maxMs: 10 }),
      loss: checkProbability("loss", options.loss ?? 0),
      duplication: checkProbability("duplication", options.duplication ?? 0),
      reorder: checkProbability("reorder", options.reorder ?? 0),
    };
  }

  /** Registers (or replaces) the handler of node `id`; a node must be attached to receive. */
  attach(id: string, handler: MessageHandler<M>): void {
    this.handlers.set(id, handler);
  }

  /** Removes node `id`'s handler; messages arriving for it are dropped as `unattached`. */
  detach(id: string): void {
    this.handlers.delete(id);
  }

  /** Ids of the attached nodes, in attach order. */
  nodes(): string[] {
    return [...this.handlers.keys()];
  }

  /** Sends `msg` from `from` to `to`; its fate is decided now, its delivery is a clock timer. */
  send(from: string, to: string, msg: M): void {
    const size = this.sizeOf ? this.sizeOf(msg) : 0;
    const message: InFlight<M> = {
      id: this.nextMessageId++,
      from,
      to,
      msg,
      size,
      fromIncarnation: this.faults.incarnation(from),
      toIncarnation: this.faults.incarnation(to),
    };
    this.count(from, (stats) => {
      stats.sent++;
      stats.bytesSent += size;
    });
    this.trace?.append("send", from, to, this.label(message));
    const blockedBy = this.faults.blockReason(from, to);
    if (blockedBy) return this.drop(message, blockedBy);

    const link = this.link(from, to);
    const copies = this.random.chance(link.duplication) ? 2 : 1;
    if (copies === 2) {
      this.count(from, (stats) => stats.duplicated++);
      this.trace?.append("duplicate", from, to, `#${message.id}`);
    }
    for (let copy = 0; copy < copies; copy++) {
      if (this.random.chance(link.loss)) {
        this.drop(message, "loss");
        continue;
      }
      let delay = link.latency(this.random);
      if (this.random.chance(link.reorder)) delay += this.random.between(0, this.reorderDelayMs);
      this.inFlightCount++;
      this.clock.setTimer(delay, () => this.arrive(message));
    }
  }

  /** Sets the network-wide loss probability. */
  setLoss(p: number): void {
    this.defaults.loss = checkProbability("loss", p);
  }

  /** Sets the network-wide duplication probability. */
  setDuplication(p: number): void {
    this.defaults.duplication = checkProbability("duplication", p);
  }

  /** Sets the network-wide reorder probability. */
  setReorder(p: number): void {
    this.defaults.reorder = checkProbability("reorder", p);
  }

  /** Sets the network-wide latency distribution. */
  setLatency(latency: LatencySpec): void {
    this.defaults.latency = toDistribution(latency);
  }

  /**
   * Overrides the settings of the link between `a` and `b`, in both directions unless `oneWay`
   * (then only `a` -> `b`). Fields left out keep the network's setting.
   */
  setLink(a: string, b: string, options: LinkOptions, { oneWay = false }: { oneWay?: boolean } = {}): void {
    const resolved: Partial<ResolvedLink> = {};
    if (options.latency !== undefined) resolved.latency = toDistribution(options.latency);
    for (const p of ["loss", "duplication", "reorder"] as const) {
      const value = options[p];
      if (value !== undefined) resolved[p] = checkProbability(p, value);
    }
    this.links.set(linkKey(a, b), resolved);
    if (!oneWay) this.links.set(linkKey(b, a), resolved);
  }

  /** Drops the overrides of the link between `a` and `b` (both directions). */
  clearLink(a: string, b: string): void {
    this.links.delete(linkKey(a, b));
    this.links.delete(linkKey(b, a));
  }

  /** See `NetworkFaults.partition`: nodes talk only within their group (unlisted nodes form one more). */
  partition(groups: string[][]): void {
    this.faults.partition(groups);
    this.trace?.append("partition", groups.map((group) => group.join(",")).join(" | "));
  }

  /** Cuts node `id` off from every other node, both directions, until `heal`. */
  isolate(id: string): void {
    this.faults.isolate(id);
    this.trace?.append("isolate", id);
  }

  /** Blocks traffic from `from` to `to` only (an asymmetric fault); the reverse still flows. */
  block(from: string, to: string): void {
    this.faults.block(from, to);
    this.trace?.append("block", from, to);
  }

  /** Lifts one `block(from, to)`. */
  unblock(from: string, to: string): void {
    this.faults.unblock(from, to);
    this.trace?.append("unblock", from, to);
  }

  /** Ends every partition, isolation and block. Crashed nodes stay crashed; link settings stay. */
  heal(): void {
    this.faults.heal();
    this.trace?.append("heal");
  }

  /** Crashes node `id`: it neither sends nor receives, and traffic in flight to or from it is lost. */
  crash(id: string): void {
    this.faults.crash(id);
    this.trace?.append("crash", id);
  }

  /** Brings a crashed node back; it receives only traffic sent after this call. */
  restart(id: string): void {
    this.faults.restart(id);
    this.trace?.append("restart", id);
  }

  /** Whether node `id` is crashed. */
  isCrashed(id: string): boolean {
    return this.faults.isCrashed(id);
  }

  /** Whether a message sent now from `from` to `to` could pass (ignoring random loss). */
  canReach(from: string, to: string): boolean {
    return this.faults.blockReason(from, to) === undefined;
  }

  /** Number of message copies scheduled for delivery and not yet arrived or dropped. */
  inFlight(): number {
    return this.inFlightCount;
  }

  /** Counters: network-wide, or for one node (see `NetworkStats`). Returns a snapshot. */
  stats(id?: string): NetworkStats {
    if (id === undefined) return copyStats(this.total);
    const stats = this.perNode.get(id);
    return stats ? copyStats(stats) : emptyStats();
  }

  /** Zeroes every counter, e.g. after a warm-up phase. */
  resetStats(): void {
    this.total = emptyStats();
    this.perNode.clear();
  }

  private link(from: string, to: string): ResolvedLink {
    const override = this.links.get(linkKey(from, to));
    return override ? { ...this.defaults, ...override } : this.defaults;
  }

  private arrive(message: InFlight<M>): void {
    this.inFlightCount--;
    const { from, to } = message;
    const restarted = this.faults.incarnation(from) !== message.fromIncarnation || this.faults.incarnation(to) !== message.toIncarnation;
    const blockedBy = restarted ? "crash" : this.faults.blockReason(from, to);
    if (blockedBy) return this.drop(message, blockedBy);
    const handler = this.handlers.get(to);
    if (!handler) return this.drop(message, "unattached");
    this.countDelivery(message);
    this.trace?.append("deliver", from, to, this.label(message));
    handler(from, message.msg);
  }

  private label(message: InFlight<M>): string {
    return this.describe ? `#${message.id} ${this.describe(message.msg)}` : `#${message.id}`;
  }

  private drop(message: InFlight<M>, reason: DropReason): void {
    this.count(message.from, (stats) => stats.dropped[reason]++);
    this.trace?.append("drop", message.from, message.to, `#${message.id}`, reason);
  }

  private countDelivery(message: InFlight<M>): void {
    for (const stats of [this.total, this.nodeStats(message.to)]) {
      stats.delivered++;
      stats.bytesDelivered += message.size;
    }
  }

  private count(id: string, update: (stats: NetworkStats) => void): void {
    update(this.total);
    update(this.nodeStats(id));
  }

  private nodeStats(id: string): NetworkStats {
    let stats = this.perNode.get(id);
    if (!stats) {
      stats = emptyStats();
      this.perNode.set(id, stats);
    }
    return stats;
  }
}
