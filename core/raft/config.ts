/**
 * Every tunable of the Raft core, named, documented and defaulted in one place.
 *
 * Timing defaults and why: with `tickMs` 100, `heartbeatTicks` 1 and `electionTicks` 5, a
 * leader heartbeats every 100 ms and a follower starts an election after a randomized
 * 500–1000 ms of silence. Failover is that timeout plus a pre-vote and a vote round trip
 * (milliseconds on a LAN), so a single election round ends within about 1 s, where etcd's
 * 1000 ms base (randomized to 1–2 s) cannot meet a 1.5 s target. A second round is needed
 * only when the survivors split the vote, which pre-candidates avoid by letting the lower id
 * go first (see `handleVoteRequest` in elections.ts). Five missed heartbeats before suspecting
 * the leader still rides out a lost packet or a GC pause; raise `electionTicks` on slow links.
 * Measured over 2000 seeds of the simulated failover (`simulate` in tests/sim/raft/failover.ts,
 * whose test prints the median and worst of its 200): median about 550 ms, worst about 1.3 s.
 */
import { RaftConfigError } from "./errors.ts";
import type { NodeId } from "./types.ts";

/** How the leader confirms it is still leader before answering a read. */
export type ReadOnlyOption =
  /**
   * ReadIndex: each read waits for a heartbeat round acknowledged by a quorum. Safe whatever
   * the clocks do.
   */
  | "safe"
  /**
   * Lease: the leader answers at once from its commit index (once it has committed an entry
   * of its term), saving the heartbeat round. It leans on `checkQuorum` instead: the leader
   * steps down after an election timeout without hearing from a quorum, and followers refuse
   * to elect anyone else within an election timeout of hearing from it. That is
   * clock-dependent: with a slow tick, a long pause or delayed messages, a deposed leader may
   * answer stale reads for up to about one election timeout. Requires `checkQuorum`; the
   * simulator checks linearizability with "safe" only.
   */
  | "lease";

/** Raft core settings. Build one with `raftConfig()`, which fills in defaults and validates. */
export interface RaftConfig {
  /** This node's id. */
  id: NodeId;
  /** Wall-clock length of one `tick()`; used by the caller's timer, documented here so the ticks below mean something. Default 100 ms. */
  tickMs: number;
  /**
   * Ticks without hearing from a leader before a follower campaigns; the actual timeout is
   * drawn uniformly from `[electionTicks, 2 * electionTicks)` each term. Default 5.
   */
  electionTicks: number;
  /** Ticks between leader heartbeats. Must be well below `electionTicks`. Default 1. */
  heartbeatTicks: number;
  /** Upper bound on the entry bytes in one append message (one entry always fits). Default 1 MiB. */
  maxSizePerMsg: number;
  /** Append messages in flight (sent, not yet acknowledged) per follower while pipelining. Default 256. */
  maxInflightMsgs: number;
  /** Entry bytes in flight per follower; 0 means no byte limit. Default 16 MiB. */
  maxInflightBytes: number;
  /** Bytes of uncommitted entries the leader accepts before dropping proposals; 0 means unlimited. Default 64 MiB. */
  maxUncommittedEntriesBytes: number;
  /** Largest snapshot chunk sent in one message, so no snapshot is too large to ship. Default 1 MiB. */
  maxSnapshotChunkBytes: number;
  /** Snapshot chunks in flight (sent, not yet acknowledged) per follower. Default 4. */
  maxSnapshotChunksInFlight: number;
  /**
   * Applied entries since the last snapshot after which the caller should take a new one
   * (the core reports it through `shouldSnapshot`). Default 10 000.
   */
  snapshotThreshold: number;
  /** Entries kept in the log behind a snapshot, so slightly slow followers catch up without one. Default 5 000. */
  entriesKeptAfterSnapshot: number;
  /** Run a pre-vote round before campaigning, so a node that was partitioned cannot disrupt a healthy leader by bumping the term. Default true. */
  preVote: boolean;
  /** Leader steps down when it has not heard from a quorum within an election timeout; followers ignore votes while they hear from a live leader. Default true. */
  checkQuorum: boolean;
  /** How reads are confirmed; see `ReadOnlyOption`. Default "safe". */
  readOnlyOption: ReadOnlyOption;
  /** Entries applied before this node starts (its state machine's applied index on restart). Default 0. */
  applied: number;
}

/** The defaults every unset field takes. */
export const RAFT_DEFAULTS: Omit<RaftConfig, "id"> = {
  tickMs: 100,
  electionTicks: 5,
  heartbeatTicks: 1,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  maxInflightBytes: 16 * 1024 * 1024,
  maxUncommittedEntriesBytes: 64 * 1024 * 1024,
  maxSnapshotChunkBytes: 1024 * 1024,
  maxSnapshotChunksInFlight: 4,
  snapshotThreshold: 10_000,
  entriesKeptAfterSnapshot: 5_000,
  preVote: true,
  checkQuorum: true,
  readOnlyOption: "safe",
  applied: 0,
};

/** Builds a validated config from `overrides` and the defaults. Throws `RaftConfigError`. */
export function raftConfig(overrides: Partial<RaftConfig> & { id: NodeId }): RaftConfig {
  const config: RaftConfig = { ...RAFT_DEFAULTS, ...overrides };
  if (config.id === "") throw new RaftConfigError("id", "must not be empty", config.id);
  const positive: (keyof RaftConfig)[] = ["tickMs", "electionTicks", "heartbeatTicks", "maxSizePerMsg", "maxInflightMsgs", "maxSnapshotChunkBytes", "maxSnapshotChunksInFlight", "snapshotThreshold"];
  for (const field of positive) {
    const value = config[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) throw new RaftConfigError(field, "must be a positive integer", value);
  }
  const nonNegative: (keyof RaftConfig)[] = ["maxInflightBytes", "maxUncommittedEntriesBytes", "entriesKeptAfterSnapshot", "applied"];
  for (const field of nonNegative) {
    const value = config[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new RaftConfigError(field, "must be a non-negative integer", value);
  }
  if (config.electionTicks <= config.heartbeatTicks) {
    throw new RaftConfigError("electionTicks", `must exceed heartbeatTicks (${config.heartbeatTicks})`, config.electionTicks);
  }
  if (config.readOnlyOption !== "safe" && config.readOnlyOption !== "lease") {
    throw new RaftConfigError("readOnlyOption", 'must be "safe" or "lease"', config.readOnlyOption);
  }
  if (config.readOnlyOption === "lease" && !config.checkQuorum) {
    throw new RaftConfigError("readOnlyOption", '"lease" requires checkQuorum', config.readOnlyOption);
  }
  return config;
}
