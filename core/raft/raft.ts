/**
 * The Raft state machine of one node, in the style of etcd-io/raft: it reacts to `tick()`,
 * `step(message)` and local calls (propose, readIndex, membership, transfer), and queues the
 * messages to send and the read states to serve. It never touches a disk, a socket, a clock or
 * `Math.random()`: `RawNode` (node.ts) turns its state into `Ready` batches and feeds back what
 * the caller persisted.
 */
import type { Random } from "../common/random.ts";
import type { RaftConfig } from "./config.ts";
import { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange, type ConfChange } from "./confchange.ts";
import { CompactedError, ProposalDroppedError, SnapshotTemporarilyUnavailableError } from "./errors.ts";
import { RaftLog } from "./log.ts";
import { hasQuorum } from "./quorum.ts";
import { ReadOnlyQueue } from "./readonly.ts";
import { entriesSize } from "./size.ts";
import { SnapshotAssembler, SnapshotTransfer } from "./snapshot-transfer.ts";
import type { Storage } from "./storage.ts";
import { ProgressTracker } from "./tracker.ts";
import type { Entry, EntryType, Message, MessageType, NodeId, ReadState, Role, Snapshot } from "./types.ts";

/** Marks a vote request sent because of a leadership transfer, which followers honour even inside a leader lease. */
const TRANSFER_CONTEXT = new TextEncoder().encode("raft.transfer");

/** What a proposal carries before the leader assigns its term and index. */
export interface ProposedEntry {
  type: EntryType;
  data: Uint8Array;
}

type MessageFields = Partial<Message> & { type: MessageType; to: NodeId };

