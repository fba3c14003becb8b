/**
 * A simulated gossip cluster: N `Membership` cores on the kit's virtual clock, UDP packets on a
 * lossy `VirtualNetwork` and streams (push-pull, fallback probes) on a second, loss-free one that
 * shares the partitions and crashes, as TCP would.
 *
 * Each node is ticked exactly when its core's `nextDeadline()` says, so idle time costs nothing
 * and thousands of nodes stay cheap. Every member event is recorded with its virtual time, which
 * is what the checks and the scale measurements read.
 */
import { type GossipConfig, type GossipTuning, lanConfig } from "../../../core/gossip/config.ts";
import { Membership } from "../../../core/gossip/membership.ts";
import type { Delegate, GossipEvent, MemberChange, MemberName, Ready } from "../../../core/gossip/types.ts";
import { DeadlineTimer, type LatencySpec, type Random, SeededRandom, type TimerId, VirtualClock, VirtualNetwork } from "../../kit/index.ts";

/** A stream request or its reply, as carried on the stream network. */
type StreamFrame = { kind: "request"; id: number; bytes: Uint8Array } | { kind: "reply"; id: number; bytes: Uint8Array | undefined };

/** One member event seen by one node. */
export interface ObservedEvent {
  at: number;
  observer: MemberName;
  change: MemberChange;
  subject: MemberName;
  incarnation: number;
}

/** Options of a simulated cluster. */
export interface SimClusterOptions {
  seed: number;
  /** Config overrides applied to every node (LAN defaults otherwise). */
  tuning?: Partial<GossipTuning>;
  /** One-way packet latency (default 1–5 ms). */
  latency?: LatencySpec;
  /** How long the shell waits for a stream reply before failing it (default 2 s). */
  streamTimeoutMs?: number;
  /** Called for every member event (for measurements that must not keep every event). */
  onEvent?: (event: ObservedEvent) => void;
  /** Keep every event in `events` (default true). */
  recordEvents?: boolean;
  /** The application delegate of each node, if any. */
  delegate?: (name: MemberName) => Delegate | undefined;
}

interface SimNode {
  core: Membership;
  crashed: boolean;
  /** While set, the node's process is frozen: inputs wait in `backlog`, timers wait. */
  stalledUntil: number | undefined;
  backlog: (() => void)[];
  timer: DeadlineTimer;
  pendingStreams: Map<number, TimerId>;
  lifecycle: GossipEvent[];
}

/** A cluster of simulated gossip nodes; see the module comment. */
export class SimCluster {
  readonly clock = new VirtualClock();
  readonly random: Random;
  readonly packets: VirtualNetwork<Uint8Array>;
  readonly streams: VirtualNetwork<StreamFrame>;
  readonly events: ObservedEvent[] = [];
  /** Packets a node's core rejected as malformed (should stay 0 between honest nodes). */
  decodeErrors = 0;
  /** Largest UDP packet any node produced, in bytes. */
  largestPacket = 0;
  private readonly nodes = new Map<MemberName, SimNode>();
  private readonly streamTimeoutMs: number;

  constructor(private readonly options: SimClusterOptions) {
    this.random = new SeededRandom(options.seed);
    const latency = options.latency ?? { minMs: 1, maxMs: 5 };
    this.packets = new VirtualNetwork<Uint8Array>({ clock: this.clock, random: this.random.fork(), latency, sizeOf: (bytes) => bytes.length });
    this.streams = new VirtualNetwork<StreamFrame>({ clock: this.clock, random: this.random.fork(), latency, sizeOf: (frame) => frame.bytes?.length ?? 0 });
    this.streamTimeoutMs = options.streamTimeoutMs ?? 2_000;
  }

  /** Names of every node ever added. */
  names(): MemberName[] {
    return [...this.nodes.keys()];
  }

  /** Names of nodes not crashed. */
  running(): MemberName[] {
    return [...this.nodes].filter(([, node]) => !node.crashed).map(([name]) => name);
  }

  /** The core of node `name`. */
  core(name: MemberName): Membership {
    return this.node(name).core;
  }

  /** The config a node gets. */
  configFor(name: MemberName): GossipConfig {
    return lanConfig({ name, address: name }, this.options.tuning);
  }

  /** Starts node `name` (again, after a crash: a fresh process) and joins it through `seeds`. */
  start(name: MemberName, seeds: readonly MemberName[] = []): void {
    const previous = this.nodes.get(name);
    if (previous !== undefined) {
      if (!previous.crashed) throw new Error(`node ${name} is already running`);
      this.packets.restart(name);
      this.streams.restart(name);
    }
    const core = new Membership(this.configFor(name), this.random.fork(), this.clock.now(), this.options.delegate?.(name));
    const timer = new DeadlineTimer(this.clock, () => {
      if (node.crashed || node.stalledUntil !== undefined) return;
      node.core.tick(this.clock.now());
      this.pump(name);
    });
    const node: SimNode = { core, crashed: false, stalledUntil: undefined, backlog: [], timer, pendingStreams: new Map(), lifecycle: [] };
    this.nodes.set(name, node);
    this.packets.attach(name, (from, bytes) => this.input(name, () => this.receivePacket(name, from, bytes)));
    this.streams.attach(name, (from, frame) => this.input(name, () => this.receiveFrame(name, from, frame)));
    if (seeds.length > 0) core.joinCluster(seeds, this.clock.now());
    this.pump(name);
  }

