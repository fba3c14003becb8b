/**
 * The replica: runs one Raft node for real. It owns the pure core, the durable log, a state
 * machine, the transport and the tick timer, and turns the core's `Ready` batches into I/O in
 * the order Raft's safety needs — persist (fsync), then send, then apply — before `advance()`
 * (a leader with nothing new to say about its term or vote sends first; see `handle`).
 *
 * Batching falls out of the event loop: inputs (ticks, messages, proposals) only mark the node
 * dirty; one `setImmediate` later, everything that arrived meanwhile leaves as one `Ready`, so
 * a burst of client writes costs one fsync and one message per peer.
 *
 * Clients get promises: `propose` resolves with the state machine's result once the command is
 * applied here, `read` resolves once a ReadIndex confirmed by a quorum is applied here (after
 * which reading the local state is linearizable). While no leader is known they are retried
 * every tick; they reject after `requestTimeoutMs`, or at once with `ProposalDroppedError` when
 * the core refuses for another reason.
 */
import type { MetricsRegistry } from "../api/metrics.ts";
import { describeError, ShoalError } from "../common/errors.ts";
import { nullLogger, type Logger } from "../common/log.ts";
import type { ConfChange } from "../raft/confchange.ts";
import { ProposalDroppedError } from "../raft/errors.ts";
import type { RawNode } from "../raft/node.ts";
import { changesTermOrVote } from "../raft/storage.ts";
import type { ConfState, Entry, Message, NodeId, Ready, ReadState, SoftState } from "../raft/types.ts";
import { decodeProposal, encodeProposal } from "./proposal.ts";
import type { DurableStorage } from "./raft-storage.ts";
import { PendingRequests, RequestTimeoutError } from "./pending-requests.ts";
import type { Command, StateMachine } from "./state-machine.ts";

/** Read keys travel through the core as their UTF-8 bytes (the ReadIndex context). */
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function stoppedError(): ShoalError {
  return new ShoalError("replica_stopped", "the replica stopped");
}

/** Where the replica sends the core's messages. */
export interface ReplicaTransport {
  send(messages: readonly Message[]): void;
}

/** Settings of a `Replica`. */
export interface ReplicaConfig<R> {
  /** The core, built over `storage`; its config's id, tick length, snapshot threshold and kept entries apply here. */
  core: RawNode;
  storage: DurableStorage;
  stateMachine: StateMachine<R>;
  transport: ReplicaTransport;
  /** A proposal or read not completed within this long is rejected with `request_timeout`. Default 5000 ms. */
  requestTimeoutMs?: number;
  logger?: Logger;
  metrics?: MetricsRegistry;
}

/** What `status()` reports. */
export interface ReplicaStatus {
  id: NodeId;
  role: SoftState["role"];
  leader: NodeId;
  term: number;
  commit: number;
  applied: number;
  snapshotIndex: number;
  conf: ConfState;
}

/** The leader changed while a proposal was in its hands: it may or may not commit. Retry if idempotent. */
export class LeaderChangedError extends ShoalError {
  constructor(from: NodeId, to: NodeId) {
    super("leader_changed", `the raft leader changed (${from || "none"} -> ${to || "none"}) while the proposal was pending; its outcome is unknown`, { from, to });
  }
}

/** One running Raft node; see the module comment. */
export class Replica<R> {
  private readonly logger: Logger;
  private readonly requestTimeoutMs: number;
  /** Wall-clock length of one core tick: also how often requests refused for want of a leader are retried. */
  private readonly tickMs: number;
  private readonly bootNonce = crypto.randomUUID().slice(0, 8);
  private nextRequest = 0;
  private readonly proposals: PendingRequests<R>;
  /** Proposals waiting for the next drain (see `flushProposals`). */
  private queued: { requestId: string; data: Uint8Array }[] = [];
  /** Proposals the core accepted, and the leader it knew then; their fate is unknown if it changes. */
  private readonly handedOver = new Map<string, NodeId>();
  private readonly reads: PendingRequests<void>;
  /** Confirmed read indexes waiting for the state machine to catch up. */
  private readyReads: { index: number; key: string }[] = [];
  private snapshotIndex: number;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private scheduled = false;
  private stopped = false;
  /** A snapshot waits for the state machine's fsync (see `maybeSnapshot`). */
  private snapshotInFlight = false;
  private readonly gauges;
  private readonly counters;

