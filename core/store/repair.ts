/**
 * Inspection and repair of a damaged raft store, behind `shoal store check|repair`.
 *
 * Repair only ever truncates the log from its first bad entry. That is safe for a torn tail:
 * entries are acknowledged only after their transaction is fsynced, so an entry whose write
 * never completed was never acknowledged, and the leader resends whatever this node is missing.
 * The commit index is lowered to the new last index (it is only a hint; the leader restores it).
 * Damage to entries that *were* acknowledged (bit rot, a lost disk cache) is different: the
 * leader counted them, so after truncation the node may be refused by the leader (commit past
 * its log); remove that node from the cluster and add it back with an empty data directory.
 * A damaged hard state or snapshot cannot be repaired by truncation: the vote would be lost,
 * which could elect two leaders in one term, so those are reported and left alone.
 */
import type { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ShoalError } from "../common/errors.ts";
import type { HardState } from "../raft/types.ts";
import { StoreCorruptError } from "./errors.ts";
import { loadState, openDatabase, RAFT_DB_FILE, readRecord, scanLog, writeRecord, type LogStart } from "./schema.ts";

/** What `inspectStore` found. */
export interface StoreHealth {
  path: string;
  /** Undefined when the store is healthy. */
  problem?: StoreCorruptError;
  /** True when `repairStore` can fix the problem (a damaged log tail). */
  repairable: boolean;
  /** Number of entries from the first bad one to the end of the log. */
  entriesToDrop: number;
}

/** What `repairStore` did. */
export interface RepairResult {
  path: string;
  /** The first index removed, or undefined when nothing needed repair. */
  truncatedFrom?: number;
  removed: number;
  /** The commit index before and after, when it had to be lowered. */
  commitLowered?: { from: number; to: number };
}

/** Checks the store in `dataDir` without changing it. */
export function inspectStore(dataDir: string): StoreHealth {
  const path = storePath(dataDir);
  const db = openDatabase(path);
  try {
    loadState(db, path);
    return { path, repairable: false, entriesToDrop: 0 };
  } catch (error) {
    if (!(error instanceof StoreCorruptError)) throw error;
    const repairable = error.index !== undefined;
    const entriesToDrop = repairable ? countFrom(db, error.index as number) : 0;
    return { path, problem: error, repairable, entriesToDrop };
  } finally {
    db.close();
  }
}

/** Truncates the log of the store in `dataDir` from its first bad entry, in one transaction. */
export function repairStore(dataDir: string): RepairResult {
  const path = storePath(dataDir);
  const health = inspectStore(dataDir);
  if (!health.problem) return { path, removed: 0 };
  if (!health.repairable) throw health.problem;
  const db = openDatabase(path);
  try {
    const start = (readRecord(db, path, "logStart") as LogStart | undefined) ?? { index: 0, term: 0 };
    const { entries, damage } = scanLog(db, start);
    const lastIndex = start.index + entries.length;
    const hardState = readRecord(db, path, "hardState") as HardState | undefined;
    const result: RepairResult = { path, removed: 0 };
    db.transaction(() => {
      if (damage) {
        result.truncatedFrom = damage.index;
        result.removed = db.query("DELETE FROM entries WHERE idx >= ?").run(damage.index).changes;
      }
      if (hardState && hardState.commit > lastIndex) {
        result.commitLowered = { from: hardState.commit, to: lastIndex };
        writeRecord(db, "hardState", { ...hardState, commit: lastIndex });
      }
    })();
    loadState(db, path);
    return result;
  } finally {
    db.close();
  }
}

function storePath(dataDir: string): string {
  const path = join(dataDir, RAFT_DB_FILE);
  if (!existsSync(path)) throw new ShoalError("store_missing", `no raft store at ${path} (wrong --data-dir?)`, { path });
  return path;
}

function countFrom(db: Database, index: number): number {
  const row = db.query("SELECT count(*) AS n FROM entries WHERE idx >= ?").get(index) as { n: number };
  return row.n;
}
