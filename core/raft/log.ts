/**
 * The node's view of its log: persisted entries read through `Storage`, followed by the
 * unstable tail, plus the commit and applied indexes.
 */
import { CompactedError } from "./errors.ts";
import { limitSize } from "./size.ts";
import type { Storage } from "./storage.ts";
import { Unstable } from "./unstable.ts";
import type { Entry, Snapshot } from "./types.ts";

/** The log as one sequence over storage and the unstable tail. */
export class RaftLog {
  /** Entries not yet persisted. */
  readonly unstable: Unstable;
  /** Highest index known committed by a quorum. */
  committed: number;
  /** Highest index handed to the caller to apply and acknowledged with `advance()`. */
  applied: number;

  constructor(readonly storage: Storage) {
    const first = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  /** The first index still in the log. */
  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  /** The last index in the log. */
  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The last index that is persisted and still part of the log (the leader counts only this for itself). */
  persistedIndex(): number {
    if (this.unstable.snapshot !== undefined) return 0;
    return Math.min(this.unstable.offset - 1, this.storage.lastIndex());
  }

  /** Term of the entry at `index`, or undefined when it is compacted or beyond the end. */
  term(index: number): number | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    const unstableTerm = this.unstable.maybeTerm(index);
    if (unstableTerm !== undefined) return unstableTerm;
    try {
      return this.storage.term(index);
    } catch (error) {
      if (error instanceof CompactedError) return undefined;
      throw error;
    }
  }

  /** Term of the last entry. */
  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Whether the entry at `index` has `term`. */
  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Whether a log ending at (`lastIndex`, `lastTerm`) is at least as up to date as ours (the voting rule). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * A follower's append: if our entry at `prevIndex` has `prevTerm`, merge `entries` (dropping
   * a conflicting suffix), advance the commit to what the leader vouches for, and return the
   * last index now known to match the leader; otherwise undefined.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) throw new Error(`raft: entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      this.append(entries.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Appends entries at the end (replacing from their first index); returns the new last index. */
  append(entries: readonly Entry[]): number {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    if (first.index - 1 < this.committed) throw new Error(`raft: append at ${first.index} would overwrite committed ${this.committed}`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** Index of the first entry in `entries` that is new or conflicts with ours, or 0 when all are already present. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * Fast backtracking: the largest index `<= index` whose term is `<= term`, with its term.
   * A follower answers a mismatched append with this, so the leader skips a whole term of
   * divergent entries per round trip instead of one entry.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let at = Math.min(index, this.lastIndex());
    for (; at >= 0; at--) {
      const ourTerm = this.term(at);
      if (ourTerm === undefined) return { index: at, term: 0 };
      if (ourTerm <= term) return { index: at, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  /** Raises the commit index to `index` when it is higher (never beyond the log). */
  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) throw new Error(`raft: commit ${index} is beyond the last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Commits up to `index` if that entry is from `term`: a leader only counts entries of its own term (Raft §5.4.2). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  /** Marks entries up to `index` applied. */
  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  /** Committed entries not yet handed out for applying. */
  nextCommittedEntries(): Entry[] {
    const from = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed < from) return [];
    return this.slice(from, this.committed + 1, Number.POSITIVE_INFINITY);
  }

  /** Whether any committed entries wait to be applied. */
  hasNextCommittedEntries(): boolean {
    return this.committed >= Math.max(this.applied + 1, this.firstIndex());
  }

  /** Entries from `index` to the end, at most `maxBytes` (at least one). Throws `CompactedError` below the first index. */
  entriesFrom(index: number, maxBytes: number): Entry[] {
    if (index > this.lastIndex()) return [];
    return this.slice(index, this.lastIndex() + 1, maxBytes);
  }

  /** Entries in `[lo, hi)` across storage and the unstable tail, limited to `maxBytes`. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    const unstableFrom = this.unstable.offset;
    let result: Entry[] = [];
    if (lo < unstableFrom) {
      result = this.storage.entries(lo, Math.min(hi, unstableFrom), maxBytes);
      // Storage stopped early because of the byte limit: do not add unstable entries after a gap.
      if (result.length < Math.min(hi, unstableFrom) - lo) return result;
    }
    if (hi > unstableFrom) result = result.concat(this.unstable.slice(Math.max(lo, unstableFrom), hi));
    return limitSize(result, maxBytes);
  }

  /** The snapshot to send to a follower: the pending incoming one, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log with a snapshot from the leader. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.meta.index;
    this.unstable.restore(snapshot);
  }

  /** The caller persisted entries up to `index` of `term`. */
  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  /** The caller persisted the snapshot at `index`. */
  stableSnapshotTo(index: number): void {
    this.unstable.stableSnapshotTo(index);
  }
}
