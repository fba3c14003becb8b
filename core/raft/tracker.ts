/**
 * The leader's bookkeeping of the membership: who votes, who learns, each peer's replication
 * `Progress`, and the votes of the current election.
 */
import { cloneConf } from "./storage.ts";
import { Progress } from "./progress.ts";
import { committedIndex, hasQuorum, voteResult, type VoteResult } from "./quorum.ts";
import type { ConfState, NodeId } from "./types.ts";

/** Membership, per-peer progress and election votes. */
export class ProgressTracker {
  /** Current voters. */
  voters: NodeId[] = [];
  /** Current learners (receive the log, do not vote). */
  learners: NodeId[] = [];
  /** Progress of every member, voters and learners, including this node. */
  readonly progress = new Map<NodeId, Progress>();
  /** Votes received in the current election. */
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    private readonly maxInflightMsgs: number,
    private readonly maxInflightBytes: number,
  ) {}

  /** Replaces the membership, keeping the progress of members that remain. */
  setConf(conf: ConfState, nextIndex: number): void {
    this.voters = [...conf.voters];
    this.learners = conf.learners.filter((id) => !conf.voters.includes(id));
    const members = new Set([...this.voters, ...this.learners]);
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    for (const id of members) {
      const existing = this.progress.get(id);
      const isLearner = !this.voters.includes(id);
      if (existing === undefined) this.progress.set(id, this.newProgress(nextIndex, isLearner));
      else existing.isLearner = isLearner;
    }
  }

  /** The membership as a `ConfState`. */
  conf(): ConfState {
    return cloneConf({ voters: this.voters, learners: this.learners, votersOutgoing: [] });
  }

  /** Whether `id` is a voter. */
  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  /** Whether `id` is a voter or a learner. */
  isMember(id: NodeId): boolean {
    return this.progress.has(id);
  }

  /** Resets every peer's progress (on becoming leader). */
  resetProgress(nextIndex: number): void {
    for (const [id, progress] of this.progress) this.progress.set(id, this.newProgress(nextIndex, progress.isLearner));
  }

  /** The highest index replicated on a majority of voters. */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  /** Records a vote; a repeated vote from the same voter is ignored. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** The election's outcome so far. */
  tally(): VoteResult {
    return voteResult(this.voters, this.votes);
  }

  /** Whether a majority of voters were active since the last check (this node counts as active). */
  quorumActive(self: NodeId): boolean {
    return hasQuorum(this.voters, (id) => id === self || this.progress.get(id)?.recentActive === true);
  }

  private newProgress(nextIndex: number, isLearner: boolean): Progress {
    return new Progress(nextIndex, this.maxInflightMsgs, this.maxInflightBytes, isLearner);
  }
}
