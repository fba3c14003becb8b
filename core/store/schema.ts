/**
 * The on-disk layout of the raft store and its checksummed records, shared by the store and the
 * repair command so both read the file the same way.
 *
 * One SQLite file in WAL mode with `synchronous=FULL`: a transaction is on disk (WAL fsynced)
 * when `COMMIT` returns, and hard state, entries and snapshot change together in one
 * transaction, so a crash never leaves a half-written Ready. Every row carries a CRC32 of its
 * content, checked at open.
 */
import { Database } from "bun:sqlite";
import { decodeEnvelope, encodeEnvelope } from "../common/envelope.ts";
import { ENTRY_TYPES, type ConfState, type Entry, type HardState, type Snapshot } from "../raft/types.ts";
import { configureWal } from "./checkpoint.ts";
import { checksum } from "./checksum.ts";
import { StoreCorruptError } from "./errors.ts";

/** The raft store's file name inside a node's data directory. */
export const RAFT_DB_FILE = "raft.db";

/** Where the log starts: the last compacted index and its term (etcd's dummy entry). */
export interface LogStart {
  index: number;
  term: number;
}

/** Everything read from the file at open, verified. */
export interface StoredState {
  hardState: HardState;
  logStart: LogStart;
  snapshot: StoredSnapshot | undefined;
  entries: Entry[];
}

/**
 * The snapshot record. A `lazy` one holds only metadata: its data is the state machine's own
 * durable state, serialized on demand when a follower needs it (see `DurableStorage.snapshot`).
 */
export interface StoredSnapshot extends Snapshot {
  lazy?: boolean;
}

/** The first problem found in the log, if any. */
export interface LogDamage {
  index: number;
  reason: string;
}

/** Opens (creating when missing) the store's SQLite file with the durability pragmas. */
export function openDatabase(path: string): Database {
  const db = new Database(path, { create: true, strict: true });
  try {
    configureWal(db, "FULL");
    db.run("CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL)");
    db.run("CREATE TABLE IF NOT EXISTS records (name TEXT PRIMARY KEY, body BLOB NOT NULL, crc INTEGER NOT NULL)");
  } catch (error) {
    db.close();
    const code = (error as { code?: unknown }).code;
    if (code !== "SQLITE_NOTADB" && code !== "SQLITE_CORRUPT") throw error;
    throw new StoreCorruptError(path, undefined, `not a readable SQLite database (${(error as Error).message})`);
  }
  return db;
}

/** The checksum of one log entry row; the index is included so a row cannot move. */
export function entryChecksum(entry: Entry): number {
  return checksum(entry.index, entry.term, entry.type, entry.data);
}

/** The column values of one entry row, in `entries` column order. */
export function entryRow(entry: Entry): [number, number, number, Uint8Array, number] {
  return [entry.index, entry.term, ENTRY_TYPES.indexOf(entry.type), entry.data, entryChecksum(entry)];
}

/** Writes one named record as a checksummed CBOR envelope. */
export function writeRecord(db: Database, name: string, value: unknown): void {
  const body = encodeEnvelope(`store.${name}`, 1, value);
  db.query("INSERT OR REPLACE INTO records (name, body, crc) VALUES (?, ?, ?)").run(name, body, checksum(name, body));
}

/** Reads one named record, verifying its checksum and envelope; undefined when absent. */
export function readRecord(db: Database, path: string, name: string): unknown {
  const row = db.query("SELECT body, crc FROM records WHERE name = ?").get(name) as { body: Uint8Array; crc: number } | null;
  if (row === null) return undefined;
  if (checksum(name, row.body) !== row.crc) throw new StoreCorruptError(path, undefined, `the ${name} record fails its checksum`);
  try {
    return decodeEnvelope(row.body, `store.${name}`, [1]).body;
  } catch (error) {
    throw new StoreCorruptError(path, undefined, `the ${name} record is unreadable (${(error as Error).message})`);
  }
}

