/**
 * How dispatcher sessions show in the replicated node records. The cluster state keeps a node's
 * `status` and a `statusMessage`; the session a status is about and the manager serving it are
 * written into that message in a fixed form ("session <id> via <manager>"), readable in
 * `node inspect` and parsed back here, the one place that knows the form.
 *
 * Any manager serves sessions, so several managers report about one node over time. What keeps
 * their reports from undoing each other is that each report names its session: a manager
 * proposes `down` only while the record still names its own session, and `ManagerSessions`
 * repeats what the records lack (see `reconcile`), so a report lost or overtaken is mended.
 */
import type { ClusterCommand, ClusterNode, NodeStatus } from "../contract.ts";

/** The session part of a node's record. */
export interface SessionRecord {
  status: NodeStatus;
  /** The session the status is about; absent while `unknown` or when set by something else. */
  sessionId?: string;
  /** The manager serving (or last serving) that session. */
  manager?: string;
}

/** A manager's report about one node's session, to propose through Raft. */
export interface SessionReport {
  nodeId: string;
  status: "ready" | "down";
  sessionId: string;
  /** The manager that served the session. */
  manager: string;
  /** Why, for `down` (e.g. "no heartbeat for 15 s"). */
  reason?: string;
}

const SESSION_FORM = /^(?:(.*): )?session ([0-9a-f]{1,64}) via ([0-9A-Za-z._:-]{1,128})$/;

/** The `nodeStatus` command proposing `report` at `now` (the proposer's clock). */
export function statusCommand(report: SessionReport, now: number): ClusterCommand {
  const session = `session ${report.sessionId} via ${report.manager}`;
  const message = report.reason === undefined ? session : `${report.reason}: ${session}`;
  return { type: "nodeStatus", nodeId: report.nodeId, status: report.status, message, at: now };
}

/** The session a node record names, read back from its status message. */
export function sessionRecordOf(node: Pick<ClusterNode, "status" | "statusMessage">): SessionRecord {
  const match = SESSION_FORM.exec(node.statusMessage);
  if (!match) return { status: node.status };
  return { status: node.status, sessionId: match[2] as string, manager: match[3] as string };
}
