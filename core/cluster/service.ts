/**
 * The cluster subsystem of one agent: this node's identity, its role, and everything that moves
 * a node in or out of a cluster or between roles.
 *
 * - Standalone (no identity): `init` founds a cluster, `join` enters one.
 * - Manager: runs a `ManagerNode` (Raft + state), the cluster listener (join, raft, dispatcher,
 *   api-forward), and applies its own demotion or removal when the state says so.
 * - Worker: runs no listener; it asks a manager now and then whether it was promoted.
 * - Everyone: renews its certificate at `renewalTime`; on restart, resumes from the stored
 *   identity without a token.
 */
import { rmSync } from "node:fs";
import nacl from "tweetnacl";
import { ApiError } from "../api/errors.ts";
import type { SubsystemContext } from "../agent/subsystem.ts";
import { describeError, ShoalError } from "../common/errors.ts";
import { entropyRandom } from "../common/random.ts";
import { renewalTime, verifyCertificate } from "../secure/certificate.ts";
import type { SecureConnection } from "../secure/channel/index.ts";
import { sha256 } from "../secure/hash.ts";
import { formatJoinToken, parseJoinToken } from "../secure/token.ts";
import { assertBindable, resolveAddresses, type AddressOptions } from "./addresses.ts";
import { ClusterListener, dialCluster, type ChannelEnvironment } from "./channel.ts";
import type { ClusterConfig } from "./config.ts";
import type { AppliedCommand, ChannelHandler, ChannelPurpose, ClusterManagerHandle, ClusterNodeView, ClusterRuntime, LocalIdentity, NodeRole } from "./contract.ts";
import { forceNewCluster } from "./force-new-cluster.ts";
import { foundCluster } from "./founding.ts";
import { forwardRequest, serveForwarded, type ForwardedReply, type ForwardedRequest } from "./forward.ts";
import { clusterFiles, forgetCluster, loadIdentity, loadRootKey, saveIdentity } from "./identity-store.ts";
import { joinCluster, renewCertificate, type Admission } from "./join-client.ts";
import type { RaftPeer } from "./join-messages.ts";
import { JOIN_SECRET_BYTES, openJoinSecret, sealJoinSecret } from "./join-secret.ts";
import { serveJoin } from "./join-server.ts";
import { ManagerNode } from "./manager.ts";
import { managersOf } from "./state.ts";

/** What `init` prints. */
export interface InitResult {
  clusterId: string;
  nodeId: string;
  tokens: Record<NodeRole, string>;
}

const NO_REVOCATIONS: ReadonlySet<string> = new Set();

/** See the module comment. */
export class ClusterService implements ClusterRuntime {
  private current: LocalIdentity | undefined;
  private rootSecretKey: Uint8Array | undefined;
  private managerNode: ManagerNode | undefined;
  private listener: ClusterListener | undefined;
  private readonly handlers = new Map<ChannelPurpose, ChannelHandler>();
  private readonly identityListeners = new Set<(identity: LocalIdentity | undefined) => void>();
  private maintenance: ReturnType<typeof setInterval> | undefined;
  private renewalTimer: ReturnType<typeof setTimeout> | undefined;
  private renewAt = Infinity;
  private expiresAt = Infinity;
  private busy: Promise<unknown> = Promise.resolve();
  private readonly random = entropyRandom();

  constructor(
    private readonly context: SubsystemContext,
    readonly config: ClusterConfig,
  ) {
    this.handlers.set("join", (connection) =>
      serveJoin(connection, { manager: () => this.managerNode, rootSecretKey: () => this.rootSecretKey, config, logger: context.logger }),
    );
    // Raft and forwarded API writes are for managers only: a worker's certificate opens neither.
    this.handlers.set("raft", (connection) => {
      if (this.managerNode && this.isManagerPeer(connection)) this.managerNode.transport.accept(connection);
      else connection.close();
    });
    this.handlers.set("api-forward", (connection) => {
      if (this.isManagerPeer(connection)) serveForwarded(connection, context.controlApi, context.logger);
      else connection.close();
    });
  }

