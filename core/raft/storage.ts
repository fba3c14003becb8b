/**
 * The log storage the Raft core reads. The core never writes storage itself: the caller
 * persists what a `Ready` hands out, then calls `advance()`. Reads are synchronous because the
 * core is; a durable implementation keeps recent entries cached or reads them from an
 * embedded database (bun:sqlite) that answers synchronously.
 *
 * `MemoryStorage` is the reference implementation, used by tests and the simulator; the
 * durable one in `core/store` satisfies the same contract.
 */
import { encodeConfChange } from "./confchange.ts";
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from "./errors.ts";
import { limitSize } from "./size.ts";
import type { ConfState, Entry, HardState, Ready, Snapshot } from "./types.ts";

/** What a node restarts from: its persisted hard state and the membership it last knew. */
export interface InitialState {
  hardState: HardState;
  /** Membership as of the latest snapshot (later `conf` entries in the log are replayed). */
  confState: ConfState;
}

/**
 * Read access to the persisted log, hard state and latest snapshot.
 *
 * Indexes: entries `firstIndex()..lastIndex()` are readable; the entry at `firstIndex() - 1`
 * is the snapshot's last included entry, whose term `term()` still answers.
 */
export interface Storage {
  /** The persisted hard state and the snapshot's membership. */
  initialState(): InitialState;
  /**
   * Entries in `[lo, hi)`, at most `maxBytes` charged bytes but at least one entry when the
   * range is not empty. Throws `CompactedError` when `lo < firstIndex()`, `UnavailableError`
   * when `hi > lastIndex() + 1`.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of the entry at `index`; valid for `firstIndex() - 1 ..= lastIndex()`, else throws as `entries`. */
  term(index: number): number;
  /** Index of the first entry still in the log (the snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry in the log (the snapshot index when the log is empty). */
  lastIndex(): number;
  /** The latest snapshot; may throw `SnapshotTemporarilyUnavailableError` while one is being made. */
  snapshot(): Snapshot;
}

/** An empty membership. */
export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [] };
}

/** An in-memory `Storage` that is also writable: the simulator's "disk". */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: "", commit: 0 };
  private latest: Snapshot = { meta: { index: 0, term: 0, conf: emptyConfState() }, data: new Uint8Array() };
  /** `log[0]` is a placeholder standing for the snapshot's last entry (its index and term). */
  private log: Entry[] = [{ term: 0, index: 0, type: "normal", data: new Uint8Array() }];

  /** A storage for one of the founding members of a new cluster (see `bootstrapLog`). */
  static bootstrap(conf: ConfState): MemoryStorage {
    const storage = new MemoryStorage();
    const { entries, hardState } = bootstrapLog(conf);
    storage.append(entries);
    storage.setHardState(hardState);
    return storage;
  }

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: cloneConf(this.latest.meta.conf) };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.placeholder().index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    return limitSize(this.log.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number {
    const offset = this.placeholder().index;
    if (index < offset) throw new CompactedError(index, offset + 1);
    const entry = this.log[index - offset];
    if (entry === undefined) throw new UnavailableError(index, this.lastIndex());
    return entry.term;
  }

  firstIndex(): number {
    return this.placeholder().index + 1;
  }

  lastIndex(): number {
    return this.placeholder().index + this.log.length - 1;
  }

  snapshot(): Snapshot {
    return this.latest;
  }

  /** Persists what a `Ready` asks for, in the safe order: snapshot, entries, then hard state. */
  persist(ready: Pick<Ready, "hardState" | "entries" | "snapshot">): void {
    if (ready.snapshot !== undefined) this.applySnapshot(ready.snapshot);
    this.append(ready.entries);
    if (ready.hardState !== undefined) this.setHardState(ready.hardState);
  }

  /** Persists the hard state. */
  setHardState(hardState: HardState): void {
    this.hardState = { ...hardState };
  }

  /**
   * Appends entries, first discarding any existing entries at or after the first new index
   * (a leader overwrote them). Entries older than the snapshot are ignored.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const kept = entries.filter((entry) => entry.index >= first);
    const head = kept[0];
    if (head === undefined) return;
    if (head.index > this.lastIndex() + 1) {
      throw new UnavailableError(head.index, this.lastIndex());
    }
    const offset = this.placeholder().index;
    this.log = [...this.log.slice(0, head.index - offset), ...kept];
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.meta.index < this.latest.meta.index) throw new SnapshotOutOfDateError(snapshot.meta.index, this.latest.meta.index);
    this.latest = snapshot;
    this.log = [{ term: snapshot.meta.term, index: snapshot.meta.index, type: "normal", data: new Uint8Array() }];
  }

  /**
   * Records a snapshot the local state machine made as of `index` (which must be applied, so
   * `<= lastIndex()`), and keeps the log: compaction is a separate `compact()` call so the
   * caller can keep a tail of entries for slow followers.
   */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.latest.meta.index) throw new SnapshotOutOfDateError(index, this.latest.meta.index);
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    this.latest = { meta: { index, term: this.term(index), conf: cloneConf(conf) }, data };
    return this.latest;
  }

  /** Discards entries up to and including `index` (which must be applied); its term stays readable. */
  compact(index: number): void {
    const offset = this.placeholder().index;
    if (index <= offset) return;
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    const kept = this.log.slice(index - offset);
    const head = kept[0] as Entry;
    kept[0] = { term: head.term, index: head.index, type: "normal", data: new Uint8Array() };
    this.log = kept;
  }

  private placeholder(): Entry {
    return this.log[0] as Entry;
  }
}

/** A deep copy of a membership, so callers never share arrays with the core. */
export function cloneConf(conf: ConfState): ConfState {
  return { voters: [...conf.voters], learners: [...conf.learners], votersOutgoing: [...conf.votersOutgoing] };
}

/**
 * Whether persisting `next` over `persisted` changes the term or vote, which must be on disk
 * before anything depends on them; a change of the commit index alone need not be.
 */
export function changesTermOrVote(next: HardState | undefined, persisted: HardState): boolean {
  return next !== undefined && (next.term !== persisted.term || next.vote !== persisted.vote);
}

/**
 * The log every founding member of a new cluster starts with: one committed membership entry
 * per initial member, identical on all of them. Keeping the initial membership in the log
 * (rather than only in local state) means a node added later learns it by replication.
 * A node joining an existing cluster starts from an empty storage instead.
 */
export function bootstrapLog(conf: ConfState): { entries: Entry[]; hardState: HardState } {
  const changes = [
    ...conf.voters.map((node) => ({ type: "addVoter" as const, node })),
    ...conf.learners.map((node) => ({ type: "addLearner" as const, node })),
  ];
  const entries: Entry[] = changes.map((change, i) => ({ term: 1, index: i + 1, type: "conf", data: encodeConfChange(change) }));
  return { entries, hardState: { term: 1, vote: "", commit: entries.length } };
}
