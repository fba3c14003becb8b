import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { syncSqliteFile } from "../../../core/store/wal-sync.ts";
import { tempDir, walDatabase } from "./temp-dirs.ts";

test("syncSqliteFile syncs a WAL-mode file with or without its WAL, and names a missing database", async () => {
  const { path, db } = walDatabase();
  db.run("PRAGMA synchronous = NORMAL");
  db.run("INSERT INTO t VALUES (1, NULL)");
  expect(existsSync(`${path}-wal`)).toBe(true);
  await syncSqliteFile(path);
  // Closing the last connection checkpoints the WAL into the file and removes it.
  db.close();
  expect(existsSync(`${path}-wal`)).toBe(false);
  await syncSqliteFile(path);
  const missing = join(tempDir(), "gone.db");
  await expect(syncSqliteFile(missing)).rejects.toThrow(missing);
});