  // ---- ClusterRuntime ----

  identity(): LocalIdentity | undefined {
    return this.current;
  }

  manager(): ClusterManagerHandle | undefined {
    return this.managerNode;
  }

  onIdentityChange(listener: (identity: LocalIdentity | undefined) => void): () => void {
    this.identityListeners.add(listener);
    return () => this.identityListeners.delete(listener);
  }

  handle(purpose: Exclude<ChannelPurpose, "join" | "raft">, handler: ChannelHandler): void {
    this.handlers.set(purpose, handler);
  }

  dial(purpose: ChannelPurpose, address: string, expectedPeerId?: string): Promise<SecureConnection> {
    const identity = this.current;
    if (!identity) return Promise.reject(new ShoalError("not_in_cluster", "this node is not in a cluster"));
    return dialCluster(identity, purpose, address, this.channelEnvironment(), expectedPeerId);
  }

  setManagerAddresses(addresses: string[]): void {
    const identity = this.current;
    if (!identity || addresses.length === 0 || sameList(addresses, identity.managerAddresses)) return;
    this.current = { ...identity, managerAddresses: [...addresses] };
    saveIdentity(this.context.config.dataDir, this.current);
  }

  // ---- lifecycle ----

  /** Resumes the stored identity, if any: a restarted node rejoins by itself. */
  async start(): Promise<void> {
    const { dataDir } = this.context.config;
    const identity = loadIdentity(dataDir);
    try {
      if (identity) this.activate(identity, loadRootKey(dataDir), { bootstrap: false, seeds: [] });
    } catch (error) {
      // An expired certificate (a node offline past its lifetime) is not fatal to the agent: it
      // runs standalone until it joins again.
      this.deactivate();
      this.context.logger.error('the stored cluster identity cannot be used; join again with "shoal join <token>"', { error: describeError(error) });
    }
    this.maintenance = setInterval(() => this.runMaintenance(), this.config.maintenanceIntervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.maintenance);
    clearTimeout(this.renewalTimer);
    await this.busy.catch(() => {});
    this.deactivate();
  }

  // ---- operations behind the control API ----

  /** `shoal init`: founds a cluster with this node as its only manager. */
  init(options: AddressOptions & { forceNewCluster?: boolean }): Promise<InitResult> {
    return this.serialized(async () => {
      if (options.forceNewCluster) return this.recoverQuorum();
      if (this.current) throw new ApiError(409, "already_in_cluster", `this node is already in cluster ${this.current.clusterId}; run "shoal leave" first`);
      const { advertise, listen } = resolveAddresses(options, this.context.config);
      const founding = foundCluster({
        nodeId: this.context.nodeId, hostname: this.context.config.nodeName, address: advertise, listenAddress: listen,
        certificateLifetimeMs: this.config.certificateLifetimeMs, now: Date.now(),
      });
      const { identity, rootSecretKey, secrets } = founding;
      forgetCluster(this.context.config.dataDir);
      saveIdentity(this.context.config.dataDir, identity, rootSecretKey);
      try {
        const manager = this.requireStarted(this.activate(identity, rootSecretKey, { bootstrap: true, seeds: [] }));
        await waitFor(() => manager.isLeader(), this.config.requestTimeoutMs, "the new cluster did not elect this node");
        await manager.propose(founding.command);
      } catch (error) {
        this.deactivate();
        forgetCluster(this.context.config.dataDir);
        throw error;
      }
      const { clusterId, nodeId } = identity;
      this.context.logger.info("cluster initialised", { clusterId, nodeId, address: advertise });
      return { clusterId, nodeId, tokens: { manager: this.tokenFor("manager", secrets.manager), worker: this.tokenFor("worker", secrets.worker) } };
    });
  }