  constructor(private readonly config: ReplicaConfig<R>) {
    this.logger = config.logger ?? nullLogger;
    this.requestTimeoutMs = config.requestTimeoutMs ?? 5000;
    this.tickMs = config.core.raft.config.tickMs;
    this.proposals = new PendingRequests("proposal", this.requestTimeoutMs, (requestId) => this.handedOver.delete(requestId));
    this.reads = new PendingRequests("read", this.requestTimeoutMs);
    this.snapshotIndex = config.storage.snapshotIndex();
    config.storage.setSnapshotSource(() => config.stateMachine.snapshot());
    const metrics = config.metrics;
    this.gauges = {
      term: metrics?.gauge("shoal_raft_term", "Current raft term."),
      leader: metrics?.gauge("shoal_raft_is_leader", "1 when this node is the raft leader."),
      applied: metrics?.gauge("shoal_raft_applied_index", "Last log index applied to the state machine."),
      persist: metrics?.histogram("shoal_raft_persist_seconds", "Time to persist one Ready (fsync included).", [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5]),
    };
    this.counters = {
      installed: metrics?.counter("shoal_raft_snapshots_installed_total", "Snapshots received from the leader and installed."),
      taken: metrics?.counter("shoal_raft_snapshots_taken_total", "Snapshots of the local state machine taken at the threshold."),
    };
  }

  /**
   * Starts the tick timer and processes anything already pending. It also puts this process
   * back on JavaScriptCore's normal JIT policy: the binary starts reluctant to compile, which
   * suits an agent handling a few packets a second (see `JIT_POLICY` in scripts/build.ts), but a
   * replica's write path runs thousands of times a second, where compiled code pays back (raft
   * bench, one client: 834 writes/s against etcd's 1,051 under the reluctant policy, 1,237
   * against 1,096 under the normal one).
   */
  start(): void {
    Bun.unsafe.setJITPolicy(1);
    this.ticker = setInterval(() => {
      this.config.core.tick();
      this.schedule();
    }, this.tickMs);
    this.schedule();
  }

  /** Stops ticking and fails every waiting request; the storage and state machine stay open. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.ticker);
    this.proposals.rejectAll(stoppedError());
    this.reads.rejectAll(stoppedError());
    this.queued = [];
  }

  /** Hands an inbound message to the core. */
  step(message: Message): void {
    if (this.stopped) return;
    try {
      this.config.core.step(message);
    } catch (error) {
      this.logger.warn("raft message refused", { from: message.from, type: message.type, error: describeError(error) });
    }
    this.schedule();
  }

  /** Proposes a command; resolves with its result once it is applied on this node. */
  propose(command: Uint8Array): Promise<R> {
    if (this.stopped) return Promise.reject(stoppedError());
    const requestId = `${this.config.core.raft.id}:${this.bootNonce}:${this.nextRequest++}`;
    const result = this.proposals.add(requestId);
    this.queued.push({ requestId, data: encodeProposal({ requestId, command }) });
    this.schedule();
    return result;
  }

  /** Resolves once the local state reflects every write committed before the call (ReadIndex). */
  read(): Promise<void> {
    if (this.stopped) return Promise.reject(stoppedError());
    const key = `${this.bootNonce}:${this.nextRequest++}`;
    const result = this.reads.add(key);
    this.submitRead(key, utf8Encoder.encode(key));
    return result;
  }

  /** Proposes a membership change; resolves once it is applied here. */
  changeMembership(change: ConfChange): Promise<void> {
    this.config.core.proposeConfChange(change);
    this.schedule();
    const applied = (conf: ConfState) =>
      change.type === "removeNode" ? !conf.voters.includes(change.node) && !conf.learners.includes(change.node)
        : (change.type === "addVoter" ? conf.voters : conf.learners).includes(change.node);
    return this.until(() => applied(this.config.core.confState()), `membership change ${change.type} ${change.node}`);
  }

