/**
 * A node's status in the replicated cluster state, as dispatcher sessions report it. Managers
 * propose `SessionReport`s; every manager applies them in log order with `applySessionReport`,
 * a pure function of the record and the report, so every copy of the state agrees.
 *
 * Any manager serves sessions, so reports about one node can come from several managers: a node
 * that failed over from A to B is reported `ready` by B, and A's later `down` (A saw the old
 * session's heartbeats stop) must not undo it. Hence a `down` names the session it is about and
 * counts only while that session is still the node's recorded one.
 */

/** A node's status: `unknown` until its first session, then `ready` or `down`. */
export type NodeStatus = "unknown" | "ready" | "down";

/** The session part of a node's record in the replicated state. */
export interface SessionRecord {
  status: NodeStatus;
  /** The session the status is about; absent while `unknown`. */
  sessionId?: string;
  /** The manager serving (or last serving) that session. */
  manager?: string;
}

/** A manager's report about one node's session, proposed through Raft. */
export interface SessionReport {
  nodeId: string;
  status: "ready" | "down";
  sessionId: string;
  /** The manager that served the session. */
  manager: string;
}

/** The record before a node's first session. */
export const UNKNOWN_SESSION: Readonly<SessionRecord> = Object.freeze({ status: "unknown" });

/**
 * The record after `report`, or undefined when the report changes nothing: a `down` about a
 * session that is no longer the node's, or a report the record already says.
 */
export function applySessionReport(record: SessionRecord, report: SessionReport): SessionRecord | undefined {
  if (record.status === report.status && record.sessionId === report.sessionId) return undefined;
  if (report.status === "down" && record.sessionId !== report.sessionId) return undefined;
  return { status: report.status, sessionId: report.sessionId, manager: report.manager };
}