/** One node's consensus state. Drive it through `RawNode`. */
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

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /** Index of the latest membership change the leader appended; none other is accepted until it is applied. */
  private pendingConfIndex = 0;
  /** Payload bytes the leader appended and has not yet seen applied. */
  private uncommittedBytes = 0;
  private readonly readOnly = new ReadOnlyQueue();
  /** Reads that arrived before the leader committed an entry of its term. */
  private pendingReadIndex: Message[] = [];
  private readonly assembler = new SnapshotAssembler();

  constructor(
    private readonly config: RaftConfig,
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
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
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
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        return;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        return;
      case "follower":
        this.stepFollower(m);
        return;
    }
  }

  /** Proposes entries: appended on the leader, forwarded by a follower. Throws `ProposalDroppedError`. */
  propose(entries: ProposedEntry[]): void {
    if (this.role === "leader") {
      this.appendProposal(entries);
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
      this.leaderReadIndex(request);
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
    else this.sendAppend(to);
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
    if (this.maybeCommit()) this.bcastAppend();
  }

  /** Whether a committed membership change still waits to be applied (campaigning is unsafe then). */
  private hasUnappliedConf(): boolean {
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
    if (this.role === "leader") this.bcastAppend();
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

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = "follower";
  }

  private becomePreCandidate(): void {
    this.tracker.votes.clear();
    this.lead = "";
    this.role = "preCandidate";
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  private becomeLeader(): void {
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
    this.appendEntries([{ type: "normal", data: new Uint8Array() }]);
    this.bcastAppend();
  }

  private promotable(): boolean {
    return this.tracker.isVoter(this.id) && this.log.unstable.snapshot === undefined;
  }

  // ---- elections --------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private hup(transfer: boolean): void {
    if (this.role === "leader" || !this.promotable() || this.hasUnappliedConf()) return;
    if (this.config.preVote && !transfer) this.campaign("pre", false);
    else this.campaign("election", transfer);
  }

  private campaign(kind: "pre" | "election", transfer: boolean): void {
    let term: number;
    if (kind === "pre") {
      this.becomePreCandidate();
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      term = this.term;
    }
    this.tracker.recordVote(this.id, true);
    if (this.tracker.tally() === "won") {
      if (kind === "pre") this.campaign("election", transfer);
      else this.becomeLeader();
      return;
    }
    const type = kind === "pre" ? "preVote" : "vote";
    for (const voter of this.tracker.voters) {
      if (voter === this.id) continue;
      this.send({ type, to: voter, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(), ...(transfer ? { context: TRANSFER_CONTEXT } : {}) });
    }
  }

  private handleVoteRequest(m: Message): void {
    const responseType = m.type === "vote" ? "voteResp" : "preVoteResp";
    const canVote = this.vote === m.from || (this.vote === "" && this.lead === "") || (m.type === "preVote" && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // Answer in the request's term, so a pre-candidate can count it.
      this.send({ type: responseType, to: m.from, term: m.term });
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.vote = m.from;
      } else if (this.role === "preCandidate" && m.term === this.term + 1 && m.from < this.id) {
        // Two pre-candidates that grant each other would both go on to split the vote and
        // wait out another timeout; the one with the greater id steps aside instead. Only
        // the timing of campaigns changes, never who may be elected.
        this.becomeFollower(this.term, "");
      }
    } else {
      this.send({ type: responseType, to: m.from, reject: true });
    }
  }

  // ---- per-role message handling ----------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        this.heardFromLeader(m.from);
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.heardFromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case "snapshot":
        this.heardFromLeader(m.from);
        this.handleSnapshotChunk(m);
        return;
      case "timeoutNow":
        this.hup(true);
        return;
      case "readIndexResp":
        this.readStates.push({ index: m.index, context: m.context ?? new Uint8Array() });
        return;
      default:
        // Forwarded proposals and reads reaching a non-leader are dropped; their senders retry.
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case "voteResp":
      case "preVoteResp": {
        if ((m.type === "voteResp") !== (this.role === "candidate")) return;
        this.tracker.recordVote(m.from, !m.reject);
        const result = this.tracker.tally();
        if (result === "won") {
          if (this.role === "preCandidate") this.campaign("election", false);
          else this.becomeLeader();
        } else if (result === "lost") {
          this.becomeFollower(this.term, "");
        }
        return;
      }
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    if (m.type === "propose") {
      try {
        this.appendProposal(m.entries);
      } catch (error) {
        if (!(error instanceof ProposalDroppedError)) throw error;
      }
      return;
    }
    if (m.type === "readIndex") {
      this.leaderReadIndex(m);
      return;
    }
    const progress = this.tracker.progress.get(m.from);
    if (progress === undefined || m.from === this.id) return;
    switch (m.type) {
      case "appendResp":
        progress.recentActive = true;
        if (m.reject) this.handleAppendRejection(m);
        else this.handleAppendSuccess(m);
        return;
      case "heartbeatResp":
        progress.recentActive = true;
        progress.probeSent = false;
        if (progress.state === "replicate" && progress.inflights.full()) progress.inflights.freeFirstOne();
        if (progress.match < this.log.lastIndex()) this.sendAppend(m.from);
        if (m.context !== undefined && this.config.readOnlyOption === "safe") this.confirmReads(m.from, m.context);
        return;
      case "snapshotResp":
        progress.recentActive = true;
        if (progress.state !== "snapshot" || progress.transfer?.index !== m.index) return;
        progress.transfer.onResponse(m.rejectHint, m.reject);
        this.sendSnapshotChunks(m.from);
        return;
      default:
        return;
    }
  }

  // ---- replication: leader side -----------------------------------------------------------

  private appendProposal(entries: readonly ProposedEntry[]): void {
    if (entries.length === 0) return;
    if (!this.tracker.isMember(this.id)) throw new ProposalDroppedError("not_member", "this node was removed from the cluster");
    if (this.leadTransferee !== undefined) {
      throw new ProposalDroppedError("transfer_in_progress", `leadership is moving to ${this.leadTransferee}`, { to: this.leadTransferee });
    }
    let conf = this.tracker.conf();
    for (const [offset, entry] of entries.entries()) {
      if (entry.type !== "conf") continue;
      if (this.pendingConfIndex > this.log.applied) {
        throw new ProposalDroppedError("conf_change_pending", "a membership change (or the new leader's first entry) is not applied yet", {
          pending: this.pendingConfIndex,
          applied: this.log.applied,
        });
      }
      const change = decodeConfChange(entry.data);
      const problem = confChangeProblem(conf, change);
      if (problem !== undefined) throw new ProposalDroppedError("invalid_conf_change", problem, { change });
      conf = applyConfChange(conf, change);
      this.pendingConfIndex = this.log.lastIndex() + offset + 1;
    }
    const bytes = entries.reduce((sum, entry) => sum + entry.data.length, 0);
    const limit = this.config.maxUncommittedEntriesBytes;
    if (limit > 0 && this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > limit) {
      throw new ProposalDroppedError("uncommitted_limit", "too many uncommitted bytes; followers are not keeping up", { uncommitted: this.uncommittedBytes, limit });
    }
    this.uncommittedBytes += bytes;
    this.appendEntries(entries);
    this.bcastAppend();
  }

  private appendEntries(entries: readonly ProposedEntry[]): void {
    const last = this.log.lastIndex();
    this.log.append(entries.map((entry, offset) => ({ term: this.term, index: last + 1 + offset, type: entry.type, data: entry.data })));
  }

  private maybeCommit(): boolean {
    if (!this.log.maybeCommit(this.tracker.committed(), this.term)) return false;
    this.releasePendingReadIndex();
    return true;
  }

  private handleAppendRejection(m: Message): void {
    const progress = this.tracker.progress.get(m.from);
    if (progress === undefined) return;
    // The follower's hint names its last entry whose term is <= the term we sent; skip
    // straight past everything of ours that cannot match it.
    const hint = m.logTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint;
    if (progress.maybeDecreaseTo(m.index, hint)) {
      if (progress.state === "replicate") progress.becomeProbe();
      this.sendAppend(m.from);
    }
  }

  private handleAppendSuccess(m: Message): void {
    const progress = this.tracker.progress.get(m.from);
    if (progress === undefined) return;
    const wasPaused = progress.isPaused();
    const updated = progress.maybeUpdate(m.index);
    if (progress.state === "snapshot" && m.index >= (progress.transfer?.index ?? 0)) {
      // The snapshot landed (or was not needed). If the log was compacted past it meanwhile,
      // probing finds that out and starts another snapshot.
      progress.becomeProbe();
      if (progress.match + 1 >= this.log.firstIndex()) progress.becomeReplicate();
    } else if (!updated) {
      return;
    } else if (progress.state === "probe") {
      progress.becomeReplicate();
    } else if (progress.state === "replicate") {
      progress.inflights.freeLE(m.index);
    }

    if (this.maybeCommit()) this.bcastAppend();
    else if (wasPaused) this.sendAppend(m.from);
    // Keep the pipeline full: send as long as there are entries and room in flight.
    while (this.sendAppend(m.from, false)) {
      // each call sends one message
    }
    if (m.from === this.leadTransferee && progress.match === this.log.lastIndex()) this.send({ type: "timeoutNow", to: m.from });
  }

  /** Sends `to` the next batch of entries (or starts a snapshot); returns whether a message was sent. */
  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const progress = this.tracker.progress.get(to);
    if (progress === undefined || to === this.id || progress.isPaused()) return false;
    const prevIndex = progress.next - 1;
    const prevTerm = this.log.term(prevIndex);
    let entries: Entry[] | undefined;
    if (prevTerm !== undefined) {
      try {
        entries = this.log.entriesFrom(progress.next, this.config.maxSizePerMsg);
      } catch (error) {
        if (!(error instanceof CompactedError)) throw error;
      }
    }
    if (prevTerm === undefined || entries === undefined) return this.startSnapshot(to);
    if (entries.length === 0 && !sendIfEmpty) return false;
    const bytes = entriesSize(entries);
    this.send({ type: "append", to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    progress.sentEntries(entries.length, prevIndex + entries.length, bytes);
    return true;
  }

  private startSnapshot(to: NodeId): boolean {
    const progress = this.tracker.progress.get(to);
    // Only ship a snapshot to a follower that is answering.
    if (progress === undefined || !progress.recentActive) return false;
    let snapshot: Snapshot;
    try {
      snapshot = this.log.snapshot();
    } catch (error) {
      if (error instanceof SnapshotTemporarilyUnavailableError) return false;
      throw error;
    }
    progress.becomeSnapshot(new SnapshotTransfer(snapshot, this.config.maxSnapshotChunkBytes, this.config.maxSnapshotChunksInFlight));
    this.sendSnapshotChunks(to);
    return true;
  }

  private sendSnapshotChunks(to: NodeId): void {
    const transfer = this.tracker.progress.get(to)?.transfer;
    if (transfer === undefined) return;
    for (const chunk of transfer.nextChunks()) this.send({ type: "snapshot", to, snapshotChunk: chunk });
  }

  private bcastAppend(): void {
    for (const id of this.tracker.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(context: Uint8Array | undefined): void {
    for (const [id, progress] of this.tracker.progress) {
      if (id === this.id) continue;
      // Never vouch for a commit index beyond what the follower is known to hold.
      const commit = Math.min(progress.match, this.log.committed);
      this.send({ type: "heartbeat", to: id, commit, ...(context === undefined ? {} : { context }) });
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        if (!this.tracker.quorumActive(this.id)) {
          this.becomeFollower(this.term, "");
          return;
        }
        for (const [id, progress] of this.tracker.progress) if (id !== this.id) progress.recentActive = false;
      }
      for (const [id, progress] of this.tracker.progress) {
        if (progress.state !== "snapshot" || progress.transfer === undefined) continue;
        progress.transfer.checkStalled();
        this.sendSnapshotChunks(id);
      }
      this.leadTransferee = undefined;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastContext());
    }
  }

  // ---- replication: follower side ---------------------------------------------------------

  private heardFromLeader(leader: NodeId): void {
    this.electionElapsed = 0;
    this.lead = leader;
  }

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ type: "appendResp", to: m.from, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: "appendResp", to: m.from, index: lastNew });
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({ type: "appendResp", to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: Message): void {
    // A leader never vouches beyond what we acknowledged; a commit past our log means a
    // confused peer, and is ignored rather than trusted.
    if (m.commit <= this.log.lastIndex()) this.log.commitTo(m.commit);
    this.send({ type: "heartbeatResp", to: m.from, ...(m.context === undefined ? {} : { context: m.context }) });
  }

  private handleSnapshotChunk(m: Message): void {
    const chunk = m.snapshotChunk;
    if (chunk === undefined) return;
    const outcome = this.assembler.accept(chunk);
    this.send({ type: "snapshotResp", to: m.from, index: chunk.meta.index, reject: outcome.reject, rejectHint: outcome.received });
    if (outcome.snapshot === undefined) return;
    const index = this.restore(outcome.snapshot) ? this.log.lastIndex() : this.log.committed;
    this.send({ type: "appendResp", to: m.from, index });
  }

  private restore(snapshot: Snapshot): boolean {
    const { index, term, conf } = snapshot.meta;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // We already hold that entry: just fast-forward the commit.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.tracker.setConf(conf, this.log.lastIndex() + 1);
    return true;
  }

  // ---- reads ------------------------------------------------------------------------------

  private leaderReadIndex(request: Message): void {
    if (this.tracker.voters.length === 1 && this.tracker.isVoter(this.id)) {
      this.answerRead(request, this.log.committed);
      return;
    }
    // Until an entry of this term commits, the leader's commit index may lag the cluster's.
    if (this.log.term(this.log.committed) !== this.term) {
      this.pendingReadIndex.push(request);
      return;
    }
    if (this.config.readOnlyOption === "lease") {
      this.answerRead(request, this.log.committed);
      return;
    }
    this.readOnly.add(this.log.committed, request);
    this.confirmReads(this.id, request.context ?? new Uint8Array());
    this.bcastHeartbeat(request.context);
  }

  private releasePendingReadIndex(): void {
    if (this.pendingReadIndex.length === 0 || this.log.term(this.log.committed) !== this.term) return;
    const waiting = this.pendingReadIndex;
    this.pendingReadIndex = [];
    for (const request of waiting) this.leaderReadIndex(request);
  }

  private confirmReads(from: NodeId, context: Uint8Array): void {
    const acks = this.readOnly.recordAck(from, context);
    if (acks === undefined || !hasQuorum(this.tracker.voters, (id) => id === this.id || acks.has(id))) return;
    for (const read of this.readOnly.release(context)) this.answerRead(read.request, read.index);
  }

  private answerRead(request: Message, index: number): void {
    const context = request.context ?? new Uint8Array();
    if (request.from === this.id) this.readStates.push({ index, context });
    else this.send({ type: "readIndexResp", to: request.from, index, context });
  }

  // ---- messages ---------------------------------------------------------------------------

  private message(fields: MessageFields): Message {
    return { from: this.id, term: this.term, index: 0, logTerm: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...fields };
  }

  private send(fields: MessageFields): void {
    this.messages.push(this.message(fields));
  }
}

function isTransfer(context: Uint8Array | undefined): boolean {
  if (context === undefined || context.length !== TRANSFER_CONTEXT.length) return false;
  return context.every((byte, i) => byte === TRANSFER_CONTEXT[i]);
}
