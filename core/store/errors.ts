/** Typed errors of the durable store. */
import { ShoalError } from "../common/errors.ts";

/**
 * A record on disk failed its checksum or broke the log's shape. The node refuses to start
 * rather than serve wrong data; `shoal store repair` truncates a torn log tail.
 */
export class StoreCorruptError extends ShoalError {
  constructor(
    readonly file: string,
    /** The first bad log index, or undefined when the bad record is not a log entry. */
    readonly index: number | undefined,
    reason: string,
  ) {
    const where = index === undefined ? "" : ` at log index ${index}`;
    const fix = index === undefined
      ? "restore the data directory from a backup or re-join this node"
      : `run \`shoal store repair --data-dir <dir>\` to truncate the log from index ${index}`;
    super("store_corrupt", `raft store ${file} is corrupt${where}: ${reason}; ${fix}`, { file, index, reason });
  }
}

