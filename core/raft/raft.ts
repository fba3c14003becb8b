/**
 * The Raft state machine of one node, in the style of etcd-io/raft: it reacts to `tick()`,
 * `step(message)` and local calls (propose, readIndex, membership, transfer), and queues the
 * messages to send and the read states to serve. It never touches a disk, a socket, a clock or
 * `Math.random()`: `RawNode` (node.ts) turns its state into `Ready` batches and feeds back what
 * the caller persisted.
 *
 * This module holds the node's state, the term and role transitions, and the dispatch; the
 * per-role behaviour lives beside it: elections.ts (campaigns and votes), leader.ts (replication
 * from the leader), follower.ts (accepting it) and reads.ts (ReadIndex).
 */
import type { Random } from "../common/random.ts";
import type { RaftConfig } from "./config.ts";
import { applyConfChange, decodeConfChange, encodeConfChange, type ConfChange } from "./confchange.ts";
import { handleVoteRequest, isTransfer, stepCandidate, tickElection } from "./elections.ts";
import { ProposalDroppedError } from "./errors.ts";
import { stepFollower } from "./follower.ts";
import { appendEntries, appendProposal, bcastAppend, maybeCommit, sendAppend, stepLeader, tickLeader } from "./leader.ts";
import { RaftLog } from "./log.ts";
import { leaderReadIndex } from "./reads.ts";
import { ReadOnlyQueue } from "./readonly.ts";
import { SnapshotAssembler } from "./snapshot-transfer.ts";
import type { Storage } from "./storage.ts";
import { ProgressTracker } from "./tracker.ts";
import type { Entry, EntryType, Message, MessageType, NodeId, ReadState, Role, Snapshot } from "./types.ts";

/** What a proposal carries before the leader assigns its term and index. */
export interface ProposedEntry {
  type: EntryType;
  data: Uint8Array;
}

type MessageFields = Partial<Message> & { type: MessageType; to: NodeId };

/**
 * One node's consensus state. Drive it through `RawNode`; the fields below the public ones are
 * shared with the role modules of this folder only.
 */
export class Raft {
  /** This node's id. */
  readonly id: NodeId;
  /** Current term. */
  term = 0;
  /** Whom this node voted for in `term` ("" for nobody). */
  vote: NodeId = "";
  /** The leader this node follows in `term` ("" when unknown). */
  lead: NodeId = "";
  /** Current role. */
  role: Role = "follower";
  /** The log. */
  readonly log: RaftLog;
  /** Membership and, on the leader, per-peer progress. */
  readonly tracker: ProgressTracker;
  /** Messages to send once the current `Ready` is persisted. */
  messages: Message[] = [];
  /** Reads that may be served once their index is applied. */
  readStates: ReadState[] = [];
  /** The voter leadership is being handed to, if any. */
  leadTransferee: NodeId | undefined;

  /** Ticks since the last election timeout reset (on the leader: since the last quorum check). */
  electionElapsed = 0;
  /** Ticks since the leader's last heartbeat. */
  heartbeatElapsed = 0;
  /** This term's election timeout, in [electionTicks, 2 × electionTicks), so campaigns rarely collide. */
  randomizedElectionTimeout = 0;
  /** Index of the latest membership change the leader appended; none other is accepted until it is applied. */
  pendingConfIndex = 0;
  /** Payload bytes the leader appended and has not yet seen applied. */
  uncommittedBytes = 0;
  /** Reads waiting for a quorum of heartbeat acknowledgements. */
  readonly readOnly = new ReadOnlyQueue();
  /** Reads that arrived before the leader committed an entry of its term. */
  pendingReadIndex: Message[] = [];
  /** Reassembles the snapshot chunks a leader sends this node. */
  readonly assembler = new SnapshotAssembler();

