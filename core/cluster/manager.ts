/**
 * A running manager: the Raft replica over the secure channel driving the cluster state machine,
 * and, while it leads, the reconciler that keeps Raft membership equal to the managers the
 * state lists (in the style of SwarmKit's role manager):
 *
 * - a manager in the state but not in the configuration is added as a learner;
 * - a learner that has caught up is promoted to voter;
 * - a configuration member that is no longer a manager in the state (demoted or removed) is
 *   removed; when that member is the leader itself, it hands leadership to another voter first.
 *
 * One membership change runs at a time (single-server changes). The same tick drives the gossip
 * key schedule: the leader's `KeyManager` proposes the first key and every due rotation.
 */
import { mkdirSync } from "node:fs";
import nacl from "tweetnacl";
import type { MetricsRegistry } from "../api/metrics.ts";
import { describeError, ShoalError } from "../common/errors.ts";
import type { Logger } from "../common/log.ts";
import { ProposalDroppedError } from "../raft/errors.ts";
import type { ConfState } from "../raft/types.ts";
import type { SecureConnection } from "../secure/channel/index.ts";
import { openReplica } from "../store/open-replica.ts";
import type { DurableStorage } from "../store/raft-storage.ts";
import type { Replica } from "../store/replica.ts";
import { encodeClusterCommand } from "./codec.ts";
import type { ClusterConfig } from "./config.ts";
import type { AppliedCommand, ClusterCommand, ClusterManagerHandle, ClusterStateView, LocalIdentity, ManagerPeer } from "./contract.ts";
import { clusterFiles } from "./identity-store.ts";
import type { RaftPeer } from "./join-messages.ts";
import { KeyManager } from "./keyrotation/index.ts";
import { nextMembershipStep, type MembershipStep } from "./membership.ts";
import { SecureRaftTransport } from "./raft-transport.ts";
import { type ClusterApplyResult, ClusterStateMachine } from "./state-machine.ts";
import { managersOf } from "./state.ts";

/** Commands that may change who the managers are or where they listen. */
const PEER_CHANGES: ReadonlySet<ClusterCommand["type"]> = new Set(["clusterInit", "nodeAdd", "nodeRole", "nodeRemove", "nodeHeartbeatAddress"]);

/** What a `ManagerNode` is built from. */
export interface ManagerNodeOptions {
  dataDir: string;
  identity: LocalIdentity;
  config: ClusterConfig;
  /** True for the founding manager (`shoal init`): bootstraps a one-voter configuration. */
  bootstrap: boolean;
  /** Managers to reach before the state names them (from the join reply). */
  seedPeers: readonly RaftPeer[];
  /** Opens a `raft` connection to `address`, refusing any node but `peer`. */
  dial(address: string, peer: string): Promise<SecureConnection>;
  metrics: MetricsRegistry;
  logger: Logger;
}

/** One manager's Raft node and cluster state; see the module comment. */
export class ManagerNode implements ClusterManagerHandle {
  readonly stateMachine: ClusterStateMachine;
  readonly transport: SecureRaftTransport;
  readonly keyManager: KeyManager;
  private readonly replica: Replica<ClusterApplyResult>;
  private readonly storage: DurableStorage;
  private readonly leadershipListeners = new Set<(leading: boolean) => void>();
  private leading = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private changing = false;

  constructor(private readonly options: ManagerNodeOptions) {
    const { identity, dataDir, logger } = options;
    const raftDir = clusterFiles.raft(dataDir);
    mkdirSync(raftDir, { recursive: true, mode: 0o700 });
    this.stateMachine = new ClusterStateMachine(raftDir);
    this.transport = new SecureRaftTransport({
      id: identity.nodeId,
      dial: options.dial,
      onMessage: (message) => this.replica.step(message),
      metrics: options.metrics,
      logger: logger.child({ subsystem: "raft-transport" }),
    });
    for (const peer of options.seedPeers) this.transport.setPeer(peer.id, peer.address);
    try {
      ({ replica: this.replica, storage: this.storage } = openReplica({
        dataDir: raftDir,
        raft: { id: identity.nodeId },
        stateMachine: this.stateMachine,
        transport: this.transport,
        bootstrap: options.bootstrap ? { voters: [identity.nodeId], learners: [], votersOutgoing: [] } : undefined,
        requestTimeoutMs: options.config.requestTimeoutMs,
        logger: logger.child({ subsystem: "raft" }),
        metrics: options.metrics,
      }));
    } catch (error) {
      this.stateMachine.close();
      throw error;
    }
    this.keyManager = new KeyManager({
      config: options.config.keyRotation,
      clusterId: identity.clusterId,
      boxKeys: { publicKey: identity.boxPublicKey, secretKey: identity.boxSecretKey },
      randomBytes: nacl.randomBytes,
      replicatedState: () => this.stateMachine.state().gossipKeys,
    });
    this.stateMachine.onApplied((applied) => this.afterApply(applied));
    this.stateMachine.onRestored(() => this.syncPeers());
    this.syncPeers();
  }

