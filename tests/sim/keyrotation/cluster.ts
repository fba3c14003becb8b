/**
 * A simulated cluster for gossip key rotation: managers apply an abstract replicated log through
 * the cluster state machine's rules (`KeyStateReplica`), run `KeyManager` over the state that
 * yields and deliver keyrings with `KeyDistributor`; every node (managers too) holds a
 * dispatcher session to a manager, installs what it receives into a real `Keyring`, and gossips
 * by sealing a probe every virtual second with the real `PacketSeal`, which every other synced
 * node must open. Sessions are messages on a `VirtualNetwork` that loses, repeats and reorders.
 *
 * A node repeats its hello until its manager answers (the manager always answers a hello with
 * the current keyring). A node is *synced* while it is online and has received a keyring since it
 * last came online (a node failing over to another manager stays synced: it keeps gossiping);
 * the probe check covers exactly the synced nodes, and a node that turns synced is checked at
 * once in both directions (it must be able to gossip immediately).
 */
import nacl from "tweetnacl";
import { KeyDistributor, KeyManager, KeyringReceiver, type KeyRotationConfig, installKeyring } from "../../../core/cluster/keyrotation/index.ts";
import { Keyring } from "../../../core/secure/keyring.ts";
import { PacketSeal } from "../../../core/secure/seal.ts";
import { type Random, VirtualClock, VirtualNetwork } from "../../kit/index.ts";
import { KeyStateReplica } from "./key-state-replica.ts";
import { ReplicatedLog, type ReplicatedLogTiming } from "./replicated-log.ts";

/** Dispatcher session messages between a node and its manager. */
export type SessionMessage = { kind: "hello"; version: number } | { kind: "keyring"; sealed: Uint8Array } | { kind: "ack"; version: number };

/** Timing and fault settings of the simulated cluster, in virtual ms. */
export interface ClusterSettings {
  managers: number;
  workers: number;
  config: KeyRotationConfig;
  /** Manager tick period (schedule check on the leader, deliveries on every manager). */
  tickMs: number;
  /** How often a node that has not heard from its manager since connecting says hello again. */
  helloRetryMs: number;
  /** How long a node takes to notice its manager is gone and open a session with another. */
  failover: { minMs: number; maxMs: number };
  /** How long a manager takes to end the session of a node that went silent (missed heartbeats). */
  sessionTimeoutMs: number;
  /** How long an election takes. */
  election: { minMs: number; maxMs: number };
  /** Loss, duplication and reordering of session messages. */
  loss: number;
  duplication: number;
  reorder: number;
}

/** A failed probe: `receiver` could not open what `sender` sealed. */
export class ProbeFailure extends Error {}

/** How long a proposal takes to commit in the modelled log, in virtual ms. */
export const COMMIT_TIMING: Readonly<ReplicatedLogTiming> = { commitMinMs: 2, commitMaxMs: 60 };

const CLUSTER_ID = "sim-cluster";
const PROBE = new TextEncoder().encode("probe");

interface ManagerParts {
  replica: KeyStateReplica;
  keys: KeyManager;
  distributor: KeyDistributor;
  applied: number;
}

/** One simulated node. */
export interface SimNode {
  id: string;
  boxKeys: nacl.BoxKeyPair;
  receiver: KeyringReceiver;
  keyring: Keyring;
  seal: PacketSeal;
  online: boolean;
  /** The manager its dispatcher session is with; undefined while failing over. */
  session: string | undefined;
  /** Whether the manager answered since the session opened (until then the node repeats its hello). */
  sessionOpen: boolean;
  synced: boolean;
  /** When it last came online. */
  onlineSince: number;
  manager: ManagerParts | undefined;
}

/** Counters a run reports. */
export interface ClusterCounters {
  probesOpened: number;
  returnChecks: number;
  /** The longest time from a node coming online to it holding a keyring it may gossip with. */
  slowestCatchUpMs: number;
  installs: number;
  keyringsSent: number;
  elections: number;
}

/** The cluster; see the module comment. */
export class KeyRotationCluster {
  readonly clock = new VirtualClock();
  readonly log: ReplicatedLog;
  readonly net: VirtualNetwork<SessionMessage>;
  readonly nodes = new Map<string, SimNode>();
  readonly managerIds: string[];
  readonly workerIds: string[];
  readonly counters: ClusterCounters = { probesOpened: 0, returnChecks: 0, slowestCatchUpMs: 0, installs: 0, keyringsSent: 0, elections: 0 };
  private readonly managerBoxKeys = new Set<string>();
  private readonly randomBytes: (length: number) => Uint8Array;
  private electionPending = false;

