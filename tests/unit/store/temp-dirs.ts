/** Temporary data directories for the store tests, removed after each test. */
import { Database } from "bun:sqlite";
import { afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the system temp dir, deleted when the current test ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "shoal-"));
  made.push(dir);
  return dir;
}

/**
 * A new SQLite file in WAL mode in a fresh temp dir, with a table `t (k, v)` and no automatic
 * checkpoints, so every write stays in the WAL until something else checkpoints it.
 */
export function walDatabase(): { path: string; db: Database } {
  const path = join(tempDir(), "wal.db");
  const db = new Database(path, { create: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA wal_autocheckpoint = 0");
  db.run("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)");
  return { path, db };
}
