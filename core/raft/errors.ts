/**
 * Typed errors raised by the Raft core and by the storage it reads. Callers switch on the
 * class (or `code`) rather than on message text.
 */
import { ShoalError } from "../common/errors.ts";

/** Why a proposal (or read, or membership call) was not accepted. */
export type DropReason =
  | "no_leader"
  | "not_leader"
  | "not_member"
  | "transfer_in_progress"
  | "conf_change_pending"
  | "invalid_conf_change"
  | "learner_lagging"
  | "uncommitted_limit";

/**
 * A proposal was dropped before entering the log: there is no known leader, leadership is
 * moving, or another membership change is still pending. The caller may retry later.
 */
export class ProposalDroppedError extends ShoalError {
  constructor(
    /** Machine-readable reason, also in `context.reason`. */
    readonly reason: DropReason,
    message: string,
    context: Record<string, unknown> = {},
  ) {
    super("raft_proposal_dropped", message, { reason, ...context });
  }
}

/** The requested index is older than the storage's first index: it was compacted away. */
export class CompactedError extends ShoalError {
  constructor(index: number, firstIndex: number) {
    super("raft_compacted", `log index ${index} was compacted (first available index is ${firstIndex})`, { index, firstIndex });
  }
}

/** The requested index is past the end of the storage's log. */
export class UnavailableError extends ShoalError {
  constructor(index: number, lastIndex: number) {
    super("raft_unavailable", `log index ${index} is not available (last index is ${lastIndex})`, { index, lastIndex });
  }
}

/** A snapshot is being produced and cannot be handed out yet; the leader retries later. */
export class SnapshotTemporarilyUnavailableError extends ShoalError {
  constructor() {
    super("raft_snapshot_unavailable", "snapshot is temporarily unavailable");
  }
}

/** A snapshot older than the one already held was offered to storage. */
export class SnapshotOutOfDateError extends ShoalError {
  constructor(index: number, current: number) {
    super("raft_snapshot_out_of_date", `snapshot at index ${index} is older than the current one at ${current}`, { index, current });
  }
}

/** A `Config` value is missing or out of range. */
export class RaftConfigError extends ShoalError {
  constructor(field: string, message: string, value?: unknown) {
    super("config_invalid", `raft config: ${field} ${message}`, { field, value });
  }
}
