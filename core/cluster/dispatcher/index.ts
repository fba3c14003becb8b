/**
 * Dispatcher sessions: every node keeps one session with a manager over the secure channel,
 * heartbeats it, fails over to another manager when its own goes, and receives the gossip
 * keyring (and later its task assignments) through it. Managers report each node `ready` when
 * its session opens and `down` when its heartbeats stop; the reports go through Raft.
 *
 * - `NodeSession` (every node): the session state machine of the node side.
 * - `ManagerSessions` (every manager): the sessions served, heartbeats, keyring delivery, reports.
 * - `statusCommand` / `sessionRecordOf`: reports to and from the replicated node records.
 */
export { DEFAULT_DISPATCHER_CONFIG, dispatcherConfig, type DispatcherConfig, SESSION_RECONCILE_MS, SESSION_TICK_MS, sessionTimeout } from "./config.ts";
export { type ClusterView, type ManagerSessionAction, ManagerSessions, type ManagerSessionsOptions, type ServedSession } from "./manager-sessions.ts";
export {
  decodeManagerMessage, decodeNodeMessage, encodeManagerMessage, encodeNodeMessage,
  type ManagerAddress, type ManagerMessage, type NodeMessage, type SessionCloseReason,
} from "./messages.ts";
export { NodeSession, type NodeSessionAction, type NodeSessionOptions, type NodeSessionStatus } from "./node-session.ts";
export { type SessionRecord, type SessionReport, sessionRecordOf, statusCommand } from "./status.ts";