  /**
   * Promotes a learner to voter once it holds every committed entry (leader only); rejects with
   * `ProposalDroppedError` ("learner_lagging") while it is still catching up.
   */
  promote(node: NodeId): Promise<void> {
    this.config.core.promoteLearner(node);
    this.schedule();
    return this.until(() => this.config.core.confState().voters.includes(node), `promotion of ${node}`);
  }

  /** Asks the leader (this node) to hand leadership to `to`. */
  transferLeadership(to: NodeId): void {
    this.config.core.transferLeadership(to);
    this.schedule();
  }

  /** Role, leader, term and indexes, for status endpoints. */
  status(): ReplicaStatus {
    const core = this.config.core.status();
    return {
      id: this.config.core.raft.id,
      role: core.role,
      leader: core.lead,
      term: core.term,
      commit: core.commit,
      applied: this.config.stateMachine.appliedIndex(),
      snapshotIndex: this.snapshotIndex,
      conf: core.conf,
    };
  }

  /**
   * Hands a read to the core. While no leader is known (an election is under way) it is
   * retried every tick until its deadline, so clients ride through a failover; any other
   * refusal fails the read at once. (Proposals get the same treatment in `flushProposals`.)
   */
  private submitRead(key: string, context: Uint8Array): void {
    try {
      this.config.core.readIndex(context);
    } catch (error) {
      if (error instanceof ProposalDroppedError && error.reason === "no_leader" && !this.stopped) {
        setTimeout(() => this.reads.has(key) && this.submitRead(key, context), this.tickMs);
      } else {
        this.reads.reject(key, error);
      }
    }
    this.schedule();
  }

