/**
 * A simulated cluster running NetworkDB on top of the real membership core.
 *
 * Membership (SWIM, Lifeguard, push-pull) runs in gossip's `SimCluster`, with each node's
 * NetworkDB as its `Delegate`, so attachment records ride on membership packets and push-pull
 * exactly as in the agent, and member events (join, dead, alive, leave) drive NetworkDB.
 * NetworkDB's own messages either ride on membership too, as user messages (`sendOutbox`, the
 * agent's path), or go on two more virtual networks sharing the membership networks' fault
 * state: a lossy datagram network for gossip and a loss-free stream network for bulk sync, so a
 * partition or crash cuts every path at once.
 *
 * Every NetworkDB message a node receives, on any path, is decoded and logged with the node
 * and channel, which is what the network-scope checks read.
 */
import { decodeMessage } from "../../../core/gossip/networkdb/codec.ts";
import type { NetworkDbConfig } from "../../../core/gossip/networkdb/config.ts";
import { applyMemberEvent, sendOutbox } from "../../../core/gossip/networkdb/membership.ts";
import { NetworkDb } from "../../../core/gossip/networkdb/networkdb.ts";
import type { NetworkDbMessage } from "../../../core/gossip/networkdb/types.ts";
import type { GossipTuning } from "../../../core/gossip/config.ts";
import type { Delegate, MemberChange, MemberName } from "../../../core/gossip/types.ts";
import { DeadlineTimer, type Random, VirtualNetwork } from "../../kit/index.ts";
import { SimCluster } from "../gossip/cluster.ts";

/** One NetworkDB message as a node received it. */
export interface Received {
  at: number;
  to: MemberName;
  /** `gossip`/`bulk`: NetworkDB's own networks; `user`/`pushPull`: riding on membership. */
  channel: "gossip" | "bulk" | "user" | "pushPull";
  message: NetworkDbMessage;
}

/** Options of a simulated NetworkDB cluster. */
export interface NetDbClusterOptions {
  seed: number;
  /** NetworkDB config overrides for every node. */
  config?: Partial<NetworkDbConfig>;
  /** Membership tuning overrides (LAN defaults otherwise). */
  tuning?: Partial<GossipTuning>;
  /** Loss, duplication and reordering of NetworkDB datagrams and membership packets. */
  loss?: number;
  duplication?: number;
  reorder?: number;
  /**
   * `own` (default): NetworkDB messages on their own virtual networks. `membership`: sent as
   * membership user messages, as the agent does; they leave with the node's next membership
   * packet or stream, so within one membership deadline.
   */
  transport?: "own" | "membership";
}

interface Node {
  db: NetworkDb;
  timer: DeadlineTimer;
  /** While set, the process is frozen: deliveries wait in `backlog`, no ticks run. */
  stalledUntil: number | undefined;
  backlog: (() => void)[];
}

/** See the module comment. */
export class NetDbCluster {
  readonly gossip: SimCluster;
  readonly received: Received[] = [];
  private readonly datagrams: VirtualNetwork<Uint8Array>;
  private readonly streams: VirtualNetwork<Uint8Array>;
  private readonly nodes = new Map<MemberName, Node>();
  private readonly random: Random;

  constructor(private readonly options: NetDbClusterOptions) {
    this.gossip = new SimCluster({
      seed: options.seed,
      tuning: options.tuning,
      recordEvents: false,
      delegate: (name) => this.delegateFor(name),
      onEvent: (event) => this.memberEvent(event.observer, event.subject, event.change, event.incarnation),
    });
    this.random = this.gossip.random.fork();
    const clock = this.gossip.clock;
    const sizeOf = (bytes: Uint8Array) => bytes.length;
    this.datagrams = new VirtualNetwork({ clock, random: this.random.fork(), latency: { minMs: 1, maxMs: 5 }, sizeOf, faults: this.gossip.packets.faults });
    this.streams = new VirtualNetwork({ clock, random: this.random.fork(), latency: { minMs: 1, maxMs: 5 }, sizeOf, faults: this.gossip.streams.faults });
    for (const network of [this.datagrams, this.gossip.packets]) {
      network.setLoss(options.loss ?? 0);
      network.setDuplication(options.duplication ?? 0);
      network.setReorder(options.reorder ?? 0);
    }
  }

  get clock() {
    return this.gossip.clock;
  }