  /** `shoal join <token>`: enters the token's cluster; nothing is written unless a manager accepts. */
  join(tokenText: string, options: AddressOptions): Promise<{ nodeId: string; clusterId: string; role: NodeRole }> {
    return this.serialized(async () => {
      if (this.current) throw new ApiError(409, "already_in_cluster", `this node is already in cluster ${this.current.clusterId}; run "shoal leave" first`);
      let token;
      try {
        token = parseJoinToken(tokenText);
      } catch (error) {
        throw new ApiError(400, "token_invalid", describeError(error));
      }
      const { advertise, listen } = resolveAddresses(options, this.context.config);
      // A manager must be able to listen; find out before the cluster lists it.
      if (token.role === "manager") await assertBindable(listen);
      let admission: Admission;
      try {
        admission = await joinCluster(token, {
          nodeId: this.context.nodeId, hostname: this.context.config.nodeName, address: advertise, listenAddress: listen,
          timeoutMs: this.config.requestTimeoutMs, metrics: this.context.metrics, logger: this.context.logger,
        });
      } catch (error) {
        const code = error instanceof ShoalError ? error.code : "join_failed";
        throw new ApiError(code === "managers_unreachable" ? 502 : 400, code, describeError(error));
      }
      // Whatever an unusable earlier identity left behind (an old Raft store) must not mix with the new one.
      forgetCluster(this.context.config.dataDir);
      saveIdentity(this.context.config.dataDir, admission.identity, admission.rootSecretKey);
      this.activate(admission.identity, admission.rootSecretKey, { bootstrap: false, seeds: admission.managers });
      this.context.logger.info("joined the cluster", { clusterId: admission.identity.clusterId, role: admission.identity.role });
      return { nodeId: admission.identity.nodeId, clusterId: admission.identity.clusterId, role: admission.identity.role };
    });
  }

  /** `shoal leave`: a manager must be demoted first unless `force`. */
  leave(force: boolean): Promise<{ left: string }> {
    return this.serialized(async () => {
      const identity = this.current;
      if (!identity) throw new ApiError(409, "not_in_cluster", "this node is not in a cluster");
      const manager = this.managerNode;
      if (manager && !force) {
        throw new ApiError(409, "manager_must_demote", 'this node is a manager: demote it first ("shoal node demote <id>" from a manager), or use leave --force, which can cost the cluster its quorum');
      }
      if (manager && managersOf(manager.state()).length > 1) {
        await manager.propose({ type: "nodeRemove", nodeId: identity.nodeId }).catch((error) => this.context.logger.warn("could not remove this node from the cluster state", { error: describeError(error) }));
      }
      this.leaveLocally();
      this.context.logger.info("left the cluster", { clusterId: identity.clusterId });
      return { left: identity.clusterId };
    });
  }

  /** A join token of `role` (managers only). */
  joinToken(role: NodeRole): string {
    const { manager, rootSecretKey } = this.requireManager();
    return this.tokenFor(role, openJoinSecret(manager.state().joinTokens[role], rootSecretKey));
  }

  /** Replaces `role`'s secret (leader); already joined nodes are not affected. */
  async rotateJoinToken(role: NodeRole): Promise<string> {
    const { manager, rootSecretKey } = this.requireManager();
    const secret = nacl.randomBytes(JOIN_SECRET_BYTES);
    await manager.propose({ type: "joinTokenRotate", role, secret: sealJoinSecret(secret, rootSecretKey, nacl.randomBytes) });
    this.context.logger.info("join token rotated", { role });
    return this.tokenFor(role, secret);
  }

  /** `shoal key rotate` (leader): brings the next gossip key rotation forward. */
  async rotateGossipKey(): Promise<{ rotatesAt: number }> {
    const { manager } = this.requireManager();
    const rotation = manager.keyManager.rotateNow(Date.now());
    for (const entry of rotation.proposals) await manager.propose({ type: "gossipKey", entry });
    return { rotatesAt: rotation.rotatesAt };
  }

  /** Every node with its manager standing. */
  nodes(): ClusterNodeView[] {
    const { manager } = this.requireManager();
    const standing = new Map(manager.managers().map((peer) => [peer.id, peer.reachability]));
    return [...manager.state().nodes.values()]
      .map((node) => (node.role === "manager" ? { ...node, managerStatus: standing.get(node.id) ?? "unreachable" } : node))
      .sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
  }

