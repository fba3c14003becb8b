/**
 * The manager side of dispatcher sessions, as a pure state machine: the sessions this manager
 * serves, their heartbeats, keyring delivery through the `KeyDistributor`, and the status
 * reports to propose. The shell feeds it connection events, decoded messages, the replicated
 * node records and `tick(now)`, and carries out the actions it returns.
 *
 * A node is reported `down` when its heartbeats stop for `missedHeartbeats` periods, not when
 * its connection drops: a node that reconnects elsewhere in time is never seen down. Reports
 * are proposals and can be lost (a leader change), so `reconcile` compares the replicated
 * records with what this manager knows and repeats what is missing:
 *
 * - a session served here that the records do not show `ready` is reported again;
 * - a record saying `ready` through this manager with a session it does not hold (it restarted,
 *   or the `down` was lost), or — on the leader — through a manager that is unreachable or gone,
 *   is reported `down` after `orphanGrace`, which leaves the node time to fail over first.
 */
import type { Random } from "../../common/random.ts";
import type { KeyDistributor, KeyringDelivery, NodeBoxIdentity } from "../keyrotation/index.ts";
import { type DispatcherConfig, sessionTimeout } from "./config.ts";
import type { ManagerAddress, ManagerMessage, NodeMessage, SessionCloseReason } from "./messages.ts";
import type { SessionRecord, SessionReport } from "./status.ts";

/** What the shell must do. */
export type ManagerSessionAction =
  | { kind: "send"; connectionId: string; message: ManagerMessage }
  /** Close the connection (after sending what came before). */
  | { kind: "close"; connectionId: string }
  /** Propose this report through Raft (followers forward it to the leader). */
  | { kind: "report"; report: SessionReport };

/** What `ManagerSessions` needs. */
export interface ManagerSessionsOptions {
  /** This manager's node id. */
  managerId: string;
  config: DispatcherConfig;
  /** Source of session ids. */
  random: Random;
  /** Keyring delivery bookkeeping of this manager. */
  keys: Pick<KeyDistributor, "connect" | "acknowledge" | "disconnect" | "tick">;
  /** Where this manager gossips (told to the nodes it serves, to join gossip through); may be empty. */
  gossipAddress: string;
}

/** The replicated view `reconcile` works from. */
export interface ClusterView {
  /** Session records of every node by id. */
  records: ReadonlyMap<string, SessionRecord>;
  /** The managers nodes may fail over to (sent in `accepted`). */
  managers: readonly ManagerAddress[];
  /** Whether this manager leads; only the leader watches sessions of other managers. */
  leader: boolean;
  /** Managers the leader hears from (Raft's view); unused on followers. */
  reachableManagers: ReadonlySet<string>;
}

interface Session {
  nodeId: string;
  sessionId: string;
  connectionId: string | undefined;
  lastHeartbeatAt: number;
  reportedReadyAt: number;
}

/** A served session, for status and the API. */
export interface ServedSession {
  nodeId: string;
  sessionId: string;
  connected: boolean;
  lastHeartbeatAt: number;
}

