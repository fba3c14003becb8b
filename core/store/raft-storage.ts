/**
 * The durable raft log: hard state, entries and the latest snapshot in one SQLite file (see
 * `schema.ts` for the layout and why SQLite). It implements the core's `Storage` for reads and
 * adds the writes a `Ready` asks for.
 *
 * Reads are served from memory: the entries since the last compaction are loaded and verified
 * at open and mirrored on every write, which the snapshot threshold keeps bounded (this is
 * etcd's MemoryStorage-over-WAL split, in one object). Every write of entries, term, vote or
 * snapshot is a transaction that is on disk when the method returns, so nothing is acknowledged
 * before it is durable.
 *
 * Compaction costs no write of its own: it takes effect in memory at once, and the rows it drops
 * leave the file a chunk at a time inside the following writes (`COMPACTION_ROWS_PER_WRITE`).
 * Deleting a threshold's worth of rows in one fsynced transaction stalled the raft thread for
 * 5–17 ms under the raft bench's load. Rows at or below the recorded log start are never read,
 * so a crash mid-way leaves only dead rows, which the next writes remove.
 */
import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { CompactedError, SnapshotOutOfDateError, SnapshotTemporarilyUnavailableError, UnavailableError } from "../raft/errors.ts";
import { limitSize } from "../raft/size.ts";
import { bootstrapLog, changesTermOrVote, cloneConf, emptyConfState, type InitialState, type Storage } from "../raft/storage.ts";
import type { ConfState, Entry, HardState, Snapshot } from "../raft/types.ts";
import { checkpointInBackground } from "./checkpoint.ts";
import { entryRow, loadState, openDatabase, RAFT_DB_FILE, writeRecord, type LogStart, type StoredSnapshot } from "./schema.ts";

/**
 * Compacted rows deleted per write at most. Deleting 1,000 rows of 300-byte entries costs about
 * 1 ms, so this adds about a quarter of a millisecond to the writes that follow a compaction.
 */
export const COMPACTION_ROWS_PER_WRITE = 250;

/** What one `Ready` asks to persist, written in one transaction. */
export interface PersistBatch {
  hardState?: HardState;
  entries?: readonly Entry[];
  snapshot?: Snapshot;
}

/** The raft log, hard state and snapshot of one node, durable in `<dataDir>/raft.db`. */
export class DurableStorage implements Storage {
  private hardState: HardState;
  private start: LogStart;
  private latest: StoredSnapshot;
  /** Produces the state machine's current state for a lazy snapshot. */
  private snapshotSource: (() => Uint8Array) | undefined;
  /** Entries `start.index + 1 ..= lastIndex()`. */
  private log: Entry[];
  /** The log start recorded in the file; behind `start` until a write after `compact()` records it. */
  private fileStart: LogStart;
  /** Rows up to this index are gone from the file; those above it, up to `start.index`, wait for deletion. */
  private deletedThrough: number;

  /** Stops the background WAL checkpoints of this file. */
  private readonly stopCheckpoints: () => void;

  private constructor(
    private readonly db: Database,
    /** The SQLite file, named in every error. */
    readonly path: string,
  ) {
    const state = loadState(db, path);
    this.hardState = state.hardState;
    this.start = state.logStart;
    this.latest = state.snapshot ?? { meta: { index: 0, term: 0, conf: emptyConfState() }, data: new Uint8Array() };
    this.log = state.entries;
    this.fileStart = state.logStart;
    const lowest = db.query("SELECT min(idx) AS idx FROM entries").get() as { idx: number | null };
    this.deletedThrough = lowest.idx === null ? this.start.index : lowest.idx - 1;
    this.stopCheckpoints = checkpointInBackground(path);
  }