  constructor(
    /** The node's tunables. */
    readonly config: RaftConfig,
    storage: Storage,
    private readonly random: Random,
  ) {
    this.id = config.id;
    this.log = new RaftLog(storage);
    this.tracker = new ProgressTracker(config.maxInflightMsgs, config.maxInflightBytes);
    const { hardState, confState } = storage.initialState();
    if (hardState.commit > this.log.lastIndex()) {
      throw new Error(`raft: persisted commit ${hardState.commit} is beyond the last log index ${this.log.lastIndex()}; the log was truncated`);
    }
    this.tracker.setConf(confState, this.log.lastIndex() + 1);
    this.log.commitTo(hardState.commit);
    if (config.applied > this.log.committed) throw new Error(`raft: applied ${config.applied} is beyond the commit index ${this.log.committed}`);
    // Membership changes applied before the restart but after the snapshot live only in the log
    // (entries kept from before the snapshot are already part of the snapshot's membership).
    const replayFrom = Math.max(this.log.firstIndex(), storage.snapshot().meta.index + 1);
    this.applyEntries(this.log.slice(replayFrom, Math.max(config.applied, replayFrom - 1) + 1, Number.POSITIVE_INFINITY));
    this.log.appliedTo(config.applied);
    this.becomeFollower(hardState.term, "");
    this.vote = hardState.vote;
  }

