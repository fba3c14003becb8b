/**
 * A synchronous in-memory cluster for focused Raft unit tests: every node has a
 * `MemoryStorage`, `settle()` runs Ready loops and delivers messages until quiet, and a
 * `drop` filter cuts links. (The randomized fault-injecting harness lives in tests/sim/raft.)
 */
import { SeededRandom } from "../../../core/common/random.ts";
import { raftConfig, type RaftConfig } from "../../../core/raft/config.ts";
import { RawNode } from "../../../core/raft/node.ts";
import { MemoryStorage } from "../../../core/raft/storage.ts";
import type { Entry, Message, NodeId, ReadState, Snapshot } from "../../../core/raft/types.ts";

/** One node of the test cluster. */
export interface TestNode {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  installed: Snapshot[];
  readStates: ReadState[];
}

/** A cluster driven by hand. */
export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages in flight, delivered by `settle()`. */
  inbox: Message[] = [];
  /** Return true to drop a message. */
  drop: (m: Message) => boolean = () => false;
  /** Every message ever delivered, for assertions. */
  readonly delivered: Message[] = [];
  private readonly random = new SeededRandom(7);

  constructor(
    ids: NodeId[],
    private readonly overrides: Partial<RaftConfig> = {},
    voters: NodeId[] = ids,
  ) {
    for (const id of ids) this.add(id, MemoryStorage.bootstrap({ voters: voters.includes(id) ? voters : [], learners: [], votersOutgoing: [] }));
  }

  /** Adds (or restarts) a node over `storage`. */
  add(id: NodeId, storage: MemoryStorage, applied = 0): TestNode {
    const node = new RawNode({ config: raftConfig({ id, applied, ...this.overrides }), storage, random: this.random.fork() });
    const entry: TestNode = { id, node, storage, applied: [], installed: [], readStates: [] };
    this.nodes.set(id, entry);
    return entry;
  }

  /** The node `id`. */
  get(id: NodeId): TestNode {
    const entry = this.nodes.get(id);
    if (entry === undefined) throw new Error(`no node ${id}`);
    return entry;
  }

  /** Handles every node's Ready (persist, queue messages, apply). */
  flush(): void {
    for (const entry of this.nodes.values()) {
      while (entry.node.hasReady()) {
        const ready = entry.node.ready();
        entry.storage.persist(ready);
        if (ready.snapshot !== undefined) entry.installed.push(ready.snapshot);
        this.inbox.push(...ready.messages);
        entry.applied.push(...ready.committedEntries);
        entry.readStates.push(...ready.readStates);
        entry.node.advance();
      }
    }
  }

  /** Delivers messages until none are left (bounded). */
  settle(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.flush();
      if (this.inbox.length === 0) return;
      const batch = this.inbox;
      this.inbox = [];
      for (const message of batch) {
        if (this.drop(message)) continue;
        const target = this.nodes.get(message.to);
        if (target === undefined) continue;
        this.delivered.push(message);
        target.node.step(message);
      }
    }
    throw new Error("cluster did not settle");
  }

  /** Ticks every node (or the given ones) `count` times, settling after each tick. */
  tick(count = 1, ids: NodeId[] = [...this.nodes.keys()]): void {
    for (let i = 0; i < count; i++) {
      for (const id of ids) this.get(id).node.tick();
      this.settle();
    }
  }

  /** Makes `id` campaign now (ticks it alone past its election timeout). */
  elect(id: NodeId): void {
    const node = this.get(id).node;
    for (let i = 0; i < 1000 && node.raft.role !== "leader"; i++) {
      node.tick();
      this.settle();
    }
    if (node.raft.role !== "leader") throw new Error(`${id} did not become leader`);
  }

  /** The current leaders (by node state). */
  leaders(): TestNode[] {
    return [...this.nodes.values()].filter((entry) => entry.node.raft.role === "leader");
  }

  /** Payloads of normal, non-empty applied entries on `id`, decoded as text. */
  appliedText(id: NodeId): string[] {
    return this.get(id)
      .applied.filter((entry) => entry.type === "normal" && entry.data.length > 0)
      .map((entry) => new TextDecoder().decode(entry.data));
  }
}

/** Encodes a string as entry data. */
export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}