  /** The running manager and root key; a 409 on a node that is not one. */
  requireManager(): { manager: ManagerNode; rootSecretKey: Uint8Array } {
    if (!this.managerNode || !this.rootSecretKey) {
      throw new ApiError(409, "not_manager", this.current ? "this node is a worker: run the command on a manager" : 'this node is not in a cluster: "shoal init" or "shoal join" first');
    }
    return { manager: this.managerNode, rootSecretKey: this.rootSecretKey };
  }

  /**
   * Sends a request to the leader over `api-forward`. A node that just started or lost its leader
   * waits up to `leaderWaitMs` for one; undefined when none is known by then.
   */
  async forwardToLeader(request: ForwardedRequest): Promise<ForwardedReply | undefined> {
    const { manager } = this.requireManager();
    const known = () => manager.state().nodes.has(manager.leaderId());
    await waitFor(known, this.config.leaderWaitMs, "no leader").catch(() => {});
    const leader = manager.leaderId();
    const address = manager.state().nodes.get(leader)?.address;
    if (!leader || !address) return undefined;
    const connection = await this.dial("api-forward", address, leader);
    try {
      return await forwardRequest(connection, request, this.config.requestTimeoutMs);
    } finally {
      connection.close();
    }
  }

  // ---- internals ----

  /** Runs as `identity`: a manager starts Raft and the listener (and is returned); a worker only records it. */
  private activate(identity: LocalIdentity, rootSecretKey: Uint8Array | undefined, start: { bootstrap: boolean; seeds: readonly RaftPeer[] }): ManagerNode | undefined {
    this.current = identity;
    this.rootSecretKey = rootSecretKey;
    this.scheduleRenewal(identity);
    let manager: ManagerNode | undefined;
    if (identity.role === "manager" && rootSecretKey) {
      manager = new ManagerNode({
        dataDir: this.context.config.dataDir, identity, config: this.config, bootstrap: start.bootstrap, seedPeers: start.seeds,
        dial: (address, peer) => this.dial("raft", address, peer), metrics: this.context.metrics, logger: this.context.logger,
      });
      this.managerNode = manager;
      manager.onApplied((applied) => this.onApplied(applied));
      try {
        this.listener = new ClusterListener(identity.listenAddress, () => this.current ?? identity, this.handlers, this.channelEnvironment());
      } catch (error) {
        manager.stop();
        this.managerNode = undefined;
        throw new ApiError(500, "listen_failed", `cannot listen on ${identity.listenAddress}: ${describeError(error)}`);
      }
      manager.start();
    }
    this.notifyIdentity();
    return manager;
  }

  private requireStarted(manager: ManagerNode | undefined): ManagerNode {
    if (!manager) throw new ShoalError("internal", "a manager identity did not start a manager");
    return manager;
  }

  private deactivate(): void {
    this.listener?.close();
    this.listener = undefined;
    this.managerNode?.stop();
    this.managerNode = undefined;
    this.current = undefined;
    this.rootSecretKey = undefined;
    this.renewAt = Infinity;
    this.expiresAt = Infinity;
    clearTimeout(this.renewalTimer);
  }

  /** Drops this node's cluster identity and files: it runs standalone from now on. */
  private leaveLocally(): void {
    this.deactivate();
    forgetCluster(this.context.config.dataDir);
    this.notifyIdentity();
  }

  /** Checks `identity`'s certificate (throws when it cannot be used) and picks its renewal time. */
  private scheduleRenewal(identity: LocalIdentity): void {
    const certificate = verifyCertificate(identity.certificate, { rootPublicKey: identity.rootPublicKey, clusterId: identity.clusterId, now: Date.now() });
    this.renewAt = renewalTime(certificate.fields, this.random);
    this.expiresAt = certificate.fields.notAfter;
    this.armRenewal(this.renewAt);
  }