/** The sessions one manager serves. */
export class ManagerSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly byConnection = new Map<string, string>();
  /** Since when a `ready` record has had no session to account for it, and when last reported. */
  private readonly orphans = new Map<string, { since: number; reportedAt: number | undefined }>();
  private managers: readonly ManagerAddress[] = [];
  /** The records as of the last `reconcile`. */
  private records: ReadonlyMap<string, SessionRecord> = new Map();

  constructor(private readonly options: ManagerSessionsOptions) {}

  /** The sessions served now. */
  served(): ServedSession[] {
    return [...this.sessions.values()].map(({ nodeId, sessionId, connectionId, lastHeartbeatAt }) => ({ nodeId, sessionId, connected: connectionId !== undefined, lastHeartbeatAt }));
  }

  /** A message from the node on `connectionId`, whose certificate proved `identity`. */
  receive(connectionId: string, identity: NodeBoxIdentity, message: NodeMessage, now: number): ManagerSessionAction[] {
    if (message.type === "open") {
      if (message.nodeId !== identity.nodeId) return this.refuse(connectionId, "protocol");
      return this.open(connectionId, identity, message.keyringVersion, now);
    }
    const session = this.sessionOn(connectionId);
    if (!session || session.sessionId !== message.sessionId) return this.refuse(connectionId, "protocol");
    if (message.type === "keyringAck") {
      this.options.keys.acknowledge(session.nodeId, message.version);
      return [];
    }
    session.lastHeartbeatAt = now;
    return [{ kind: "send", connectionId, message: { type: "heartbeatAck", sessionId: session.sessionId, seq: message.seq, heartbeatPeriod: this.options.config.heartbeatPeriod } }];
  }

  /** The connection closed; the session stays until its heartbeats are overdue. */
  connectionClosed(connectionId: string): void {
    const nodeId = this.byConnection.get(connectionId);
    if (nodeId === undefined) return;
    this.byConnection.delete(connectionId);
    const session = this.sessions.get(nodeId);
    if (session?.connectionId === connectionId) {
      session.connectionId = undefined;
      this.options.keys.disconnect(nodeId);
    }
  }

  /** Ends sessions whose heartbeats are overdue and sends keyrings due. */
  tick(now: number): ManagerSessionAction[] {
    const actions: ManagerSessionAction[] = [];
    const timeout = sessionTimeout(this.options.config.heartbeatPeriod, this.options.config);
    for (const session of this.sessions.values()) {
      if (now < session.lastHeartbeatAt + timeout) continue;
      this.end(session);
      if (session.connectionId !== undefined) actions.push({ kind: "close", connectionId: session.connectionId });
      // The node may already be recorded ready through another manager: not ours to mark down.
      const record = this.records.get(session.nodeId);
      if (record?.sessionId !== undefined && record.sessionId !== session.sessionId) continue;
      const reason = `no heartbeat for ${Math.round((now - session.lastHeartbeatAt) / 1000)} s`;
      actions.push({ kind: "report", report: { nodeId: session.nodeId, status: "down", sessionId: session.sessionId, manager: this.options.managerId, reason } });
    }
    for (const delivery of this.options.keys.tick(now)) actions.push(...this.deliver(delivery));
    return actions;
  }

  /** Repeats reports the replicated records lack, and reports orphaned `ready` records `down`; see the module doc. */
  reconcile(view: ClusterView, now: number): ManagerSessionAction[] {
    const actions: ManagerSessionAction[] = [];
    if (!sameManagers(this.managers, view.managers)) {
      this.managers = view.managers;
      for (const session of this.sessions.values()) {
        if (session.connectionId === undefined) continue;
        actions.push({ kind: "send", connectionId: session.connectionId, message: { type: "managers", sessionId: session.sessionId, managers: [...view.managers] } });
      }
    }
    this.records = view.records;
    const { managerId, config } = this.options;
    for (const session of this.sessions.values()) {
      const record = view.records.get(session.nodeId);
      const shown = record?.status === "ready" && record.sessionId === session.sessionId;
      if (shown || now < session.reportedReadyAt + config.heartbeatPeriod) continue;
      session.reportedReadyAt = now;
      actions.push({ kind: "report", report: this.readyReport(session) });
    }
    for (const [nodeId, record] of view.records) {
      if (record.status !== "ready" || record.sessionId === undefined || record.manager === undefined || this.accountedFor(nodeId, record, view)) {
        this.orphans.delete(nodeId);
        continue;
      }
      const orphan = this.orphans.get(nodeId) ?? { since: now, reportedAt: undefined };
      this.orphans.set(nodeId, orphan);
      const due = now >= orphan.since + config.orphanGrace && (orphan.reportedAt === undefined || now >= orphan.reportedAt + config.orphanGrace);
      if (!due) continue;
      orphan.reportedAt = now;
      const reason = record.manager === managerId ? "session lost by its manager" : `manager ${record.manager} unreachable`;
      actions.push({ kind: "report", report: { nodeId, status: "down", sessionId: record.sessionId, manager: record.manager, reason } });
    }
    for (const nodeId of this.orphans.keys()) if (!view.records.has(nodeId)) this.orphans.delete(nodeId);
    return actions;
  }

  /** Ends the node's session (it was removed from the cluster), telling it so. */
  remove(nodeId: string): ManagerSessionAction[] {
    const session = this.sessions.get(nodeId);
    if (!session) return [];
    this.end(session);
    return session.connectionId === undefined ? [] : this.refuse(session.connectionId, "removed");
  }

  /** Ends every session (the manager is stopping), telling each node to fail over. */
  closeAll(): ManagerSessionAction[] {
    const actions: ManagerSessionAction[] = [];
    for (const session of [...this.sessions.values()]) {
      this.end(session);
      if (session.connectionId !== undefined) actions.push(...this.refuse(session.connectionId, "shuttingDown"));
    }
    return actions;
  }

  private open(connectionId: string, identity: NodeBoxIdentity, keyringVersion: number, now: number): ManagerSessionAction[] {
    const actions: ManagerSessionAction[] = [];
    const previous = this.sessions.get(identity.nodeId);
    if (previous) {
      this.end(previous);
      if (previous.connectionId !== undefined && previous.connectionId !== connectionId) actions.push(...this.refuse(previous.connectionId, "superseded"));
    }
    const session: Session = { nodeId: identity.nodeId, sessionId: this.newSessionId(), connectionId, lastHeartbeatAt: now, reportedReadyAt: now };
    this.sessions.set(identity.nodeId, session);
    this.byConnection.set(connectionId, identity.nodeId);
    const { heartbeatPeriod } = this.options.config;
    actions.push({ kind: "send", connectionId, message: { type: "accepted", sessionId: session.sessionId, heartbeatPeriod, managers: [...this.managers], gossipAddress: this.options.gossipAddress } });
    for (const delivery of this.options.keys.connect(identity, keyringVersion, now)) actions.push(...this.deliver(delivery));
    actions.push({ kind: "report", report: this.readyReport(session) });
    return actions;
  }

  private deliver(delivery: KeyringDelivery): ManagerSessionAction[] {
    const session = this.sessions.get(delivery.nodeId);
    if (session?.connectionId === undefined) return [];
    const message: ManagerMessage = { type: "keyring", sessionId: session.sessionId, version: delivery.version, sealed: delivery.sealed };
    return [{ kind: "send", connectionId: session.connectionId, message }];
  }

  private accountedFor(nodeId: string, record: SessionRecord, view: ClusterView): boolean {
    if (record.manager === this.options.managerId) return this.sessions.get(nodeId)?.sessionId === record.sessionId;
    return !view.leader || view.reachableManagers.has(record.manager as string);
  }

  private sessionOn(connectionId: string): Session | undefined {
    const nodeId = this.byConnection.get(connectionId);
    const session = nodeId === undefined ? undefined : this.sessions.get(nodeId);
    return session?.connectionId === connectionId ? session : undefined;
  }

  private end(session: Session): void {
    this.sessions.delete(session.nodeId);
    if (session.connectionId !== undefined) {
      this.byConnection.delete(session.connectionId);
      this.options.keys.disconnect(session.nodeId);
    }
  }

  private refuse(connectionId: string, reason: SessionCloseReason): ManagerSessionAction[] {
    const nodeId = this.byConnection.get(connectionId);
    const session = nodeId === undefined ? undefined : this.sessions.get(nodeId);
    if (session?.connectionId === connectionId) this.end(session);
    this.byConnection.delete(connectionId);
    return [{ kind: "send", connectionId, message: { type: "closed", reason } }, { kind: "close", connectionId }];
  }

  private readyReport(session: Session): SessionReport {
    return { nodeId: session.nodeId, status: "ready", sessionId: session.sessionId, manager: this.options.managerId };
  }

  private newSessionId(): string {
    const { random } = this.options;
    return [random.nextUint32(), random.nextUint32()].map((word) => word.toString(16).padStart(8, "0")).join("");
  }
}

function sameManagers(a: readonly ManagerAddress[], b: readonly ManagerAddress[]): boolean {
  return a.length === b.length && a.every((manager, i) => manager.nodeId === b[i]?.nodeId && manager.address === b[i]?.address);
}
