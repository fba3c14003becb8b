/**
 * A simulated Raft cluster on the kit's virtual clock and network: each node is a `RawNode`
 * over a `MemoryStorage` (its "disk") with a `KvStateMachine`. A node's Ready is handled a
 * random few milliseconds after its input (an fsync's latency), so a crash in between loses
 * exactly what was not yet persisted, and the messages that depended on it are never sent.
 */
import { RAFT_DEFAULTS, raftConfig, type RaftConfig } from "../../../core/raft/config.ts";
import { ProposalDroppedError } from "../../../core/raft/errors.ts";
import { RawNode } from "../../../core/raft/node.ts";
import { MemoryStorage } from "../../../core/raft/storage.ts";
import type { Message, NodeId, ReadState } from "../../../core/raft/types.ts";
import { type Random, type TimerId, VirtualClock, VirtualNetwork } from "../../kit/index.ts";
import { SafetyMonitor } from "./invariants.ts";
import { decodePut, KvStateMachine, type PutCommand } from "./kv.ts";

/** Told about applied puts and servable reads (the clients' view). */
export interface ClusterObserver {
  putApplied(node: NodeId, command: PutCommand): void;
  readReady(node: NodeId, context: string, machine: KvStateMachine): void;
}

/** One simulated server. */
export interface SimNode {
  id: NodeId;
  /** Survives crashes: what was persisted. */
  storage: MemoryStorage;
  /** Undefined while crashed. */
  raft: RawNode | undefined;
  machine: KvStateMachine;
  applied: number;
  readStates: ReadState[];
  flushTimer: TimerId | undefined;
  /** The last term this node was seen leading. */
  ledTerm: number;
}

/** Settings of a simulated cluster. */
export interface SimClusterOptions {
  clock: VirtualClock;
  random: Random;
  net: VirtualNetwork<Message>;
  monitor: SafetyMonitor;
  observer: ClusterObserver;
  raft: Partial<RaftConfig>;
  /** Largest simulated fsync delay in ms. */
  maxPersistDelayMs: number;
}

const decoder = new TextDecoder();

/**
 * Runs a proposal, read or membership call; false when the core dropped it (no leader, a
 * transfer under way, ...), which a run tolerates. Any other error is thrown.
 */
export function unlessDropped(call: () => void): boolean {
  try {
    call();
    return true;
  } catch (error) {
    if (!(error instanceof ProposalDroppedError)) throw error;
    return false;
  }
}

/** The cluster; see the module comment. */
export class SimRaftCluster {
  readonly nodes = new Map<NodeId, SimNode>();
  /** Snapshots received from a leader and installed. */
  snapshotsInstalled = 0;

  constructor(private readonly options: SimClusterOptions) {}

  /** Starts a node over `storage` (a founding member's bootstrapped storage, or an empty one for a joiner). */
  spawn(id: NodeId, storage: MemoryStorage): SimNode {
    const node: SimNode = { id, storage, raft: undefined, machine: new KvStateMachine(), applied: 0, readStates: [], flushTimer: undefined, ledTerm: 0 };
    this.nodes.set(id, node);
    this.boot(node);
    this.options.net.attach(id, (_from, message) => {
      if (node.raft === undefined) return;
      node.raft.step(message);
      this.scheduleFlush(node);
    });
    const tickMs = this.options.raft.tickMs ?? RAFT_DEFAULTS.tickMs;
    // Nodes tick out of phase, as real machines do.
    this.options.clock.setTimer(this.options.random.int(tickMs), () =>
      this.options.clock.every(tickMs, () => {
        if (node.raft === undefined) return;
        node.raft.tick();
        this.scheduleFlush(node);
      }),
    );
    return node;
  }

