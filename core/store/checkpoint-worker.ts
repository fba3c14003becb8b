/**
 * The worker thread behind `checkpoint.ts`: holds its own connection to each registered SQLite
 * file and runs a PASSIVE WAL checkpoint on each every interval, so copying the WAL into the
 * database file and fsyncing it never happens on the thread that serves raft.
 */
import { Database } from "bun:sqlite";
import { applyCommand, checkpointPeriodically, type CheckpointCommand } from "./checkpoint.ts";

declare const self: Worker;

const open = new Map<string, Database>();

checkpointPeriodically(open);
self.onmessage = (event: MessageEvent<CheckpointCommand>) => applyCommand(open, event.data);
// Tells the opener the worker runs (see `checkpointThread`).
self.postMessage("ready");
