/**
 * The leader's view of one follower's log, and how it sends to it:
 * - `probe`: the match point is unknown; send one append per heartbeat until one lands.
 * - `replicate`: the follower is in sync; pipeline appends optimistically, bounded by `Inflights`.
 * - `snapshot`: the follower needs entries already compacted; ship a snapshot, send nothing else.
 */
import { Inflights } from "./inflights.ts";
import type { SnapshotTransfer } from "./snapshot-transfer.ts";

/** How the leader is currently sending to a follower. */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** Replication progress of one peer, as tracked by the leader. */
export class Progress {
  /** Highest index known to be replicated on the peer. */
  match = 0;
  /** Next index to send. */
  next: number;
  /** How the leader sends to this peer. */
  state: ProgressState = "probe";
  /** In `probe`: an append is out, wait for its answer (or the next heartbeat response). */
  probeSent = false;
  /** In `snapshot`: the snapshot being shipped in chunks. */
  transfer: SnapshotTransfer | undefined;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Appends in flight while replicating. */
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflightMsgs: number,
    maxInflightBytes: number,
    /** A non-voting member that receives the log. */
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  /** Switches to probing from the entry after `match`. */
  becomeProbe(): void {
    // After a snapshot, resume from the snapshot if the follower has not confirmed more.
    const after = this.state === "snapshot" && this.transfer !== undefined ? Math.max(this.match, this.transfer.index) : this.match;
    this.resetState("probe");
    this.next = after + 1;
  }

  /** Switches to pipelining from the entry after `match`. */
  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  /** Switches to shipping `transfer`. */
  becomeSnapshot(transfer: SnapshotTransfer): void {
    this.resetState("snapshot");
    this.transfer = transfer;
  }

  /** Records that entries up to `index` are on the peer; returns whether `match` moved. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Records an append of `count` entries, ending at `lastIndex`, of `bytes` bytes. */
  sentEntries(count: number, lastIndex: number, bytes: number): void {
    if (this.state === "replicate") {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  /**
   * The peer rejected an append at `rejected`, hinting that its log matches at most up to
   * `matchHint`. Returns false when the rejection is stale (an older append's answer).
   */
  maybeDecreaseTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader should hold off sending appends to this peer. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.transfer = undefined;
    this.state = state;
    this.inflights.reset();
  }
}
