/**
 * The tail of the log not yet persisted: entries (and possibly a snapshot) the core has
 * accepted but the caller has not yet written and acknowledged with `advance()`. A crash
 * loses exactly this part, which is why nothing derived from it leaves the node before it is
 * persisted (messages in a `Ready` are sent after its entries are written).
 */
import type { Entry, Snapshot } from "./types.ts";

/** Unpersisted entries starting at `offset`, and an unpersisted incoming snapshot. */
export class Unstable {
  /** A snapshot received from the leader and not yet persisted. */
  snapshot: Snapshot | undefined;
  /** Unpersisted entries; `entries[i]` has index `offset + i`. */
  entries: Entry[] = [];

  constructor(
    /** Index of `entries[0]` (one past the persisted log when empty). */
    public offset: number,
  ) {}

  /** The first log index when a snapshot is pending, since it replaces everything before. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.meta.index + 1;
  }

  /** The last index known here, from the entries or else the pending snapshot. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.meta.index;
  }

  /** The term at `index` when this part of the log knows it. */
  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot !== undefined && this.snapshot.meta.index === index ? this.snapshot.meta.term : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** Entries up to `index` (of `term`) are now persisted; drop them. */
  stableTo(index: number, term: number): void {
    // A term mismatch means the entry was replaced after that Ready was made: keep it.
    if (this.maybeTerm(index) !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  /** The pending snapshot at `index` is now persisted. */
  stableSnapshotTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.meta.index === index) this.snapshot = undefined;
  }

  /** Replaces everything with an incoming snapshot. */
  restore(snapshot: Snapshot): void {
    this.offset = snapshot.meta.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends `entries`, replacing any existing entries from `entries[0].index` on. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const after = first.index;
    if (after === this.offset + this.entries.length) {
      this.entries = this.entries.concat(entries);
    } else if (after <= this.offset) {
      // Replaces the whole unstable part (and persisted entries from `after` on).
      this.offset = after;
      this.entries = [...entries];
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(entries);
    }
  }

  /** Entries in `[lo, hi)`, which must lie within this part. */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
