import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CompactedError, SnapshotOutOfDateError, SnapshotTemporarilyUnavailableError, UnavailableError } from "../../../core/raft/errors.ts";
import type { Entry } from "../../../core/raft/types.ts";
import { bootstrapLog } from "../../../core/raft/storage.ts";
import { StoreCorruptError } from "../../../core/store/errors.ts";
import { COMPACTION_ROWS_PER_WRITE, DurableStorage } from "../../../core/store/raft-storage.ts";
import { inspectStore, repairStore } from "../../../core/store/repair.ts";
import { tempDir } from "./temp-dirs.ts";


function entry(index: number, term: number, text = `e${index}`): Entry {
  return { index, term, type: "normal", data: new TextEncoder().encode(text) };
}

const conf = { voters: ["a", "b", "c"], learners: [], votersOutgoing: [] };
const snapshotAt = (index: number, term: number) => ({ meta: { index, term, conf }, data: new TextEncoder().encode(`state@${index}`) });

describe("DurableStorage", () => {
  test("a new store is empty and bootstraps its membership durably", () => {
    const dir = tempDir();
    const store = DurableStorage.open(dir);
    expect(store.isEmpty()).toBe(true);
    expect([store.firstIndex(), store.lastIndex(), store.term(0)]).toEqual([1, 0, 0]);
    store.bootstrap(conf);
    expect(() => store.bootstrap(conf)).toThrow("already initialised");
    store.close();
    const reopened = DurableStorage.open(dir);
    // The membership is bootstrapped as committed log entries (one per member), so joiners replicate it.
    expect(reopened.entries(1, reopened.lastIndex() + 1, Infinity)).toEqual(bootstrapLog(conf).entries);
    expect(reopened.initialState().hardState.commit).toBe(reopened.lastIndex());
    expect(reopened.isEmpty()).toBe(false);
    reopened.close();
  });

  test("restart recovers hard state and entries exactly", () => {
    const dir = tempDir();
    const store = DurableStorage.open(dir);
    store.persist({ hardState: { term: 2, vote: "b", commit: 3 }, entries: [entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)] });
    store.close();
    const reopened = DurableStorage.open(dir);
    expect(reopened.initialState().hardState).toEqual({ term: 2, vote: "b", commit: 3 });
    expect(reopened.entries(1, 5, Infinity)).toEqual([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)]);
    expect(reopened.term(3)).toBe(2);
    reopened.close();
  });

  test("append replaces a conflicting suffix, on disk too", () => {
    const dir = tempDir();
    const store = DurableStorage.open(dir);
    store.append([entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)]);
    store.append([entry(3, 2, "new3")]);
    expect(store.lastIndex()).toBe(3);
    expect(store.entries(1, 4, Infinity)).toEqual([entry(1, 1), entry(2, 1), entry(3, 2, "new3")]);
    expect(() => store.append([entry(6, 2)])).toThrow(UnavailableError);
    store.close();
    const reopened = DurableStorage.open(dir);
    expect(reopened.entries(1, 4, Infinity)).toEqual([entry(1, 1), entry(2, 1), entry(3, 2, "new3")]);
    reopened.close();
  });

  test("entries honours maxBytes but returns at least one entry, and range errors are typed", () => {
    const store = DurableStorage.open(tempDir());
    store.append([entry(1, 1, "x".repeat(100)), entry(2, 1, "y".repeat(100)), entry(3, 1)]);
    expect(store.entries(1, 4, 1).map((e) => e.index)).toEqual([1]);
    expect(store.entries(1, 4, 250).map((e) => e.index)).toEqual([1, 2]);
    expect(() => store.entries(1, 5, Infinity)).toThrow(UnavailableError);
    expect(() => store.term(4)).toThrow(UnavailableError);
    store.close();
  });

  test("a snapshot taken locally plus compaction survives restart", () => {
    const dir = tempDir();
    const store = DurableStorage.open(dir);
    store.append([1, 2, 3, 4, 5].map((i) => entry(i, 1)));
    store.createSnapshot(4, conf, new TextEncoder().encode("state@4"));
    expect(() => store.compact(5)).toThrow(UnavailableError);
    store.compact(2);
    expect(() => store.entries(2, 3, Infinity)).toThrow(CompactedError);
    expect(store.term(2)).toBe(1);
    // The file records the compaction with the next write.
    store.setHardState({ term: 1, vote: "a", commit: 5 });
    store.close();
    const reopened = DurableStorage.open(dir);
    expect([reopened.firstIndex(), reopened.lastIndex()]).toEqual([3, 5]);
    expect(reopened.snapshot().meta.index).toBe(4);
    expect(new TextDecoder().decode(reopened.snapshot().data)).toBe("state@4");
    expect(reopened.initialState().confState).toEqual(conf);
    expect(() => reopened.createSnapshot(3, conf, new Uint8Array())).toThrow(SnapshotOutOfDateError);
    reopened.close();
  });

  test("compaction costs no write of its own: its rows leave the file a chunk per write, and a crash mid-way loses nothing", () => {
    const dir = tempDir();
    const store = DurableStorage.open(dir);
    const count = 2500;
    store.append(Array.from({ length: count }, (_, i) => entry(i + 1, 1)));
    store.createSnapshot(2400, conf, new TextEncoder().encode("state@2400"));
    const rows = () => (new Database(join(dir, "raft.db"), { readonly: true }).query("SELECT count(*) AS n FROM entries").get() as { n: number }).n;
    store.compact(2400);
    expect([store.firstIndex(), store.lastIndex()]).toEqual([2401, count]);
    expect(rows()).toBe(count);
    // Reopened before any write: the old log start and every row are still valid.
    store.close();
    let reopened = DurableStorage.open(dir);
    expect([reopened.firstIndex(), reopened.lastIndex(), reopened.term(2400)]).toEqual([1, count, 1]);
    reopened.compact(2400);
    reopened.append([entry(count + 1, 1)]);
    expect(rows()).toBe(count + 1 - COMPACTION_ROWS_PER_WRITE);
    // Reopened mid-way: the log start was recorded whole, and the dead rows below it are ignored.
    reopened.close();
    reopened = DurableStorage.open(dir);
    expect([reopened.firstIndex(), reopened.lastIndex()]).toEqual([2401, count + 1]);
    let writes = 1;
    for (let term = 2; rows() > count + 1 - 2400; term++, writes++) {
      const before = rows();
      reopened.setHardState({ term, vote: "", commit: 0 });
      expect(before - rows()).toBeGreaterThan(0);
      expect(before - rows()).toBeLessThanOrEqual(COMPACTION_ROWS_PER_WRITE);
    }
    expect(writes).toBe(Math.ceil(2400 / COMPACTION_ROWS_PER_WRITE));
    reopened.close();
    reopened = DurableStorage.open(dir);
    expect([reopened.firstIndex(), reopened.lastIndex(), reopened.term(2400)]).toEqual([2401, count + 1, 1]);
    expect(reopened.entries(2401, 2402, Infinity)).toEqual([entry(2401, 1)]);
    reopened.close();
  });

  test("a lazy snapshot stores only metadata and serves the state machine's bytes on demand, once per read", () => {
    const dir = tempDir();
    const store = DurableStorage.open(dir);
    store.append([1, 2, 3].map((i) => entry(i, 2)));
    store.createSnapshot(3, conf);
    expect(() => store.snapshot().data).toThrow(SnapshotTemporarilyUnavailableError);
    let serialized = 0;
    store.setSnapshotSource(() => new TextEncoder().encode(`state#${++serialized}`));
    const snapshot = store.snapshot();
    expect(snapshot.meta).toEqual({ index: 3, term: 2, conf });
    expect(serialized).toBe(0);
    expect(new TextDecoder().decode(snapshot.data)).toBe("state#1");
    expect(new TextDecoder().decode(snapshot.data)).toBe("state#1");
    store.close();
    const reopened = DurableStorage.open(dir);
    expect(reopened.snapshotIndex()).toBe(3);
    expect(() => reopened.snapshot().data).toThrow(SnapshotTemporarilyUnavailableError);
    reopened.close();
  });

  test("a snapshot from the leader replaces the whole log", () => {
    const dir = tempDir();
    const store = DurableStorage.open(dir);
    store.append([entry(1, 1), entry(2, 1)]);
    store.persist({ snapshot: snapshotAt(10, 3), entries: [entry(11, 3)], hardState: { term: 3, vote: "", commit: 10 } });
    expect(store.entries(11, 12, Infinity)).toEqual([entry(11, 3)]);
    store.close();
    const reopened = DurableStorage.open(dir);
    expect([reopened.firstIndex(), reopened.lastIndex(), reopened.term(10), reopened.term(11)]).toEqual([11, 11, 3, 3]);
    expect(() => reopened.applySnapshot(snapshotAt(5, 2))).toThrow(SnapshotOutOfDateError);
    reopened.close();
  });
});

