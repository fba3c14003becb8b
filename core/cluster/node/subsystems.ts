/**
 * The subsystems every cluster node runs after the cluster subsystem: `dispatcher` (its session
 * with a manager, and on managers the sessions they serve) and `gossip` (cluster-scope
 * membership, sealed with the keyring the dispatcher delivers). Both follow the node's identity:
 * they start when it enters a cluster, restart when its role changes and stop when it leaves.
 *
 * `/readyz` says why a node is not ready: `dispatcher` fails while the node has no open session
 * (naming the manager it is trying), `gossip` while it holds no keyring or has not joined.
 */
import { hostname } from "node:os";
import { formatHostPort, isWildcardHost, parseHostPort } from "../../common/address.ts";
import { ConfigError } from "../../agent/config.ts";
import type { Subsystem, SubsystemContext, SubsystemFactory } from "../../agent/subsystem.ts";
import type { ClusterRuntime, ClusterRuntimeSource, LocalIdentity } from "../contract.ts";
import { dispatcherConfig, type DispatcherConfig } from "../dispatcher/config.ts";
import { DEFAULT_KEY_ROTATION_CONFIG } from "../keyrotation/index.ts";
import { ManagerSessionShell } from "../dispatcher/manager-shell.ts";
import { DispatcherMetrics } from "../dispatcher/metrics.ts";
import { NodeSessionShell } from "../dispatcher/node-shell.ts";
import { SharedGossipState } from "./gossip-state.ts";
import { GossipNode } from "./gossip-node.ts";

/** The dispatcher and gossip factories, sharing one gossip keyring. */
export function nodeSubsystems(source: ClusterRuntimeSource): SubsystemFactory[] {
  const shared = new SharedGossipState();
  return [
    { name: "dispatcher", create: (context) => new DispatcherSubsystem(source.runtime(), shared, context) },
    { name: "gossip", create: (context) => new GossipSubsystem(source.runtime(), shared, context) },
  ];
}

/** Timing derived from the one configured heartbeat period, in the default proportions (5 s: open 10 s, orphan 30 s). */
function dispatcherTiming(heartbeatPeriod: number): DispatcherConfig {
  return dispatcherConfig({ heartbeatPeriod, openTimeout: 2 * heartbeatPeriod, orphanGrace: 6 * heartbeatPeriod });
}

/** Follows the node's identity: `apply` runs at start and after each change, one at a time. */
abstract class IdentityFollower implements Subsystem {
  abstract readonly name: string;
  private unsubscribe: (() => void) | undefined;
  private applying: Promise<void> = Promise.resolve();

  constructor(protected readonly runtime: ClusterRuntime) {}

  async start(): Promise<void> {
    this.unsubscribe = this.runtime.onIdentityChange((identity) => this.enqueue(identity));
    await this.enqueue(this.runtime.identity());
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.enqueue(undefined);
  }

  /** Stops what runs for the previous identity and starts what `identity` needs. */
  protected abstract apply(identity: LocalIdentity | undefined): Promise<void>;

  private enqueue(identity: LocalIdentity | undefined): Promise<void> {
    this.applying = this.applying.then(() => this.apply(identity));
    return this.applying;
  }
}

class DispatcherSubsystem extends IdentityFollower {
  readonly name = "dispatcher";
  private readonly metrics: DispatcherMetrics;
  private node: NodeSessionShell | undefined;
  private manager: ManagerSessionShell | undefined;
  private clusterId: string | undefined;

  constructor(runtime: ClusterRuntime, private readonly shared: SharedGossipState, private readonly context: SubsystemContext) {
    super(runtime);
    this.metrics = new DispatcherMetrics(context.metrics);
    runtime.handle("dispatcher", (channel) => {
      if (this.manager) this.manager.accept(channel);
      else channel.close();
    });
    context.readiness.add("dispatcher", () => this.readiness());
    context.controlApi.get("/v1/dispatcher", (c) => c.json(this.status()));
  }

  protected async apply(identity: LocalIdentity | undefined): Promise<void> {
    this.node?.stop();
    this.manager?.stop();
    this.node = undefined;
    this.manager = undefined;
    if (!identity) return;
    const { config, logger } = this.context;
    const timing = dispatcherTiming(config.heartbeatPeriodMs);
    const handle = this.runtime.manager();
    if (identity.role === "manager" && handle) {
      const keyringRetryMs = DEFAULT_KEY_ROTATION_CONFIG.distributionRetry;
      const gossipAddress = formatHostPort(gossipBind(config.gossipAddr, identity.address));
      this.manager = new ManagerSessionShell({ identity, manager: handle, config: timing, keyringRetryMs, gossipAddress, metrics: this.metrics, logger: logger.child({ side: "manager" }) });
      this.manager.start();
    }
    // A keyring belongs to one cluster; a role change within it keeps gossiping with the same keys.
    if (identity.clusterId !== this.clusterId) this.shared.reset();
    this.clusterId = identity.clusterId;
    this.node = new NodeSessionShell({
      identity,
      config: timing,
      dial: (address) => this.runtime.dial("dispatcher", address),
      keyring: this.shared.keyring,
      onKeyringInstalled: (version) => this.shared.installed(version),
      onAccepted: (managers, gossipAddress) => {
        this.runtime.setManagerAddresses(managers);
        if (gossipAddress !== "") this.shared.seed = gossipAddress;
      },
      metrics: this.metrics,
      logger: logger.child({ side: "node" }),
    });
    this.node.start();
  }

