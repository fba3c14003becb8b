/**
 * The manager side of dispatcher sessions on real connections: takes `dispatcher` connections
 * from the cluster listener, runs `ManagerSessions` with a timer, reconciles it with the
 * replicated node records, and proposes its status reports through Raft. Keyrings are sealed
 * by the manager's `KeyManager` (`keyringFor`).
 */
import type { Logger } from "../../common/log.ts";
import { DecodeError, describeError } from "../../common/errors.ts";
import { entropyRandom } from "../../common/random.ts";
import type { SecureConnection } from "../../secure/channel/index.ts";
import type { ClusterManagerHandle, LocalIdentity } from "../contract.ts";
import { KeyDistributor } from "../keyrotation/index.ts";
import { managersOf } from "../state.ts";
import { type DispatcherConfig, SESSION_RECONCILE_MS, SESSION_TICK_MS } from "./config.ts";
import { type ManagerSessionAction, ManagerSessions } from "./manager-sessions.ts";
import { decodeNodeMessage, encodeManagerMessage } from "./messages.ts";
import type { DispatcherMetrics } from "./metrics.ts";
import { type SessionRecord, sessionRecordOf, statusCommand } from "./status.ts";

/** What a `ManagerSessionShell` needs. */
export interface ManagerSessionShellOptions {
  identity: LocalIdentity;
  manager: ClusterManagerHandle;
  config: DispatcherConfig;
  /** How often an unacknowledged keyring is resent (the key rotation config's `distributionRetry`). */
  keyringRetryMs: number;
  /** Where this manager gossips, told to the nodes it serves. */
  gossipAddress: string;
  metrics: DispatcherMetrics;
  logger: Logger;
}

/** The sessions one manager serves, on sockets. */
export class ManagerSessionShell {
  private readonly sessions: ManagerSessions;
  private readonly connections = new Map<string, SecureConnection>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private unsubscribe: (() => void) | undefined;
  private nextConnection = 0;

  constructor(private readonly options: ManagerSessionShellOptions) {
    const keys = new KeyDistributor(options.manager.keyManager, options.keyringRetryMs);
    this.sessions = new ManagerSessions({ managerId: options.identity.nodeId, config: options.config, random: entropyRandom(), keys, gossipAddress: options.gossipAddress });
  }

  /** Starts the timers and follows node removals. */
  start(): void {
    this.timers.push(setInterval(() => this.run(this.sessions.tick(Date.now())), SESSION_TICK_MS));
    this.timers.push(setInterval(() => this.reconcile(), SESSION_RECONCILE_MS));
    this.unsubscribe = this.options.manager.onApplied(({ command, refusal }) => {
      if (command.type === "nodeRemove" && refusal === undefined) this.run(this.sessions.remove(command.nodeId));
    });
  }

  /** Tells every node to fail over, then closes their connections. */
  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.unsubscribe?.();
    this.run(this.sessions.closeAll());
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }

  /** Sessions served now, for status. */
  served(): ReturnType<ManagerSessions["served"]> {
    return this.sessions.served();
  }

  /** Takes a `dispatcher` connection from the cluster listener. */
  accept(channel: SecureConnection): void {
    const { peer } = channel;
    // A node missing from the state may be one whose join this manager has not applied yet, so it
    // is sent away to retry, not told it was removed; removed nodes' certificates are revoked and
    // never get this far.
    if (peer.kind !== "member" || !this.options.manager.state().nodes.has(peer.certificate.nodeId)) {
      this.options.metrics.rejected.inc({ reason: "notMember" });
      channel.close();
      return;
    }
    const identity = { nodeId: peer.certificate.nodeId, boxPublicKey: peer.certificate.boxKey };
    const connectionId = String(++this.nextConnection);
    this.connections.set(connectionId, channel);
    channel.onMessage((bytes) => {
      let message;
      try {
        message = decodeNodeMessage(bytes);
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        this.options.metrics.rejected.inc({ reason: "undecodable" });
        this.options.logger.warn("undecodable dispatcher message; closing the connection", { node: identity.nodeId, error: error.message });
        channel.close();
        return;
      }
      this.run(this.sessions.receive(connectionId, identity, message, Date.now()));
    });
    channel.onClose(() => {
      this.connections.delete(connectionId);
      this.sessions.connectionClosed(connectionId);
      this.options.metrics.served.set(this.sessions.served().length);
    });
  }

  private reconcile(): void {
    const { manager } = this.options;
    const state = manager.state();
    const records = new Map<string, SessionRecord>();
    for (const node of state.nodes.values()) records.set(node.id, sessionRecordOf(node));
    const managers = managersOf(state).map((node) => ({ nodeId: node.id, address: node.address }));
    const reachableManagers = new Set(manager.managers().filter((peer) => peer.reachability !== "unreachable").map((peer) => peer.id));
    this.run(this.sessions.reconcile({ records, managers, leader: manager.isLeader(), reachableManagers }, Date.now()));
  }

  private run(actions: ManagerSessionAction[]): void {
    for (const action of actions) {
      if (action.kind === "report") {
        const { report } = action;
        this.options.manager.propose(statusCommand(report, Date.now())).then(
          () => this.options.metrics.reports.inc({ status: report.status, result: "applied" }),
          (error) => {
            this.options.metrics.reports.inc({ status: report.status, result: "failed" });
            this.options.logger.debug("node status report not applied", { node: report.nodeId, status: report.status, error: describeError(error) });
          },
        );
        if (report.status === "down") this.options.logger.warn("node down", { node: report.nodeId, reason: report.reason });
        continue;
      }
      const channel = this.connections.get(action.connectionId);
      if (action.kind === "send") channel?.send(encodeManagerMessage(action.message));
      else {
        this.connections.delete(action.connectionId);
        channel?.close();
      }
    }
    this.options.metrics.served.set(this.sessions.served().length);
  }
}
