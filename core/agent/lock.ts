/**
 * The data directory's pid/lock file. Two agents sharing one data directory would corrupt each
 * other's Raft log, so the agent creates `shoal.lock` exclusively and keeps it until it exits.
 * A lock left by a process that no longer exists (a crash, a kill -9, a container restart that
 * reused our pid) is stale and taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { ShoalError } from "../common/errors.ts";
import { dataFiles } from "./paths.ts";

/** The data directory is held by another live agent. */
export class DataDirLockedError extends ShoalError {
  constructor(dataDir: string, pid: number, lockPath: string) {
    super(
      "data_dir_locked",
      `data dir ${dataDir} is in use by another agent (pid ${pid}); stop it first, or use another --data-dir (lock file: ${lockPath})`,
      { dataDir, pid, lockPath },
    );
  }
}

/** A held lock; `release` removes the file if it still names this process. */
export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file (synchronous, so it also works on a forced exit). */
  release(): void;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user, so it still holds the lock.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function tryCreate(path: string): boolean {
  try {
    const fd = openSync(path, "wx", 0o644);
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/** Takes the lock of `dataDir` (which must exist), or throws `DataDirLockedError`. */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = dataFiles.lock(dataDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path)) {
      return {
        path,
        release: () => {
          if (readOwner(path) === process.pid) unlinkSync(path);
        },
      };
    }
    const owner = readOwner(path);
    if (owner !== null && isAlive(owner)) throw new DataDirLockedError(dataDir, owner, path);
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  throw new DataDirLockedError(dataDir, readOwner(path) ?? 0, path);
}
