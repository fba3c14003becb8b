/**
 * `RawNode`: the caller-facing handle on the Raft core. It batches what the state machine
 * produced into a `Ready`, and `advance()` tells the core that the batch was persisted,
 * sent and applied. The loop every caller runs:
 *
 * ```ts
 * node.tick(); node.step(message); node.propose(data); …
 * while (node.hasReady()) {
 *   const ready = node.ready();
 *   persist(ready.hardState, ready.entries, ready.snapshot);   // fsync
 *   send(ready.messages);
 *   apply(ready.snapshot, ready.committedEntries);
 *   serve(ready.readStates);                                   // once their index is applied
 *   node.advance();
 * }
 * ```
 */
import type { Random } from "../common/random.ts";
import type { RaftConfig } from "./config.ts";
import type { ConfChange } from "./confchange.ts";
import { ProposalDroppedError } from "./errors.ts";
import { Raft } from "./raft.ts";
import type { Storage } from "./storage.ts";
import type { ProgressState } from "./progress.ts";
import type { ConfState, HardState, Message, NodeId, Ready, Role, SoftState } from "./types.ts";

/** What a `RawNode` is built from. */
export interface RawNodeOptions {
  config: RaftConfig;
  /** The persisted log to resume from (a fresh node: `MemoryStorage.bootstrap(conf)` or its durable equivalent). */
  storage: Storage;
  /** Source of the randomized election timeouts. */
  random: Random;
}

/** A follower's replication state as seen by the leader. */
export interface PeerStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
}

/** A snapshot of the node's state for status displays and tests. */
export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  lead: NodeId;
  role: Role;
  conf: ConfState;
  /** Per-peer progress; only on the leader. */
  peers: Map<NodeId, PeerStatus>;
}

/** The Raft node handle; see the module comment for the loop. */
export class RawNode {
  /** The state machine underneath (exposed read-only for status and tests). */
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Ready | undefined;

  constructor(private readonly options: RawNodeOptions) {
    this.raft = new Raft(options.config, options.storage, options.random);
    this.prevSoftState = this.softState();
    this.prevHardState = this.hardState();
  }

  /** Advances logical time by one tick (`config.tickMs` of wall time in production). */
  tick(): void {
    this.raft.tick();
  }

  /** Feeds a message received from a peer. Messages not addressed to this node are ignored. */
  step(message: Message): void {
    if (message.to !== this.raft.id) return;
    this.raft.step(message);
  }

  /** Proposes an application command. Throws `ProposalDroppedError` when it cannot be accepted here. */
  propose(data: Uint8Array): void {
    this.raft.propose([{ type: "normal", data }]);
  }

  /** Proposes a membership change (one server at a time; see confchange.ts). */
  proposeConfChange(change: ConfChange): void {
    this.raft.proposeConfChange(change);
  }

  /** Adds `node` as a learner: it receives the log but does not vote until promoted. */
  addLearner(node: NodeId): void {
    this.proposeConfChange({ type: "addLearner", node });
  }

  /** Adds `node` directly as a voter (prefer `addLearner` then `promoteLearner` for a node far behind). */
  addVoter(node: NodeId): void {
    this.proposeConfChange({ type: "addVoter", node });
  }

  /** Removes a voter or learner. Removing the leader makes it step down once applied. */
  removeNode(node: NodeId): void {
    this.proposeConfChange({ type: "removeNode", node });
  }

  /**
   * Promotes a learner to voter once it has caught up (it holds every committed entry), so
   * adding it never leaves the cluster waiting on a voter that cannot yet acknowledge.
   * Leader only; throws `ProposalDroppedError` ("learner_lagging") when it is behind.
   */
  promoteLearner(node: NodeId): void {
    const raft = this.raft;
    if (raft.role !== "leader") throw new ProposalDroppedError("not_leader", "only the leader can promote a learner", { leader: raft.lead });
    const progress = raft.tracker.progress.get(node);
    if (progress === undefined || !progress.isLearner) throw new ProposalDroppedError("not_member", `${node} is not a learner`, { node });
    if (progress.match < raft.log.committed) {
      throw new ProposalDroppedError("learner_lagging", `${node} has not caught up yet`, { node, match: progress.match, commit: raft.log.committed });
    }
    this.addVoter(node);
  }