  /** Starts Raft and the reconciler. */
  start(): void {
    this.replica.start();
    this.timer = setInterval(() => this.tick(), this.options.config.reconcileIntervalMs);
  }

  /** Stops Raft and closes the store; the state stays on disk. */
  stop(): void {
    clearInterval(this.timer);
    this.replica.stop();
    this.transport.close();
    this.storage.close();
    this.stateMachine.close();
  }

  isLeader(): boolean {
    return this.replica.status().role === "leader";
  }

  leaderId(): string {
    return this.replica.status().leader;
  }

  state(): ClusterStateView {
    return this.stateMachine.state();
  }

  /** Raft's configuration (voters and learners) as last applied here. */
  conf(): ConfState {
    return this.replica.status().conf;
  }

  async propose(command: ClusterCommand): Promise<void> {
    const result = await this.replica.propose(encodeClusterCommand(command));
    if (result.refusal) throw new ShoalError(result.refusal.code, result.refusal.message);
  }

  onApplied(listener: (applied: AppliedCommand) => void): () => void {
    return this.stateMachine.onApplied(listener);
  }

  onLeadershipChange(listener: (leading: boolean) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  managers(): ManagerPeer[] {
    const leader = this.leaderId();
    const self = this.options.identity.nodeId;
    return managersOf(this.state()).map((node) => ({
      id: node.id,
      address: node.address,
      reachability: node.id === leader ? "leader" : node.id === self || this.transport.isConnected(node.id) ? "reachable" : "unreachable",
    }));
  }

  /** Manager ids reachable from here right now (this node included). */
  reachableManagers(): Set<string> {
    return new Set(this.managers().filter((peer) => peer.reachability !== "unreachable").map((peer) => peer.id));
  }

  /** Asks this leader to hand leadership over to `to`. */
  transferLeadership(to: string): void {
    this.replica.transferLeadership(to);
  }

  /** Logs key state changes and keeps the transport's peers current. */
  private afterApply({ command, refusal }: AppliedCommand): void {
    if (refusal) return;
    if (command.type === "gossipKey") {
      this.options.logger.info("gossip key state changed", { keyVersion: this.keyManager.version(), nextRotationAt: new Date(this.keyManager.state().nextRotationAt).toISOString() });
    }
    if (PEER_CHANGES.has(command.type)) this.syncPeers();
  }

  private syncPeers(): void {
    for (const node of managersOf(this.state())) this.transport.setPeer(node.id, node.address);
  }

  private tick(): void {
    const leading = this.isLeader();
    if (leading !== this.leading) {
      this.leading = leading;
      this.keyManager.setLeader(leading);
      for (const listener of this.leadershipListeners) listener(leading);
    }
    if (!leading || this.state().clusterId === "") return;
    // A new leader holds every committed entry but may not have applied them all yet: acting on a
    // stale state could remove a manager the state has just added.
    const { applied, commit } = this.replica.status();
    if (applied < commit) return;
    for (const entry of this.keyManager.tick(Date.now())) this.proposeQuietly({ type: "gossipKey", entry });
    if (!this.changing) void this.reconcileMembership();
  }

  private proposeQuietly(command: ClusterCommand): void {
    this.propose(command).catch((error) => this.options.logger.debug("proposal not applied", { type: command.type, error: describeError(error) }));
  }

  /** One membership step towards the state's managers (leader only); see `membership.ts`. */
  private async reconcileMembership(): Promise<void> {
    const { voters, learners } = this.conf();
    const step = nextMembershipStep({
      self: this.options.identity.nodeId,
      managers: new Set(managersOf(this.state()).map((node) => node.id)),
      voters,
      learners,
      reachable: (node) => this.transport.isConnected(node),
    });
    if (!step) return;
    this.changing = true;
    try {
      await this.takeStep(step);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) this.options.logger.debug("membership change not made yet", { step: step.kind, error: describeError(error) });
    } finally {
      this.changing = false;
    }
  }

  private async takeStep(step: MembershipStep): Promise<void> {
    const { logger } = this.options;
    switch (step.kind) {
      case "transferLeadership":
        logger.info("demoted: handing leadership over before leaving raft", { to: step.to });
        this.transferLeadership(step.to);
        return;
      case "remove":
        await this.replica.changeMembership({ type: "removeNode", node: step.node });
        logger.info("manager removed from raft", { node: step.node });
        return;
      case "addLearner":
        await this.replica.changeMembership({ type: "addLearner", node: step.node });
        logger.info("manager added to raft as a learner", { node: step.node });
        return;
      case "promote":
        for (const node of step.candidates) {
          try {
            await this.replica.promote(node);
          } catch (error) {
            // A learner still catching up (or down) must not hold back one that is ready.
            if (error instanceof ProposalDroppedError && error.reason === "learner_lagging") continue;
            throw error;
          }
          logger.info("learner promoted to voter", { node });
          return;
        }
    }
  }
}
