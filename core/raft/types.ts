/**
 * The vocabulary of the Raft core: what it is handed, what it hands back, what the caller
 * persists. Shared by `core/raft` (the pure state machine), `core/store` (durable log, hard
 * state, snapshots) and `core/transport` (which carries `Message`s between managers).
 */

/** A Raft node's id: the cluster-wide node id string. */
export type NodeId = string;

/** What a log entry carries. */
export type EntryType =
  /** An application command, applied by the state machine. */
  | "normal"
  /** A membership change (`ConfChange` CBOR in `data`), applied by the core itself. */
  | "conf";

/**
 * Every entry type, in the order whose positions number them on the wire and on disk; append
 * new types, never reorder.
 */
export const ENTRY_TYPES: readonly EntryType[] = ["normal", "conf"];

/** One log entry. `data` is opaque to the core for `normal` entries (may be empty: a no-op). */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be on disk before any message that depends on it is sent. */
export interface HardState {
  term: number;
  /** Who this node voted for in `term`, or "" for nobody. */
  vote: NodeId;
  commit: number;
}

/** The cluster membership as of some log index. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  /** Voters of the outgoing configuration while in joint consensus; empty otherwise. */
  votersOutgoing: NodeId[];
}

/** Where a snapshot sits in the log, and the membership at that point. */
export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

/** A state-machine snapshot: the state as of `meta.index`, opaque to the core. */
export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

/** Every message type the core exchanges with its peers. */
export type MessageType =
  | "preVote"
  | "preVoteResp"
  | "vote"
  | "voteResp"
  | "append"
  | "appendResp"
  | "heartbeat"
  | "heartbeatResp"
  | "snapshot"
  | "snapshotResp"
  | "propose"
  | "readIndex"
  | "readIndexResp"
  | "timeoutNow";

/**
 * A message between Raft nodes. One flat shape (as etcd's raftpb.Message) keeps the
 * transport and the codec simple; each type uses the fields it needs.
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** append: index of the entry before `entries`; appendResp: last matched index or hint. */
  index: number;
  /** append: term of the entry at `index`. vote/preVote: candidate's last log term. */
  logTerm: number;
  entries: Entry[];
  /** append/heartbeat: leader's commit index. */
  commit: number;
  /** Responses: true when the request was refused. */
  reject: boolean;
  /** appendResp on reject: a hint of the follower's last index for fast backtracking. */
  rejectHint: number;
  /** snapshot: one chunk of a snapshot being shipped. */
  snapshotChunk?: SnapshotChunk;
  /** readIndex/readIndexResp/heartbeat: the request context echoed back. */
  context?: Uint8Array;
}

/** One bounded-size piece of a snapshot sent to a follower that is far behind. */
export interface SnapshotChunk {
  meta: SnapshotMeta;
  /** Byte offset of `data` within the whole snapshot. */
  offset: number;
  /** Total size of the snapshot in bytes. */
  total: number;
  data: Uint8Array;
  /** True on the last chunk. */
  done: boolean;
}

/** A linearizable read that may now be served once `index` has been applied locally. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

/** The volatile state callers may show (role, leader, term). */
export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** Volatile facts about the node, included in `Ready` when they change. */
export interface SoftState {
  leader: NodeId;
  role: Role;
}

/**
 * A batch of work the core hands to its caller. The caller must, in order:
 * 1. persist `hardState`, `entries` (replacing any conflicting suffix) and `snapshot`, with fsync;
 * 2. send `messages`;
 * 3. install `snapshot` in the state machine, then apply `committedEntries`;
 * 4. serve `readStates` once their index is applied;
 * then call `advance()`.
 *
 * One relaxation is safe: a leader whose `hardState` term and vote did not change in this
 * batch may send its messages before its own fsync completes (Raft thesis §10.2.1), because
 * the core counts the leader's own entries towards the commit index only after `advance()`.
 * Followers and candidates must persist first: their acknowledgements and votes vouch for it.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
}