/** Reads every record and log entry, verifying all of them. Throws `StoreCorruptError`. */
export function loadState(db: Database, path: string): StoredState {
  const hardState = checked(path, "hardState", readRecord(db, path, "hardState"), isHardState) ?? { term: 0, vote: "", commit: 0 };
  const logStart = checked(path, "logStart", readRecord(db, path, "logStart"), isLogStart) ?? { index: 0, term: 0 };
  const snapshot = checked(path, "snapshot", readRecord(db, path, "snapshot"), isSnapshot);
  const { entries, damage } = scanLog(db, logStart);
  if (damage) throw new StoreCorruptError(path, damage.index, damage.reason);
  const lastIndex = logStart.index + entries.length;
  if (hardState.commit > lastIndex) {
    throw new StoreCorruptError(path, lastIndex + 1, `the commit index ${hardState.commit} is past the last log entry ${lastIndex}`);
  }
  return { hardState, logStart, snapshot, entries };
}

/**
 * Reads log entries in order until the first bad one: a checksum mismatch, an unknown type, a
 * gap, or a term lower than its predecessor's. Returns the good prefix and the damage, if any.
 */
export function scanLog(db: Database, logStart: LogStart): { entries: Entry[]; damage: LogDamage | undefined } {
  const entries: Entry[] = [];
  let expected = logStart.index + 1;
  let lastTerm = logStart.term;
  const rows = db.query("SELECT idx, term, type, data, crc FROM entries WHERE idx > ? ORDER BY idx").all(logStart.index) as {
    idx: number; term: number; type: number; data: Uint8Array; crc: number;
  }[];
  for (const row of rows) {
    const type = ENTRY_TYPES[row.type];
    if (row.idx !== expected) return { entries, damage: { index: expected, reason: `entry ${expected} is missing` } };
    const data = row.data instanceof Uint8Array ? row.data : new Uint8Array(0);
    const entry: Entry = { index: row.idx, term: row.term, type: type ?? "normal", data };
    if (type === undefined || entryChecksum(entry) !== row.crc) {
      return { entries, damage: { index: row.idx, reason: `entry ${row.idx} fails its checksum` } };
    }
    if (row.term < lastTerm) return { entries, damage: { index: row.idx, reason: `entry ${row.idx} has term ${row.term} below its predecessor's ${lastTerm}` } };
    entries.push(entry);
    lastTerm = row.term;
    expected++;
  }
  return { entries, damage: undefined };
}

function checked<T>(path: string, name: string, value: unknown, guard: (value: unknown) => value is T): T | undefined {
  if (value === undefined) return undefined;
  if (!guard(value)) throw new StoreCorruptError(path, undefined, `the ${name} record has the wrong shape`);
  return value;
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isIdList = (value: unknown): value is string[] => Array.isArray(value) && value.every((id) => typeof id === "string");

function isHardState(value: unknown): value is HardState {
  const v = value as HardState;
  return typeof value === "object" && value !== null && isCount(v.term) && typeof v.vote === "string" && isCount(v.commit);
}

function isLogStart(value: unknown): value is LogStart {
  const v = value as LogStart;
  return typeof value === "object" && value !== null && isCount(v.index) && isCount(v.term);
}

function isConfState(value: unknown): value is ConfState {
  const v = value as ConfState;
  return typeof value === "object" && value !== null && isIdList(v.voters) && isIdList(v.learners) && isIdList(v.votersOutgoing);
}

function isSnapshot(value: unknown): value is StoredSnapshot {
  const v = value as StoredSnapshot;
  return typeof value === "object" && value !== null && v.data instanceof Uint8Array && typeof v.meta === "object" && v.meta !== null &&
    isCount(v.meta.index) && isCount(v.meta.term) && isConfState(v.meta.conf) && (v.lazy === undefined || typeof v.lazy === "boolean");
}