  /** The NetworkDB of node `name` (its current process). */
  db(name: MemberName): NetworkDb {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`unknown node ${name}`);
    return node.db;
  }

  /** Starts `name` (a fresh process, after a crash too) and joins it to the cluster through `seeds`. */
  start(name: MemberName, seeds: readonly MemberName[] = []): NetworkDb {
    const previous = this.nodes.get(name);
    previous?.timer.cancel();
    if (previous !== undefined) {
      this.datagrams.restart(name);
      this.streams.restart(name);
    }
    const db = new NetworkDb({ self: name, random: this.random.fork(), now: this.clock.now(), config: this.options.config });
    const timer = new DeadlineTimer(this.clock, () => {
      db.tick(this.clock.now());
      this.pump(name);
    });
    this.nodes.set(name, { db, timer, stalledUntil: undefined, backlog: [] });
    this.datagrams.attach(name, (_from, bytes) => this.deliver(name, "gossip", bytes));
    this.streams.attach(name, (_from, bytes) => this.deliver(name, "bulk", bytes));
    this.gossip.start(name, seeds);
    this.pump(name);
    return db;
  }

  /** Kills `name`: no goodbye; its NetworkDB state dies with it. */
  crash(name: MemberName): void {
    this.node(name).timer.cancel();
    this.gossip.crash(name);
  }

  /** Freezes `name`'s process for `ms` (a long GC pause, a suspended VM), then lets it catch up. */
  stall(name: MemberName, ms: number): void {
    const node = this.node(name);
    this.gossip.stall(name, ms);
    node.stalledUntil = this.clock.now() + ms;
    node.timer.cancel();
    this.clock.setTimer(ms, () => {
      node.stalledUntil = undefined;
      for (const input of node.backlog.splice(0)) input();
      this.pump(name);
    });
  }

  /** Cuts `name` off from everyone (cable pulled; the process keeps running). */
  isolate(name: MemberName): void {
    this.gossip.packets.isolate(name);
    this.gossip.streams.isolate(name);
  }

  /** Ends partitions and isolation. */
  heal(): void {
    this.gossip.heal();
  }

  /** Runs a local operation on `name`'s NetworkDB and sends what it produced. */
  act(name: MemberName, operation: (db: NetworkDb) => void): void {
    operation(this.db(name));
    this.pump(name);
  }

  /** Lets `ms` of virtual time pass. */
  run(ms: number): void {
    this.clock.advance(ms);
  }

  /** Runs until `predicate` holds or `maxMs` pass; returns whether it held. */
  runUntil(predicate: () => boolean, maxMs: number, stepMs = 100): boolean {
    return this.clock.runUntil(predicate, maxMs, stepMs);
  }

  /** Whether membership on every node of `observers` sees `subject` in one of `states`. */
  allSee(observers: readonly MemberName[], subject: MemberName, states: readonly string[]): boolean {
    return this.gossip.allSee(observers, subject, states);
  }

  /** Bytes of NetworkDB's own messages sent so far, cluster-wide (own-transport runs). */
  bytesSent(): number {
    return this.datagrams.stats().bytesSent + this.streams.stats().bytesSent;
  }

  private node(name: MemberName): Node {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`unknown node ${name}`);
    return node;
  }

  private delegateFor(name: MemberName): Delegate {
    const cluster = this;
    const db = () => cluster.node(name).db;
    return {
      localState: () => db().localState(),
      mergeRemoteState: (state) => {
        cluster.log(name, "pushPull", state);
        db().mergeRemoteState(state);
        cluster.pump(name);
      },
      getBroadcasts: (overhead, limit) => db().getBroadcasts(overhead, limit),
      notifyMsg: (data) => {
        cluster.log(name, "user", data);
        db().notifyMsg(data);
        cluster.pump(name);
      },
    };
  }

  private memberEvent(observer: MemberName, subject: MemberName, change: MemberChange, incarnation: number): void {
    const node = this.nodes.get(observer);
    if (node === undefined) return;
    const member = { name: subject, address: subject, meta: new Uint8Array(), incarnation, state: "alive" as const, stateChangedAt: this.clock.now() };
    applyMemberEvent(node.db, { type: "member", change, member });
    this.pump(observer);
  }

  private deliver(name: MemberName, channel: Received["channel"], bytes: Uint8Array): void {
    const node = this.node(name);
    if (node.stalledUntil !== undefined) return void node.backlog.push(() => this.deliver(name, channel, bytes));
    this.log(name, channel, bytes);
    this.db(name).notifyMsg(bytes);
    this.pump(name);
  }

  private log(to: MemberName, channel: Received["channel"], bytes: Uint8Array): void {
    const message = decodeMessage(bytes, { maxValueBytes: Number.MAX_SAFE_INTEGER, maxReapInMs: Number.MAX_SAFE_INTEGER });
    this.received.push({ at: this.clock.now(), to, channel, message });
  }

  /** Sends a node's outbox and schedules its next tick at its NetworkDB's deadline. */
  private pump(name: MemberName): void {
    const node = this.nodes.get(name);
    if (node === undefined || node.stalledUntil !== undefined || this.gossip.packets.isCrashed(name)) return;
    if (this.options.transport === "membership") sendOutbox(node.db, this.gossip.core(name));
    for (const message of node.db.takeOutbox()) {
      if (message.transport === "packet") this.datagrams.send(name, message.to, message.bytes);
      else this.streams.send(name, message.to, message.bytes);
    }
    node.timer.schedule(node.db.nextDeadline());
  }
}