describe("corruption", () => {
  function storeWithEntries(count: number, commit: number): string {
    const dir = tempDir();
    const store = DurableStorage.open(dir);
    store.persist({ entries: Array.from({ length: count }, (_, i) => entry(i + 1, 1)), hardState: { term: 1, vote: "a", commit } });
    store.close();
    return dir;
  }

  /** Edits the store file behind the store's back, as a disk or an operator might. */
  function tamper(dir: string, sql: string, ...params: (string | number | Uint8Array)[]): void {
    const db = new Database(join(dir, "raft.db"));
    db.query(sql).run(...params);
    db.close();
  }

  function corruptEntry(dir: string, index: number): void {
    tamper(dir, "UPDATE entries SET data = ? WHERE idx = ?", new TextEncoder().encode("flipped"), index);
  }

  test("a bad row refuses to open with the file and index named", () => {
    const dir = storeWithEntries(10, 5);
    corruptEntry(dir, 8);
    let error: unknown;
    try {
      DurableStorage.open(dir);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as Error).message).toContain(join(dir, "raft.db"));
    expect((error as Error).message).toContain("log index 8");
    expect((error as Error).message).toContain("shoal store repair");
  });

  test("repair truncates the torn tail and the store opens again", () => {
    const dir = storeWithEntries(10, 5);
    corruptEntry(dir, 8);
    const health = inspectStore(dir);
    expect(health.repairable).toBe(true);
    expect(health.entriesToDrop).toBe(3);
    const result = repairStore(dir);
    expect(result).toMatchObject({ truncatedFrom: 8, removed: 3 });
    const store = DurableStorage.open(dir);
    expect(store.lastIndex()).toBe(7);
    expect(store.entries(1, 8, Infinity)).toEqual(Array.from({ length: 7 }, (_, i) => entry(i + 1, 1)));
    store.close();
    expect(inspectStore(dir).problem).toBeUndefined();
  });

  test("repair lowers a commit index left past the truncated log", () => {
    const dir = storeWithEntries(10, 9);
    corruptEntry(dir, 4);
    expect(repairStore(dir)).toMatchObject({ truncatedFrom: 4, removed: 7, commitLowered: { from: 9, to: 3 } });
    const store = DurableStorage.open(dir);
    expect(store.initialState().hardState).toEqual({ term: 1, vote: "a", commit: 3 });
    store.close();
  });

  test("a missing entry in the middle is detected as a gap", () => {
    const dir = storeWithEntries(6, 1);
    tamper(dir, "DELETE FROM entries WHERE idx = 3");
    expect(() => DurableStorage.open(dir)).toThrow("entry 3 is missing");
  });

  test("a damaged hard state is reported and not 'repaired' away", () => {
    const dir = storeWithEntries(3, 1);
    tamper(dir, "UPDATE records SET crc = crc + 1 WHERE name = 'hardState'");
    expect(() => DurableStorage.open(dir)).toThrow("hardState record fails its checksum");
    expect(inspectStore(dir).repairable).toBe(false);
    expect(() => repairStore(dir)).toThrow(StoreCorruptError);
  });

  test("a file that is not a database is rejected with a clear error", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "raft.db"), "this is not sqlite at all, just some text that fills a page".repeat(100));
    expect(() => DurableStorage.open(dir)).toThrow(/raft store .*raft\.db is corrupt: not a readable SQLite database/);
  });

  test("repair of a data dir without a store says so", () => {
    expect(() => repairStore(tempDir())).toThrow("no raft store");
  });
});