  constructor(
    private readonly random: Random,
    private readonly settings: ClusterSettings,
  ) {
    const bytesRandom = random.fork();
    this.randomBytes = (length) => {
      const words = new DataView(new ArrayBuffer(Math.ceil(length / 4) * 4));
      for (let i = 0; i < words.byteLength; i += 4) words.setUint32(i, bytesRandom.nextUint32());
      return new Uint8Array(words.buffer, 0, length);
    };
    this.log = new ReplicatedLog(this.clock, random.fork(), COMMIT_TIMING);
    this.net = new VirtualNetwork<SessionMessage>({
      clock: this.clock,
      random: random.fork(),
      latency: { minMs: 1, maxMs: 40 },
      loss: settings.loss,
      duplication: settings.duplication,
      reorder: settings.reorder,
    });
    this.managerIds = Array.from({ length: settings.managers }, (_, i) => `manager-${i + 1}`);
    this.workerIds = Array.from({ length: settings.workers }, (_, i) => `worker-${i + 1}`);
    for (const id of [...this.managerIds, ...this.workerIds]) this.addNode(id);
    this.log.onCommit(() => {
      for (const id of this.managerIds) this.clock.setTimer(this.random.int(25), () => this.catchUp(id));
    });
  }

  /** Starts ticking, probing and the first election; every node says hello to a manager. */
  start(): void {
    this.clock.every(this.settings.tickMs, () => this.tickManagers());
    this.clock.every(this.settings.helloRetryMs, () => this.retryHellos());
    this.clock.every(1000, () => this.probeAll());
    for (const node of this.nodes.values()) this.openSession(node);
    this.scheduleElection();
  }

  /** The node with `id`. */
  node(id: string): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** The manager parts of manager `id`. */
  managerOf(id: string): ManagerParts {
    const parts = this.node(id).manager;
    if (!parts) throw new Error(`${id} is not a manager`);
    return parts;
  }

  /** The nodes currently synced. */
  syncedNodes(): SimNode[] {
    return [...this.nodes.values()].filter((node) => node.online && node.synced);
  }

  /** The leader steps down (it stays up); another election follows. */
  stepDown(): void {
    const leader = this.log.leader();
    if (leader === undefined) return;
    this.managerOf(leader).keys.setLeader(false);
    this.log.stepDown();
    this.scheduleElection();
  }

  /** Node `id` goes offline: unreachable, its sessions gone, not synced. */
  takeOffline(id: string): void {
    const node = this.node(id);
    if (!node.online) return;
    const session = node.session;
    node.online = false;
    node.synced = false;
    node.session = undefined;
    this.net.crash(id);
    if (session !== undefined && session !== id) {
      this.clock.setTimer(this.settings.sessionTimeoutMs, () => {
        if (node.session !== session) this.managerOf(session).distributor.disconnect(id);
      });
    }
    if (!node.manager) return;
    if (this.log.leader() === id) this.stepDown();
    node.manager.keys.setLeader(false);
    for (const other of this.nodes.values()) {
      if (other.session !== id || other.id === id) continue;
      other.session = undefined;
      this.clock.setTimer(this.random.between(this.settings.failover.minMs, this.settings.failover.maxMs), () => this.openSession(other));
    }
  }

  /** Node `id` comes back: a manager catches up on the log first; then it opens a session. */
  bringOnline(id: string): void {
    const node = this.node(id);
    if (node.online) return;
    node.online = true;
    node.onlineSince = this.clock.now();
    this.net.restart(id);
    if (node.manager) {
      node.manager.distributor = new KeyDistributor(node.manager.keys, this.settings.config.distributionRetry);
      this.catchUp(id);
    }
    this.openSession(node);
  }

  /** Seals a probe from `sender` and opens it at `receiver`; throws `ProbeFailure` on a drop. */
  probe(sender: SimNode, receiver: SimNode, packet = sender.seal.seal(PROBE)): void {
    const opened = receiver.seal.open(packet);
    if (opened.ok) {
      this.counters.probesOpened++;
      return;
    }
    const describe = (node: SimNode) => `${node.id} v${node.receiver.version()} [${node.keyring.list().map((key) => (key.primary ? `*${key.id}` : key.id)).join(" ")}]`;
    throw new ProbeFailure(`at ${this.clock.now()} ms ${describe(receiver)} dropped a probe from ${describe(sender)}: ${opened.reason}`);
  }

  private addNode(id: string): void {
    const boxKeys = nacl.box.keyPair.fromSecretKey(this.randomBytes(nacl.box.secretKeyLength));
    const keyring = new Keyring();
    const isManager = id.startsWith("manager-");
    if (isManager) this.managerBoxKeys.add(Buffer.from(boxKeys.publicKey).toString("hex"));
    const receiver = new KeyringReceiver({
      clusterId: CLUSTER_ID,
      nodeId: id,
      boxKeys,
      isManagerBoxKey: (key) => this.managerBoxKeys.has(Buffer.from(key).toString("hex")),
    });
    const seal = new PacketSeal({ keyring, clusterId: CLUSTER_ID, senderId: id, epoch: 1, randomBytes: this.randomBytes });
    let manager: ManagerParts | undefined;
    if (isManager) {
      const replica = new KeyStateReplica(CLUSTER_ID);
      const keys = new KeyManager({ config: this.settings.config, clusterId: CLUSTER_ID, boxKeys, randomBytes: this.randomBytes, replicatedState: replica.keys });
      manager = { replica, keys, distributor: new KeyDistributor(keys, this.settings.config.distributionRetry), applied: 0 };
    }
    const node: SimNode = { id, boxKeys, receiver, keyring, seal, online: true, session: undefined, sessionOpen: false, synced: false, onlineSince: 0, manager };
    this.nodes.set(id, node);
    this.net.attach(id, (from, message) => this.receive(node, from, message));
  }