  /**
   * Wakes maintenance at `at`. The periodic check alone could land up to a whole interval after
   * the renewal time, which for a short-lived certificate can be past its expiry.
   */
  private armRenewal(at: number): void {
    clearTimeout(this.renewalTimer);
    const delay = Math.min(Math.max(0, at - Date.now()), MAX_TIMER_DELAY_MS);
    this.renewalTimer = setTimeout(() => {
      if (Date.now() < this.renewAt) this.armRenewal(this.renewAt);
      else this.runMaintenance();
    }, delay);
  }

  private runMaintenance(): void {
    this.serialized(() => this.maintain()).catch((error) => {
      this.context.logger.warn("certificate or role maintenance failed; retrying", { error: describeError(error) });
      // A failed renewal is retried well before the certificate expires, not a whole interval later.
      if (Date.now() >= this.renewAt) this.armRenewal(Date.now() + renewalRetryDelay(this.expiresAt - Date.now(), this.config.maintenanceIntervalMs));
    });
  }

  /** Reacts to entries about this node (its removal) and closes removed peers' connections. */
  private onApplied({ command, refusal }: AppliedCommand): void {
    if (refusal || command.type !== "nodeRemove") return;
    // Only removals cut live connections: a renewal's own reply still travels on the old certificate's connection.
    for (const serial of this.managerNode?.state().revokedSerials ?? []) this.listener?.closeSerial(serial);
    if (command.nodeId !== this.current?.nodeId) return;
    this.context.logger.warn("this node was removed from the cluster; leaving");
    void this.serialized(async () => this.leaveLocally());
  }

  /** Periodic: renew the certificate when due, and follow a role change made by the managers. */
  private async maintain(): Promise<void> {
    const identity = this.current;
    if (!identity) return;
    const manager = this.managerNode;
    const stateRole = manager?.state().nodes.get(identity.nodeId)?.role;
    if (manager && stateRole === "worker") {
      // Demoted. A leader first hands leadership over (the reconciler does); a follower can stop
      // at once: the demotion was checked to leave a quorum without it, and a removed node may
      // never learn of its own removal from the configuration.
      if (manager.isLeader()) return;
      const others = managersOf(manager.state()).map((node) => node.address);
      await this.switchRole({ ...identity, managerAddresses: others }, undefined);
      return;
    }
    const due = Date.now() >= this.renewAt;
    if (!manager || due) {
      let renewed;
      try {
        renewed = await renewCertificate(identity, { timeoutMs: this.config.requestTimeoutMs, metrics: this.context.metrics, logger: this.context.logger }, due ? undefined : identity.role);
      } catch (error) {
        // A worker learns of its removal only this way (it holds no state): it leaves by itself.
        if (!manager && error instanceof ShoalError && error.code === "certificate_revoked") {
          this.context.logger.warn('this node was removed from the cluster; leaving (join again with "shoal join <token>")', { error: error.message });
          this.leaveLocally();
          return;
        }
        throw error;
      }
      if (renewed === "unchanged") return;
      this.context.logger.info("certificate renewed", { role: renewed.identity.role, due });
      await this.switchRole(renewed.identity, renewed);
    }
  }

  /** Restarts this node under a new certificate (renewal, promotion, demotion). */
  private async switchRole(identity: LocalIdentity, admission: Admission | undefined): Promise<void> {
    const { dataDir } = this.context.config;
    let next = identity;
    let rootSecretKey = admission?.rootSecretKey;
    if (!admission) {
      // Demotion: a worker certificate from one of the remaining managers.
      const renewed = await renewCertificate(identity, { timeoutMs: this.config.requestTimeoutMs, metrics: this.context.metrics, logger: this.context.logger });
      if (renewed === "unchanged") return;
      next = renewed.identity;
      rootSecretKey = renewed.rootSecretKey;
    }
    if (next.role === this.current?.role) {
      this.renewInPlace(next);
      return;
    }
    const wasManager = this.managerNode !== undefined;
    this.deactivate();
    if (next.role === "worker") {
      rmSync(clusterFiles.rootKey(dataDir), { force: true });
      if (wasManager) rmSync(clusterFiles.raft(dataDir), { recursive: true, force: true });
    }
    saveIdentity(dataDir, next, rootSecretKey);
    this.activate(next, rootSecretKey ?? loadRootKey(dataDir), { bootstrap: false, seeds: admission?.managers ?? [] });
    this.context.logger.info("running with a new certificate", { role: next.role });
  }