  /** The node `id`. */
  get(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Crashes `id`: volatile state (unpersisted entries, the state machine, pending reads) is lost. */
  crash(id: NodeId): void {
    const node = this.get(id);
    if (node.raft === undefined) return;
    this.options.net.crash(id);
    if (node.flushTimer !== undefined) this.options.clock.clearTimer(node.flushTimer);
    node.flushTimer = undefined;
    node.raft = undefined;
    node.readStates = [];
  }

  /** Restarts a crashed node from its storage. */
  restart(id: NodeId): void {
    const node = this.get(id);
    if (node.raft !== undefined) return;
    this.options.net.restart(id);
    this.boot(node);
  }

  /** Whether `id` is running. */
  isUp(id: NodeId): boolean {
    return this.get(id).raft !== undefined;
  }

  /** The running nodes that believe they lead, with the highest term first. */
  leaders(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.raft?.raft.role === "leader").sort((a, b) => (b.raft?.raft.term ?? 0) - (a.raft?.raft.term ?? 0));
  }

  /** Runs `fn` on the node and schedules its Ready. */
  act(node: SimNode, fn: (raft: RawNode) => void): void {
    if (node.raft === undefined) return;
    fn(node.raft);
    this.scheduleFlush(node);
  }

  /** Checks log matching across every running node. */
  checkLogMatching(): void {
    const logs = new Map([...this.nodes.values()].filter((n) => n.raft !== undefined).map((n) => [n.id, (n.raft as RawNode).raft.log] as const));
    this.options.monitor.checkLogMatching(logs);
  }

  private boot(node: SimNode): void {
    const snapshot = node.storage.snapshot();
    node.machine = KvStateMachine.restore(snapshot.data);
    node.applied = snapshot.meta.index;
    node.readStates = [];
    node.raft = new RawNode({ config: raftConfig({ ...this.options.raft, id: node.id, applied: snapshot.meta.index }), storage: node.storage, random: this.options.random.fork() });
    this.scheduleFlush(node);
  }

  private scheduleFlush(node: SimNode): void {
    if (node.flushTimer !== undefined) return;
    node.flushTimer = this.options.clock.setTimer(this.options.random.int(this.options.maxPersistDelayMs + 1), () => {
      node.flushTimer = undefined;
      this.flush(node);
    });
  }

  private flush(node: SimNode): void {
    const raft = node.raft;
    if (raft === undefined) return;
    const { monitor, net } = this.options;
    while (raft.hasReady()) {
      const ready = raft.ready();
      // Checked once per term led (a Ready may span a step-down and a re-election).
      if (raft.raft.role === "leader" && raft.raft.term !== node.ledTerm) {
        node.ledTerm = raft.raft.term;
        monitor.onLeader(node.id, raft.raft.term, raft.raft.log);
      }
      // 1. persist
      node.storage.persist(ready);
      // 2. send (copies: a real transport never shares objects between nodes)
      for (const message of ready.messages) net.send(node.id, message.to, { ...message, entries: message.entries.map((entry) => ({ ...entry })) });
      // 3. apply
      if (ready.snapshot !== undefined) {
        this.snapshotsInstalled++;
        node.machine = KvStateMachine.restore(ready.snapshot.data);
        node.applied = ready.snapshot.meta.index;
      }
      for (const entry of ready.committedEntries) {
        monitor.onApply(node.id, entry);
        node.applied = entry.index;
        if (entry.type !== "normal" || entry.data.length === 0) continue;
        const command = decodePut(entry.data);
        node.machine.apply(command);
        this.options.observer.putApplied(node.id, command);
      }
      node.readStates.push(...ready.readStates);
      raft.advance();
      this.serveReads(node);
      this.maybeSnapshot(node, raft);
    }
  }

  private serveReads(node: SimNode): void {
    const waiting: ReadState[] = [];
    for (const read of node.readStates) {
      if (read.index <= node.applied) this.options.observer.readReady(node.id, decoder.decode(read.context), node.machine);
      else waiting.push(read);
    }
    node.readStates = waiting;
  }

  private maybeSnapshot(node: SimNode, raft: RawNode): void {
    const last = node.storage.snapshot().meta.index;
    if (!raft.snapshotDue(last) || node.applied <= last) return;
    node.storage.createSnapshot(node.applied, raft.confState(), node.machine.snapshot());
    node.storage.compact(raft.compactionIndex(node.applied));
  }
}
