/**
 * WAL checkpoints off the write path. SQLite's automatic checkpoint runs inside the commit that
 * crosses its threshold: that commit copies the WAL into the database file and fsyncs it, a
 * stall of tens of milliseconds on a write that should cost one fsync. The raft store and the
 * state machine therefore raise the automatic threshold to a backstop (`WAL_BACKSTOP_PAGES`)
 * and register their files here: one worker thread per process checkpoints them PASSIVE (which
 * never waits for, nor blocks, a writer) every `CHECKPOINT_INTERVAL_MS`. Where no worker can be
 * started, the same checkpoints run on a timer in this thread, with a warning: every write
 * queues behind them there.
 */
import { Database } from "bun:sqlite";
import { describeError } from "../common/errors.ts";

/** How often registered files are checkpointed. */
const CHECKPOINT_INTERVAL_MS = 250;

/** WAL pages after which SQLite checkpoints inline anyway (40 MB): only reached if checkpoints stall. */
const WAL_BACKSTOP_PAGES = 10_000;

/**
 * Puts a freshly opened file in WAL mode with the given `synchronous` level and the backstop
 * threshold, waiting out the checkpointer's brief locks rather than failing; register the file
 * with `checkpointInBackground` so the WAL is kept short.
 */
export function configureWal(db: Database, synchronous: "FULL" | "NORMAL"): void {
  db.run("PRAGMA busy_timeout = 5000");
  db.run("PRAGMA journal_mode = WAL");
  db.run(`PRAGMA synchronous = ${synchronous}`);
  db.run(`PRAGMA wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`);
}

/** A message to the checkpoint worker. */
export type CheckpointCommand = { type: "watch"; path: string } | { type: "unwatch"; path: string };

/**
 * Checkpoints every connection in `open` each `CHECKPOINT_INTERVAL_MS` (PASSIVE); a failure is
 * logged, not thrown (the next round retries).
 */
export function checkpointPeriodically(open: ReadonlyMap<string, Database>): ReturnType<typeof setInterval> {
  return setInterval(() => checkpointAll(open.values()), CHECKPOINT_INTERVAL_MS);
}

function checkpointAll(databases: Iterable<Database>): void {
  for (const db of databases) {
    try {
      db.run("PRAGMA wal_checkpoint(PASSIVE)");
    } catch (error) {
      console.error(`shoal: WAL checkpoint of ${db.filename} failed: ${describeError(error)}`);
    }
  }
}

/**
 * Applies a watch/unwatch command to a set of checkpointing connections. A file that cannot be
 * opened (removed meanwhile) is skipped: checkpoints are an optimisation, never a reason to fail.
 */
export function applyCommand(open: Map<string, Database>, command: CheckpointCommand): void {
  if (command.type === "watch" && !open.has(command.path)) {
    try {
      const db = new Database(command.path, { create: false });
      db.run("PRAGMA busy_timeout = 0");
      open.set(command.path, db);
    } catch (error) {
      console.error(`shoal: cannot checkpoint ${command.path}: ${describeError(error)}`);
    }
  }
  if (command.type === "unwatch") {
    open.get(command.path)?.close();
    open.delete(command.path);
  }
}

/** Where checkpoints run: on their worker thread, on this thread after the worker failed to start, or nowhere yet. */
export type CheckpointThread = "worker" | "main" | "none";

interface Runner {
  readonly thread: CheckpointThread;
  send(command: CheckpointCommand): void;
  stop(): void;
}

const watched = new Map<string, number>();
let runner: Runner | undefined;

/**
 * The worker's program. A compiled binary embeds it under its path from the project root
 * (`WORKER_ENTRIES` in scripts/build.ts), and there a bundled module's `import.meta.url` is the
 * binary's own; run from source, the program sits beside this file.
 */
function workerProgram(): URL {
  const compiled = import.meta.url.startsWith("file:///$bunfs/");
  return new URL(compiled ? "./core/store/checkpoint-worker.ts" : "./checkpoint-worker.ts", import.meta.url);
}

function startWorker(): Runner {
  const worker = new Worker(workerProgram());
  worker.unref();
  let thread: CheckpointThread = "none";
  worker.addEventListener("message", () => (thread = "worker"), { once: true });
  // A worker that fails to load hands over to this thread, loudly: checkpoints here stall every
  // write behind them (tens of milliseconds, every interval).
  worker.addEventListener("error", (event) => {
    console.error(`shoal: the WAL checkpoint worker failed to start (${event.message}); checkpointing on the main thread, which stalls writes`);
    worker.terminate();
    runner = startInThread();
    for (const path of watched.keys()) runner.send({ type: "watch", path });
  });
  return {
    get thread() {
      return thread;
    },
    send: (command) => worker.postMessage(command),
    stop: () => worker.terminate(),
  };
}

function startInThread(): Runner {
  const open = new Map<string, Database>();
  const timer = checkpointPeriodically(open);
  timer.unref();
  return {
    thread: "main",
    send: (command) => applyCommand(open, command),
    stop: () => clearInterval(timer),
  };
}

/** Where this process's checkpoints run now; `/metrics` reports it, as a silent fallback costs every write. */
export function checkpointThread(): CheckpointThread {
  return runner?.thread ?? "none";
}

/**
 * Checkpoints the SQLite file at `path` in the background until the returned function is
 * called. Registering the same file twice is counted; the worker stops with the last file.
 */
export function checkpointInBackground(path: string): () => void {
  if (!runner) {
    try {
      runner = startWorker();
    } catch {
      runner = startInThread();
    }
  }
  const count = watched.get(path) ?? 0;
  watched.set(path, count + 1);
  if (count === 0) runner.send({ type: "watch", path });
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (watched.get(path) ?? 1) - 1;
    if (left > 0) {
      watched.set(path, left);
      return;
    }
    watched.delete(path);
    runner?.send({ type: "unwatch", path });
    if (watched.size === 0) {
      runner?.stop();
      runner = undefined;
    }
  };
}
