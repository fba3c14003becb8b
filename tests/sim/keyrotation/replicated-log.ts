/**
 * An abstract Raft for the key rotation simulation: one ordered log of committed entries, a
 * leader that may propose, and leader changes. The real Raft is simulated on its own
 * (tests/sim/raft); here only what key rotation relies on matters: entries commit in one order
 * that every manager applies, only the leader's proposals get in, and a proposal in flight when
 * leadership changes either still commits (it had reached a majority) or is lost.
 */
import type { Random, VirtualClock } from "../../kit/index.ts";

/** A committed entry and when it committed. */
export interface CommittedEntry {
  data: Uint8Array;
  committedAt: number;
  /** The manager that proposed it. */
  proposer: string;
}

interface Proposal {
  data: Uint8Array;
  proposer: string;
  lost: boolean;
}

/** Timing of the model, in virtual ms. */
export interface ReplicatedLogTiming {
  commitMinMs: number;
  commitMaxMs: number;
}

/** The log; see the module comment. */
export class ReplicatedLog {
  readonly entries: CommittedEntry[] = [];
  private leaderId: string | undefined;
  private readonly inFlight = new Set<Proposal>();
  private readonly commitListeners: ((entry: CommittedEntry) => void)[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly random: Random,
    private readonly timing: ReplicatedLogTiming,
  ) {}

  /** The current leader, or undefined during an election. */
  leader(): string | undefined {
    return this.leaderId;
  }

  /** Calls `listener` for every entry as it commits. */
  onCommit(listener: (entry: CommittedEntry) => void): void {
    this.commitListeners.push(listener);
  }

  /** A proposal from anyone but the leader is refused, as Raft's followers refuse (or forward) it. */
  propose(from: string, data: Uint8Array): boolean {
    if (from !== this.leaderId) return false;
    const proposal: Proposal = { data, proposer: from, lost: false };
    this.inFlight.add(proposal);
    this.clock.setTimer(this.random.between(this.timing.commitMinMs, this.timing.commitMaxMs), () => {
      this.inFlight.delete(proposal);
      if (proposal.lost) return;
      const entry = { data, committedAt: this.clock.now(), proposer: proposal.proposer };
      this.entries.push(entry);
      for (const listener of this.commitListeners) listener(entry);
    });
    return true;
  }

  /** The leader steps down or dies: each proposal still in flight is lost or commits, at random. */
  stepDown(): void {
    this.leaderId = undefined;
    for (const proposal of this.inFlight) proposal.lost = this.random.chance(0.5);
  }

  /** `id` wins an election. */
  elect(id: string): void {
    this.leaderId = id;
  }
}