  /**
   * Opens the store in `dataDir`, creating it when missing, and verifies every record.
   * Throws `StoreCorruptError` (naming the file and the first bad index) on damage.
   */
  static open(dataDir: string): DurableStorage {
    const path = join(dataDir, RAFT_DB_FILE);
    const db = openDatabase(path);
    try {
      return new DurableStorage(db, path);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** True when nothing was ever persisted: the node has not joined a cluster yet. */
  isEmpty(): boolean {
    return this.lastIndex() === 0 && this.hardState.term === 0 && this.latest.meta.conf.voters.length === 0;
  }

  /** Records the initial membership of a brand-new cluster (as `MemoryStorage.bootstrap`). */
  bootstrap(conf: ConfState): void {
    if (!this.isEmpty()) throw new Error(`raft store ${this.path} is already initialised`);
    // The initial membership lives in the log (not only in local state), so members added later learn it.
    this.persist(bootstrapLog(conf));
  }

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: cloneConf(this.latest.meta.conf) };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.start.index) throw new CompactedError(lo, this.firstIndex());
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    return limitSize(this.log.slice(lo - this.start.index - 1, hi - this.start.index - 1), maxBytes);
  }

  term(index: number): number {
    if (index === this.start.index) return this.start.term;
    if (index < this.start.index) throw new CompactedError(index, this.firstIndex());
    const entry = this.log[index - this.start.index - 1];
    if (entry === undefined) throw new UnavailableError(index, this.lastIndex());
    return entry.term;
  }

  firstIndex(): number {
    return this.start.index + 1;
  }

  lastIndex(): number {
    return this.start.index + this.log.length;
  }

  /**
   * The latest snapshot. For a lazy one the data is the state machine's state serialized on
   * first access (at most once per call), which may be newer than `meta.index`: a state machine
   * records its own applied index in that data and skips entries it already holds (as etcd
   * does with its consistent index), so reading a snapshot never stalls writes for a full copy.
   * Reading the data before `setSnapshotSource` throws `SnapshotTemporarilyUnavailableError`.
   */
  snapshot(): Snapshot {
    const latest = this.latest;
    if (!latest.lazy) return latest;
    const storage = this;
    let data: Uint8Array | undefined;
    return {
      meta: latest.meta,
      get data() {
        data ??= storage.lazySnapshotData();
        return data;
      },
    };
  }

  private lazySnapshotData(): Uint8Array {
    if (this.snapshotSource === undefined) throw new SnapshotTemporarilyUnavailableError();
    return this.snapshotSource();
  }

  /** Index of the latest snapshot (0 when there is none). */
  snapshotIndex(): number {
    return this.latest.meta.index;
  }

  /** Sets where lazy snapshots get their data (the replica passes its state machine's `snapshot`). */
  setSnapshotSource(source: () => Uint8Array): void {
    this.snapshotSource = source;
  }

  /** The persisted hard state. */
  currentHardState(): HardState {
    return { ...this.hardState };
  }

  /**
   * Persists what a `Ready` hands out — snapshot first, then entries, then hard state — in one
   * fsynced transaction, so a crash leaves either all of it or none.
   */
  persist(batch: PersistBatch): void {
    const snapshot = batch.snapshot && this.isNewer(batch.snapshot) ? batch.snapshot : undefined;
    const start = snapshot ? { index: snapshot.meta.index, term: snapshot.meta.term } : this.start;
    const log = snapshot ? [] : this.log;
    const appended = newEntries(start, log, batch.entries ?? []);
    // A change of the commit index alone need not reach the disk before anything else happens
    // (etcd's MustSync rule): a lost commit index is relearned from the leader, while a lost
    // term, vote or entry could break safety. Skipping that fsync saves one per round trip.
    const mustSync = appended !== undefined || snapshot !== undefined || changesTermOrVote(batch.hardState, this.hardState);
    if (!mustSync) this.db.run("PRAGMA synchronous = NORMAL");
    const trimThrough = snapshot ? start.index : Math.min(start.index, this.deletedThrough + COMPACTION_ROWS_PER_WRITE);
    this.db.transaction(() => {
      if (snapshot) {
        writeRecord(this.db, "snapshot", snapshot);
        this.db.query("DELETE FROM entries").run();
      } else if (trimThrough > this.deletedThrough) {
        this.db.query("DELETE FROM entries WHERE idx <= ?").run(trimThrough);
      }
      if (snapshot || start.index !== this.fileStart.index) writeRecord(this.db, "logStart", start);
      if (appended !== undefined) {
        this.db.query("DELETE FROM entries WHERE idx >= ?").run(appended.from);
        const insert = this.db.query("INSERT INTO entries (idx, term, type, data, crc) VALUES (?, ?, ?, ?, ?)");
        for (const entry of appended.entries) insert.run(...entryRow(entry));
      }
      if (batch.hardState) writeRecord(this.db, "hardState", batch.hardState);
    })();
    if (!mustSync) this.db.run("PRAGMA synchronous = FULL");
    if (snapshot) this.latest = snapshot;
    if (batch.hardState) this.hardState = { ...batch.hardState };
    if (appended !== undefined) {
      // In place, once durable: copying the whole cached log per append would cost O(log) per Ready.
      log.length = appended.from - start.index - 1;
      for (const entry of appended.entries) log.push(entry);
    }
    this.start = start;
    this.fileStart = start;
    this.deletedThrough = Math.max(this.deletedThrough, trimThrough);
    this.log = log;
  }

  /** Appends entries, replacing any conflicting suffix. Durable on return. */
  append(entries: readonly Entry[]): void {
    this.persist({ entries });
  }

  /** Persists the hard state. Durable on return. */
  setHardState(hardState: HardState): void {
    this.persist({ hardState });
  }

  /** Replaces the whole log with a snapshot received from the leader. Durable on return. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.meta.index === this.latest.meta.index) throw new SnapshotOutOfDateError(snapshot.meta.index, this.latest.meta.index);
    this.persist({ snapshot });
  }

  /**
   * Records a snapshot of the local state machine as of `index` (applied, so in the log) and
   * keeps the log; `compact()` trims it separately so slow followers can still catch up from it.
   * Without `data` the snapshot is lazy (see `snapshot()`): the caller must first have made the
   * state machine's state durable up to `index`, since the log before it may then be compacted.
   */
  createSnapshot(index: number, conf: ConfState, data?: Uint8Array): void {
    if (index <= this.latest.meta.index) throw new SnapshotOutOfDateError(index, this.latest.meta.index);
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    const meta = { index, term: this.term(index), conf: cloneConf(conf) };
    const snapshot: StoredSnapshot = data === undefined ? { meta, data: new Uint8Array(), lazy: true } : { meta, data };
    this.db.transaction(() => writeRecord(this.db, "snapshot", snapshot))();
    this.latest = snapshot;
  }

  /**
   * Discards entries up to and including `index`, which must be covered by the latest snapshot
   * (a compacted entry can only be recovered from one). Takes effect for reads at once; the
   * file catches up over the next writes (see the module comment).
   */
  compact(index: number): void {
    if (index <= this.start.index) return;
    if (index > this.latest.meta.index) throw new UnavailableError(index, this.latest.meta.index);
    const start = { index, term: this.term(index) };
    this.log = this.log.slice(index - this.start.index);
    this.start = start;
  }

  /** True when `snapshot` is ahead of the one held; an older one is refused, an equal one ignored. */
  private isNewer(snapshot: Snapshot): boolean {
    if (snapshot.meta.index < this.latest.meta.index) throw new SnapshotOutOfDateError(snapshot.meta.index, this.latest.meta.index);
    return snapshot.meta.index > this.latest.meta.index;
  }

  /** Closes the file; the object must not be used afterwards. */
  close(): void {
    this.stopCheckpoints();
    this.db.close();
  }
}

/**
 * The entries of `entries` that `log` (which follows `start`) must take, dropping those already
 * compacted, and the first index they replace from; undefined when there are none.
 */
function newEntries(start: LogStart, log: readonly Entry[], entries: readonly Entry[]): { from: number; entries: Entry[] } | undefined {
  const kept = entries.filter((entry) => entry.index > start.index);
  const head = kept[0];
  if (head === undefined) return undefined;
  const lastIndex = start.index + log.length;
  if (head.index > lastIndex + 1) throw new UnavailableError(head.index, lastIndex);
  return { from: head.index, entries: kept };
}
