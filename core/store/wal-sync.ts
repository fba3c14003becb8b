/**
 * Durability for SQLite files written with `synchronous=NORMAL`, without blocking the thread
 * that writes them. In WAL mode such a commit reaches the WAL by `write()` with no fsync, so
 * fsyncing the WAL makes every commit written before the call durable. Pages a checkpoint
 * already copied into the database file were fsynced there before the WAL could be reused (at
 * `synchronous=NORMAL` and above), and the database file is fsynced too for good measure. The
 * fsyncs run on Bun's I/O threads: a `synchronous=FULL` commit on the raft thread would instead
 * block it for the whole write-back (3–16 ms per snapshot under the raft bench's load, all
 * replicas at once since they snapshot at the same index).
 */
import { open } from "node:fs/promises";

/** Resolves once every commit already written to the SQLite file at `path` is on disk. */
export async function syncSqliteFile(path: string): Promise<void> {
  // No WAL is fine: the last connection checkpointed it into the (fsynced) database file and removed it.
  await Promise.all([fsync(path, false), fsync(`${path}-wal`, true)]);
}

/** Opened afresh each time: SQLite deletes and recreates the WAL, and an old descriptor would sync the wrong file. */
async function fsync(path: string, mayBeMissing: boolean): Promise<void> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (mayBeMissing && (error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