  /**
   * A renewal keeps the role: Raft and the listener keep running; new connections present the
   * new certificate, open ones carry on under the old one until it expires.
   */
  private renewInPlace(next: LocalIdentity): void {
    saveIdentity(this.context.config.dataDir, next);
    this.current = next;
    this.scheduleRenewal(next);
    this.notifyIdentity();
    this.context.logger.info("running with a new certificate", { role: next.role });
  }

  /** `init --force-new-cluster` on a running manager that lost its quorum. */
  private async recoverQuorum(): Promise<InitResult> {
    const identity = this.current;
    const rootSecretKey = this.rootSecretKey;
    if (!identity || !this.managerNode || !rootSecretKey) throw new ApiError(409, "not_manager", "--force-new-cluster needs a node that is (or was) a manager of the cluster");
    this.deactivate();
    const { index } = forceNewCluster(this.context.config.dataDir, identity.nodeId);
    this.context.logger.warn("forced a new one-manager cluster from the local state", { index });
    const manager = this.requireStarted(this.activate(identity, rootSecretKey, { bootstrap: false, seeds: [] }));
    await waitFor(() => manager.isLeader(), this.config.requestTimeoutMs, "the recovered cluster did not elect this node");
    return { clusterId: identity.clusterId, nodeId: identity.nodeId, tokens: { manager: this.joinToken("manager"), worker: this.joinToken("worker") } };
  }

  private tokenFor(role: NodeRole, secret: Uint8Array): string {
    const identity = this.current;
    if (!identity) throw new ApiError(409, "not_in_cluster", "this node is not in a cluster");
    const managers = this.managerNode ? managersOf(this.managerNode.state()).map((node) => node.address) : [];
    return formatJoinToken({ rootPin: sha256(identity.rootPublicKey), role, secret, managers: managers.length > 0 ? managers.slice(0, 16) : [identity.address] });
  }

  /** Whether the peer holds a manager certificate for a node the state lists as a manager. */
  private isManagerPeer(connection: SecureConnection): boolean {
    const { peer } = connection;
    if (peer.kind !== "member" || peer.certificate.role !== "manager") {
      this.context.logger.warn("manager-only connection refused", { remote: connection.remoteAddress, peer: peer.kind === "member" ? peer.certificate.nodeId : "joining" });
      return false;
    }
    // A manager that joined moments ago may not be in this node's copy of the state yet.
    const listed = this.managerNode?.state().nodes.get(peer.certificate.nodeId);
    return listed === undefined || listed.role === "manager";
  }

  private channelEnvironment(): ChannelEnvironment {
    return { metrics: this.context.metrics, logger: this.context.logger, revoked: () => this.managerNode?.state().revokedSerials ?? NO_REVOCATIONS };
  }

  private notifyIdentity(): void {
    for (const listener of this.identityListeners) listener(this.current);
  }

  /** Runs identity-changing work one at a time. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.busy.catch(() => {}).then(work);
    this.busy = next;
    return next;
  }
}

async function waitFor(predicate: () => boolean, timeoutMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new ShoalError("timeout", `${failure} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** setTimeout fires at once for delays beyond a signed 32-bit count of milliseconds (about 24.8 days). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A tenth of the time left before expiry, between 100 ms and `maintenanceIntervalMs`: several tries fit before it. */
function renewalRetryDelay(untilExpiryMs: number, maintenanceIntervalMs: number): number {
  return Math.min(maintenanceIntervalMs, Math.max(100, Math.floor(untilExpiryMs / 10)));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
