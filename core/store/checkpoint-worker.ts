/**
 * The worker thread behind `checkpoint.ts`: holds its own connection to each registered SQLite
 * file and runs a PASSIVE WAL checkpoint on each every interval, so copying the WAL into the
 * database file and fsyncing it never happens on the thread that serves raft.
 */
import { Database } from "bun:sqlite";
import { applyCommand, CHECKPOINT_INTERVAL_MS, checkpointAll, type CheckpointCommand } from "./checkpoint.ts";

declare const self: Worker;

const open = new Map<string, Database>();

setInterval(() => checkpointAll(open.values()), CHECKPOINT_INTERVAL_MS);
self.onmessage = (event: MessageEvent<CheckpointCommand>) => applyCommand(open, event.data);