  /** Requests a linearizable read; see `Raft.readIndex`. */
  readIndex(context: Uint8Array): void {
    this.raft.readIndex(context);
  }

  /** Hands leadership to another voter (leader only). */
  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  /** Whether `ready()` has anything to hand out. */
  hasReady(): boolean {
    const raft = this.raft;
    return (
      !sameSoftState(this.softState(), this.prevSoftState) ||
      !sameHardState(this.hardState(), this.prevHardState) ||
      raft.log.unstable.entries.length > 0 ||
      raft.log.unstable.snapshot !== undefined ||
      raft.messages.length > 0 ||
      raft.readStates.length > 0 ||
      raft.log.hasNextCommittedEntries()
    );
  }

  /** The next batch of work. Call `advance()` after handling it, before the next `ready()`. */
  ready(): Ready {
    if (this.outstanding !== undefined) throw new Error("raft: ready() called again before advance()");
    const raft = this.raft;
    const ready: Ready = {
      entries: [...raft.log.unstable.entries],
      committedEntries: raft.log.nextCommittedEntries(),
      messages: raft.messages,
      readStates: raft.readStates,
    };
    raft.messages = [];
    raft.readStates = [];
    if (raft.log.unstable.snapshot !== undefined) ready.snapshot = raft.log.unstable.snapshot;
    const soft = this.softState();
    if (!sameSoftState(soft, this.prevSoftState)) ready.softState = soft;
    const hard = this.hardState();
    if (!sameHardState(hard, this.prevHardState)) ready.hardState = hard;
    this.outstanding = ready;
    return ready;
  }

  /** The last `ready()` was persisted, sent and applied. */
  advance(): void {
    const ready = this.outstanding;
    if (ready === undefined) throw new Error("raft: advance() without a ready()");
    this.outstanding = undefined;
    if (ready.softState !== undefined) this.prevSoftState = ready.softState;
    if (ready.hardState !== undefined) this.prevHardState = ready.hardState;
    const log = this.raft.log;
    if (ready.snapshot !== undefined) log.stableSnapshotTo(ready.snapshot.meta.index);
    const last = ready.entries[ready.entries.length - 1];
    if (last !== undefined) log.stableTo(last.index, last.term);
    this.raft.onAdvance(ready.committedEntries, ready.snapshot);
  }

  /** The membership as of the applied index: what a snapshot taken now must record. */
  confState(): ConfState {
    return this.raft.tracker.conf();
  }

  /** Whether enough entries were applied since the snapshot at `snapshotIndex` that a new one is due. */
  snapshotDue(snapshotIndex: number): boolean {
    return this.raft.log.applied - snapshotIndex >= this.options.config.snapshotThreshold;
  }

  /** Up to which index the log may be compacted after a snapshot at `snapshotIndex` (keeps a tail for slow followers). */
  compactionIndex(snapshotIndex: number): number {
    return Math.max(0, snapshotIndex - this.options.config.entriesKeptAfterSnapshot);
  }

  /** The node's current state. */
  status(): RaftStatus {
    const raft = this.raft;
    const peers = new Map<NodeId, PeerStatus>();
    if (raft.role === "leader") {
      for (const [id, p] of raft.tracker.progress) peers.set(id, { match: p.match, next: p.next, state: p.state, isLearner: p.isLearner, recentActive: p.recentActive });
    }
    return {
      id: raft.id,
      term: raft.term,
      vote: raft.vote,
      commit: raft.log.committed,
      applied: raft.log.applied,
      lastIndex: raft.log.lastIndex(),
      lead: raft.lead,
      role: raft.role,
      conf: raft.tracker.conf(),
      peers,
    };
  }

  private softState(): SoftState {
    return { leader: this.raft.lead, role: this.raft.role };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed };
  }
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