  private receive(node: SimNode, from: string, message: SessionMessage): void {
    if (message.kind === "keyring") return this.receiveKeyring(node, from, message.sealed);
    const manager = node.manager;
    if (!manager) return;
    if (message.kind === "ack") return manager.distributor.acknowledge(from, message.version);
    const peer = this.node(from);
    this.sendAll(node.id, manager.distributor.connect({ nodeId: from, boxPublicKey: peer.boxKeys.publicKey }, message.version, this.clock.now()));
  }

  private receiveKeyring(node: SimNode, from: string, sealed: Uint8Array): void {
    if (from !== node.session) return;
    node.sessionOpen = true;
    const result = node.receiver.receiveKeyring(sealed, this.clock.now());
    if (result.status === "rejected" && result.reason !== "stale") throw new Error(`${node.id} rejected an honest keyring: ${result.message}`);
    if (result.status === "installed") {
      installKeyring(node.keyring, result.keyring);
      this.counters.installs++;
    }
    if (result.status !== "rejected" && !node.synced) {
      node.synced = true;
      this.checkCanGossip(node);
    }
    this.net.send(node.id, from, { kind: "ack", version: node.receiver.version() });
  }

  /** A node that just caught up must open every synced node's probe, and they its probe. */
  private checkCanGossip(node: SimNode): void {
    this.counters.returnChecks++;
    this.counters.slowestCatchUpMs = Math.max(this.counters.slowestCatchUpMs, this.clock.now() - node.onlineSince);
    const packet = node.seal.seal(PROBE);
    for (const other of this.syncedNodes()) {
      if (other === node) continue;
      this.probe(node, other, packet);
      this.probe(other, node);
    }
  }

  private openSession(node: SimNode): void {
    if (!node.online) return;
    const candidates = node.manager ? [node.id] : this.managerIds.filter((id) => this.node(id).online);
    if (candidates.length === 0) {
      this.clock.setTimer(this.settings.failover.maxMs, () => this.openSession(node));
      return;
    }
    node.session = candidates[this.random.int(candidates.length)] as string;
    node.sessionOpen = false;
    this.net.send(node.id, node.session, { kind: "hello", version: node.receiver.version() });
  }

  private retryHellos(): void {
    for (const node of this.nodes.values()) {
      if (node.online && !node.sessionOpen && node.session !== undefined) this.net.send(node.id, node.session, { kind: "hello", version: node.receiver.version() });
    }
  }

  private catchUp(id: string): void {
    const node = this.node(id);
    const manager = node.manager;
    if (!manager || !node.online) return;
    while (manager.applied < this.log.entries.length) manager.replica.apply((this.log.entries[manager.applied++] as { data: Uint8Array }).data);
  }

  private tickManagers(): void {
    const now = this.clock.now();
    for (const id of this.managerIds) {
      const node = this.node(id);
      if (!node.online || !node.manager) continue;
      for (const proposal of node.manager.keys.tick(now)) this.log.propose(id, proposal);
      this.sendAll(id, node.manager.distributor.tick(now));
    }
  }

  private sendAll(from: string, deliveries: { nodeId: string; sealed: Uint8Array }[]): void {
    for (const delivery of deliveries) {
      this.counters.keyringsSent++;
      this.net.send(from, delivery.nodeId, { kind: "keyring", sealed: delivery.sealed });
    }
  }

  private probeAll(): void {
    const synced = this.syncedNodes();
    for (const sender of synced) {
      const packet = sender.seal.seal(PROBE);
      for (const receiver of synced) if (receiver !== sender) this.probe(sender, receiver, packet);
    }
  }

  private scheduleElection(): void {
    if (this.electionPending) return;
    this.electionPending = true;
    this.clock.setTimer(this.random.between(this.settings.election.minMs, this.settings.election.maxMs), () => {
      this.electionPending = false;
      if (this.log.leader() !== undefined) return;
      const candidates = this.managerIds.filter((id) => this.node(id).online);
      if (candidates.length === 0) return this.scheduleElection();
      const winner = candidates[this.random.int(candidates.length)] as string;
      this.counters.elections++;
      this.log.elect(winner);
      this.managerOf(winner).keys.setLeader(true);
    });
  }
}
