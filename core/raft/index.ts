/** The Raft core's public surface: build a `RawNode` from a `raftConfig`, a `Storage` and a `Random`. */
export { raftConfig, RAFT_DEFAULTS, type RaftConfig, type ReadOnlyOption } from "./config.ts";
export { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange, type ConfChange, type ConfChangeType } from "./confchange.ts";
export * from "./errors.ts";
export { RawNode, type PeerStatus, type RaftStatus, type RawNodeOptions } from "./node.ts";
export { bootstrapLog, cloneConf, emptyConfState, MemoryStorage, type InitialState, type Storage } from "./storage.ts";
export { entrySize } from "./size.ts";
export type * from "./types.ts";
