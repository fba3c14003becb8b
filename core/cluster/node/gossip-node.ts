/**
 * The node's cluster-scope gossip: the SWIM membership core in the gossip shell, sealed with the
 * cluster keyring, on the gossip port (UDP and TCP). It starts once the node holds a keyring
 * (delivered over its dispatcher session), joins through the managers' gossip addresses and
 * publishes the node's metadata (role, hostname, cluster address). It counts as joined once
 * another member is alive (or when it is the cluster's only node); until then it retries.
 */
import nacl from "tweetnacl";
import type { MetricsRegistry } from "../../api/metrics.ts";
import { decodeEnvelope, encodeEnvelope } from "../../common/envelope.ts";
import { describeError } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import { entropyRandom } from "../../common/random.ts";
import { lanConfig, localConfig, wanConfig } from "../../gossip/config.ts";
import { Membership } from "../../gossip/membership.ts";
import type { GossipEvent } from "../../gossip/types.ts";
import type { GossipProfile } from "../../agent/config.ts";
import type { Keyring } from "../../secure/keyring.ts";
import { PacketSeal } from "../../secure/seal.ts";
import { GossipShell } from "../../transport/gossip.ts";
import { formatHostPort, type HostPort } from "../../common/address.ts";
import type { LocalIdentity } from "../contract.ts";

const PROFILES = { lan: lanConfig, wan: wanConfig, local: localConfig } as const;
const META_KIND = "cluster.gossipMeta";
/** How often a node that has not reached any seed tries again. */
const JOIN_RETRY_MS = 5_000;
/** Longest a graceful leave may hold up shutdown. */
const LEAVE_WAIT_MS = 2_000;

/** What the node publishes to every member (envelope `cluster.gossipMeta` v1). */
export interface GossipNodeMeta {
  role: string;
  hostname: string;
  /** The node's cluster address (secure channel). */
  address: string;
}

/** What a `GossipNode` needs. */
export interface GossipNodeOptions {
  identity: LocalIdentity;
  hostname: string;
  /** Where to bind UDP and TCP; also the address advertised to peers. */
  bind: HostPort;
  profile: GossipProfile;
  keyring: Keyring;
  /** The gossip addresses to join through, best first (this node's own is skipped). */
  seeds: () => string[];
  /** Whether this node is the cluster's only node, with nobody to join. */
  alone: () => boolean;
  metrics: MetricsRegistry;
  logger: Logger;
}

/** One member as this node sees it, with the metadata it published (when readable). */
export interface GossipMemberView {
  /** Its node id. */
  name: string;
  /** Its gossip address. */
  address: string;
  state: string;
  meta?: GossipNodeMeta;
}

/** Where gossip is, for `/readyz` and status. */
export interface GossipNodeStatus {
  joined: boolean;
  /** Members alive or suspect, this node included. */
  liveMembers: number;
  address: string;
  members: GossipMemberView[];
}

/** Reads a member's published metadata; undefined when it is not in our form (never throws). */
export function decodeGossipMeta(bytes: Uint8Array): GossipNodeMeta | undefined {
  try {
    const body = decodeEnvelope(bytes, META_KIND, [1]).body as Record<string, unknown>;
    const { role, hostname, address } = body ?? {};
    if (typeof role !== "string" || typeof hostname !== "string" || typeof address !== "string") return undefined;
    return { role: role.slice(0, 16), hostname: hostname.slice(0, 64), address: address.slice(0, 128) };
  } catch {
    return undefined;
  }
}

/** A running gossip member. */
export class GossipNode {
  private joined = false;
  private retry: ReturnType<typeof setInterval> | undefined;
  private leaving: PromiseWithResolvers<void> | undefined;

  private constructor(
    private readonly options: GossipNodeOptions,
    private readonly shell: GossipShell,
  ) {}

  /** Binds the gossip sockets and joins through the seeds. */
  static async start(options: GossipNodeOptions): Promise<GossipNode> {
    const { identity, bind } = options;
    const address = formatHostPort(bind);
    const meta: GossipNodeMeta = { role: identity.role, hostname: options.hostname, address: identity.address };
    const config = PROFILES[options.profile]({ name: identity.nodeId, address, meta: encodeEnvelope(META_KIND, 1, meta) });
    const core = new Membership(config, entropyRandom(), Date.now());
    const seal = new PacketSeal({ keyring: options.keyring, clusterId: identity.clusterId, senderId: identity.nodeId, epoch: Date.now(), randomBytes: nacl.randomBytes });
    let node: GossipNode | undefined;
    const shell = await GossipShell.start({
      core, bind, seal, metrics: options.metrics, logger: options.logger,
      onEvent: (event) => node?.onEvent(event),
    });
    node = new GossipNode(options, shell);
    node.join();
    if (!node.joined) node.retry = setInterval(() => node?.join(), JOIN_RETRY_MS);
    return node;
  }

  /** Whether gossip has joined and how many members it sees, without decoding every member's metadata (for `/readyz`). */
  summary(): Omit<GossipNodeStatus, "members"> {
    return { joined: this.joined, liveMembers: this.shell.core.liveCount(), address: this.shell.address };
  }

  /** The summary and every member with its published metadata. */
  status(): GossipNodeStatus {
    const members = this.shell.core.members().map(({ name, address, state, meta }) => ({ name, address, state, ...withMeta(decodeGossipMeta(meta)) }));
    return { ...this.summary(), members };
  }

  /** Leaves gracefully (bounded), then closes the sockets. */
  async stop(): Promise<void> {
    clearInterval(this.retry);
    this.leaving = Promise.withResolvers<void>();
    try {
      this.shell.core.leave(Date.now());
      this.shell.flush();
      const timer = setTimeout(() => this.leaving?.resolve(), LEAVE_WAIT_MS);
      await this.leaving.promise;
      clearTimeout(timer);
    } catch (error) {
      this.options.logger.debug("gossip leave failed", { error: describeError(error) });
    }
    this.shell.close();
  }

  private join(): void {
    if (this.joined) return;
    if (this.options.alone()) {
      this.markJoined();
      return;
    }
    const own = this.shell.address;
    const seeds = this.options.seeds().filter((seed) => seed !== own);
    if (seeds.length === 0) return;
    this.shell.core.joinCluster(seeds, Date.now());
    this.shell.flush();
  }

  /** Joined: the retry timer has nothing left to do, so it stops waking the process. */
  private markJoined(): void {
    this.joined = true;
    clearInterval(this.retry);
    this.retry = undefined;
  }

  private onEvent(event: GossipEvent): void {
    if (event.type === "joinComplete") {
      if (!this.joined) this.options.logger.info("gossip joined", { contacted: event.contacted });
      this.markJoined();
    } else if (event.type === "joinFailed") {
      this.options.logger.warn("gossip join failed; retrying", { attempts: event.attempts });
    } else if (event.type === "leaveComplete") {
      this.leaving?.resolve();
    } else if (event.change === "join" || event.change === "dead" || event.change === "leave") {
      // Another member reaching us counts as joined too (a seed restarted after we tried it).
      if (event.change === "join" && event.member.name !== this.options.identity.nodeId) this.markJoined();
      this.options.logger.info(`gossip member ${event.change}`, { member: event.member.name, address: event.member.address });
    }
  }
}

function withMeta(meta: GossipNodeMeta | undefined): { meta?: GossipNodeMeta } {
  return meta === undefined ? {} : { meta };
}