  /**
   * Hands every queued proposal to the core in one call, so a burst of client writes becomes
   * one run of entries and one append message per follower instead of one per write.
   */
  private flushProposals(): void {
    const batch = this.queued.filter((proposal) => this.proposals.has(proposal.requestId));
    this.queued = [];
    if (batch.length === 0) return;
    const { raft } = this.config.core;
    try {
      raft.propose(batch.map((proposal) => ({ type: "normal", data: proposal.data })));
      for (const { requestId } of batch) this.handedOver.set(requestId, raft.lead);
    } catch (error) {
      if (error instanceof ProposalDroppedError && error.reason === "no_leader") {
        setTimeout(() => {
          this.queued.push(...batch);
          this.schedule();
        }, this.tickMs);
        return;
      }
      for (const { requestId } of batch) this.proposals.reject(requestId, error);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Handles every pending `Ready`; a storage failure stops the node rather than risk acknowledging lost data. */
  private drain(): void {
    try {
      this.flushProposals();
      while (!this.stopped && this.config.core.hasReady()) this.handle(this.config.core.ready());
    } catch (error) {
      this.logger.error("raft replica failed; stopping", { error: describeError(error) });
      this.stop();
      throw error;
    }
  }

  private handle(ready: Ready): void {
    const { core, storage, stateMachine, transport } = this.config;
    if (ready.softState) this.changeRole(ready.softState);
    // A leader whose term and vote are already on disk may send before its own write (Raft
    // thesis §10.2.1): it counts itself towards a commit only after `advance()`, so followers'
    // fsyncs overlap the leader's instead of following it.
    const sendFirst = core.raft.role === "leader" && !changesTermOrVote(ready.hardState, storage.currentHardState());
    if (sendFirst && ready.messages.length > 0) transport.send(ready.messages);
    const started = performance.now();
    if (ready.hardState || ready.entries.length > 0 || ready.snapshot) {
      storage.persist({ hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot });
      this.gauges.persist?.observe((performance.now() - started) / 1000);
    }
    if (!sendFirst && ready.messages.length > 0) transport.send(ready.messages);
    if (ready.snapshot && ready.snapshot.meta.index > stateMachine.appliedIndex()) {
      stateMachine.restore(ready.snapshot);
      this.snapshotIndex = ready.snapshot.meta.index;
      this.counters.installed?.inc();
      this.logger.info("snapshot installed from the leader", { index: ready.snapshot.meta.index, bytes: ready.snapshot.data.length });
    }
    this.apply(ready.committedEntries);
    this.queueReads(ready.readStates);
    core.advance();
    if (ready.hardState) this.gauges.term?.set(ready.hardState.term);
    this.maybeSnapshot();
  }

  private apply(entries: readonly Entry[]): void {
    const last = entries.at(-1);
    const { stateMachine } = this.config;
    if (last === undefined || last.index <= stateMachine.appliedIndex()) return;
    const commands: Command[] = [];
    const requestIds: (string | undefined)[] = [];
    for (const entry of entries) {
      if (entry.index <= stateMachine.appliedIndex() || entry.type !== "normal" || entry.data.length === 0) continue;
      let requestId: string | undefined;
      let data = entry.data;
      try {
        ({ requestId, command: data } = decodeProposal(entry.data));
      } catch {
        // Not wrapped (written by another tool): apply as is, nobody here waits for it.
      }
      commands.push({ index: entry.index, data });
      requestIds.push(requestId);
    }
    const results = stateMachine.apply(commands, last.index);
    results.forEach((result, position) => {
      const requestId = requestIds[position];
      if (requestId !== undefined) this.proposals.resolve(requestId, result);
    });
    this.gauges.applied?.set(last.index);
    this.serveReads();
  }

  private queueReads(readStates: readonly ReadState[]): void {
    if (readStates.length === 0) return;
    for (const state of readStates) this.readyReads.push({ index: state.index, key: utf8Decoder.decode(state.context) });
    this.serveReads();
  }

  private serveReads(): void {
    const applied = this.config.stateMachine.appliedIndex();
    const waiting: typeof this.readyReads = [];
    for (const read of this.readyReads) {
      if (read.index <= applied) this.reads.resolve(read.key, undefined);
      else waiting.push(read);
    }
    this.readyReads = waiting;
  }

  /**
   * Takes a snapshot once the threshold is crossed. Lazy: the state machine's own file is the
   * snapshot, so it costs one fsync of that file, not a copy of the state; the bytes are produced
   * only if a follower ever needs them. The fsync runs off this thread and the snapshot is
   * recorded when it completes; meanwhile writes go on, and no second snapshot starts.
   */
  private maybeSnapshot(): void {
    const { stateMachine, core } = this.config;
    if (this.snapshotInFlight || !core.snapshotDue(this.snapshotIndex)) return;
    const index = stateMachine.appliedIndex();
    const conf = core.confState();
    this.snapshotInFlight = true;
    stateMachine
      .sync()
      .then(() => this.recordSnapshot(index, conf))
      .catch((error: unknown) => {
        // The state machine's writes may not be on disk, or the log's may not: serving on could
        // acknowledge lost data.
        this.logger.error("snapshot failed; stopping", { error: describeError(error) });
        this.stop();
      })
      .finally(() => (this.snapshotInFlight = false));
  }

  /** Records a snapshot at `index`, now durable in the state machine, and compacts the log behind it. */
  private recordSnapshot(index: number, conf: ConfState): void {
    const { storage, core } = this.config;
    // A snapshot installed from the leader meanwhile supersedes this one.
    if (this.stopped || index <= storage.snapshotIndex()) return;
    storage.createSnapshot(index, conf);
    this.snapshotIndex = index;
    const compactTo = core.compactionIndex(index);
    if (compactTo >= storage.firstIndex()) storage.compact(compactTo);
    this.counters.taken?.inc();
    this.logger.info("snapshot taken", { index, firstIndex: storage.firstIndex() });
  }

  private changeRole(soft: SoftState): void {
    this.logger.info("raft role changed", { role: soft.role, leader: soft.leader });
    this.gauges.leader?.set(soft.role === "leader" ? 1 : 0);
    if (soft.leader === "") return;
    // A proposal handed to an earlier leader may be lost with it, or may still commit: tell its
    // client now (outcome unknown) instead of letting it hang until the timeout.
    for (const [requestId, leader] of this.handedOver) {
      if (leader !== soft.leader) this.proposals.reject(requestId, new LeaderChangedError(leader, soft.leader));
    }
  }

  private async until(predicate: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + this.requestTimeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new RequestTimeoutError(what, this.requestTimeoutMs);
      await new Promise((resolve) => setTimeout(resolve, this.tickMs / 4));
    }
  }
}