  private readiness() {
    const status = this.node?.status();
    if (!status) return { ok: true, detail: "not in a cluster" };
    if (status.state === "open") return { ok: true, detail: `session with ${status.address}` };
    if (status.state === "removed") return { ok: false, detail: "no dispatcher session: this node was removed from the cluster" };
    if (status.state === "idle") return { ok: false, detail: "no dispatcher session: every manager failed, retrying" };
    return { ok: false, detail: `no dispatcher session: ${status.state} ${status.address}` };
  }

  private status() {
    return {
      session: this.node?.status() ?? null,
      keyringVersion: this.shared.version,
      served: this.manager?.served() ?? [],
    };
  }
}

class GossipSubsystem extends IdentityFollower {
  readonly name = "gossip";
  private gossip: GossipNode | undefined;
  private identity: LocalIdentity | undefined;
  private starting: Promise<void> | undefined;
  private readonly unsubscribeKeys: () => void;

  constructor(runtime: ClusterRuntime, private readonly shared: SharedGossipState, private readonly context: SubsystemContext) {
    super(runtime);
    this.unsubscribeKeys = shared.onInstalled(() => void this.startGossip());
    context.readiness.add("gossip", () => this.readiness());
    context.controlApi.get("/v1/gossip", (c) => c.json({ keyringVersion: shared.version, ...(this.gossip?.status() ?? { joined: false, liveMembers: 0, address: null, members: [] }) }));
  }

  override async stop(): Promise<void> {
    this.unsubscribeKeys();
    await super.stop();
  }

  protected async apply(identity: LocalIdentity | undefined): Promise<void> {
    await this.starting;
    await this.gossip?.stop();
    this.gossip = undefined;
    this.identity = identity;
    if (identity && this.shared.version > 0) await this.startGossip();
  }

  /** Starts gossip once there is an identity and a keyring; a no-op when running. */
  private startGossip(): Promise<void> {
    const identity = this.identity;
    if (!identity || this.gossip || this.shared.version === 0) return Promise.resolve();
    this.starting ??= this.bindAndJoin(identity).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async bindAndJoin(identity: LocalIdentity): Promise<void> {
    const { config, logger, metrics } = this.context;
    const bind = gossipBind(config.gossipAddr, identity.address);
    this.gossip = await GossipNode.start({
      identity,
      hostname: config.nodeName || hostname(),
      bind,
      profile: config.gossipProfile,
      keyring: this.shared.keyring,
      seeds: () => this.seeds(identity, bind.port),
      alone: () => this.runtime.manager()?.state().nodes.size === 1,
      metrics,
      logger,
    });
    logger.info("gossip started", { address: this.gossip.summary().address, keyringVersion: this.shared.version });
  }

  /**
   * Where to join: the manager serving this node's session (it announced its gossip address), then,
   * on a manager, the other managers' hosts on this node's gossip port — for a manager whose own
   * session is with itself.
   */
  private seeds(identity: LocalIdentity, port: number): string[] {
    const others = (this.runtime.manager()?.managers() ?? []).filter((peer) => peer.id !== identity.nodeId).flatMap((peer) => {
      const parsed = parseHostPort(peer.address);
      return "error" in parsed ? [] : [formatHostPort({ host: parsed.host, port })];
    });
    return [...new Set([...(this.shared.seed === undefined ? [] : [this.shared.seed]), ...others])];
  }

  private readiness() {
    if (!this.identity) return { ok: true, detail: "not in a cluster" };
    if (this.shared.version === 0) return { ok: false, detail: "gossip not started: no gossip keyring yet (it comes over the dispatcher session)" };
    const status = this.gossip?.summary();
    if (!status) return { ok: false, detail: "gossip starting" };
    if (!status.joined) return { ok: false, detail: `gossip not joined: no answer from ${this.shared.seed ?? "a manager"} yet` };
    return { ok: true, detail: `${status.liveMembers} members` };
  }
}

/**
 * The gossip bind address: the configured one, with a wildcard host replaced by the host of the
 * node's cluster address, so that the address gossip advertises is one peers can reach.
 */
function gossipBind(gossipAddr: string, clusterAddress: string) {
  const gossip = parseHostPort(gossipAddr);
  if ("error" in gossip) throw new ConfigError(`invalid gossipAddr ${JSON.stringify(gossipAddr)}: ${gossip.error}`);
  if (!isWildcardHost(gossip.host)) return gossip;
  const cluster = parseHostPort(clusterAddress);
  return "error" in cluster ? gossip : { host: cluster.host, port: gossip.port };
}