  /** Kills node `name` abruptly: no goodbye, traffic to and from it is lost. */
  crash(name: MemberName): void {
    const node = this.node(name);
    node.crashed = true;
    node.timer.cancel();
    for (const timer of node.pendingStreams.values()) this.clock.clearTimer(timer);
    node.pendingStreams.clear();
    this.packets.crash(name);
    this.streams.crash(name);
  }

  /** Freezes node `name` for `ms` (a GC pause, a stopped VM): it processes nothing, then catches up. */
  stall(name: MemberName, ms: number): void {
    const node = this.node(name);
    node.stalledUntil = this.clock.now() + ms;
    node.timer.cancel();
    this.clock.setTimer(ms, () => {
      node.stalledUntil = undefined;
      const backlog = node.backlog.splice(0);
      for (const input of backlog) if (!node.crashed) input();
      if (!node.crashed) this.pump(name);
    });
  }

  /** Splits both networks into groups that only reach their own members. */
  partition(groups: MemberName[][]): void {
    this.packets.partition(groups);
    this.streams.partition(groups);
  }

  /** Ends partitions. */
  heal(): void {
    this.packets.heal();
    this.streams.heal();
  }

  /** Lifecycle events (joinComplete, leaveComplete…) node `name` reported. */
  lifecycle(name: MemberName): GossipEvent[] {
    return this.node(name).lifecycle;
  }

  /** Whether every node in `observers` sees `subject` in one of `states`. */
  allSee(observers: readonly MemberName[], subject: MemberName, states: readonly string[]): boolean {
    return observers.every((observer) => {
      const state = this.core(observer).member(subject)?.state ?? "unknown";
      return states.includes(state);
    });
  }

  /** Whether every node in `group` knows exactly `group` as its live members. */
  converged(group: readonly MemberName[]): boolean {
    return group.every((observer) => {
      const core = this.core(observer);
      return core.liveCount() === group.length && group.every((subject) => core.member(subject)?.state === "alive");
    });
  }

  /** Runs until `predicate` holds (checked every `stepMs`) or `maxMs` pass; returns whether it held. */
  runUntil(predicate: () => boolean, maxMs: number, stepMs = 100): boolean {
    return this.clock.runUntil(predicate, maxMs, stepMs);
  }

  /** Lets `ms` of virtual time pass. */
  run(ms: number): void {
    this.clock.advance(ms);
  }

  private node(name: MemberName): SimNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`unknown node ${name}`);
    return node;
  }

  private input(name: MemberName, deliver: () => void): void {
    const node = this.node(name);
    if (node.crashed) return;
    if (node.stalledUntil !== undefined) {
      node.backlog.push(deliver);
      return;
    }
    deliver();
    this.pump(name);
  }

  private receivePacket(name: MemberName, from: MemberName, bytes: Uint8Array): void {
    try {
      this.core(name).receive(from, bytes, this.clock.now());
    } catch {
      this.decodeErrors++;
    }
  }

  private receiveFrame(name: MemberName, from: MemberName, frame: StreamFrame): void {
    const node = this.node(name);
    const now = this.clock.now();
    if (frame.kind === "reply") {
      const timer = node.pendingStreams.get(frame.id);
      if (timer === undefined) return;
      this.clock.clearTimer(timer);
      node.pendingStreams.delete(frame.id);
      node.core.streamReply(frame.id, frame.bytes, now);
      return;
    }
    let reply: Uint8Array | undefined;
    try {
      reply = node.core.receiveStream(from, frame.bytes, now);
    } catch {
      this.decodeErrors++;
    }
    this.streams.send(name, from, { kind: "reply", id: frame.id, bytes: reply });
  }

  /** Hands a node's output to the networks and schedules its next tick. */
  private pump(name: MemberName): void {
    const node = this.node(name);
    this.dispatch(name, node, node.core.ready());
    node.timer.schedule(node.core.nextDeadline());
  }

  private dispatch(name: MemberName, node: SimNode, ready: Ready): void {
    for (const packet of ready.packets) {
      this.largestPacket = Math.max(this.largestPacket, packet.bytes.length);
      this.packets.send(name, packet.to, packet.bytes);
    }
    for (const stream of ready.streams) {
      const timer = this.clock.setTimer(this.streamTimeoutMs, () => {
        node.pendingStreams.delete(stream.id);
        this.input(name, () => node.core.streamReply(stream.id, undefined, this.clock.now()));
      });
      node.pendingStreams.set(stream.id, timer);
      this.streams.send(name, stream.to, { kind: "request", id: stream.id, bytes: stream.bytes });
    }
    const now = this.clock.now();
    for (const event of ready.events) {
      if (event.type !== "member") {
        node.lifecycle.push(event);
        continue;
      }
      const observed: ObservedEvent = { at: now, observer: name, change: event.change, subject: event.member.name, incarnation: event.member.incarnation };
      if (this.options.recordEvents !== false) this.events.push(observed);
      this.options.onEvent?.(observed);
    }
  }
}
