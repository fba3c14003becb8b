/**
 * The worker thread behind `checkpoint.ts`: holds its own connection to each registered SQLite
 * file and runs a PASSIVE WAL checkpoint on each every interval, so copying the WAL into the
 * database file and fsyncing it never happens on the thread that serves raft.
 */
import { Database } from "bun:sqlite";
import { applyCommand, checkpointAll, type CheckpointCommand } from "./checkpoint.ts";

declare const self: Worker;

const open = new Map<string, Database>();

self.onmessage = (event: MessageEvent<CheckpointCommand>) => {
  const command = event.data;
  if (command.type === "interval") setInterval(() => checkpointAll(open.values()), command.intervalMs);
  else applyCommand(open, command);
};