  // ---- driving ----------------------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.role === "leader") tickLeader(this);
    else tickElection(this);
  }

  /** Handles a message from a peer. Malformed or irrelevant messages are ignored. */
  step(m: Message): void {
    // Only forwarded proposals and reads travel without a term; anything else without one is
    // not from a Raft peer and must not touch the log.
    if (m.term === 0 && m.type !== "propose" && m.type !== "readIndex") return;
    if (m.term > this.term) {
      if (m.type === "vote" || m.type === "preVote") {
        const inLease = this.config.checkQuorum && this.lead !== "" && this.electionElapsed < this.config.electionTicks;
        // A live leader exists: a node rejoining from a partition must not depose it.
        if (inLease && !isTransfer(m.context)) return;
      }
      if (m.type === "preVote" || (m.type === "preVoteResp" && !m.reject)) {
        // Pre-votes never change terms: that is their point.
      } else if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, "");
      }
    } else if (m.term < this.term && m.term !== 0) {
      if ((this.config.checkQuorum || this.config.preVote) && (m.type === "heartbeat" || m.type === "append")) {
        // A stale leader (e.g. back from a partition) learns the new term and steps down.
        this.send({ type: "appendResp", to: m.from });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResp", to: m.from, reject: true });
      }
      return;
    }

    if (m.type === "vote" || m.type === "preVote") {
      handleVoteRequest(this, m);
      return;
    }
    switch (this.role) {
      case "leader":
        stepLeader(this, m);
        return;
      case "candidate":
      case "preCandidate":
        stepCandidate(this, m);
        return;
      case "follower":
        stepFollower(this, m);
        return;
    }
  }

  /** Proposes entries: appended on the leader, forwarded by a follower. Throws `ProposalDroppedError`. */
  propose(entries: ProposedEntry[]): void {
    if (this.role === "leader") {
      appendProposal(this, entries);
      return;
    }
    if (this.lead === "") throw new ProposalDroppedError("no_leader", "no leader is known; retry once one is elected", { term: this.term });
    this.send({ type: "propose", to: this.lead, term: 0, entries: entries.map((entry) => ({ ...entry, term: 0, index: 0 })) });
  }

  /** Proposes a single-server membership change (see confchange.ts). */
  proposeConfChange(change: ConfChange): void {
    this.propose([{ type: "conf", data: encodeConfChange(change) }]);
  }

  /**
   * Requests a linearizable read identified by `context` (unique per read). The answer is a
   * `ReadState` in a later `Ready`; serve the read once its index is applied.
   */
  readIndex(context: Uint8Array): void {
    const request: Message = this.message({ type: "readIndex", to: this.id, term: 0, context });
    if (this.role === "leader") {
      leaderReadIndex(this, request);
      return;
    }
    if (this.lead === "") throw new ProposalDroppedError("no_leader", "no leader is known to confirm the read", { term: this.term });
    this.send({ type: "readIndex", to: this.lead, term: 0, context });
  }

  /** Hands leadership to `to` (a voter): it is brought up to date, then told to campaign at once. */
  transferLeadership(to: NodeId): void {
    if (this.role !== "leader") throw new ProposalDroppedError("not_leader", "only the leader can transfer leadership", { leader: this.lead });
    if (to === this.id) return;
    if (!this.tracker.isVoter(to)) throw new ProposalDroppedError("not_member", `${to} is not a voter`, { to });
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    // The transfer must finish within one election timeout, or it is abandoned.
    this.electionElapsed = 0;
    const progress = this.tracker.progress.get(to);
    if (progress !== undefined && progress.match === this.log.lastIndex()) this.send({ type: "timeoutNow", to });
    else sendAppend(this, to);
  }

  // ---- after persistence -----------------------------------------------------------------

  /**
   * The caller persisted the last Ready and applied its `snapshot` and committed entries
   * (`applied`); membership changes among them take effect now, and a leader now counts its
   * own persisted entries towards the commit index.
   */
  onAdvance(applied: Entry[], snapshot: Snapshot | undefined): void {
    if (snapshot !== undefined) this.log.appliedTo(snapshot.meta.index);
    this.applyEntries(applied);
    const last = applied[applied.length - 1];
    if (last !== undefined) this.log.appliedTo(last.index);
    if (this.role !== "leader") return;
    if (!this.tracker.isVoter(this.id)) {
      // Removed (or demoted) leaders step down; the rest elect a leader among themselves.
      this.becomeFollower(this.term, "");
      return;
    }
    this.tracker.progress.get(this.id)?.maybeUpdate(this.log.persistedIndex());
    if (maybeCommit(this)) bcastAppend(this);
  }

  /** Whether a committed membership change still waits to be applied (campaigning is unsafe then). */
  hasUnappliedConf(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    return this.log.slice(this.log.applied + 1, this.log.committed + 1, Number.POSITIVE_INFINITY).some((entry) => entry.type === "conf");
  }

  private applyEntries(entries: Entry[]): void {
    let changed = false;
    for (const entry of entries) {
      if (entry.type === "normal") {
        this.uncommittedBytes = Math.max(0, this.uncommittedBytes - entry.data.length);
        continue;
      }
      let change: ConfChange;
      try {
        change = decodeConfChange(entry.data);
      } catch {
        continue; // only our own encoder writes these; an undecodable one changes nothing
      }
      this.tracker.setConf(applyConfChange(this.tracker.conf(), change), this.log.lastIndex() + 1);
      changed = true;
    }
    if (!changed) return;
    if (this.leadTransferee !== undefined && !this.tracker.isVoter(this.leadTransferee)) this.leadTransferee = undefined;
    if (this.role === "leader") bcastAppend(this);
  }

  // ---- roles ------------------------------------------------------------------------------

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = "";
      this.assembler.reset();
    }
    this.lead = "";
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.config.electionTicks + this.random.int(this.config.electionTicks);
    this.leadTransferee = undefined;
    this.tracker.votes.clear();
    this.tracker.resetProgress(this.log.lastIndex() + 1);
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly.reset();
    this.pendingReadIndex = [];
  }

  /** Follows `lead` ("" for unknown) in `term`, starting a fresh election timeout. */
  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = "follower";
  }

  /** Starts a pre-vote: the term stays until a quorum says this node could win. */
  becomePreCandidate(): void {
    this.tracker.votes.clear();
    this.lead = "";
    this.role = "preCandidate";
  }

  /** Starts an election in the next term, voting for itself. */
  becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  /** Takes the lead in the current term and appends the term's no-op entry. */
  becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = "leader";
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined) {
      self.maybeUpdate(this.log.persistedIndex());
      self.becomeReplicate();
    }
    // The no-op of this term: committing it commits everything before (§5.4.2), and until it
    // is applied no membership change is accepted (the single-server-change fix).
    this.pendingConfIndex = this.log.lastIndex() + 1;
    appendEntries(this, [{ type: "normal", data: new Uint8Array() }]);
    bcastAppend(this);
  }

  /** Whether this node may campaign: a voter not in the middle of installing a snapshot. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id) && this.log.unstable.snapshot === undefined;
  }

  // ---- messages ---------------------------------------------------------------------------

  /** Completes `fields` into a message from this node in its current term. */
  message(fields: MessageFields): Message {
    return { from: this.id, term: this.term, index: 0, logTerm: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...fields };
  }

  /** Queues a message to send once the current `Ready` is persisted. */
  send(fields: MessageFields): void {
    this.messages.push(this.message(fields));
  }
}
